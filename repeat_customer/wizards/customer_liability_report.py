from datetime import date as date_type

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, format_date

from ..tools.numbers import one_record


class CustomerLiabilityReport(models.TransientModel):
    """The reconciliation of the points liability on a date: what the ledger
    says the liability is, per the company's method, against the balance
    of the liability account, and what explains the difference. Also the
    period of the ledger movements workpaper."""

    _name = "customer.liability.report"
    _inherit = ["customer.values.mixin"]
    _description = "Points Liability Reconciliation"

    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.companies.ids)],
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(
        string="Date",
        required=True,
        default=lambda self: self._default_date(),
        help="The reconciliation is at the end of this day. By default the "
        "last day the daily entries posted.",
    )
    date_from = fields.Date(
        string="Movements From",
        required=True,
        default=lambda self: self._default_date().replace(day=1),
        help="First day of the ledger movements workpaper (which ends on the date).",
    )
    method = fields.Selection(related="company_id.loyalty_liability_method")
    account_id = fields.Many2one(
        related="company_id.loyalty_liability_account_id", string="Account"
    )
    posted_date = fields.Date(
        related="company_id.loyalty_liability_posted_date", string="Posted Up To"
    )
    rate = fields.Float(
        string="Expected Redemption Rate", digits=(16, 4), compute="_compute_figures"
    )
    outstanding_points = fields.Integer(
        string="Points Outstanding",
        compute="_compute_figures",
        help="Every point of the company earned or given and not yet redeemed "
        "or expired at the end of the date, pending points (of orders still in "
        "their return window) included: the liability exists from the sale. "
        "The overview's Points Available counts only what members can spend "
        "now, for its filters, today.",
    )
    ledger_amount = fields.Monetary(
        string="Liability per Ledger",
        compute="_compute_figures",
        help="The liability of the points outstanding on the date, valued "
        "from the ledger by the company's method.",
    )
    account_amount = fields.Monetary(
        string="Account Balance",
        compute="_compute_figures",
        help="Credit balance of the liability account on the date (posted "
        "journal items).",
    )
    programme_amount = fields.Monetary(
        string="Posted by the Programme",
        compute="_compute_figures",
        help="Of the account balance: the daily points entries.",
    )
    manual_amount = fields.Monetary(
        string="Other Entries on the Account",
        compute="_compute_figures",
        help="Of the account balance: journal items not posted by the "
        "programme (manual entries).",
    )
    difference_amount = fields.Monetary(string="Difference", compute="_compute_figures")
    unposted_amount = fields.Monetary(
        string="Ledger Days Not Posted Yet",
        compute="_compute_figures",
        help="What the ledger moved on days not posted yet (and corrections "
        "of posted days that the next entry brings).",
    )
    later_amount = fields.Monetary(
        string="Posted After the Date",
        compute="_compute_figures",
        help="Entries of ledger days up to the date that a lock date moved to "
        "a later accounting date.",
    )
    unexplained_amount = fields.Monetary(
        string="Unexplained",
        compute="_compute_figures",
        help="What neither the days not posted, the later dates nor the other "
        "entries explain: a points entry changed after it was posted, or a "
        "liability account changed.",
    )

    @api.model
    def _default_date(self):
        company = self.env.company
        return company.loyalty_liability_posted_date or company._loyalty_today()

    @api.depends("company_id", "date")
    def _compute_figures(self):
        for report in self:
            figures = report._figures() if report.company_id and report.date else {}
            for name in (
                "rate",
                "outstanding_points",
                "ledger_amount",
                "account_amount",
                "programme_amount",
                "manual_amount",
                "difference_amount",
                "unposted_amount",
                "later_amount",
                "unexplained_amount",
            ):
                report[name] = figures.get(name, 0)

    def _check_company_allowed(self):
        if self.company_id not in self.env.user.company_ids:
            raise AccessError(
                self.env._("You cannot see the points liability of this company.")
            )

    def _figures(self):
        """The reconciliation on the report's date (see the fields)."""
        one_record(self)
        self._check_company_allowed()
        company = self.company_id.sudo()
        moves = self.env["customer.liability.move"].sudo()
        values = moves._valuation(company, self.date)
        value = moves._liability_at(values, self.date)
        currency = company.currency_id
        ledger = currency.round(value.liability) if value else 0.0
        programme, manual = self._account_balances(company)
        self.env.cr.execute(
            SQL(
                """
                SELECT COALESCE(sum(change_amount), 0),
                       COALESCE(sum(change_amount)
                           FILTER (WHERE accounting_date > %(date)s), 0)
                  FROM customer_liability_move
                 WHERE company_id = %(company)s AND date <= %(date)s
                """,
                company=company.id,
                date=self.date,
            )
        )
        recorded, later = map(float, self.env.cr.fetchone())
        return {
            "rate": value.rate if value else 0.0,
            "outstanding_points": value.outstanding if value else 0,
            "ledger_amount": ledger,
            "account_amount": programme + manual,
            "programme_amount": programme,
            "manual_amount": manual,
            "difference_amount": currency.round(ledger - programme - manual),
            "unposted_amount": currency.round(ledger - recorded),
            "later_amount": currency.round(later),
            "unexplained_amount": currency.round(recorded - later - programme),
        }

    def _account_balances(self, company):
        """Credit balance of the liability account on the date: (from the
        programme's entries, from other entries)."""
        account = company.loyalty_liability_account_id
        if not account:
            return 0.0, 0.0
        self.env["account.move.line"].flush_model()
        self.env["account.move"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT COALESCE(sum(aml.credit - aml.debit)
                           FILTER (WHERE am.loyalty_liability_move_id IS NOT NULL), 0),
                       COALESCE(sum(aml.credit - aml.debit)
                           FILTER (WHERE am.loyalty_liability_move_id IS NULL), 0)
                  FROM account_move_line aml
                  JOIN account_move am ON am.id = aml.move_id
                 WHERE aml.account_id = %s AND aml.company_id = %s
                   AND aml.parent_state = 'posted' AND aml.date <= %s
                """,
                account.id,
                company.id,
                self.date,
            )
        )
        return tuple(map(float, self.env.cr.fetchone()))

    @api.constrains("date", "date_from")
    def _check_dates(self):
        for report in self:
            if report.date_from > report.date:
                raise UserError(
                    self.env._("The movements start on or before the date.")
                )
            if report.date > date_type(9999, 1, 1):
                raise UserError(self.env._("Choose a date of this era."))

    @api.depends("date")
    def _compute_display_name(self):
        # the breadcrumb of the report and of what it opens
        for report in self:
            report.display_name = self.env._(
                "Points Liability on %(date)s",
                date=format_date(self.env, report.date) if report.date else "",
            )

    def action_refresh(self):
        one_record(self)
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_export_reconciliation(self):
        one_record(self)
        self._check_company_allowed()
        return self.env.ref(
            "repeat_customer.liability_reconciliation_xlsx"
        ).report_action(self, config=False)

    def action_export_movements(self):
        one_record(self)
        self._check_company_allowed()
        # a spreadsheet: no PDF layout to set up first (config=False)
        return self.env.ref("repeat_customer.liability_movements_xlsx").report_action(
            self, config=False
        )

    def action_open_liability_moves(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_liability_move_action"
        )
        action["domain"] = [
            ("company_id", "=", self.company_id.id),
            ("date", "<=", self.date),
        ]
        return action

    def action_open_account_lines(self):
        """The journal items of the liability account up to the date."""
        one_record(self)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Points Liability Account"),
            "res_model": "account.move.line",
            "view_mode": "list",
            "domain": [
                ("account_id", "=", self.account_id.id),
                ("company_id", "=", self.company_id.id),
                ("parent_state", "=", "posted"),
                ("date", "<=", self.date),
            ],
        }
