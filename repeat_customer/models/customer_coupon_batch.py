from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL

from ..tools.domains import parse_members_filter
from ..tools.numbers import one_record
from .customer_job_mixin import retry_on_conflict

# a batch issued from a button does at most this many coupons at once; a
# larger one is handed to its cron, which commits between chunks
DEFAULT_ISSUE_CHUNK = 2000
ISSUE_CHUNK_PARAM = "repeat_customer.coupon_issue_chunk"
# bounds of a batch: coupons per customer, and days of validity
MAX_PER_CUSTOMER = 100
MAX_VALIDITY_DAYS = 3650


class CustomerCouponBatch(models.Model):
    """Coupons given (without points) to chosen members, a segment, tiers or
    any filter of members. Issuing is idempotent per (batch, customer): a
    batch issued twice, or resumed after a crash, gives nobody more than the
    per-customer limit."""

    _name = "customer.coupon.batch"
    _inherit = ["mail.thread", "customer.job.mixin", "customer.values.mixin"]
    _description = "Loyalty Coupon Batch"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Batch",
        required=True,
        default=lambda self: self.env._(
            "Coupons of %(date)s", date=fields.Date.today()
        ),
    )
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    program_id = fields.Many2one(
        "loyalty.program",
        string="Coupon Programme",
        required=True,
        check_company=True,
        domain="[('program_type', '=', 'coupons'), "
        "('company_id', 'in', [company_id, False])]",
    )
    validity_days = fields.Integer(
        string="Valid For (days)",
        default=30,
        help="Each coupon expires this many days after it is issued (0: never).",
    )
    target = fields.Selection(
        selection=[
            ("members", "Chosen members"),
            ("segment", "RFM segments"),
            ("tier", "Tiers"),
            ("filter", "Filter"),
        ],
        string="Issue To",
        required=True,
        default="members",
    )
    membership_ids = fields.Many2many(
        "customer.membership",
        string="Members",
        check_company=True,
        domain="[('company_id', '=', company_id)]",
    )
    segment_ids = fields.Many2many("customer.segment", string="Segments")
    tier_ids = fields.Many2many(
        "customer.tier",
        string="Tiers",
        check_company=True,
        domain="[('company_id', '=', company_id)]",
    )
    filter_domain = fields.Char(
        string="Members Filter",
        default="[]",
        help="Members that match this filter receive the coupons.",
    )
    per_customer_limit = fields.Integer(
        string="Coupons per Customer",
        default=1,
        required=True,
        help="How many coupons of this batch each customer receives.",
    )
    state = fields.Selection(
        selection=[
            ("draft", "Draft"),
            ("running", "Issuing"),
            ("done", "Issued"),
        ],
        string="Status",
        default="draft",
        required=True,
        readonly=True,
        tracking=True,
    )
    # previewed as the user: the filter only counts what they may read
    target_count = fields.Integer(string="Customers", compute="_compute_preview")
    to_issue_count = fields.Integer(
        string="Coupons to Issue", compute="_compute_preview"
    )
    opted_out_count = fields.Integer(
        string="Opted Out of Mail",
        compute="_compute_preview",
        help="They receive their coupons but are not mailed.",
    )
    coupon_ids = fields.One2many("customer.coupon", "batch_id", string="Coupons")
    coupon_count = fields.Integer(string="Issued", compute="_compute_usage")
    coupon_used_count = fields.Integer(string="Used", compute="_compute_usage")
    redemption_rate = fields.Float(
        string="Redemption Rate (%)", compute="_compute_usage", digits=(16, 1)
    )

    @api.constrains("per_customer_limit", "validity_days", "filter_domain")
    def _check_values(self):
        for batch in self:
            if batch.per_customer_limit < 1:
                raise ValidationError(
                    self.env._("Each customer must receive at least one coupon.")
                )
            if batch.per_customer_limit > MAX_PER_CUSTOMER:
                raise ValidationError(
                    self.env._(
                        "A batch gives each customer at most %(maximum)s coupons "
                        "(got %(value)s).",
                        maximum=MAX_PER_CUSTOMER,
                        value=batch.per_customer_limit,
                    )
                )
            if batch.validity_days < 0:
                raise ValidationError(
                    self.env._("The validity of the coupons cannot be negative.")
                )
            if batch.validity_days > MAX_VALIDITY_DAYS:
                raise ValidationError(
                    self.env._(
                        "The coupons are valid for at most %(maximum)s days "
                        "(got %(value)s).",
                        maximum=MAX_VALIDITY_DAYS,
                        value=batch.validity_days,
                    )
                )
            batch._parsed_filter()

    def _parsed_filter(self):
        """The members filter as a domain, checked by searching it as the
        user: a filter on a field they may not read is refused."""
        one_record(self)
        return parse_members_filter(self.env, self.filter_domain, self.name)

    def _target_domain(self):
        """Domain of the active members of the batch's company it targets."""
        one_record(self)
        base = [("company_id", "=", self.company_id.id), ("state", "=", "active")]
        if self.target == "members":
            target = [("id", "in", self.membership_ids._origin.ids)]
        elif self.target == "segment":
            target = [("segment_id", "in", self.segment_ids._origin.ids)]
        elif self.target == "tier":
            target = [("tier_id", "in", self.tier_ids._origin.ids)]
        else:
            target = self._parsed_filter()
        return expression.AND([base, target])

    def _target_query(self):
        """SQL of the ids of the targeted members, as the batch's user (the
        issuing job runs as superuser on a filter its user saved)."""
        memberships = self.env["customer.membership"].with_context(active_test=False)
        memberships.flush_model()
        return memberships._search(self._target_domain()).select("id")

    def _missing_query(self, limit=None):
        """SQL rows (membership id, coupon number) still to issue."""
        one_record(self)
        return SQL(
            """
            SELECT t.id, n.i
              FROM (%(target)s) AS t(id)
              CROSS JOIN generate_series(1, %(per)s) AS n(i)
             WHERE NOT EXISTS (
                   SELECT 1 FROM customer_coupon c
                    WHERE c.batch_id = %(batch)s AND c.membership_id = t.id
                      AND c.batch_index = n.i)
             ORDER BY t.id, n.i
             %(limit)s
            """,
            target=self._target_query(),
            per=self.per_customer_limit,
            batch=self.id or 0,
            limit=SQL("LIMIT %s", limit) if limit else SQL(""),
        )

    @api.depends(
        "target",
        "membership_ids",
        "segment_ids",
        "tier_ids",
        "filter_domain",
        "per_customer_limit",
        "company_id",
    )
    def _compute_preview(self):
        self.env["customer.coupon"].flush_model()
        for batch in self:
            try:
                target = batch._target_query()
            except (ValidationError, AccessError):
                batch.target_count = batch.to_issue_count = 0
                batch.opted_out_count = 0
                continue
            self.env.cr.execute(
                SQL(
                    """
                    SELECT count(*),
                           count(*) FILTER (WHERE m.marketing_opt_out
                                            OR bl.id IS NOT NULL)
                      FROM customer_membership m
                      JOIN res_partner p ON p.id = m.partner_id
                      LEFT JOIN mail_blacklist bl
                        ON bl.email = p.email_normalized AND bl.active
                     WHERE m.id IN (%s)
                    """,
                    target,
                )
            )
            batch.target_count, batch.opted_out_count = self.env.cr.fetchone()
            if batch.id and isinstance(batch.id, int):
                self.env.cr.execute(
                    SQL("SELECT count(*) FROM (%s) AS x", batch._missing_query())
                )
                batch.to_issue_count = self.env.cr.fetchone()[0]
            else:
                batch.to_issue_count = batch.target_count * batch.per_customer_limit

    def _compute_usage(self):
        counts = self.env["customer.coupon"]._usage_counts("batch_id", self)
        for batch in self:
            batch.coupon_count, batch.coupon_used_count = counts.get(batch, (0, 0))
            batch.redemption_rate = (
                100.0 * batch.coupon_used_count / batch.coupon_count
                if batch.coupon_count
                else 0.0
            )

    # ------------------------------------------------------------------
    # Issuing
    # ------------------------------------------------------------------
    @api.model
    def _chunk_size(self):
        return self._job_batch_size(ISSUE_CHUNK_PARAM, DEFAULT_ISSUE_CHUNK)

    def _lock(self):
        """Serialize the issuing of a batch. The row is rewritten, not only
        locked, so that a concurrent issuing that started earlier fails with a
        serialization error (and is retried) instead of issuing from an older
        snapshot; the unique (batch, member, number) index is the last guard."""
        self.env.cr.execute(
            SQL(
                "UPDATE customer_coupon_batch SET write_date = write_date "
                "WHERE id = ANY(%s)",
                self.ids,
            )
        )

    def _issue_chunk(self, limit):
        """Issue up to ``limit`` of the batch's missing coupons; return how
        many are still missing."""
        one_record(self)
        self._lock()
        self.env["customer.coupon"].flush_model()
        self.env.cr.execute(self._missing_query(limit))
        rows = self.env.cr.fetchall()
        memberships = (
            self.env["customer.membership"].sudo().browse([mid for mid, _ in rows])
        )
        self.env["customer.coupon"]._issue(
            [
                {
                    "membership": membership,
                    "program": self.program_id,
                    "validity_days": self.validity_days,
                    "origin": "batch",
                    "batch_id": self.id,
                    "batch_index": index,
                }
                for membership, (_, index) in zip(memberships, rows, strict=True)
            ],
            send_mail="later",
        )
        if len(rows) < limit:
            return 0
        self.env.cr.execute(
            SQL("SELECT count(*) FROM (%s) AS x", self._missing_query())
        )
        return self.env.cr.fetchone()[0]

    def action_issue(self):
        """Issue the batch's coupons. A batch larger than one chunk is handed
        to the background job, which commits between chunks."""
        if not self.env.user.has_group("repeat_customer.group_manager"):
            raise UserError(self.env._("Only loyalty managers can issue coupons."))
        for batch in self:
            program = batch.program_id
            if not program.active or not program.reward_ids:
                raise UserError(
                    self.env._(
                        "The coupon programme %(program)s is archived or has no "
                        "reward.",
                        program=program.name,
                    )
                )
            if not batch.target_count:
                raise UserError(
                    self.env._(
                        "Batch %(batch)s targets no active member: change who it "
                        "is issued to.",
                        batch=batch.name,
                    )
                )
            remaining = batch.sudo()._issue_chunk(self._chunk_size())
            batch.state = "running" if remaining else "done"
            batch.invalidate_recordset(
                ["to_issue_count", "coupon_count", "coupon_used_count"]
            )
            if remaining:
                self.env.ref("repeat_customer.ir_cron_issue_coupon_batches")._trigger()
        return True

    @api.model
    @retry_on_conflict
    def _cron_issue_coupon_batches(self):
        """Issue one chunk of the batches left running; return how many
        coupons are still to issue."""
        batch = self.sudo().search([("state", "=", "running")], limit=1, order="id")
        if not batch:
            self._job_progress(done=0, remaining=0)
            return 0
        chunk = self._chunk_size()
        remaining = batch._issue_chunk(chunk)
        if not remaining:
            batch.state = "done"
        others = self.sudo().search_count([("state", "=", "running")])
        self._job_progress(done=chunk, remaining=remaining + (others and 1))
        return remaining

    def action_view_coupons(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_coupon_action"
        )
        action["domain"] = [("batch_id", "=", self.id)]
        return action

    @api.model
    def action_open_for_memberships(self, memberships):
        """The batch form, for the given members (server action and button)."""
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Issue Coupons"),
            "res_model": self._name,
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_target": "members",
                "default_company_id": memberships[:1].company_id.id
                or self.env.company.id,
                "default_membership_ids": memberships.ids,
            },
        }
