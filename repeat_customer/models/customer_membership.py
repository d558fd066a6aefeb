import json
import logging

import numpy as np
from psycopg2.extras import Json

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..tools import bgnbd

_logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100000
NIGHTLY_STATE_PARAM = "repeat_customer.nightly_state"
BATCH_SIZE_PARAM = "repeat_customer.batch_size"
QUANTILES = [0.2, 0.4, 0.6, 0.8]
# The churn model is fitted on at most this many members, drawn evenly by id:
# the fit is statistically stable long before that and memory stays bounded.
FIT_SAMPLE_SIZE = 50000
MIN_FIT_MEMBERS = 10
DAYS_PER_PERIOD = 7.0  # BG/NBD works in weeks
CHURN_HORIZON_DAYS = 90
FILLFACTOR = 80
# stored precision of the churn figures: a nightly run rewrites a member only
# when a figure moved at this precision
CHURN_DIGITS = 2
EXPECTED_DIGITS = 1


def pg_array(values):
    """A PostgreSQL array literal of numbers for ``%s::float8[]``: the server
    parses it in one go, far faster than the ARRAY[...] expression a Python
    list of 100 000 numbers becomes."""
    return "{" + ",".join("NULL" if v is None else repr(v) for v in values) + "}"


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
    _inherit = ["mail.thread", "mail.activity.mixin"]
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
    churn_risk = fields.Selection(
        selection=[("low", "Low"), ("medium", "Medium"), ("high", "High")],
        string="Churn Risk",
        readonly=True,
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
            self._check_user_fields(vals, CREATE_FIELDS)
        partners = self.env["res.partner"]
        for vals in vals_list:
            if vals.get("partner_id"):
                commercial = partners.browse(vals["partner_id"]).commercial_partner_id
                vals["partner_id"] = commercial.id
        memberships = super().create(vals_list)
        memberships._assign_member_numbers()
        memberships._refresh_figures()
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
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale.action_orders")
        action["domain"] = [
            ("partner_id", "child_of", self.partner_id.id),
            ("company_id", "=", self.company_id.id),
        ]
        action["context"] = {"create": False}
        return action

    def action_view_snapshots(self):
        self.ensure_one()
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
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_point_entry_action"
        )
        action["domain"] = [("membership_id", "=", self.id)]
        action["context"] = {"search_default_group_by_kind": 0}
        return action

    def action_view_tier_changes(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_tier_change_action"
        )
        action["domain"] = [("membership_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_adjust_points(self):
        self.ensure_one()
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
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_coupon_action"
        )
        action["domain"] = [("membership_id", "=", self.id)]
        action["context"] = {"search_default_filter_issued": 1}
        return action

    def action_redeem_reward(self):
        self.ensure_one()
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

    def _check_manager(self, message):
        if not (
            self.env.su or self.env.user.has_group("repeat_customer.group_manager")
        ):
            raise AccessError(message)

    # ------------------------------------------------------------------
    # Enrolment
    # ------------------------------------------------------------------
    @api.model
    def _enrol_partners(self, company, partners):
        """Enrol the commercial entities of ``partners`` in ``company``.

        Set-wise and idempotent: customers already enrolled are left alone.
        Return the memberships of those customers in that company.
        """
        commercial_ids = list(set(partners.commercial_partner_id.ids))
        if not commercial_ids:
            return self.browse()
        # the INSERT reads the partners' salesperson and existing memberships
        self.env["res.partner"].flush_model(["user_id"])
        self.flush_model()
        self._insert_memberships(
            company,
            SQL(
                """
                SELECT cp.id, %(today)s::date
                  FROM res_partner cp
                 WHERE cp.id = ANY(%(ids)s)
                   AND NOT EXISTS (
                       SELECT 1 FROM customer_membership m
                        WHERE m.partner_id = cp.id AND m.company_id = %(company)s)
                """,
                today=company._loyalty_today(),
                ids=commercial_ids,
                company=company.id,
            ),
        )
        return self.search(
            [("partner_id", "in", commercial_ids), ("company_id", "=", company.id)]
        )

    @api.model
    def _insert_memberships(self, company, select):
        """INSERT memberships from ``select`` (partner id, join date) rows, with
        their member number. Return the ids of the memberships created.

        The candidates are read first and inserted in a second statement: a
        statement that inserts memberships while probing the same table for
        existing ones may rescan its own new rows for every candidate.
        """
        self.env.cr.execute(select)
        rows = self.env.cr.fetchall()
        if not rows:
            return []
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO customer_membership (
                    id, name, partner_id, company_id, user_id, join_date, state,
                    create_uid, create_date, write_uid, write_date)
                SELECT new.id, 'M' || lpad(new.id::text, 7, '0'), new.partner_id,
                       %(company)s, new.user_id, new.join_date, 'active',
                       %(uid)s, now() at time zone 'UTC',
                       %(uid)s, now() at time zone 'UTC'
                  FROM (
                      SELECT nextval('customer_membership_id_seq') AS id,
                             src.partner_id, partner.user_id, src.join_date
                        FROM unnest(%(partners)s::int[], %(dates)s::date[])
                             AS src(partner_id, join_date)
                        JOIN res_partner partner ON partner.id = src.partner_id
                  ) AS new
                ON CONFLICT (partner_id, company_id) DO NOTHING
                RETURNING id
                """,
                company=company.id,
                uid=self.env.uid,
                partners=[row[0] for row in rows],
                dates=[row[1] for row in rows],
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _enrol_from_history(self, company):
        """Enrol every active customer with purchases in ``company``'s history.

        Scans the commercial partners that are not members yet and probes
        their documents through indexes, so a nightly run where everybody is
        enrolled already costs one pass over the partners. The join date is
        the customer's first purchase. Return the number of new members.
        """
        self.env.flush_all()
        not_member = SQL(
            """
            cp.active
            AND cp.id = cp.commercial_partner_id
            AND NOT EXISTS (
                SELECT 1 FROM customer_membership m
                 WHERE m.partner_id = cp.id AND m.company_id = %(company)s)
            """,
            company=company.id,
        )
        if company.loyalty_stats_source == "invoice":
            select = SQL(
                """
                SELECT cp.id, first.day
                  FROM res_partner cp
                  CROSS JOIN LATERAL (
                      SELECT min(am.invoice_date) AS day
                        FROM account_move am
                       WHERE am.commercial_partner_id = cp.id
                         AND am.company_id = %(company)s
                         AND am.state = 'posted'
                         AND am.move_type = 'out_invoice'
                  ) first
                 WHERE %(not_member)s AND first.day IS NOT NULL
                """,
                company=company.id,
                not_member=not_member,
            )
        else:
            select = SQL(
                """
                SELECT cp.id, first.day
                  FROM res_partner cp
                  CROSS JOIN LATERAL (
                      SELECT min((so.date_order AT TIME ZONE 'UTC'
                                  AT TIME ZONE %(tz)s)::date) AS day
                        FROM res_partner p
                        JOIN sale_order so ON so.partner_id = p.id
                       WHERE p.commercial_partner_id = cp.id
                         AND so.company_id = %(company)s
                         AND so.state = 'sale'
                  ) first
                 WHERE %(not_member)s AND first.day IS NOT NULL
                """,
                company=company.id,
                tz=company._loyalty_tz(),
                not_member=not_member,
            )
        return len(self._insert_memberships(company, select))

    # ------------------------------------------------------------------
    # Statistics
    # ------------------------------------------------------------------
    @api.model
    def _purchases_query(self, company):
        """SQL of the purchases of the members in the temporary batch ``mem``.

        Rows: membership id, purchase day, untaxed amount in company currency,
        and 1 for a purchase or 0 for a credit note.
        """
        if company.loyalty_stats_source == "invoice":
            return SQL(
                """
                SELECT mem.id, am.invoice_date,
                       am.amount_untaxed_signed,
                       CASE WHEN am.move_type = 'out_invoice' THEN 1 ELSE 0 END
                  FROM mem
                  JOIN account_move am ON am.commercial_partner_id = mem.partner_id
                 WHERE am.company_id = %(company)s
                   AND am.state = 'posted'
                   AND am.move_type IN ('out_invoice', 'out_refund')
                """,
                company=company.id,
            )
        return SQL(
            """
            SELECT mem.id,
                   (so.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date,
                   so.amount_untaxed / COALESCE(NULLIF(so.currency_rate, 0), 1.0),
                   1
              FROM mem
              JOIN res_partner p ON p.commercial_partner_id = mem.partner_id
              JOIN sale_order so ON so.partner_id = p.id
             WHERE so.company_id = %(company)s
               AND so.state = 'sale'
            """,
            company=company.id,
            tz=company._loyalty_tz(),
        )

    @api.model
    def _update_statistics(self, company, membership_ids):
        """Recompute the purchase statistics of ``membership_ids`` in one UPDATE.

        Every figure is recomputed from all documents; only the members whose
        figures changed are written.
        """
        if not membership_ids:
            return
        today = company._loyalty_today()
        window_start = fields.Date.subtract(today, days=company.loyalty_rfm_window_days)
        self.env.cr.execute(
            SQL(
                """
                WITH mem AS (
                    SELECT id, partner_id
                      FROM customer_membership
                     WHERE id = ANY(%(ids)s) AND company_id = %(company)s
                ),
                purchase(membership_id, day, amount, is_order) AS (%(purchases)s),
                agg AS (
                    SELECT membership_id,
                           min(day) FILTER (WHERE is_order = 1) AS first_day,
                           max(day) FILTER (WHERE is_order = 1) AS last_day,
                           sum(is_order) AS order_count,
                           count(DISTINCT day) FILTER (WHERE is_order = 1)
                               AS day_count,
                           sum(amount) AS total,
                           sum(is_order) FILTER (WHERE day > %(window_start)s)
                               AS window_count,
                           sum(amount) FILTER (WHERE day > %(window_start)s)
                               AS window_total
                      FROM purchase
                     GROUP BY membership_id
                ),
                new AS (
                    SELECT mem.id,
                           agg.first_day,
                           agg.last_day,
                           COALESCE(agg.order_count, 0) AS order_count,
                           COALESCE(agg.day_count, 0) AS day_count,
                           COALESCE(agg.total, 0) AS total,
                           COALESCE(agg.total / NULLIF(agg.order_count, 0), 0)
                               AS average,
                           COALESCE(agg.window_count, 0) AS window_count,
                           COALESCE(agg.window_total, 0) AS window_total
                      FROM mem
                      LEFT JOIN agg ON agg.membership_id = mem.id
                )
                UPDATE customer_membership m
                   SET first_order_date = new.first_day,
                       last_order_date = new.last_day,
                       order_count = new.order_count,
                       purchase_day_count = new.day_count,
                       total_spent = new.total,
                       average_order_value = new.average,
                       rfm_frequency = new.window_count,
                       rfm_monetary = new.window_total
                  FROM new
                 WHERE m.id = new.id
                   AND (m.first_order_date, m.last_order_date, m.order_count,
                        m.purchase_day_count, m.total_spent, m.average_order_value,
                        m.rfm_frequency, m.rfm_monetary)
                       IS DISTINCT FROM
                       (new.first_day, new.last_day, new.order_count,
                        new.day_count, new.total, new.average,
                        new.window_count, new.window_total)
                """,
                ids=list(membership_ids),
                company=company.id,
                purchases=self._purchases_query(company),
                window_start=window_start,
            )
        )

    # ------------------------------------------------------------------
    # RFM and churn scoring
    # ------------------------------------------------------------------
    @api.model
    def _compute_rfm_cutpoints(self, company):
        """Return the cut points scoring R, F and M in ``company``.

        Quantile method: the 20/40/60/80 % quantiles of the members who bought
        something. Threshold method: the configured thresholds. A value gets
        a score by counting the cut points it passes, so equal values always
        get equal scores.
        """
        if company.loyalty_rfm_method == "threshold":
            thresholds = company._loyalty_thresholds()
            return {
                "method": "threshold",
                "recency": thresholds["recency"],
                "frequency": thresholds["frequency"],
                "monetary": thresholds["monetary"],
            }
        self.env.cr.execute(
            SQL(
                """
                SELECT percentile_cont(%(q)s::float8[])
                           WITHIN GROUP (ORDER BY %(today)s::date - last_order_date),
                       percentile_cont(%(q)s::float8[])
                           WITHIN GROUP (ORDER BY rfm_frequency),
                       percentile_cont(%(q)s::float8[])
                           WITHIN GROUP (ORDER BY rfm_monetary)
                  FROM customer_membership
                 WHERE company_id = %(company)s AND order_count > 0
                """,
                q=QUANTILES,
                today=company._loyalty_today(),
                company=company.id,
            )
        )
        recency, frequency, monetary = self.env.cr.fetchone()
        if recency is None:
            return {}
        return {
            "method": "quantile",
            "recency": recency,
            "frequency": frequency,
            "monetary": monetary,
        }

    @api.model
    def _score_sql(self, value, cutpoints, higher_is_better, inclusive):
        """SQL scoring the SQL expression ``value`` from 1 to 5 against four
        cut points."""
        op = SQL(">=") if inclusive else SQL(">")
        passed = SQL(" + ").join(
            SQL("(%s %s %s)::int", value, op, float(c)) for c in cutpoints
        )
        if higher_is_better:
            return SQL("1 + %s", passed)
        return SQL("5 - (%s)", passed)

    @api.model
    def _segment_map(self, company):
        """The segment of each (R, F, M) score triple, as a 125-item list indexed
        by ``(R - 1) * 25 + (F - 1) * 5 + (M - 1)``: the first segment in
        sequence order whose ranges contain the scores."""
        segments = self.env["customer.segment"].search(
            [("company_id", "in", [False, company.id])], order="sequence, id"
        )
        segment_map = []
        for r in range(1, 6):
            for f in range(1, 6):
                for m in range(1, 6):
                    match = next(
                        (
                            seg.id
                            for seg in segments
                            if seg.recency_min <= r <= seg.recency_max
                            and seg.frequency_min <= f <= seg.frequency_max
                            and seg.monetary_min <= m <= seg.monetary_max
                        ),
                        None,
                    )
                    segment_map.append(match)
        return segment_map

    @api.model
    def _update_scores(self, company, membership_ids, cutpoints, params):
        """Score ``membership_ids`` in one UPDATE: R, F, M, segment, churn
        probability, expected purchases and churn risk.

        Only the members whose figures changed are written. Post the segment
        moves in the members' chatter and return the ids of the members whose
        RFM score, segment or churn risk changed, with their previous segment.
        """
        if not membership_ids:
            return []
        today = company._loyalty_today()
        ids = list(membership_ids)
        fit_ids, churn, expected = [], [], []
        if params:
            fit_ids, frequency, recency, age = self._churn_inputs(
                company, SQL("id = ANY(%s)", ids)
            )
            if fit_ids:
                model = bgnbd.BgNbdParams(**params)
                alive = bgnbd.probability_alive(model, frequency, recency, age)
                churn = np.round(1.0 - alive, CHURN_DIGITS).tolist()
                expected = np.round(
                    bgnbd.expected_purchases(
                        model,
                        CHURN_HORIZON_DAYS / DAYS_PER_PERIOD,
                        frequency,
                        recency,
                        age,
                    ),
                    EXPECTED_DIGITS,
                ).tolist()
        if cutpoints:
            threshold = cutpoints["method"] == "threshold"
            recency_days = SQL("(%s::date - m.last_order_date)", today)
            scores = SQL(
                "%s AS r, %s AS f, %s AS mo",
                self._score_sql(recency_days, cutpoints["recency"], False, False),
                self._score_sql(
                    SQL("m.rfm_frequency"), cutpoints["frequency"], True, threshold
                ),
                self._score_sql(
                    SQL("m.rfm_monetary"), cutpoints["monetary"], True, threshold
                ),
            )
        else:
            scores = SQL("NULL::int AS r, NULL::int AS f, NULL::int AS mo")
        self.env.cr.execute(
            SQL(
                """
                WITH churn AS (
                    SELECT * FROM unnest(%(fit_ids)s::int[], %(churn)s::numeric[],
                                         %(expected)s::numeric[])
                           AS c(id, probability, expected)
                ),
                scored AS (
                    SELECT m.id, m.order_count, %(scores)s,
                           churn.probability, churn.expected
                      FROM customer_membership m
                      LEFT JOIN churn ON churn.id = m.id
                     WHERE m.id = ANY(%(ids)s) AND m.company_id = %(company)s
                ),
                new AS (
                    SELECT id,
                           CASE WHEN order_count > 0 THEN r END AS r,
                           CASE WHEN order_count > 0 THEN f END AS f,
                           CASE WHEN order_count > 0 THEN mo END AS mo,
                           CASE WHEN order_count > 0 THEN
                               (%(segment_map)s::int[])[(r - 1) * 25 + (f - 1) * 5 + mo]
                           END AS segment_id,
                           probability,
                           expected,
                           CASE WHEN probability IS NULL THEN NULL
                                WHEN probability >= %(high)s THEN 'high'
                                WHEN probability >= %(medium)s THEN 'medium'
                                ELSE 'low' END AS risk
                      FROM scored
                ),
                old AS (
                    SELECT m.id, m.rfm_score, m.segment_id, m.churn_risk
                      FROM customer_membership m
                     WHERE m.id = ANY(%(ids)s)
                )
                UPDATE customer_membership m
                   SET rfm_recency_score = new.r,
                       rfm_frequency_score = new.f,
                       rfm_monetary_score = new.mo,
                       rfm_score = new.r::text || new.f::text || new.mo::text,
                       segment_id = new.segment_id,
                       churn_probability = new.probability,
                       expected_purchases_90d = new.expected,
                       churn_risk = new.risk
                  FROM new
                  JOIN old ON old.id = new.id
                 WHERE m.id = new.id
                   AND (m.rfm_recency_score, m.rfm_frequency_score,
                        m.rfm_monetary_score, m.segment_id, m.churn_probability,
                        m.expected_purchases_90d, m.churn_risk)
                       IS DISTINCT FROM
                       (new.r, new.f, new.mo, new.segment_id, new.probability,
                        new.expected, new.risk)
             RETURNING m.id, old.segment_id, m.segment_id,
                       (old.rfm_score, old.segment_id, old.churn_risk)
                       IS DISTINCT FROM (m.rfm_score, m.segment_id, m.churn_risk)
                """,
                fit_ids=pg_array(fit_ids),
                churn=pg_array(churn),
                expected=pg_array(expected),
                scores=scores,
                ids=ids,
                company=company.id,
                segment_map=self._segment_map(company),
                high=company.loyalty_churn_high_threshold,
                medium=company.loyalty_churn_medium_threshold,
            )
        )
        rows = self.env.cr.fetchall()
        moves = [(mid, old, new) for mid, old, new, _changed in rows if old != new]
        if moves:
            # notes in the company's language, not the cron user's
            lang = company.partner_id.lang or self.env.lang
            self.with_context(lang=lang)._log_segment_moves(
                [move for move in moves if move[1]]
            )
        return [(mid, old) for mid, old, _new, changed in rows if changed]

    @api.model
    def _log_segment_moves(self, moves):
        """Post one chatter note per membership whose segment changed."""
        if not moves:
            return
        segments = self.env["customer.segment"].with_context(active_test=False)
        names = {
            seg.id: seg.name
            for seg in segments.browse(
                {old for _id, old, _new in moves} | {new for _id, _old, new in moves}
            ).exists()
        }
        none = self.env._("no segment")
        bodies = {
            membership_id: self.env._(
                "RFM segment changed: %(old)s → %(new)s",
                old=names.get(old, none),
                new=names.get(new, none),
            )
            for membership_id, old, new in moves
        }
        self.browse(list(bodies)).sudo()._message_log_batch(bodies=bodies)

    @api.model
    def _churn_inputs(self, company, condition):
        """Return ids and BG/NBD (x, t_x, T) arrays of the buying members of
        ``company`` matching ``condition``."""
        today = company._loyalty_today()
        self.env.cr.execute(
            SQL(
                """
                SELECT id,
                       greatest(purchase_day_count - 1, 0),
                       last_order_date - first_order_date,
                       %(today)s::date - first_order_date
                  FROM customer_membership
                 WHERE company_id = %(company)s
                   AND order_count > 0
                   AND first_order_date IS NOT NULL
                   AND %(condition)s
                 ORDER BY id
                """,
                today=today,
                company=company.id,
                condition=condition,
            )
        )
        rows = self.env.cr.fetchall()
        if not rows:
            empty = np.zeros(0)
            return [], empty, empty, empty
        data = np.array(rows, dtype=float)
        ids = data[:, 0].astype(int).tolist()
        frequency = data[:, 1]
        age = np.maximum(data[:, 3], 0.0) / DAYS_PER_PERIOD
        recency = np.clip(data[:, 2] / DAYS_PER_PERIOD, 0.0, age)
        return ids, frequency, recency, age

    @api.model
    def _fit_churn_model(self, company, sample_size=FIT_SAMPLE_SIZE):
        """Fit BG/NBD on the company's buying members; None if it cannot be fitted."""
        self.env.cr.execute(
            SQL(
                """
                SELECT count(*) FROM customer_membership
                 WHERE company_id = %s AND order_count > 0
                """,
                company.id,
            )
        )
        total = self.env.cr.fetchone()[0]
        if total < MIN_FIT_MEMBERS:
            return None
        step = max(1, -(-total // sample_size))
        condition = SQL("mod(id, %s) = 0", step) if step > 1 else SQL("TRUE")
        _ids, frequency, recency, age = self._churn_inputs(company, condition)
        if not (frequency > 0).any():
            return None
        try:
            params = bgnbd.fit(frequency, recency, age)
        except ValueError as error:
            _logger.warning(
                "Churn model not fitted for company %s: %s", company.id, error
            )
            return None
        return params._asdict()

    # ------------------------------------------------------------------
    # Snapshots
    # ------------------------------------------------------------------
    @api.model
    def _write_snapshots(self, company, changes):
        """Record today's RFM snapshot of the members in ``changes``.

        ``changes`` holds (membership id, previous segment id) of the members
        whose RFM score, segment or churn risk changed: the history keeps one
        row per member and day on which something moved, which is enough to
        know every member's state on any date without rewriting unchanged
        members every night. A second change on the same day updates the row
        and keeps the segment the member had before that day.
        """
        if not changes:
            return
        today = company._loyalty_today()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO customer_rfm_snapshot (
                    membership_id, company_id, snapshot_date,
                    recency_days, frequency, monetary,
                    recency_score, frequency_score, monetary_score, rfm_score,
                    segment_id, previous_segment_id, has_segment_changed,
                    churn_probability, churn_risk)
                SELECT m.id, m.company_id, %(today)s,
                       %(today)s::date - m.last_order_date,
                       m.rfm_frequency, m.rfm_monetary,
                       m.rfm_recency_score, m.rfm_frequency_score,
                       m.rfm_monetary_score, m.rfm_score,
                       m.segment_id, c.previous_segment_id,
                       COALESCE(c.previous_segment_id IS DISTINCT FROM m.segment_id
                                AND c.previous_segment_id IS NOT NULL, FALSE),
                       m.churn_probability, m.churn_risk
                  FROM unnest(%(ids)s::int[], %(previous)s::int[])
                       AS c(membership_id, previous_segment_id)
                  JOIN customer_membership m ON m.id = c.membership_id
                ON CONFLICT (membership_id, snapshot_date) DO UPDATE
                   SET recency_days = EXCLUDED.recency_days,
                       frequency = EXCLUDED.frequency,
                       monetary = EXCLUDED.monetary,
                       recency_score = EXCLUDED.recency_score,
                       frequency_score = EXCLUDED.frequency_score,
                       monetary_score = EXCLUDED.monetary_score,
                       rfm_score = EXCLUDED.rfm_score,
                       segment_id = EXCLUDED.segment_id,
                       has_segment_changed = COALESCE(
                           customer_rfm_snapshot.previous_segment_id
                               IS DISTINCT FROM EXCLUDED.segment_id
                           AND customer_rfm_snapshot.previous_segment_id
                               IS NOT NULL, FALSE),
                       churn_probability = EXCLUDED.churn_probability,
                       churn_risk = EXCLUDED.churn_risk
                """,
                today=today,
                ids=[mid for mid, _previous in changes],
                previous=[previous for _mid, previous in changes],
            )
        )

    # ------------------------------------------------------------------
    # Orchestration
    # ------------------------------------------------------------------
    @api.model
    def _batch_size(self):
        value = self.env["ir.config_parameter"].sudo().get_param(BATCH_SIZE_PARAM)
        try:
            size = int(value or DEFAULT_BATCH_SIZE)
        except ValueError:
            size = DEFAULT_BATCH_SIZE
        return max(size, 1)

    @api.model
    def _next_batch(self, company, after_id, limit):
        """Ids of the next ``limit`` memberships of ``company`` after ``after_id``."""
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM customer_membership
                 WHERE company_id = %s AND id > %s
                 ORDER BY id LIMIT %s
                """,
                company.id,
                after_id,
                limit,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _prepare_scoring(self, company):
        """Compute and store the company's RFM cut points and churn model."""
        cutpoints = self._compute_rfm_cutpoints(company)
        params = self._fit_churn_model(company)
        company.sudo().write(
            {
                "loyalty_rfm_cutpoints": cutpoints or False,
                "loyalty_bgnbd_params": params or False,
                "loyalty_last_compute_date": fields.Datetime.now(),
            }
        )
        return cutpoints, params

    @api.model
    def _score_batch(self, company, membership_ids, cutpoints, params):
        """RFM scores, segment, churn and snapshots of a batch of memberships."""
        changes = self._update_scores(company, membership_ids, cutpoints, params)
        self._write_snapshots(company, changes)

    def _refresh_figures(self, full=False):
        """Recompute the figures of the memberships in ``self``.

        Statistics always; with ``full``, also RFM scores, segment, churn risk
        and today's snapshot, using the cut points and churn model of the
        company's last run (computed now if the company never had one).
        """
        if not self:
            return
        self.env.flush_all()
        for company in self.company_id:
            memberships = self.filtered(lambda m, c=company: m.company_id == c)
            self._update_statistics(company, memberships.ids)
            if full:
                cutpoints = company.loyalty_rfm_cutpoints
                params = company.loyalty_bgnbd_params
                if not cutpoints:
                    cutpoints, params = self._prepare_scoring(company)
                self._score_batch(company, memberships.ids, cutpoints, params)
        self.invalidate_model()

    @api.model
    def _compute_company(self, company, batch_size=None):
        """Run the whole computation for ``company`` in this transaction.

        Used by the install hook, tests and benchmarks; the cron does the same
        steps one batch per call with commits in between.
        """
        batch_size = batch_size or self._batch_size()
        if company.loyalty_auto_enroll:
            self._enrol_from_history(company)
        self.env.flush_all()
        last_id = 0
        while ids := self._next_batch(company, last_id, batch_size):
            self._update_statistics(company, ids)
            last_id = ids[-1]
        cutpoints, params = self._prepare_scoring(company)
        last_id = 0
        while ids := self._next_batch(company, last_id, batch_size):
            self._score_batch(company, ids, cutpoints, params)
            last_id = ids[-1]
        self.env["customer.segment.size"]._record_sizes(company)
        self.invalidate_model()
        self.env["res.company"].invalidate_model()

    # ------------------------------------------------------------------
    # Cron: one batch per call, state kept between calls
    # ------------------------------------------------------------------
    @api.model
    def _nightly_state(self):
        raw = self.env["ir.config_parameter"].sudo().get_param(NIGHTLY_STATE_PARAM)
        try:
            state = json.loads(raw) if raw else {}
        except ValueError:
            state = {}
        return state if state.get("company_ids") else {}

    @api.model
    def _save_nightly_state(self, state):
        self.env["ir.config_parameter"].sudo().set_param(
            NIGHTLY_STATE_PARAM, json.dumps(state) if state else ""
        )

    @api.model
    def _cron_compute_customers(self):
        """Nightly computation of statistics, RFM, churn and snapshots.

        Each call does one step (an enrolment, one batch of statistics, the
        scoring preparation or one batch of scoring) for one company, saves
        where it is and reports progress; the cron framework commits after
        each call and calls again while work remains. A run interrupted by a
        crash resumes at the batch that failed; every step is idempotent.
        """
        state = self._nightly_state()
        if not state:
            company_ids = self.env["res.company"].sudo().search([]).ids
            state = {"company_ids": company_ids, "step": "enrol", "last_id": 0}
        company = self.env["res.company"].sudo().browse(state["company_ids"][0])
        if not company.exists():
            state["company_ids"].pop(0)
            state.update(step="enrol", last_id=0)
        else:
            self._run_step(company, state)
        if not state["company_ids"]:
            state = {}
        self._save_nightly_state(state)
        self.invalidate_model()
        done, remaining = self._nightly_progress(state)
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return state

    @api.model
    def _run_step(self, company, state):
        step = state["step"]
        batch_size = self._batch_size()
        if step == "enrol":
            if company.loyalty_auto_enroll:
                self._enrol_from_history(company)
            state.update(step="stats", last_id=0)
        elif step == "stats":
            self.env.flush_all()
            ids = self._next_batch(company, state["last_id"], batch_size)
            if ids:
                self._update_statistics(company, ids)
                state["last_id"] = ids[-1]
            else:
                state.update(step="prepare", last_id=0)
        elif step == "prepare":
            self._prepare_scoring(company)
            state.update(step="score", last_id=0)
        elif step == "score":
            ids = self._next_batch(company, state["last_id"], batch_size)
            if ids:
                self._score_batch(
                    company,
                    ids,
                    company.loyalty_rfm_cutpoints,
                    company.loyalty_bgnbd_params,
                )
                state["last_id"] = ids[-1]
            else:
                self.env["customer.segment.size"]._record_sizes(company)
                state["company_ids"].pop(0)
                state.update(step="enrol", last_id=0)

    @api.model
    def _nightly_progress(self, state):
        """(done, remaining) in memberships for the cron's progress report."""
        if not state:
            return 1, 0
        self.env.cr.execute(
            SQL(
                """
                SELECT count(*) FILTER (WHERE company_id = %(current)s
                                          AND id <= %(last_id)s),
                       count(*) FILTER (WHERE company_id = %(current)s
                                          AND id > %(last_id)s),
                       count(*) FILTER (WHERE company_id = ANY(%(later)s))
                  FROM customer_membership
                 WHERE company_id = ANY(%(all)s)
                """,
                current=state["company_ids"][0],
                last_id=state["last_id"],
                later=state["company_ids"][1:],
                all=state["company_ids"],
            )
        )
        done, left, later = self.env.cr.fetchone()
        # the current company still needs its remaining steps; make sure a
        # started run is never reported finished
        return max(done, 1), max(left + later, 1)
