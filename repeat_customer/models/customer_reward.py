from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..tools.numbers import format_number, one_record

PERIOD_SELECTION = [
    ("total", "In total"),
    ("day", "Per day"),
    ("week", "Per week"),
    ("month", "Per month"),
    ("year", "Per year"),
]


class CustomerReward(models.Model):
    """What members buy with points: a coupon of a native coupon programme
    (``loyalty.program`` of type coupons), or a direct discount on a
    quotation."""

    _name = "customer.reward"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Reward"
    _order = "company_id, sequence, points_cost, id"
    _check_company_auto = True

    name = fields.Char(string="Reward", required=True, translate=True)
    description = fields.Text(
        string="Description",
        translate=True,
        help="Shown to customers in the reward catalogue of their portal.",
    )
    sequence = fields.Integer(string="Sequence", default=10)
    active = fields.Boolean(string="Active", default=True)
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    points_cost = fields.Integer(
        string="Points Cost",
        required=True,
        default=100,
        help="Points taken from the member's available points for one reward. "
        "0 for a reward that is only given (for instance on reaching a tier).",
    )
    reward_type = fields.Selection(
        selection=[
            ("coupon", "Coupon"),
            ("discount", "Discount on the order"),
        ],
        string="Gives",
        required=True,
        default="coupon",
        help="Coupon: a coupon of the chosen coupon programme is issued to the "
        "member, to be applied later with the standard coupon flow. Discount "
        "on the order: redeemed on a quotation, it adds a fixed discount line.",
    )
    program_id = fields.Many2one(
        "loyalty.program",
        string="Coupon Programme",
        check_company=True,
        domain="[('program_type', '=', 'coupons'), "
        "('company_id', 'in', [company_id, False])]",
        help="The native coupon programme whose coupon is issued: its rewards "
        "(fixed amount, percentage, free product) and conditions apply when the "
        "code is used.",
    )
    coupon_validity_days = fields.Integer(
        string="Coupon Valid For (days)",
        default=30,
        help="The coupon expires this many days after it is issued (0: never).",
    )
    discount_amount = fields.Monetary(
        string="Discount Amount",
        currency_field="currency_id",
        help="Untaxed discount, in company currency, added to the quotation.",
    )
    tier_ids = fields.Many2many(
        "customer.tier",
        string="Tiers",
        check_company=True,
        help="Only members of these tiers can redeem it (empty: every member).",
    )
    date_from = fields.Date(string="Available From")
    date_to = fields.Date(string="Available Until")
    limit_qty = fields.Integer(
        string="Stock",
        help="How many of this reward can be given in each period (0: no limit).",
    )
    limit_period = fields.Selection(
        selection=PERIOD_SELECTION,
        string="Stock Period",
        default="month",
        required=True,
    )
    redeemed_count = fields.Integer(
        string="Given This Period",
        compute="_compute_stock",
        help="Rewards given in the current stock period, reversed ones excluded.",
    )
    stock_left = fields.Integer(string="Left This Period", compute="_compute_stock")
    coupon_ids = fields.One2many("customer.coupon", "reward_id", string="Coupons")
    coupon_count = fields.Integer(string="Coupons Issued", compute="_compute_usage")
    coupon_used_count = fields.Integer(string="Coupons Used", compute="_compute_usage")

    _sql_constraints = [
        (
            "points_cost_positive",
            "CHECK(points_cost >= 0)",
            "The points cost of a reward cannot be negative.",
        ),
        (
            "limit_qty_positive",
            "CHECK(limit_qty >= 0)",
            "The stock of a reward cannot be negative.",
        ),
    ]

    @api.constrains(
        "reward_type",
        "program_id",
        "discount_amount",
        "coupon_validity_days",
        "date_from",
        "date_to",
        "points_cost",
    )
    def _check_reward(self):
        for reward in self:
            if reward.reward_type == "coupon":
                if not reward.program_id:
                    raise ValidationError(
                        self.env._(
                            "Reward %(reward)s gives a coupon: choose its coupon "
                            "programme.",
                            reward=reward.name,
                        )
                    )
                if reward.program_id.program_type != "coupons":
                    raise ValidationError(
                        self.env._(
                            "The programme of reward %(reward)s must be a coupon "
                            "programme.",
                            reward=reward.name,
                        )
                    )
                if not reward.program_id.reward_ids:
                    raise ValidationError(
                        self.env._(
                            "Coupon programme %(program)s has no reward: add one "
                            "before offering its coupons.",
                            program=reward.program_id.name,
                        )
                    )
            elif reward.discount_amount <= 0:
                raise ValidationError(
                    self.env._(
                        "The discount of reward %(reward)s must be above 0.",
                        reward=reward.name,
                    )
                )
            elif reward.points_cost <= 0:
                raise ValidationError(
                    self.env._(
                        "A discount reward must cost points: set the points cost "
                        "of %(reward)s.",
                        reward=reward.name,
                    )
                )
            if reward.coupon_validity_days < 0:
                raise ValidationError(
                    self.env._(
                        "The coupon validity of %(reward)s cannot be negative.",
                        reward=reward.name,
                    )
                )
            if (
                reward.date_from
                and reward.date_to
                and reward.date_to < reward.date_from
            ):
                raise ValidationError(
                    self.env._(
                        "Reward %(reward)s ends before it starts.", reward=reward.name
                    )
                )

    # ------------------------------------------------------------------
    # Stock
    # ------------------------------------------------------------------
    def _period_start(self, today):
        """First day of the current stock period (None: all time)."""
        one_record(self)
        period = self.limit_period
        if period == "day":
            return today
        if period == "week":
            return today - timedelta(days=today.weekday())
        if period == "month":
            return today.replace(day=1)
        if period == "year":
            return today.replace(month=1, day=1)
        return None

    def _given_counts(self, today=None):
        """{reward id: rewards given in the current period}. Counts the
        redemptions that were not reversed and the coupons given without
        points (tier rewards) that were not cancelled."""
        if not self.ids:
            return {}
        self.env["customer.point.entry"].flush_model()
        self.env["customer.coupon"].flush_model()
        starts = {
            reward.id: reward._period_start(today or reward.company_id._loyalty_today())
            for reward in self
        }
        self.env.cr.execute(
            SQL(
                """
                WITH r AS (
                    SELECT * FROM unnest(%(ids)s::int[], %(starts)s::date[])
                        AS r(id, start_date)
                )
                SELECT r.id,
                       (SELECT count(*) FROM customer_point_entry e
                         WHERE e.reward_id = r.id AND e.kind = 'redeem'
                           AND (r.start_date IS NULL OR e.date >= r.start_date)
                           AND NOT EXISTS (
                               SELECT 1 FROM customer_point_entry x
                                WHERE x.reversed_entry_id = e.id))
                     + (SELECT count(*) FROM customer_coupon c
                         WHERE c.reward_id = r.id AND c.point_entry_id IS NULL
                           AND c.state <> 'cancelled'
                           AND (r.start_date IS NULL OR c.issue_date >= r.start_date))
                  FROM r
                """,
                ids=list(starts),
                starts=list(starts.values()),
            )
        )
        return dict(self.env.cr.fetchall())

    @api.depends("limit_qty", "limit_period")
    def _compute_stock(self):
        counts = self.filtered("id")._given_counts()
        for reward in self:
            reward.redeemed_count = counts.get(reward.id, 0)
            reward.stock_left = (
                max(reward.limit_qty - reward.redeemed_count, 0)
                if reward.limit_qty
                else 0
            )

    def _compute_usage(self):
        counts = self.env["customer.coupon"]._usage_counts("reward_id", self)
        for reward in self:
            reward.coupon_count, reward.coupon_used_count = counts.get(reward, (0, 0))

    # ------------------------------------------------------------------
    # Availability and redemption
    # ------------------------------------------------------------------
    def _unavailable_reason(
        self, membership, today=None, counts=None, customer_facing=False
    ):
        """Why ``membership`` cannot redeem this reward now (None: it can).
        ``counts``: the rewards given this period, when already read;
        ``customer_facing``: said to the customer (portal), not of them."""
        one_record(self)
        env = self.env
        today = today or self.company_id._loyalty_today()
        if not self.active:
            return env._(
                "The reward %(reward)s is no longer offered.", reward=self.name
            )
        if membership.company_id != self.company_id:
            return env._(
                "The reward %(reward)s belongs to another company's programme.",
                reward=self.name,
            )
        if membership.state != "active":
            if customer_facing:
                return env._("Your membership is blocked: please contact us.")
            return env._(
                "The membership of %(customer)s is blocked.",
                customer=membership.partner_id.display_name,
            )
        if self.date_from and today < self.date_from:
            return env._(
                "The reward %(reward)s is available from %(date)s.",
                reward=self.name,
                date=self.date_from,
            )
        if self.date_to and today > self.date_to:
            return env._(
                "The reward %(reward)s was available until %(date)s.",
                reward=self.name,
                date=self.date_to,
            )
        if self.tier_ids and membership.tier_id not in self.tier_ids:
            return env._(
                "The reward %(reward)s is for members of the tiers %(tiers)s.",
                reward=self.name,
                tiers=", ".join(self.tier_ids.mapped("name")),
            )
        if self.limit_qty:
            if counts is None:
                counts = self._given_counts(today)
            given = counts.get(self.id, 0)
            if given >= self.limit_qty:
                return env._(
                    "The reward %(reward)s is out of stock for this period.",
                    reward=self.name,
                )
        return None

    def _lock(self):
        """Serialize the redemptions of a reward: the stock is counted after
        this statement, so two members cannot both take the last unit.

        The row is rewritten, not only locked: under the database's repeatable
        read isolation, a transaction that started before another one redeemed
        this reward then fails with a serialization error (and the server
        retries it) instead of counting the stock from its older snapshot.
        """
        self.env.cr.execute(
            SQL(
                "UPDATE customer_reward SET write_date = write_date WHERE id = ANY(%s)",
                self.ids,
            )
        )

    def _redeem(self, membership, order=None):
        """Spend the member's points on this reward, in one transaction:
        the ``redeem`` ledger line, then the coupon issued to the member (or
        the discount line on ``order``). Return the ``customer.coupon`` issued
        (empty for a discount)."""
        one_record(self)
        reward = self.sudo()
        membership = membership.sudo()
        if reward.reward_type == "discount" and not order:
            raise UserError(
                self.env._(
                    "The reward %(reward)s is a discount on an order: redeem it "
                    "on a quotation.",
                    reward=reward.name,
                )
            )
        if order and order.company_id != reward.company_id:
            raise UserError(
                self.env._(
                    "The reward %(reward)s belongs to another company's programme.",
                    reward=reward.name,
                )
            )
        if order:
            # one customer's points never pay for another customer's order
            order._loyalty_check_member(membership)
        if reward.reward_type == "discount":
            order._loyalty_check_quotation()
        if not membership.company_id.loyalty_points_enabled:
            raise UserError(
                self.env._(
                    "Loyalty points are not enabled for %(company)s.",
                    company=membership.company_id.name,
                )
            )
        if reward.points_cost <= 0:
            raise UserError(
                self.env._(
                    "The reward %(reward)s costs no points: it is given, not redeemed.",
                    reward=reward.name,
                )
            )
        reward._lock()
        reason = reward._unavailable_reason(membership)
        if reason:
            raise UserError(reason)
        amount = 0.0
        if reward.reward_type == "discount":
            amount = order.currency_id.round(
                reward.discount_amount * (order.currency_rate or 1.0)
            )
            order._loyalty_check_points_discounts(extra=amount)
        entry = self.env["customer.point.entry"]._post_redemption(
            membership,
            reward.points_cost,
            # a coupon is not tied to the quotation it was redeemed from:
            # cancelling that quotation must not give the points back
            order=order if reward.reward_type == "discount" else None,
            reason=reward.name,
            reward=reward,
        )
        if reward.reward_type == "coupon":
            return self.env["customer.coupon"]._issue(
                [
                    {
                        "membership": membership,
                        "program": reward.program_id,
                        "validity_days": reward.coupon_validity_days,
                        "reward_id": reward.id,
                        "point_entry_id": entry.id,
                        "origin": "reward",
                    }
                ]
            )
        order._loyalty_add_points_line(
            entry,
            amount,
            self.env._(
                "Reward: %(reward)s (%(points)s points)",
                reward=reward.name,
                points=format_number(self.env, reward.points_cost),
            ),
        )
        return self.env["customer.coupon"]

    @api.model
    def _available_for(self, membership, customer_facing=False):
        """The active rewards of the member's company, each with why it
        cannot be redeemed now (None when it can): [(reward, reason)]."""
        rewards = self.sudo().search(
            [
                ("company_id", "=", membership.company_id.id),
                ("points_cost", ">", 0),
            ]
        )
        today = membership.company_id._loyalty_today()
        counts = rewards._given_counts(today)
        return [
            (
                reward,
                reward._unavailable_reason(
                    membership, today, counts, customer_facing=customer_facing
                ),
            )
            for reward in rewards
        ]

    def action_view_coupons(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_coupon_action"
        )
        action["domain"] = [("reward_id", "=", self.id)]
        action["context"] = {"default_reward_id": self.id}
        return action
