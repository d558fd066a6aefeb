from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_round

from .customer_point_entry import points_expiry_date

ROUNDING_METHODS = {"down": "DOWN", "half": "HALF-UP", "up": "UP"}


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
            order.loyalty_points_to_earn = computed.get(order.id, {}).get("points", 0)

    # ------------------------------------------------------------------
    # Order events
    # ------------------------------------------------------------------
    def _action_confirm(self):
        result = super()._action_confirm()
        self._loyalty_refresh(enrol=True)
        self._loyalty_earn_points()
        return result

    def _action_cancel(self):
        result = super()._action_cancel()
        self._loyalty_reverse_points()
        self._loyalty_refresh(enrol=False)
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_loyalty_points(self):
        if self.sudo().loyalty_point_entry_ids:
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
        statistics: one INSERT and one UPDATE per company, whatever the number
        of orders."""
        # sudo: whoever may confirm or cancel the order may update its customer's
        # figures, which are computed from documents only and never typed in.
        memberships_model = self.env["customer.membership"].sudo()
        for company in self.company_id:
            orders = self.filtered(lambda o, c=company: o.company_id == c)
            partners = orders.partner_id.commercial_partner_id
            if enrol and company.loyalty_auto_enroll:
                memberships = memberships_model._enrol_partners(company, partners)
            else:
                memberships = memberships_model.search(
                    [
                        ("partner_id", "in", partners.ids),
                        ("company_id", "=", company.id),
                    ]
                )
            memberships._refresh_figures()

    # ------------------------------------------------------------------
    # Earning
    # ------------------------------------------------------------------
    def _loyalty_order_date(self):
        """The order's date in its company's time zone; for a quotation,
        today, as confirming it will date it today."""
        self.ensure_one()
        tz = self.env["customer.membership"]._company_tz(self.company_id)
        when = None if self.state in ("draft", "sent") else self.date_order
        return fields.Date.context_today(self.with_context(tz=tz), when)

    def _loyalty_memberships(self):
        """{order id: membership} of the orders' customers, as superuser."""
        memberships = (
            self.env["customer.membership"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", self.partner_id.commercial_partner_id.ids),
                    ("company_id", "in", self.company_id.ids),
                ]
            )
        )
        by_key = {(m.partner_id.id, m.company_id.id): m for m in memberships}
        return {
            order.id: by_key.get(
                (order.partner_id.commercial_partner_id.id, order.company_id.id)
            )
            for order in self
        }

    def _loyalty_compute_points(self):
        """Compute the points each order of ``self`` earns under the current
        rules, without posting anything.

        Return {order id: {points, base_amount, multiplier, rules, tier}}:
        the untaxed amount of the lines that earn points (company currency,
        after category multipliers), times the points per currency unit, the
        tier multiplier and the bonus rules of the order date, rounded.
        """
        result = {}
        memberships = self._loyalty_memberships()
        rules_by_company = defaultdict(lambda: self.env["customer.point.rule"])
        for rule in (
            self.env["customer.point.rule"]
            .sudo()
            .search([("company_id", "in", self.company_id.ids)])
        ):
            rules_by_company[rule.company_id.id] |= rule
        for order in self:
            company = order.company_id
            membership = memberships.get(order.id)
            rules = rules_by_company[company.id]
            excluded_products = company.loyalty_points_excluded_product_ids
            excluded_paths = company.loyalty_points_excluded_categ_ids.mapped(
                "parent_path"
            )
            category_rules = rules.filtered(lambda r: r.rule_type == "category")
            used_rules = self.env["customer.point.rule"]
            rate = order.currency_rate or 1.0
            base = 0.0
            for line in order.order_line:
                if line.display_type or line.is_downpayment or not line.product_id:
                    continue
                product = line.product_id
                path = product.categ_id.parent_path or ""
                if product in excluded_products or any(
                    path.startswith(p) for p in excluded_paths
                ):
                    continue
                amount = line.price_subtotal / rate
                matching = category_rules.filtered(
                    lambda r, path=path: path.startswith(r.categ_id.parent_path or "")
                )
                if matching and amount > 0:
                    best = max(matching, key=lambda r: r.multiplier)
                    amount *= best.multiplier
                    used_rules |= best
                base += amount
            day = order._loyalty_order_date()
            multiplier = 1.0
            tier = membership.tier_id if membership else self.env["customer.tier"]
            if tier:
                multiplier *= tier.points_multiplier
            birthday = order.partner_id.commercial_partner_id.birth_date
            for rule in rules - category_rules:
                applies = (
                    rule.rule_type == "period" and rule.date_from <= day <= rule.date_to
                ) or (
                    rule.rule_type == "birthday"
                    and birthday
                    and birthday.month == day.month
                )
                if applies:
                    multiplier *= rule.multiplier
                    used_rules |= rule
            raw = max(base, 0.0) * company.loyalty_points_per_unit * multiplier
            points = int(
                float_round(
                    raw,
                    precision_rounding=1.0,
                    rounding_method=ROUNDING_METHODS[company.loyalty_points_rounding],
                )
            )
            result[order.id] = {
                "points": points,
                "base_amount": company.currency_id.round(base),
                "multiplier": multiplier,
                "rules": used_rules,
                "tier": tier,
                "date": day,
                "membership": membership,
            }
        return result

    def _loyalty_open_earn_orders(self):
        """Ids of the orders of ``self`` holding earned points not reversed by
        a cancellation: confirming them again must not earn twice."""
        self.env["customer.point.entry"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT e.sale_order_id FROM customer_point_entry e
                 WHERE e.kind = 'earn' AND e.sale_order_id = ANY(%s)
                   AND NOT EXISTS (
                       SELECT 1 FROM customer_point_entry r
                        WHERE r.reversed_entry_id = e.id AND r.kind = 'reverse'
                          AND r.credit_note_id IS NULL)
                """,
                self.ids,
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}

    def _loyalty_earn_points(self):
        """Post the earned points of the confirmed orders of ``self``.

        Idempotent: an order that already holds earned points (not reversed
        by a cancellation) earns nothing more. Blocked members earn nothing.
        """
        orders = self.filtered(
            lambda o: o.state == "sale" and o.company_id.loyalty_points_enabled
        )
        if not orders:
            return
        # sudo: confirming an order earns its customer's points; the points
        # follow from the order and the programme's settings only.
        entries_model = self.env["customer.point.entry"].sudo()
        already = orders._loyalty_open_earn_orders()
        orders = orders.filtered(lambda o: o.id not in already)
        computed = orders._loyalty_compute_points()
        vals_list = []
        for order in orders:
            data = computed[order.id]
            membership = data["membership"]
            if not membership or membership.state != "active" or data["points"] <= 0:
                continue
            company = order.company_id
            release = company.loyalty_points_release
            available_date = None
            if release == "confirm":
                available_date = fields.Date.add(
                    data["date"], days=company.loyalty_points_pending_days
                )
            today = entries_model._company_today(company)
            vals_list.append(
                {
                    "membership_id": membership.id,
                    "kind": "earn",
                    "points": data["points"],
                    "state": "available"
                    if available_date and available_date <= today
                    else "pending",
                    "release_rule": release,
                    "available_date": available_date,
                    "expiry_date": points_expiry_date(company, data["date"]),
                    "remaining_points": data["points"],
                    "date": data["date"],
                    "sale_order_id": order.id,
                    "tier_id": data["tier"].id,
                    "rule_ids": [fields.Command.set(data["rules"].ids)],
                    "base_amount": data["base_amount"],
                    "multiplier": data["multiplier"],
                }
            )
        if not vals_list:
            return
        entries = entries_model.create(vals_list)
        entries_model.flush_model()
        member_ids = entries.membership_id.ids
        entries_model._settle_debts(member_ids)
        entries_model._refresh_balances(member_ids)
        tiers_model = self.env["customer.tier"].sudo()
        for company in entries.company_id:
            tiers_model._apply_tiers(
                company,
                entries.filtered(
                    lambda e, c=company: e.company_id == c
                ).membership_id.ids,
            )

    def _loyalty_reverse_points(self):
        """Reverse the points of cancelled orders: earned points not yet
        reversed, and points spent on them (their discount lines go)."""
        orders = self.filtered(lambda o: o.state == "cancel")
        if not orders:
            return
        entries_model = self.env["customer.point.entry"].sudo()
        open_orders = orders._loyalty_open_earn_orders()
        earned = entries_model.search(
            [
                ("sale_order_id", "in", list(open_orders)),
                ("kind", "=", "earn"),
            ]
        ).filtered(
            lambda e: not e.reversal_ids.filtered(lambda r: not r.credit_note_id)
        )
        if earned:
            amounts = {
                e.id: e.points + sum(e.reversal_ids.mapped("points")) for e in earned
            }
            entries_model._reverse(earned, amounts)
        redemption_lines = orders.sudo().order_line.filtered("loyalty_point_entry_id")
        redemption_lines.unlink()

    @api.model
    def _loyalty_reverse_for_credit_notes(self, credit_notes):
        """Reverse, in proportion to the refunded amount, the points earned by
        the orders that posted credit notes refund. Once per credit note and
        order: posting a credit note again reverses nothing more."""
        entries_model = self.env["customer.point.entry"].sudo()
        for credit_note in credit_notes.sudo():
            lines = credit_note.invoice_line_ids.filtered("sale_line_ids")
            orders = lines.sale_line_ids.order_id.filtered(lambda o: o.state == "sale")
            if not orders:
                continue
            earned = entries_model.search(
                [
                    ("sale_order_id", "in", orders.ids),
                    ("kind", "=", "earn"),
                ]
            ).filtered(
                lambda e: not e.reversal_ids.filtered(lambda r: not r.credit_note_id)
            )
            amounts = {}
            for entry in earned:
                if entry.reversal_ids.filtered(
                    lambda r, cn=credit_note: r.credit_note_id == cn
                ):
                    continue
                order = entry.sale_order_id
                order_lines = order.order_line.filtered(
                    lambda sol: (
                        not sol.display_type
                        and not sol.is_downpayment
                        and not sol.loyalty_point_entry_id
                    )
                )
                base = sum(order_lines.mapped("price_subtotal")) / (
                    order.currency_rate or 1.0
                )
                refunded = sum(
                    line.balance for line in lines if line.sale_line_ids & order_lines
                )
                if base <= 0 or refunded <= 0:
                    continue
                share = min(refunded / base, 1.0)
                already = -sum(entry.reversal_ids.mapped("points"))
                points = min(
                    int(float_round(entry.points * share, precision_rounding=1.0)),
                    entry.points - already,
                )
                if points > 0:
                    amounts[entry.id] = points
            if amounts:
                entries_model._reverse(
                    entries_model.browse(list(amounts)),
                    amounts,
                    credit_note=credit_note,
                )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_loyalty_redeem_points(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Redeem Points"),
            "res_model": "customer.point.redeem.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    def action_view_loyalty_points(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_point_entry_action"
        )
        action["domain"] = [("sale_order_id", "=", self.id)]
        action["context"] = {}
        return action
