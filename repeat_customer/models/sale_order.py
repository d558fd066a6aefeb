from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.numbers import one_record


class SaleOrder(models.Model):
    _inherit = "sale.order"

    loyalty_membership_id = fields.Many2one(
        "customer.membership",
        string="Membership",
        compute="_compute_loyalty_membership_id",
        help="The customer's membership in the order's company.",
    )
    loyalty_point_entry_ids = fields.One2many(
        "customer.point.entry", "sale_order_id", string="Loyalty Points Lines"
    )
    loyalty_points_earned = fields.Integer(
        string="Points Earned",
        compute="_compute_loyalty_points",
        help="Points this order earned, net of reversals.",
    )
    loyalty_points_redeemed = fields.Integer(
        string="Points Redeemed",
        compute="_compute_loyalty_points",
        help="Points spent on this order, net of reversals.",
    )
    loyalty_points_to_earn = fields.Integer(
        string="Points to Earn",
        compute="_compute_loyalty_points_to_earn",
        help="Points the customer will earn when this quotation is confirmed.",
    )
    loyalty_tier_id = fields.Many2one(
        "customer.tier",
        string="Customer Tier",
        compute="_compute_loyalty_points",
        help="The customer's tier when the order earned its points, or their "
        "current tier.",
    )
    loyalty_points_enabled = fields.Boolean(related="company_id.loyalty_points_enabled")
    loyalty_points_balance = fields.Integer(
        string="Member Points",
        compute="_compute_loyalty_points_balance",
        help="The points of this programme the customer may spend now, with "
        "Redeem Points or Redeem Reward. Odoo's own loyalty cards and "
        "eWallets keep their own balances, used with the Reward button.",
    )
    loyalty_coupon_count = fields.Integer(
        string="Member Coupons",
        compute="_compute_loyalty_coupon_count",
        help="The customer's unused coupons of this programme that this "
        "quotation may take: Odoo's Reward button offers them.",
    )
    loyalty_recommendation_ids = fields.Many2many(
        "customer.recommendation",
        string="Recommended for This Customer",
        compute="_compute_loyalty_recommendation_ids",
        help="The products the customer's profile suggests, without those "
        "already on the quotation.",
    )

    @api.depends("partner_id", "company_id")
    def _compute_loyalty_membership_id(self):
        memberships = self.env["customer.membership"].search(
            [
                ("partner_id", "in", self.partner_id.commercial_partner_id.ids),
                ("company_id", "in", self.company_id.ids),
            ]
        )
        by_key = {(m.partner_id.id, m.company_id.id): m for m in memberships}
        for order in self:
            order.loyalty_membership_id = by_key.get(
                (order.partner_id.commercial_partner_id.id, order.company_id.id),
                False,
            )

    @api.depends("loyalty_membership_id")
    def _compute_loyalty_points_balance(self):
        for order in self:
            order.loyalty_points_balance = order.loyalty_membership_id.points_balance

    @api.depends("partner_id", "company_id", "state", "order_line.coupon_id")
    def _compute_loyalty_coupon_count(self):
        for order in self:
            order.loyalty_coupon_count = (
                len(order._loyalty_member_coupons())
                if order.id and order.state in ("draft", "sent")
                else 0
            )

    @api.depends("loyalty_membership_id", "order_line.product_id")
    def _compute_loyalty_recommendation_ids(self):
        for order in self:
            on_order = order.order_line.product_id
            order.loyalty_recommendation_ids = (
                order.loyalty_membership_id.recommendation_ids.filtered(
                    lambda r, products=on_order: r.product_id not in products
                )
            )

    @api.depends("loyalty_point_entry_ids", "loyalty_membership_id")
    def _compute_loyalty_points(self):
        for order in self:
            earned = redeemed = 0
            tier = order.loyalty_membership_id.tier_id
            for entry in order.loyalty_point_entry_ids:
                if entry.kind == "earn":
                    earned += entry.points
                    tier = entry.tier_id
                elif entry.kind == "redeem":
                    redeemed -= entry.points
                elif entry.kind == "reverse" and entry.points < 0:
                    earned += entry.points
                elif entry.kind == "reverse":
                    redeemed -= entry.points
            order.loyalty_points_earned = earned
            order.loyalty_points_redeemed = redeemed
            order.loyalty_tier_id = tier

    @api.depends(
        "order_line.price_subtotal",
        "order_line.product_id",
        "partner_id",
        "date_order",
        "state",
    )
    def _compute_loyalty_points_to_earn(self):
        quotations = self.filtered(
            lambda o: (
                o.state in ("draft", "sent") and o.company_id.loyalty_points_enabled
            )
        )
        computed = quotations._loyalty_compute_points() if quotations else {}
        for order in self:
            data = computed.get(order.id)
            # customers become members on their first confirmed order
            earns = data and (
                data["membership_state"] == "active"
                if data["membership_id"]
                else data["company"].loyalty_auto_enroll
            )
            order.loyalty_points_to_earn = data["points"] if earns else 0

    # ------------------------------------------------------------------
    # Order events
    # ------------------------------------------------------------------
    def action_confirm(self):
        for order in self:
            error = order._loyalty_coupon_error(order.order_line.coupon_id)
            if error:
                raise UserError(error)
        self._loyalty_check_points_discounts()
        with self.env["loyalty.card"]._loyalty_order_updates(self._loyalty_cards()):
            return super().action_confirm()

    def _loyalty_cards(self):
        """The native coupons these orders use or earn points on."""
        return (
            self.order_line.coupon_id
            | self.applied_coupon_ids
            | self.coupon_point_ids.coupon_id
        )

    def _action_confirm(self):
        result = super()._action_confirm()
        self._loyalty_refresh(enrol=True)
        self._loyalty_earn_points()
        with_coupons = self.filtered(lambda order: order.order_line.coupon_id)
        if with_coupons:
            self.env["customer.coupon"]._track_orders(with_coupons)
        return result

    def _action_cancel(self):
        with self.env["loyalty.card"]._loyalty_order_updates(self._loyalty_cards()):
            result = super()._action_cancel()
        self._loyalty_reverse_points()
        self._loyalty_refresh(enrol=False)
        self.env["customer.coupon"]._track_orders(self)
        return result

    # ------------------------------------------------------------------
    # Coupons issued by the loyalty programme
    # ------------------------------------------------------------------
    def _loyalty_coupon_error(self, cards):
        """Why ``cards`` cannot be used on this order (None: they can). A
        coupon issued by the loyalty programme belongs to its customer: it
        is refused on another customer's order."""
        one_record(self)
        if not cards:
            return None
        # sudo: the owner is checked, not shown; salespeople may not see the
        # other customer's coupon record
        coupons = (
            self.env["customer.coupon"].sudo().search([("card_id", "in", cards.ids)])
        )
        customer = self.partner_id.commercial_partner_id
        for coupon in coupons:
            if coupon.partner_id.commercial_partner_id != customer:
                return self.env._(
                    "Coupon %(code)s was issued to another customer: it can only "
                    "be used on orders of that customer.",
                    code=coupon.code,
                )
            if coupon.state == "cancelled":
                return self.env._("Coupon %(code)s was cancelled.", code=coupon.code)
        return None

    def _try_apply_code(self, code):
        one_record(self)
        cards = self.env["loyalty.card"].sudo()
        card = cards.search([("code", "=", code)], limit=1)
        if not card and code:
            # the programme's codes are upper case; customers type them as
            # they come, with spaces or in lower case
            typed = "".join(code.split()).upper()
            card = cards.search(
                [("code", "=", typed), ("customer_coupon_ids", "!=", False)], limit=1
            )
            if card:
                code = card.code
        error = self._loyalty_coupon_error(card)
        if error:
            return {"error": error}
        return super()._try_apply_code(code)

    def _apply_program_reward(self, reward, coupon, **kwargs):
        error = self._loyalty_coupon_error(coupon)
        if error:
            return {"error": error}
        return super()._apply_program_reward(reward, coupon, **kwargs)

    def _loyalty_member_coupons(self):
        """The coupons the programme issued to this order's customer that it
        may use now: not used, expired or cancelled, with their points, of
        an active programme of the order's company, not yet on the order.
        They are native coupons: Odoo's *Reward* button offers them with
        no code typed."""
        one_record(self)
        if not self.partner_id or not self._allow_nominative_programs():
            return self.env["loyalty.card"]
        coupons = (
            self.env["customer.coupon"]
            .sudo()
            .search(
                [
                    ("partner_id", "=", self.partner_id.commercial_partner_id.id),
                    ("company_id", "=", self.company_id.id),
                    ("state", "=", "issued"),
                ]
            )
        )
        today = fields.Date.context_today(self)
        cards = coupons.card_id.filtered(
            lambda card: (
                card.points > 0
                and card.program_id.active
                and card.program_id.company_id
                in (self.company_id, self.company_id.browse())
                and not (card.expiration_date and card.expiration_date < today)
            )
        )
        return (cards - self.applied_coupon_ids - self.order_line.coupon_id).sudo(False)

    def action_open_reward_wizard(self):
        """Odoo's *Reward* button, with the customer's unused coupons of the
        programme among the rewards to choose (one applicable reward is
        applied at once, as Odoo does)."""
        for order in self.filtered(lambda o: o.state in ("draft", "sent")):
            cards = order._loyalty_member_coupons()
            if cards:
                order.applied_coupon_ids += cards
        return super().action_open_reward_wizard()

    def _loyalty_apply_coupon(self, card):
        """Put the coupon ``card`` on this quotation, as Odoo's *Coupon
        Code* then *Reward* would: its one reward is applied, several are
        left to the *Reward* button. Return None when applied, else why not
        (the coupon stays with the customer)."""
        one_record(self)
        status = self._try_apply_code(card.code)
        if "error" in status:
            return status["error"]
        rewards = self.env["loyalty.reward"].union(*status.values())
        if not rewards:
            return self.env._("none of its rewards applies to this quotation.")
        if len(rewards) != 1 or rewards.multi_product:
            return self.env._(
                "the coupon offers a choice: pick it with the Reward button."
            )
        result = self._apply_program_reward(rewards, card)
        if "error" in result:
            return result["error"]
        return None

    def action_loyalty_redeem_reward(self):
        one_record(self)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Redeem a Reward"),
            "res_model": "customer.reward.redeem.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    def unlink(self):
        """Odoo deletes quotations and cancelled orders. A quotation's points
        discounts go first (their points are given back); the ledger lines of
        a cancelled order, already reversed, keep the order's number."""
        quotations = self.filtered(lambda o: o.state in ("draft", "sent"))
        quotations.order_line.filtered("loyalty_point_entry_id").unlink()
        self._loyalty_keep_order_names()
        return super().unlink()

    def _loyalty_keep_order_names(self):
        """Write the orders' numbers on their ledger lines before the orders
        go (the lines' link is then cleared by the database)."""
        if self.ids:
            self.env.cr.execute(
                SQL(
                    """
                    UPDATE customer_point_entry e
                       SET sale_order_name = o.name
                      FROM sale_order o
                     WHERE o.id = e.sale_order_id AND o.id = ANY(%s)
                    """,
                    self.ids,
                )
            )
            self.env["customer.point.entry"].invalidate_model(["sale_order_name"])

    @api.ondelete(at_uninstall=False)
    def _unlink_except_loyalty_points(self):
        # a confirmed order is never deleted (Odoo refuses it too): its
        # points must be reversed by cancelling it first
        if self.filtered(lambda o: o.state == "sale").sudo().loyalty_point_entry_ids:
            raise UserError(
                self.env._(
                    "Loyalty points were earned or redeemed on this order: cancel "
                    "it instead of deleting it, so that the points are reversed."
                )
            )

    def _get_copiable_order_lines(self):
        # a copy has spent no points: it gets no points discount
        return (
            super()
            ._get_copiable_order_lines()
            .filtered(lambda line: not line.loyalty_point_entry_id)
        )

    def _get_update_prices_lines(self):
        # the price of a points discount is the value of the points spent
        return (
            super()
            ._get_update_prices_lines()
            .filtered(lambda line: not line.loyalty_point_entry_id)
        )

    def _loyalty_refresh(self, enrol):
        """Enrol the customers of these orders (per setting) and refresh their
        figures (``customer.membership._refresh_customers``)."""
        self.env["customer.membership"]._refresh_customers(self, enrol)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_loyalty_redeem_points(self):
        one_record(self)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Redeem Points"),
            "res_model": "customer.point.redeem.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    def action_view_loyalty_points(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_point_entry_action"
        )
        action["domain"] = [("sale_order_id", "=", self.id)]
        action["context"] = {}
        return action
