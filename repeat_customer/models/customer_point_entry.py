import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.numbers import one_record

_logger = logging.getLogger(__name__)


KIND_SELECTION = [
    ("earn", "Earned"),
    ("redeem", "Redeemed"),
    ("expire", "Expired"),
    ("adjust", "Adjustment"),
    ("reverse", "Reversal"),
]


class CustomerPointEntry(models.Model):
    """One line of the points ledger. Lines are only ever added, by one
    writer (``_post``): the ORM refuses to change or delete them, corrections
    are new lines. Only the ledger's own bookkeeping (state, remaining
    points) moves, in SQL."""

    _name = "customer.point.entry"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Points Ledger Line"
    _order = "id desc"
    _check_company_auto = True

    # indexed by customer_point_entry_membership_idx (see init)
    membership_id = fields.Many2one(
        "customer.membership",
        string="Membership",
        required=True,
        ondelete="restrict",
        readonly=True,
    )
    company_id = fields.Many2one(
        related="membership_id.company_id", store=True, index=True
    )
    partner_id = fields.Many2one(
        related="membership_id.partner_id", string="Customer", store=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(
        string="Date", required=True, readonly=True, default=fields.Date.context_today
    )
    kind = fields.Selection(
        selection=KIND_SELECTION, string="Type", required=True, readonly=True
    )
    points = fields.Integer(
        string="Points",
        required=True,
        readonly=True,
        help="Positive for points given, negative for points taken.",
    )
    state = fields.Selection(
        selection=[("pending", "Pending"), ("available", "Available")],
        string="Status",
        required=True,
        readonly=True,
        default="available",
        help="Pending points count towards tiers but cannot be spent yet.",
    )
    release_rule = fields.Selection(
        selection=[
            ("confirm", "Days after confirmation"),
            ("delivery", "Days after full delivery"),
            ("payment", "When the invoices are paid"),
        ],
        string="Available When",
        readonly=True,
    )
    available_date = fields.Date(
        string="Available From",
        readonly=True,
        help="Pending points become available on this day (empty while "
        "waiting for delivery or payment).",
    )
    expiry_date = fields.Date(
        string="Valid Until",
        readonly=True,
        help="The points left of this line expire the day after.",
    )
    remaining_points = fields.Integer(
        string="Points Left",
        readonly=True,
        help="On lines that give points: the points not yet spent, expired or "
        "reversed. Negative on a reversal: points the member owes.",
    )
    sale_order_id = fields.Many2one(
        "sale.order",
        string="Sales Order",
        index="btree_not_null",
        readonly=True,
        ondelete="set null",
    )
    sale_order_name = fields.Char(
        string="Deleted Order",
        readonly=True,
        help="The number of the sales order of this line, kept when the order "
        "(cancelled, its points reversed) was deleted.",
    )
    reward_id = fields.Many2one(
        "customer.reward",
        string="Reward",
        index="btree_not_null",
        readonly=True,
        ondelete="restrict",
        help="On a redemption: the reward the points bought.",
    )
    coupon_ids = fields.One2many(
        "customer.coupon", "point_entry_id", string="Coupons Issued"
    )
    campaign_delivery_id = fields.Many2one(
        "customer.campaign.delivery",
        string="Campaign Delivery",
        index="btree_not_null",
        readonly=True,
        ondelete="restrict",
        help="On bonus points of a campaign: the delivery that granted them.",
    )
    service_request_id = fields.Many2one(
        "customer.service.request",
        string="Service Request",
        index="btree_not_null",
        readonly=True,
        ondelete="restrict",
        help="On points given for a complaint: the request they compensate.",
    )
    credit_note_id = fields.Many2one(
        "account.move",
        string="Credit Note",
        index="btree_not_null",
        readonly=True,
        ondelete="restrict",
    )
    reversed_entry_id = fields.Many2one(
        "customer.point.entry",
        string="Reversed Line",
        index="btree_not_null",
        readonly=True,
        ondelete="restrict",
    )
    reversal_ids = fields.One2many(
        "customer.point.entry", "reversed_entry_id", string="Reversals"
    )
    rule_ids = fields.Many2many(
        "customer.point.rule",
        "customer_point_entry_rule_rel",
        "entry_id",
        "rule_id",
        string="Bonus Rules",
        readonly=True,
        help="The bonus rules that multiplied these points.",
    )
    tier_id = fields.Many2one(
        "customer.tier",
        string="Tier",
        readonly=True,
        help="The member's tier when the points were earned.",
    )
    base_amount = fields.Monetary(
        string="Amount Earning Points",
        readonly=True,
        help="Untaxed amount of the order's lines that earn points, in company "
        "currency, after category multipliers.",
    )
    multiplier = fields.Float(
        string="Multiplier",
        readonly=True,
        digits=(16, 4),
        help="Tier multiplier times the bonus rule multipliers.",
    )
    reason = fields.Text(string="Reason", readonly=True)
    user_id = fields.Many2one(
        "res.users",
        string="User",
        readonly=True,
        default=lambda self: self.env.user,
    )
    origin = fields.Char(string="Origin", compute="_compute_origin")
    consumed_ids = fields.One2many(
        "customer.point.consumption",
        "consumer_entry_id",
        string="Points Taken From",
    )

    _sql_constraints = [
        ("points_not_zero", "CHECK(points <> 0)", "A ledger line moves points."),
    ]

    def init(self):
        cr = self.env.cr
        # an earned line is reversed by a cancellation at most once, and by a
        # given credit note at most once
        cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS customer_point_entry_cancel_once
                ON customer_point_entry (reversed_entry_id)
             WHERE kind = 'reverse' AND credit_note_id IS NULL
            """
        )
        cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS customer_point_entry_credit_once
                ON customer_point_entry (reversed_entry_id, credit_note_id)
             WHERE kind = 'reverse' AND credit_note_id IS NOT NULL
            """
        )
        # balances are sums per member: an index-only scan of this index
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS customer_point_entry_membership_idx
                ON customer_point_entry (membership_id) INCLUDE (state, points)
            """
        )
        # the daily jobs: pending lines due, and lines with points left
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS customer_point_entry_expiry_idx
                ON customer_point_entry (company_id, expiry_date)
             WHERE state = 'available' AND remaining_points > 0
            """
        )
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS customer_point_entry_pending_idx
                ON customer_point_entry (company_id, available_date)
             WHERE state = 'pending' AND kind = 'earn'
            """
        )
        # a complaint is compensated with points once
        cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS customer_point_entry_service_uniq
                ON customer_point_entry (service_request_id)
             WHERE service_request_id IS NOT NULL AND kind = 'adjust'
            """
        )
        # a campaign delivery grants its bonus points once
        cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS customer_point_entry_campaign_uniq
                ON customer_point_entry (campaign_delivery_id)
             WHERE campaign_delivery_id IS NOT NULL AND kind = 'earn'
            """
        )
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS customer_point_entry_left_idx
                ON customer_point_entry (membership_id, expiry_date)
             WHERE remaining_points <> 0
            """
        )

    # ------------------------------------------------------------------
    # Immutability
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):  # pylint: disable=method-required-super
        """Lines are posted by ``_post`` (see customer_point_entry_ledger.py),
        which takes the points they spend and moves the balances; ``create``
        on a superuser environment goes through it."""
        if not self.env.su:
            raise UserError(
                self.env._(
                    "Ledger lines are written by the loyalty programme itself. "
                    "To correct a balance, use Adjust Points on the membership."
                )
            )
        entries = self._post(vals_list)
        entries._check_company()
        return entries

    def write(self, vals):
        if vals:
            raise UserError(
                self.env._(
                    "Posted ledger lines cannot be changed. Correct them with an "
                    "adjustment or a reversal."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            self.env._(
                "Posted ledger lines cannot be deleted. Correct them with an "
                "adjustment or a reversal."
            )
        )

    @api.depends("kind", "points")
    def _compute_display_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for entry in self:
            entry.display_name = f"{kinds.get(entry.kind, '')} {entry.points:+d}"

    @api.depends(
        "sale_order_id",
        "credit_note_id",
        "reversed_entry_id",
        "kind",
        "reward_id",
        "campaign_delivery_id",
        "service_request_id",
    )
    def _compute_origin(self):
        for entry in self:
            if entry.service_request_id:
                entry.origin = entry.service_request_id.display_name
            elif entry.campaign_delivery_id:
                entry.origin = entry.campaign_delivery_id.campaign_id.name
            elif entry.reward_id and not entry.sale_order_id:
                entry.origin = entry.reward_id.name
            elif entry.credit_note_id:
                entry.origin = entry.credit_note_id.name
            elif entry.sale_order_id:
                entry.origin = entry.sale_order_id.name
            elif entry.sale_order_name:
                entry.origin = entry.sale_order_name
            elif entry.kind == "adjust":
                entry.origin = self.env._("Manual adjustment")
            elif entry.kind == "expire":
                entry.origin = self.env._("Expiry")
            else:
                entry.origin = False

    def action_open_origin(self):
        one_record(self)
        record = (
            self.service_request_id
            or self.campaign_delivery_id
            or self.credit_note_id
            or self.sale_order_id
            or self.coupon_ids[:1]
            or self.membership_id
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": record._name,
            "res_id": record.id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------
    # What the programme posts
    # ------------------------------------------------------------------
    @api.model
    def _open_earn_domain(self):
        """Earned points not reversed by a cancellation (a credit note's
        partial reversal leaves them open): an order holding such a line does
        not earn again, and cancelling it reverses what is left of them. The
        one definition, read through ``search`` and, in the SQL of
        confirmations, through ``_search``."""
        return [
            ("kind", "=", "earn"),
            (
                "reversal_ids",
                "not any",
                [("kind", "=", "reverse"), ("credit_note_id", "=", False)],
            ),
        ]

    @api.model
    def _reverse(self, entries, amounts=None, credit_note=None, date=None):
        """Post the reversal of ``entries`` (earned or redeemed lines), in the
        state of the line reversed: ``amounts`` is {entry id: points to
        reverse} (default: all of it). Return the reversal lines."""
        entries = entries.sudo()
        lines = []
        for entry in entries:
            points = (amounts or {}).get(entry.id, abs(entry.points))
            if points <= 0:
                continue
            lines.append(
                {
                    "membership_id": entry.membership_id.id,
                    "kind": "reverse",
                    "points": -points if entry.points > 0 else points,
                    "state": entry.state,
                    "available_date": entry.available_date,
                    "release_rule": entry.release_rule,
                    "date": date,
                    "sale_order_id": entry.sale_order_id.id,
                    "credit_note_id": credit_note.id if credit_note else None,
                    "reversed_entry_id": entry.id,
                    "reward_id": entry.reward_id.id,
                }
            )
        return self._post(lines)

    @api.model
    def _post_adjustment(
        self, membership, points, reason, expiry_date=None, service_request=None
    ):
        """Post a manual adjustment of ``points`` (signed) with its reason;
        points given expire by the company's policy unless ``expiry_date``.
        ``service_request``: the complaint the points compensate, the line's
        origin."""
        membership = membership.sudo()
        if points > 0 and expiry_date is None:
            expiry_date = membership.company_id._loyalty_points_expiry_date(
                membership.company_id._loyalty_today()
            )
        return self._post(
            [
                {
                    "membership_id": membership.id,
                    "kind": "adjust",
                    "points": points,
                    "expiry_date": expiry_date if points > 0 else None,
                    "reason": reason,
                    "service_request_id": service_request.id
                    if service_request
                    else None,
                }
            ]
        )

    @api.model
    def _post_redemption(
        self, membership, points, order=None, reason=None, reward=None
    ):
        """Spend ``points`` of the member's available points."""
        if points <= 0:
            raise UserError(self.env._("The points to redeem must be above 0."))
        return self._post(
            [
                {
                    "membership_id": membership.id,
                    "kind": "redeem",
                    "points": -points,
                    "sale_order_id": order.id if order else None,
                    "reward_id": reward.id if reward else None,
                    "reason": reason,
                }
            ]
        )
