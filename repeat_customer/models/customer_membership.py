import logging

from psycopg2.extras import Json

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools.campaigns import next_purchase_date
from ..tools.numbers import one_record, refuse_bad_values

_logger = logging.getLogger(__name__)

FILLFACTOR = 80


# what a loyalty user may set on a membership; a manager also sets
# MANAGER_FIELDS; everything else is the programme's own figures
USER_FIELDS = frozenset({"marketing_opt_out"})
CREATE_FIELDS = frozenset(
    {"partner_id", "company_id", "join_date", "marketing_opt_out"}
)
MANAGER_FIELDS = frozenset(
    {"join_date", "state", "tier_floor_id", "tier_floor_end_date"}
)


class CustomerMembership(models.Model):
    _name = "customer.membership"
    _description = "Customer Membership"
    _inherit = ["mail.thread", "mail.activity.mixin", "customer.values.mixin"]
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(string="Member Number", readonly=True, copy=False, index=True)
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
        domain="[('parent_id', '=', False)]",
        help="The commercial entity: orders of its contacts count for it.",
    )
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        related="partner_id.user_id",
        store=True,
        index=True,
    )
    join_date = fields.Date(
        string="Member Since", default=fields.Date.context_today, required=True
    )
    state = fields.Selection(
        selection=[("active", "Active"), ("blocked", "Blocked")],
        string="Status",
        default="active",
        required=True,
        tracking=True,
    )
    # purchase statistics (lifetime)
    first_order_date = fields.Date(string="First Purchase", readonly=True)
    last_order_date = fields.Date(string="Last Purchase", readonly=True)
    order_count = fields.Integer(
        string="Orders",
        readonly=True,
        help="Confirmed orders (or posted invoices, per setting) of all time.",
    )
    purchase_day_count = fields.Integer(
        string="Purchase Days",
        readonly=True,
        help="Distinct days with a purchase; repeat purchases for the churn "
        "model are this number minus one.",
    )
    total_spent = fields.Monetary(
        string="Total Spent",
        readonly=True,
        help="Untaxed amount of all purchases in company currency, foreign "
        "currencies converted at the order date, credit notes deducted.",
    )
    average_order_value = fields.Monetary(string="Average Basket", readonly=True)
    repeat_order_value = fields.Monetary(
        string="Average Repeat Purchase",
        readonly=True,
        help="The average of the member's repeat purchase days (a day's purchases "
        "added up, the first day left out): what the spend model predicts the "
        "next order's value and the lifetime value from. 0 before the second "
        "purchase day.",
    )
    recency_days = fields.Integer(
        string="Days Since Last Purchase",
        compute="_compute_recency_days",
        help="Days between the last purchase and today.",
    )
    # RFM
    rfm_frequency = fields.Integer(
        string="Orders in RFM Window",
        readonly=True,
        help="Purchases inside the RFM window, the frequency that is scored.",
    )
    rfm_monetary = fields.Monetary(
        string="Spent in RFM Window",
        readonly=True,
        help="Untaxed spend inside the RFM window, the monetary value scored.",
    )
    rfm_recency_score = fields.Integer(
        string="R Score", readonly=True, aggregator="avg", help="1 to 5, 5 is best."
    )
    rfm_frequency_score = fields.Integer(
        string="F Score", readonly=True, aggregator="avg", help="1 to 5, 5 is best."
    )
    rfm_monetary_score = fields.Integer(
        string="M Score", readonly=True, aggregator="avg", help="1 to 5, 5 is best."
    )
    rfm_score = fields.Char(
        string="RFM", readonly=True, help="Recency, frequency and monetary scores."
    )
    # Columns rewritten by the nightly job carry no index, so that PostgreSQL
    # updates their rows in place (HOT updates) without touching any index.
    segment_id = fields.Many2one("customer.segment", string="Segment", readonly=True)
    segment_color = fields.Integer(related="segment_id.color")
    # churn
    churn_probability = fields.Float(
        string="Churn Probability",
        readonly=True,
        digits=(3, 2),
        aggregator="avg",
        help="1 - P(alive) from the BG/NBD model fitted on the company's members, "
        "to the percent.",
    )
    expected_purchases_90d = fields.Float(
        string="Expected Purchases (90 days)",
        readonly=True,
        digits=(16, 1),
        help="Purchases the BG/NBD model expects in the next 90 days.",
    )
    expected_order_value = fields.Monetary(
        string="Expected Order Value",
        readonly=True,
        help="The average value of the member's future orders by the "
        "Gamma-Gamma spend model fitted on the company's members: their own "
        "average basket, pulled towards the company's the fewer orders they "
        "have.",
    )
    clv = fields.Monetary(
        string="Predicted Lifetime Value",
        readonly=True,
        aggregator="sum",
        help="The discounted value of the orders the member is expected to "
        "place over the company's lifetime value horizon: purchases expected "
        "by the churn model times the expected order value.",
    )
    churn_risk = fields.Selection(
        selection=[("low", "Low"), ("medium", "Medium"), ("high", "High")],
        string="Churn Risk",
        readonly=True,
    )
    churn_risk_date = fields.Date(
        string="Churn Risk Since",
        readonly=True,
        help="The day the churn risk moved to its current level from another "
        "(empty while it never moved since the first computation).",
    )
    next_purchase_date = fields.Date(
        string="Expected Next Purchase",
        compute="_compute_next_purchase_date",
        help="The last purchase plus the member's own average gap between "
        "purchase days, or, with a single purchase day, plus the gap the churn "
        "model expects (90 days over the purchases expected in 90 days).",
    )
    snapshot_ids = fields.One2many(
        "customer.rfm.snapshot", "membership_id", string="RFM History"
    )
    # points (derived from the ledger, written by its bookkeeping)
    point_entry_ids = fields.One2many(
        "customer.point.entry", "membership_id", string="Points Ledger"
    )
    points_balance = fields.Integer(
        string="Points Available",
        readonly=True,
        help="Sum of the available lines of the ledger: the points the member "
        "can spend.",
    )
    points_pending = fields.Integer(
        string="Points Pending",
        readonly=True,
        help="Points of recent orders that cannot be spent until their return "
        "window ends (or their order is delivered or paid).",
    )
    has_negative_balance = fields.Boolean(
        string="Negative Balance",
        readonly=True,
        help="Points already spent were taken back by a cancellation or credit "
        "note: the member owes points.",
    )
    points_expiring_soon = fields.Integer(
        string="Points Expiring Soon",
        compute="_compute_points_expiring",
        search="_search_points_expiring_soon",
        help="Available points that expire within the company's expiring-soon period.",
    )
    points_expiring_date = fields.Date(
        string="Next Expiry",
        compute="_compute_points_expiring",
        help="The day after which the member's next points expire.",
    )
    # tiers
    tier_id = fields.Many2one(
        "customer.tier", string="Tier", readonly=True, index="btree_not_null"
    )
    tier_since_date = fields.Date(string="Tier Since", readonly=True)
    tier_qualifying_value = fields.Float(
        string="Qualifying Figure",
        readonly=True,
        digits=(16, 2),
        help="Spend, qualifying points or orders over the tier window, as of "
        "the last tier evaluation.",
    )
    tier_floor_id = fields.Many2one(
        "customer.tier",
        string="Tier Floor",
        check_company=True,
        domain="[('company_id', '=', company_id)]",
        help="Set by a manager: the member keeps at least this tier until the "
        "floor's end date.",
    )
    tier_floor_end_date = fields.Date(string="Floor Until")
    tier_change_ids = fields.One2many(
        "customer.tier.change", "membership_id", string="Tier History"
    )
    next_tier_id = fields.Many2one(
        "customer.tier", string="Next Tier", compute="_compute_next_tier"
    )
    next_tier_missing = fields.Float(
        string="Missing for Next Tier",
        compute="_compute_next_tier",
        digits=(16, 2),
        help="What the qualifying figure still lacks to reach the next tier.",
    )

    # rewards and coupons
    coupon_ids = fields.One2many("customer.coupon", "membership_id", string="Coupons")
    coupon_count = fields.Integer(
        string="Unused Coupons", compute="_compute_coupon_count"
    )
    marketing_opt_out = fields.Boolean(
        string="No Marketing Mail",
        tracking=True,
        help="The customer asked not to receive marketing mail: coupons are "
        "still issued to them, but not mailed.",
    )

    _sql_constraints = [
        (
            "partner_company_uniq",
            "unique(partner_id, company_id)",
            "A customer can be a member only once per company.",
        ),
    ]

    def init(self):
        # leave room in each page so that updates of a member stay on its page
        self.env.cr.execute(
            SQL("ALTER TABLE customer_membership SET (fillfactor = %s)", FILLFACTOR)
        )

    @api.depends("last_order_date", "company_id")
    def _compute_recency_days(self):
        todays = {company: company._loyalty_today() for company in self.company_id}
        for membership in self:
            membership.recency_days = (
                (todays[membership.company_id] - membership.last_order_date).days
                if membership.last_order_date
                else False
            )

    @api.depends("point_entry_ids", "company_id")
    def _compute_points_expiring(self):
        todays = Json(self.company_id._loyalty_todays())
        rows = {}
        if self.ids:
            self.env["customer.point.entry"].flush_model()
            self.env.cr.execute(
                SQL(
                    """
                    SELECT e.membership_id, min(e.expiry_date),
                           sum(e.remaining_points) FILTER (
                               WHERE e.expiry_date <= (%(todays)s::jsonb
                                     ->> e.company_id::text)::date
                                     + c.loyalty_points_expiry_warning_days)
                      FROM customer_point_entry e
                      JOIN res_company c ON c.id = e.company_id
                     WHERE e.membership_id = ANY(%(ids)s) AND e.state = 'available'
                       AND e.remaining_points > 0
                       AND e.expiry_date >= (%(todays)s::jsonb
                                             ->> e.company_id::text)::date
                     GROUP BY e.membership_id
                    """,
                    todays=todays,
                    ids=self.ids,
                )
            )
            rows = {mid: (date, soon) for mid, date, soon in self.env.cr.fetchall()}
        for membership in self:
            date, soon = rows.get(membership.id, (False, 0))
            membership.points_expiring_date = date
            membership.points_expiring_soon = soon or 0

    def _search_points_expiring_soon(self, operator, value):
        """Supports ``> 0`` / ``!= 0`` (members with points expiring soon)
        and ``= 0``."""
        if value not in (0, False) or operator not in (">", "!=", "="):
            raise UserError(self.env._("Search expiring points with > 0 or = 0 only."))
        todays = Json(self.env["res.company"].sudo().search([])._loyalty_todays())
        self.env["customer.point.entry"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT DISTINCT e.membership_id
                  FROM customer_point_entry e
                  JOIN res_company c ON c.id = e.company_id
                 WHERE e.state = 'available' AND e.remaining_points > 0
                   AND e.expiry_date >= (%(todays)s::jsonb
                                         ->> e.company_id::text)::date
                   AND e.expiry_date <= (%(todays)s::jsonb
                                         ->> e.company_id::text)::date
                                        + c.loyalty_points_expiry_warning_days
                """,
                todays=todays,
            )
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        return [("id", "not in" if operator == "=" else "in", ids)]

    @api.depends(
        "first_order_date",
        "last_order_date",
        "purchase_day_count",
        "expected_purchases_90d",
    )
    def _compute_next_purchase_date(self):
        for membership in self:
            membership.next_purchase_date = next_purchase_date(
                membership.first_order_date,
                membership.last_order_date,
                membership.purchase_day_count,
                membership.expected_purchases_90d,
            )

    @api.depends("tier_id", "tier_qualifying_value", "company_id")
    def _compute_next_tier(self):
        tiers_by_company = {}
        for membership in self:
            company = membership.company_id
            if company.id not in tiers_by_company:
                tiers_by_company[company.id] = (
                    self.env["customer.tier"]
                    .sudo()
                    .search([("company_id", "=", company.id)])
                )
            tiers = tiers_by_company[company.id]
            above = tiers.filtered(
                lambda t, m=membership: (
                    t.threshold > m.tier_qualifying_value
                    and (not m.tier_id or t.threshold > m.tier_id.threshold)
                )
            )[:1]
            membership.next_tier_id = above.id
            membership.next_tier_missing = (
                above.threshold - membership.tier_qualifying_value if above else 0.0
            )

    @api.depends("name", "partner_id")
    def _compute_display_name(self):
        for membership in self:
            membership.display_name = (
                f"{membership.partner_id.name} ({membership.name})"
                if membership.name
                else membership.partner_id.name
            )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            refuse_bad_values(self, vals)
            self._check_user_fields(vals, CREATE_FIELDS)
        partners = self.env["res.partner"]
        for vals in vals_list:
            if vals.get("partner_id"):
                commercial = partners.browse(vals["partner_id"]).commercial_partner_id
                vals["partner_id"] = commercial.id
        memberships = super().create(vals_list)
        memberships._assign_member_numbers()
        memberships._refresh_figures()
        # a customer enrolled with a history reaches their tier at once
        tiers = self.env["customer.tier"].sudo()
        for company in memberships.company_id:
            tiers._apply_tiers(
                company,
                memberships.filtered(lambda m, c=company: m.company_id == c).ids,
            )
        return memberships

    @api.model
    def _check_user_fields(self, vals, allowed):
        """Refuse values a user may not set. Figures (statistics, scores,
        segment, churn, balances, tier) are written by the programme's own
        code only; a user sets the fields of ``allowed`` (and a loyalty
        manager also those of ``MANAGER_FIELDS``), and the chatter's own."""
        if self.env.su:
            return
        allowed = set(allowed) | set(self.env["mail.thread"]._fields)
        allowed |= set(self.env["mail.activity.mixin"]._fields)
        if self.env.user.has_group("repeat_customer.group_manager"):
            allowed |= MANAGER_FIELDS
        refused = sorted(set(vals) - allowed)
        if refused:
            raise AccessError(
                self.env._(
                    "These fields of a membership are set by the loyalty programme, "
                    "not by hand: %(fields)s.",
                    fields=", ".join(
                        self._fields[fname].get_description(self.env)["string"]
                        if fname in self._fields
                        else fname
                        for fname in refused
                    ),
                )
            )

    def write(self, vals):
        refuse_bad_values(self, vals)
        if "partner_id" in vals or "company_id" in vals:
            raise UserError(
                self.env._(
                    "The customer and company of a membership cannot change; "
                    "enrol the other customer instead."
                )
            )
        floor_changed = {"tier_floor_id", "tier_floor_end_date"} & set(vals)
        if floor_changed and not (
            self.env.su or self.env.user.has_group("repeat_customer.group_manager")
        ):
            raise UserError(
                self.env._("Only loyalty managers can set a member's tier floor.")
            )
        self._check_user_fields(vals, USER_FIELDS)
        result = super().write(vals)
        if floor_changed:
            self._check_tier_floor()
            tiers = self.env["customer.tier"].sudo()
            for company in self.company_id:
                tiers._apply_tiers(
                    company,
                    self.filtered(lambda m, c=company: m.company_id == c).ids,
                )
        return result

    def _check_tier_floor(self):
        for membership in self:
            if membership.tier_floor_id and not membership.tier_floor_end_date:
                raise UserError(
                    self.env._(
                        "A tier floor needs an end date: until when should "
                        "%(member)s keep %(tier)s?",
                        member=membership.display_name,
                        tier=membership.tier_floor_id.name,
                    )
                )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_points(self):
        if self.sudo().point_entry_ids:
            raise UserError(
                self.env._(
                    "A member with points ledger lines cannot be deleted: the "
                    "ledger is kept. Block the membership instead."
                )
            )

    def _assign_member_numbers(self):
        """Give every membership of ``self`` without a number its number.

        Numbers derive from the id, so the set-wise SQL enrolment and the ORM
        give the same format.
        """
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_membership
                   SET name = 'M' || lpad(id::text, 7, '0')
                 WHERE id = ANY(%s) AND name IS NULL
                """,
                self.ids,
            )
        )
        self.invalidate_recordset(["name"])

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_view_orders(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id("sale.action_orders")
        action["domain"] = [
            ("partner_id", "child_of", self.partner_id.id),
            ("company_id", "=", self.company_id.id),
        ]
        action["context"] = {"create": False}
        return action

    def action_view_snapshots(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_rfm_snapshot_action"
        )
        action["domain"] = [("membership_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_recompute(self):
        """Recompute the figures of the selected memberships now."""
        self._refresh_figures(full=True)
        return True

    def action_view_points(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_point_entry_action"
        )
        action["domain"] = [("membership_id", "=", self.id)]
        action["context"] = {"search_default_group_by_kind": 0}
        return action

    def action_view_tier_changes(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_tier_change_action"
        )
        action["domain"] = [("membership_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_adjust_points(self):
        one_record(self)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Adjust Points"),
            "res_model": "customer.point.adjust.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_membership_id": self.id},
        }

    def _compute_coupon_count(self):
        counts = dict(
            self.env["customer.coupon"]._read_group(
                [("membership_id", "in", self.ids), ("state", "=", "issued")],
                ["membership_id"],
                ["__count"],
            )
        )
        for membership in self:
            membership.coupon_count = counts.get(membership, 0)

    def action_view_coupons(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_coupon_action"
        )
        action["domain"] = [("membership_id", "=", self.id)]
        action["context"] = {"search_default_filter_issued": 1}
        return action

    def action_redeem_reward(self):
        one_record(self)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Redeem a Reward"),
            "res_model": "customer.reward.redeem.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_membership_id": self.id},
        }

    def action_issue_coupons(self):
        return self.env["customer.coupon.batch"].action_open_for_memberships(self)

    def action_block(self):
        self._check_manager(self.env._("Only loyalty managers can block a member."))
        self.write({"state": "blocked"})

    def action_activate(self):
        self._check_manager(
            self.env._("Only loyalty managers can reactivate a member.")
        )
        self.write({"state": "active"})

    @api.model
    def _demo_generate(self, customer_count=520, seed=2024):
        """Load the demo customers and their history (called by the demo
        data only). The generator is imported here, so that it never loads
        in the registry of a production database."""
        from ..demo.demo_generator import DemoGenerator  # noqa: PLC0415

        return DemoGenerator(self.env)._generate_demo_data(customer_count, seed)

    @api.model
    def _demo_load_language(self, code):
        """Install the language ``code`` for every installed app, as Odoo's
        *Add Languages* wizard does (``bin/run-demo`` runs it once the demo
        is installed): its records (segments, stages, campaigns, mail
        templates, products) get their translation, which ``odoo-bin
        --load-language`` does not give while only ``base`` is loaded."""
        if not self.env.is_superuser():
            raise AccessError(self.env._("Only an administrator installs a language."))
        languages = (
            self.env["res.lang"]
            .with_context(active_test=False)
            .search([("code", "=", code)])
        )
        if not languages:
            raise UserError(self.env._("Unknown language: %s", code))
        self.env["base.language.install"].create(
            {"lang_ids": [Command.set(languages.ids)]}
        ).lang_install()

    def _check_manager(self, message):
        if not (
            self.env.su or self.env.user.has_group("repeat_customer.group_manager")
        ):
            raise AccessError(message)
