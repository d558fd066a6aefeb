"""The daily journal entry of the points liability: one per company and
ledger day, its movement kinds traced to the ledger lines they sum."""

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, date_utils

from ..tools.liability import BUCKETS, DEFERRED, PROVISION, liability_effect
from ..tools.numbers import one_record
from .customer_job_mixin import retry_on_conflict

_logger = logging.getLogger(__name__)

BUCKET_SELECTION = [
    ("opening", "Opening balance"),
    ("deferral", "Revenue deferred"),
    ("deferral_reversal", "Deferral reversed"),
    ("provision", "Provision for points earned"),
    ("provision_reversal", "Provision reversed"),
    ("marketing", "Marketing points"),
    ("revenue", "Revenue recognised"),
    ("usage", "Provision used"),
    ("breakage", "Breakage"),
    ("release", "Provision released"),
]
# the company setting of the profit-and-loss (or opening) side of each kind
BUCKET_ACCOUNTS = {
    "opening": "loyalty_opening_account_id",
    "deferral": "loyalty_deferral_account_id",
    "deferral_reversal": "loyalty_deferral_account_id",
    "provision": "loyalty_expense_account_id",
    "provision_reversal": "loyalty_expense_account_id",
    "marketing": "loyalty_expense_account_id",
    "revenue": "loyalty_revenue_account_id",
    "usage": "loyalty_revenue_account_id",
    "breakage": "loyalty_breakage_account_id",
    "release": "loyalty_expense_account_id",
}
# the kinds of each method, and the kind of a ledger line of each role
METHOD_BUCKETS = {
    DEFERRED: {
        "sale": "deferral",
        "sale_reversal": "deferral_reversal",
        "gift": "marketing",
        "redeem": "revenue",
        "expire": "breakage",
    },
    PROVISION: {
        "sale": "provision",
        "sale_reversal": "provision_reversal",
        "gift": "marketing",
        "redeem": "usage",
        "expire": "release",
    },
}
# ledger days posted per cron call, at most
DEFAULT_DAYS_PER_CALL = 31
DAYS_PARAM = "repeat_customer.liability_days_per_call"


class CustomerLiabilityMove(models.Model):
    """What the programme posted for one company and ledger day: the amount
    of each movement kind, the journal entry, and the valuation after the
    day (liability, points outstanding, rate). Written by the daily job
    only; corrections of days already posted go into a later day's entry."""

    _name = "customer.liability.move"
    _inherit = ["customer.job.mixin", "customer.values.mixin"]
    _description = "Points Liability Entry"
    _order = "company_id, date desc, id desc"
    _rec_name = "date"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company", string="Company", required=True, readonly=True, index=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(
        string="Ledger Day",
        required=True,
        readonly=True,
        help="The ledger lines up to this day not posted before are in this entry.",
    )
    is_opening = fields.Boolean(string="Opening Entry", readonly=True)
    method = fields.Selection(
        selection=[(DEFERRED, "Deferred revenue"), (PROVISION, "Cost provision")],
        string="Method",
        readonly=True,
    )
    move_id = fields.Many2one(
        "account.move",
        string="Journal Entry",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
        check_company=True,
    )
    accounting_date = fields.Date(
        string="Accounting Date",
        readonly=True,
        help="The date of the journal entry: the ledger day, or the first "
        "open day after a lock date.",
    )
    note = fields.Text(string="Note", readonly=True)
    rate = fields.Float(
        string="Expected Redemption Rate", digits=(16, 4), readonly=True
    )
    outstanding_points = fields.Integer(
        string="Points Outstanding",
        readonly=True,
        help="Points of the company's members not yet redeemed or expired at "
        "the end of the day, pending ones included.",
    )
    liability_amount = fields.Monetary(
        string="Liability",
        readonly=True,
        help="The liability of the points outstanding at the end of the day, "
        "per the method.",
    )
    entry_ids = fields.One2many(
        "customer.point.entry", "liability_move_id", string="Ledger Lines"
    )
    entry_count = fields.Integer(
        string="Ledger Lines Count", compute="_compute_entry_count"
    )
    opening_amount = fields.Monetary(string="Opening", readonly=True)
    deferral_amount = fields.Monetary(string="Revenue Deferred", readonly=True)
    deferral_reversal_amount = fields.Monetary(
        string="Deferral Reversed", readonly=True
    )
    provision_amount = fields.Monetary(string="Provision", readonly=True)
    provision_reversal_amount = fields.Monetary(
        string="Provision Reversed", readonly=True
    )
    marketing_amount = fields.Monetary(string="Marketing Points", readonly=True)
    revenue_amount = fields.Monetary(string="Revenue Recognised", readonly=True)
    usage_amount = fields.Monetary(string="Provision Used", readonly=True)
    breakage_amount = fields.Monetary(string="Breakage", readonly=True)
    release_amount = fields.Monetary(string="Provision Released", readonly=True)
    change_amount = fields.Monetary(
        string="Liability Change",
        readonly=True,
        help="The change of the liability this entry posts.",
    )

    _sql_constraints = [
        (
            "company_date_uniq",
            "UNIQUE(company_id, date)",
            "The points liability is posted once per company and day.",
        ),
    ]

    @api.depends("entry_ids")
    def _compute_entry_count(self):
        counts = dict(
            self.env["customer.point.entry"]._read_group(
                [("liability_move_id", "in", self.ids)],
                ["liability_move_id"],
                ["__count"],
            )
        )
        for record in self:
            record.entry_count = counts.get(record, 0)

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise UserError(
                self.env._(
                    "Points liability entries are posted by the daily job of "
                    "the loyalty programme."
                )
            )
        return super().create(vals_list)

    def write(self, vals):
        if vals and not self.env.su:
            raise UserError(
                self.env._("Posted points liability entries cannot be changed.")
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            self.env._("Posted points liability entries cannot be deleted.")
        )

    def action_open_entries(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_point_entry_action_liability"
        )
        action["domain"] = [("liability_move_id", "=", self.id)]
        return action

    def action_open_move(self):
        one_record(self)
        if not self.move_id:
            raise UserError(self.env._("This day had nothing to post."))
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.move_id.id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------
    # The daily job
    # ------------------------------------------------------------------
    @api.model
    def _days_per_call(self):
        return self._job_batch_size(DAYS_PARAM, DEFAULT_DAYS_PER_CALL)

    @api.model
    def _due_companies(self):
        """Companies posting their liability whose next ledger day to post
        (the day after the last one posted; before any, the day before the
        first day posted, for the opening entry) is in a posting period (a
        day, week or month) over by yesterday."""
        companies = (
            self.env["res.company"]
            .sudo()
            .search([("loyalty_liability_enabled", "=", True)])
        )
        return companies.filtered(
            lambda c: (
                c._loyalty_liability_next_day()
                <= c._loyalty_liability_until(c._loyalty_today() - timedelta(days=1))
            )
        )

    @api.model
    @retry_on_conflict
    def _cron_post_liability(self):
        """Daily: post the points liability of every company that posts it,
        up to yesterday (today's ledger still moves). One company and at
        most ``repeat_customer.liability_days_per_call`` days per call; the
        cron framework commits after each call and calls again while days
        remain. Safe to repeat: days posted are not posted again."""
        self.env.flush_all()
        done = 0
        due = self._due_companies()
        if due:
            company = due[0]
            until = company._loyalty_today() - timedelta(days=1)
            done = len(self._post_company(company, until, self._days_per_call()))
            due = self._due_companies()
        self._job_progress(done, len(due))
        return done

    @api.model
    def _post_company(self, company, until, max_days=None):
        """Post the company's points liability for its ledger days up to
        ``until`` not posted yet; return the records created.

        1. The company row is locked first: a second run at the same time
           waits, then fails with a serialization error and is retried in a
           new transaction, where it finds the days posted.
        2. The ledger is valued from its first day (``_valuation``). What a
           day must have posted is the sum of each movement kind up to it
           (``_targets``), rounded to the currency; the entry of a day posts
           the difference with what the entries before it posted, so a
           correction of a day already posted (a line dated in the past, a
           rate revised from an earlier day) goes into the next entry, and
           nothing is posted twice.
        3. A day with neither activity nor difference is skipped; a day whose
           lines move no amount (expiries under the deferred method) gets a
           record without a journal entry, so its lines are traced too.
        4. Everything of a day (journal entry, record, links of its lines,
           the company's posted date) is written in the caller's
           transaction: a crash leaves nothing of it.
        """
        company = company.sudo()
        self.env.cr.execute(
            SQL(
                "SELECT id FROM res_company WHERE id = %s FOR NO KEY UPDATE",
                company.id,
            )
        )
        if not company.loyalty_liability_start_date:
            company.loyalty_liability_start_date = company._loyalty_today()
        # weekly or monthly entries: up to the last period over, one entry
        # per period, dated its last day (the cumulative targets make it
        # the sum of its days)
        until = company._loyalty_liability_until(until)
        self.env.flush_all()
        self._job_analyze(["customer_point_entry", "customer_redemption_rate"])
        values = self._valuation(company, until)
        posted = self._posted_totals(company)
        currency = company.currency_id
        records = self.browse()
        days = self._candidate_days(company, values, until)
        if company.loyalty_liability_frequency != "day":
            start = company.loyalty_liability_start_date
            days = [day for day in days if day < start] + sorted(
                {
                    company._loyalty_liability_period_end(day)
                    for day in days
                    if day >= start
                }
            )
        if until < company._loyalty_liability_next_day():
            return records
        cut = bool(max_days) and len(days) > max_days
        for day in days[:max_days] if cut else days:
            targets = self._rounded_targets(company, values, day)
            amounts = {
                kind: currency.round(targets[kind] - posted[kind]) for kind in BUCKETS
            }
            amounts = {
                kind: amount
                for kind, amount in amounts.items()
                if not currency.is_zero(amount)
            }
            if amounts or self._has_unlinked_lines(company, day):
                record = self._post_day(company, day, values, amounts)
                records |= record
                for kind, amount in amounts.items():
                    posted[kind] += amount
            company.loyalty_liability_posted_date = day
        if not cut:
            # every day up to ``until`` is posted, even without activity
            company.loyalty_liability_posted_date = until
        return records

    @api.model
    def _rounded_targets(self, company, values, day):
        """``_targets`` rounded to the currency, the revenue recognised (or
        the provision used) taking up the rounding, so that the liability
        posted is always the liability valued, rounded: zero when nothing
        is outstanding."""
        currency = company.currency_id
        targets = self._targets(company, values, day)
        rounded = {kind: currency.round(targets.get(kind, 0.0)) for kind in BUCKETS}
        balancing = (
            "usage" if company.loyalty_liability_method == PROVISION else "revenue"
        )
        value = self._liability_at(values, day)
        liability = currency.round(value.liability) if value else 0.0
        others = sum(
            BUCKETS[kind] * amount
            for kind, amount in rounded.items()
            if kind != balancing
        )
        rounded[balancing] = currency.round(others - liability)
        return rounded

    @api.model
    def _post_day(self, company, day, values, amounts):
        """Write the entry of one ledger day: the journal entry of
        ``amounts`` (per movement kind), the record, the links of the lines."""
        value = self._liability_at(values, day)
        is_opening = day < company.loyalty_liability_start_date
        notes = []
        accounting_date = day
        journal = company.loyalty_liability_journal_id
        locks = company._get_violated_lock_dates(day, False, journal)
        if locks:
            accounting_date = max(lock for lock, _field in locks) + timedelta(days=1)
            notes.append(
                self.env._(
                    "The ledger day %(day)s is in a locked period "
                    "(%(locks)s): the entry is dated %(date)s, the first open "
                    "day.",
                    day=day,
                    locks=company._format_lock_dates(locks),
                    date=accounting_date,
                )
            )
        notes += self._catch_up_notes(company, day)
        move = self.env["account.move"]
        if amounts:
            move = self._create_move(
                company, day, accounting_date, amounts, is_opening, notes
            )
        record = self.sudo().create(
            {
                "company_id": company.id,
                "date": day,
                "is_opening": is_opening,
                "method": company.loyalty_liability_method,
                "move_id": move.id,
                "accounting_date": accounting_date if move else False,
                "note": "\n".join(notes) or False,
                "rate": value.rate if value else 0.0,
                "outstanding_points": value.outstanding if value else 0,
                "liability_amount": value.liability if value else 0.0,
                "change_amount": liability_effect(amounts),
                **{f"{kind}_amount": amount for kind, amount in amounts.items()},
            }
        )
        if move:
            move.loyalty_liability_move_id = record
        self._link_lines(company, record, day, amounts)
        return record

    @api.model
    def _catch_up_notes(self, company, day):
        """Notes on the rates that start after the last day posted and on or
        before ``day``: the revenue recognised is caught up to them."""
        posted = company.loyalty_liability_posted_date
        domain = [("company_id", "=", company.id), ("date_from", "<=", day)]
        if posted:
            domain.append(("date_from", ">", posted))
        rates = (
            self.env["customer.redemption.rate"]
            .sudo()
            .search(domain, order="date_from")
        )
        notes = []
        for rate in rates:
            share = f"{rate.rate:.2%}"
            reason = f" ({rate.note})" if rate.note else ""
            notes.append(
                self.env._(
                    "Expected redemption rate %(rate)s from %(date)s%(reason)s: "
                    "the revenue recognised to date is caught up to it.",
                    rate=share,
                    date=rate.date_from,
                    reason=reason,
                )
            )
        return notes

    @api.model
    def _create_move(self, company, day, accounting_date, amounts, is_opening, notes):
        """Create and post the journal entry of ``amounts``: for each
        movement kind, a line on its account and the opposite line on the
        liability account."""
        labels = dict(
            self.env["customer.point.entry"]
            ._fields["liability_bucket"]
            ._description_selection(self.env)
        )
        liability_account = company.loyalty_liability_account_id
        lines = []
        for kind, amount in amounts.items():
            raises = BUCKETS[kind] * amount > 0
            label = labels[kind]
            counterpart = company[BUCKET_ACCOUNTS[kind]]
            value = abs(amount)
            lines.append(self._move_line(counterpart, label, value, raises, kind))
            lines.append(
                self._move_line(liability_account, label, value, not raises, kind)
            )
        frequency = company.loyalty_liability_frequency
        if is_opening:
            ref = self.env._("Loyalty points: opening balance at %(day)s", day=day)
        elif frequency in ("week", "month"):
            ref = self.env._(
                "Loyalty points from %(start)s to %(end)s",
                start=max(
                    date_utils.start_of(day, frequency),
                    company._loyalty_liability_next_day(),
                ),
                end=day,
            )
        else:
            ref = self.env._("Loyalty points of %(day)s", day=day)
        move = (
            self.env["account.move"]
            .sudo()
            .with_company(company)
            .create(
                {
                    "move_type": "entry",
                    "company_id": company.id,
                    "journal_id": company.loyalty_liability_journal_id.id,
                    "date": accounting_date,
                    "ref": ref,
                    "narration": "\n".join(notes) or False,
                    "line_ids": [fields.Command.create(line) for line in lines],
                }
            )
        )
        move.action_post()
        return move

    @api.model
    def _move_line(self, account, label, amount, debit, kind):
        return {
            "account_id": account.id,
            "name": label,
            "debit": amount if debit else 0.0,
            "credit": 0.0 if debit else amount,
            "loyalty_bucket": kind,
        }
