from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import date_utils

from ..tools.liability import DEFERRED, PROVISION
from ..tools.numbers import one_record

# the account types each account of the points liability may have
ACCOUNT_TYPES = {
    "loyalty_liability_account_id": ("liability_current", "liability_non_current"),
    "loyalty_deferral_account_id": ("income", "income_other"),
    "loyalty_revenue_account_id": ("income", "income_other"),
    "loyalty_breakage_account_id": ("income", "income_other"),
    "loyalty_expense_account_id": ("expense", "expense_direct_cost"),
    "loyalty_opening_account_id": (
        "equity",
        "equity_unaffected",
        "income",
        "income_other",
        "expense",
    ),
}
# the accounts each method posts to
METHOD_ACCOUNTS = {
    DEFERRED: (
        "loyalty_liability_account_id",
        "loyalty_deferral_account_id",
        "loyalty_revenue_account_id",
        "loyalty_breakage_account_id",
        "loyalty_expense_account_id",
        "loyalty_opening_account_id",
    ),
    PROVISION: (
        "loyalty_liability_account_id",
        "loyalty_revenue_account_id",
        "loyalty_expense_account_id",
        "loyalty_opening_account_id",
    ),
}
# settings that cannot change once entries were posted: the posted
# liability would no longer be what the ledger says
FROZEN_WHEN_POSTED = (
    "loyalty_liability_method",
    "loyalty_liability_account_id",
    "loyalty_liability_start_date",
)


class ResCompany(models.Model):
    _inherit = "res.company"

    loyalty_liability_enabled = fields.Boolean(
        string="Post the Points Liability",
        help="Post a journal entry every day for the points the ledger "
        "moved: the contract liability of the points (or their provision), "
        "revenue as they are redeemed, breakage.",
    )
    loyalty_liability_method = fields.Selection(
        selection=[
            (DEFERRED, "Deferred revenue (IFRS 15 / CAS 14)"),
            (PROVISION, "Cost provision"),
        ],
        string="Accounting Method",
        default=DEFERRED,
        required=True,
        help="Deferred revenue: part of each sale's revenue is deferred as a "
        "contract liability by relative stand-alone selling price, and "
        "recognised as points are redeemed. Cost provision: points earned "
        "are an expense and a provision, used by redemptions and released "
        "by expiry. Points not earned on a sale are a marketing expense "
        "under either method.",
    )
    loyalty_liability_frequency = fields.Selection(
        selection=[("day", "Daily"), ("week", "Weekly"), ("month", "Monthly")],
        string="Entries",
        default="day",
        required=True,
        help="One journal entry per day of ledger activity, or one per week "
        "(Monday to Sunday) or month, dated its last day and posted once it is "
        "over. The ledger, the valuation and the reconciliation are the same.",
    )
    loyalty_liability_journal_id = fields.Many2one(
        "account.journal",
        string="Loyalty Journal",
        domain="[('type', '=', 'general'), ('company_id', '=', id)]",
        help="The miscellaneous journal of the daily points entries.",
    )
    loyalty_liability_account_id = fields.Many2one(
        "account.account",
        string="Points Liability Account",
        help="Contract liability (deferred revenue) or provision for the "
        "points outstanding: a current or non-current liability.",
    )
    loyalty_deferral_account_id = fields.Many2one(
        "account.account",
        string="Revenue Deferral Account",
        help="Income account debited with the part of sales revenue deferred "
        "for the points earned (deferred revenue method).",
    )
    loyalty_revenue_account_id = fields.Many2one(
        "account.account",
        string="Loyalty Revenue Account",
        help="Income account credited when redeemed points are recognised "
        "(or use the provision).",
    )
    loyalty_breakage_account_id = fields.Many2one(
        "account.account",
        string="Breakage Account",
        help="Income account credited with what is left of the deferred "
        "revenue when no point is outstanding any more.",
    )
    loyalty_expense_account_id = fields.Many2one(
        "account.account",
        string="Loyalty Expense Account",
        help="Expense account of points not earned on a sale (campaign bonus "
        "points, adjustments) and, under the cost provision, of every point.",
    )
    loyalty_opening_account_id = fields.Many2one(
        "account.account",
        string="Opening Balance Account",
        help="Counterpart of the opening entry, which brings in the liability "
        "of the points outstanding when posting starts (usually retained "
        "earnings).",
    )
    loyalty_liability_start_date = fields.Date(
        string="Posting From",
        help="The first ledger day posted by a daily entry. The points "
        "outstanding before it are brought in by one opening entry. Set to "
        "today when posting is enabled.",
    )
    loyalty_liability_posted_date = fields.Date(
        string="Posted Up To",
        readonly=True,
        copy=False,
        help="The last ledger day the daily entries have posted.",
    )
    loyalty_redemption_rate_ids = fields.One2many(
        "customer.redemption.rate", "company_id", string="Redemption Rates"
    )
    loyalty_redemption_rate = fields.Float(
        string="Expected Redemption Rate",
        digits=(16, 4),
        compute="_compute_loyalty_redemption_rate",
        inverse="_inverse_loyalty_redemption_rate",
        help="The share of the points issued that members are expected to "
        "redeem, today. Changing it adds a rate from today to the history; "
        "the next entry catches up the revenue recognised.",
    )

    @api.depends("loyalty_redemption_rate_ids.rate")
    @api.depends_context("tz")
    def _compute_loyalty_redemption_rate(self):
        rates = self.env["customer.redemption.rate"].sudo()
        for company in self:
            today = company._loyalty_today()
            current = rates.search(
                [("company_id", "=", company.id), ("date_from", "<=", today)],
                order="date_from desc",
                limit=1,
            ) or rates.search(
                [("company_id", "=", company.id)], order="date_from", limit=1
            )
            company.loyalty_redemption_rate = current.rate

    def _inverse_loyalty_redemption_rate(self):
        rates = self.env["customer.redemption.rate"].sudo()
        for company in self:
            if not company.loyalty_redemption_rate:
                continue
            today = company._loyalty_today()
            existing = rates.search(
                [("company_id", "=", company.id), ("date_from", "=", today)]
            )
            if existing:
                if existing.rate != company.loyalty_redemption_rate:
                    existing.rate = company.loyalty_redemption_rate
            else:
                current = company._loyalty_rate_record(today)
                if current.rate != company.loyalty_redemption_rate:
                    rates.create(
                        {
                            "company_id": company.id,
                            "date_from": today,
                            "rate": company.loyalty_redemption_rate,
                        }
                    )

    def _loyalty_liability_period_end(self, day):
        """The last day of the posting period (day, week, month) of ``day``."""
        one_record(self)
        frequency = self.loyalty_liability_frequency or "day"
        if frequency == "day":
            return day
        return date_utils.end_of(day, frequency)

    def _loyalty_liability_until(self, day):
        """The last day of the last posting period over on ``day``."""
        one_record(self)
        if self._loyalty_liability_period_end(day) == day:
            return day
        frequency = self.loyalty_liability_frequency
        return date_utils.start_of(day, frequency) - timedelta(days=1)

    def _loyalty_liability_next_day(self):
        """The next ledger day the daily job posts: the day after the last
        one posted; before any, the day before the first day posted (the
        opening entry's)."""
        one_record(self)
        posted = self.loyalty_liability_posted_date
        if posted:
            return posted + timedelta(days=1)
        start = self.loyalty_liability_start_date or self._loyalty_today()
        return start - timedelta(days=1)

    def _loyalty_rate_record(self, day):
        one_record(self)
        return (
            self.env["customer.redemption.rate"]
            .sudo()
            .search(
                [("company_id", "=", self.id), ("date_from", "<=", day)],
                order="date_from desc",
                limit=1,
            )
        )

    def write(self, vals):
        if "loyalty_redemption_rate" in vals and len(vals) > 1:
            # the rate first: enabling the posting needs one
            vals = dict(vals)
            self.write({"loyalty_redemption_rate": vals.pop("loyalty_redemption_rate")})
        frozen = set(FROZEN_WHEN_POSTED) & set(vals)
        if frozen:
            for company in self.filtered("loyalty_liability_posted_date"):
                for name in frozen:
                    field = self._fields[name]
                    new = field.convert_to_record(
                        field.convert_to_cache(vals[name], company), company
                    )
                    if new != company[name]:
                        raise ValidationError(
                            self.env._(
                                "%(company)s has posted points entries up to "
                                "%(date)s: its %(setting)s cannot change any "
                                "more (the posted liability would no longer "
                                "match the ledger).",
                                company=company.name,
                                date=company.loyalty_liability_posted_date,
                                setting=self._fields[name]._description_string(
                                    self.env
                                ),
                            )
                        )
        if vals.get("loyalty_liability_enabled"):
            starting = self.filtered(lambda c: not c.loyalty_liability_start_date)
            result = super().write(vals)
            for company in starting:
                if not company.loyalty_liability_start_date:
                    company.loyalty_liability_start_date = company._loyalty_today()
            return result
        return super().write(vals)

    @api.constrains(
        "loyalty_liability_enabled",
        "loyalty_liability_method",
        "loyalty_liability_journal_id",
        *ACCOUNT_TYPES,
    )
    def _check_loyalty_liability_settings(self):
        for company in self:
            company._loyalty_check_liability_accounts()
            if not company.loyalty_liability_enabled:
                continue
            journal = company.loyalty_liability_journal_id
            if not journal:
                raise ValidationError(
                    self.env._(
                        "Choose the miscellaneous journal of the points "
                        "entries of %(company)s.",
                        company=company.name,
                    )
                )
            if journal.type != "general" or journal.company_id != company:
                raise ValidationError(
                    self.env._(
                        "The points entries of %(company)s go to a "
                        "miscellaneous journal of the company; %(journal)s is "
                        "not one.",
                        company=company.name,
                        journal=journal.display_name,
                    )
                )
            for name in METHOD_ACCOUNTS[company.loyalty_liability_method]:
                if not company[name]:
                    raise ValidationError(
                        self.env._(
                            "Posting the points liability of %(company)s needs "
                            "its %(account)s.",
                            company=company.name,
                            account=self._fields[name]._description_string(self.env),
                        )
                    )
            if not company.loyalty_redemption_rate_ids:
                raise ValidationError(
                    self.env._(
                        "Set the expected redemption rate of the points of "
                        "%(company)s before posting their liability.",
                        company=company.name,
                    )
                )

    def _loyalty_check_liability_accounts(self):
        """Each account of the points entries is of the company and of a
        type that fits its role (``ACCOUNT_TYPES``)."""
        one_record(self)
        types = dict(
            self.env["account.account"]
            ._fields["account_type"]
            ._description_selection(self.env)
        )
        for name, allowed in ACCOUNT_TYPES.items():
            account = self[name]
            if not account:
                continue
            role = self._fields[name]._description_string(self.env)
            if account.account_type not in allowed:
                raise ValidationError(
                    self.env._(
                        "%(account)s cannot be the %(role)s: it is of type "
                        "%(type)s, and the %(role)s is of type %(allowed)s.",
                        account=account.display_name,
                        role=role,
                        type=types.get(account.account_type),
                        allowed=" / ".join(types[t] for t in allowed),
                    )
                )
            if not account.company_ids & self.parent_ids:
                raise ValidationError(
                    self.env._(
                        "%(account)s is not an account of %(company)s.",
                        account=account.display_name,
                        company=self.name,
                    )
                )
