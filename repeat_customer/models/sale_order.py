import math
from collections import defaultdict

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_compare, float_round, formatLang

ROUNDING_METHODS = {"down": "DOWN", "half": "HALF-UP", "up": "UP"}
# earned lines not reversed by a cancellation: an order holding one must not
# earn again
OPEN_EARN_LINES = SQL(
    """
    SELECT e.sale_order_id FROM customer_point_entry e
     WHERE e.kind = 'earn'
       AND NOT EXISTS (
           SELECT 1 FROM customer_point_entry r
            WHERE r.reversed_entry_id = e.id AND r.kind = 'reverse'
              AND r.credit_note_id IS NULL)
    """
)


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
        self.ensure_one()
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
        self.ensure_one()
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

    def action_loyalty_redeem_reward(self):
        self.ensure_one()
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
        tz = self.company_id._loyalty_tz()
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

    def _loyalty_points_inputs(self):
        """What the points of each order of ``self`` depend on, as
        {order id: dict}: company, currency rate, earning date, the member
        (id, state, tier, tier multiplier, birthday, whether they owe points)
        and the lines (product, category path, untaxed subtotal).

        Saved orders are read in two SQL queries (confirmations must stay
        cheap); unsaved quotations (a form being edited) through the ORM.
        """
        saved = self.filtered(lambda o: isinstance(o.id, int))
        inputs = {}
        if saved:
            inputs.update(saved._loyalty_points_inputs_sql())
        for order in self - saved:
            membership = order._loyalty_memberships().get(order.id)
            inputs[order.id] = {
                "company": order.company_id,
                "rate": order.currency_rate or 1.0,
                "date": order._loyalty_order_date(),
                "membership_id": membership.id if membership else None,
                "membership_state": membership.state if membership else None,
                "tier_id": membership.tier_id.id if membership else None,
                "tier_multiplier": membership.tier_id.points_multiplier
                if membership and membership.tier_id
                else 1.0,
                "birth_date": order.partner_id.commercial_partner_id.birth_date,
                "owes_points": bool(membership and membership.has_negative_balance),
                "has_points": False,
                "lines": [
                    (
                        line.product_id.id,
                        line.product_id.categ_id.parent_path or "",
                        line.price_subtotal,
                    )
                    for line in order.order_line
                    if not line.display_type
                    and not line.is_downpayment
                    and line.product_id
                ],
            }
        return inputs

    def _loyalty_points_inputs_sql(self):
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                SELECT so.id, so.company_id, so.currency_rate, so.state,
                       so.date_order, m.id, m.state, m.tier_id,
                       cp.birth_date, m.has_negative_balance,
                       so.id IN (%(open_earn)s AND e.sale_order_id = so.id)
                  FROM sale_order so
                  JOIN res_partner p ON p.id = so.partner_id
                  JOIN res_partner cp ON cp.id = p.commercial_partner_id
                  LEFT JOIN customer_membership m
                         ON m.partner_id = cp.id AND m.company_id = so.company_id
                 WHERE so.id = ANY(%(ids)s)
                """,
                ids=self.ids,
                open_earn=OPEN_EARN_LINES,
            )
        )
        orders = cr.fetchall()
        cr.execute(
            SQL(
                """
                SELECT sol.order_id, sol.product_id, pc.parent_path,
                       sol.price_subtotal
                  FROM sale_order_line sol
                  JOIN product_product pp ON pp.id = sol.product_id
                  JOIN product_template pt ON pt.id = pp.product_tmpl_id
                  LEFT JOIN product_category pc ON pc.id = pt.categ_id
                 WHERE sol.order_id = ANY(%s) AND sol.display_type IS NULL
                   AND NOT COALESCE(sol.is_downpayment, FALSE)
                 ORDER BY sol.order_id, sol.sequence, sol.id
                """,
                self.ids,
            )
        )
        lines = defaultdict(list)
        for order_id, product_id, path, subtotal in cr.fetchall():
            lines[order_id].append((product_id, path or "", subtotal or 0.0))
        companies = self.env["res.company"].browse({row[1] for row in orders})
        tz_by_company = {company.id: company._loyalty_tz() for company in companies}
        inputs = {}
        for (
            order_id,
            company_id,
            rate,
            state,
            date_order,
            membership_id,
            membership_state,
            tier_id,
            birth_date,
            owes_points,
            has_points,
        ) in orders:
            when = None if state in ("draft", "sent") else date_order
            inputs[order_id] = {
                "company": companies.browse(company_id),
                "rate": rate or 1.0,
                "date": fields.Date.context_today(
                    self.with_context(tz=tz_by_company[company_id]), when
                ),
                "membership_id": membership_id,
                "membership_state": membership_state,
                "tier_id": tier_id,
                "tier_multiplier": dict(
                    companies.browse(company_id)._loyalty_programme()[
                        "tier_multipliers"
                    ]
                ).get(tier_id, 1.0),
                "birth_date": birth_date,
                "owes_points": bool(owes_points),
                "has_points": has_points,
                "lines": lines[order_id],
            }
        return inputs

    def _loyalty_compute_points(self):
        """Compute the points each order of ``self`` earns under the current
        rules, without posting anything.

        Return {order id: {points, base_amount, multiplier, rule_ids, ...}}:
        the untaxed amount of the lines that earn points (company currency,
        after category multipliers), times the points per currency unit, the
        tier multiplier and the bonus rules of the earning date, rounded.
        """
        result = {}
        for order_id, data in self._loyalty_points_inputs().items():
            company = data["company"]
            programme = company._loyalty_programme()
            excluded_categs = [f"/{cid}/" for cid in programme["excluded_categs"]]
            used_rules = set()
            base = 0.0
            for product_id, path, subtotal in data["lines"]:
                slashed = "/" + path
                if product_id in programme["excluded_products"] or any(
                    marker in slashed for marker in excluded_categs
                ):
                    continue
                amount = subtotal / data["rate"]
                matching = [
                    (multiplier, rule_id)
                    for rule_id, categ_id, multiplier in programme["category_rules"]
                    if f"/{categ_id}/" in slashed
                ]
                if matching and amount > 0:
                    multiplier, rule_id = max(matching)
                    amount *= multiplier
                    used_rules.add(rule_id)
                base += amount
            day = data["date"]
            multiplier = data["tier_multiplier"] if data["tier_id"] else 1.0
            birthday = data["birth_date"]
            for rule_id, rule_type, date_from, date_to, factor in programme[
                "other_rules"
            ]:
                if (rule_type == "period" and date_from <= day <= date_to) or (
                    rule_type == "birthday" and birthday and birthday.month == day.month
                ):
                    multiplier *= factor
                    used_rules.add(rule_id)
            raw = max(base, 0.0) * company.loyalty_points_per_unit * multiplier
            points = int(
                float_round(
                    raw,
                    precision_rounding=1.0,
                    rounding_method=ROUNDING_METHODS[company.loyalty_points_rounding],
                )
            )
            result[order_id] = dict(
                data,
                points=points,
                base_amount=company.currency_id.round(base),
                multiplier=multiplier,
                rule_ids=sorted(used_rules),
            )
        return result

    def _loyalty_open_earn_orders(self):
        """Ids of the orders of ``self`` holding earned points not reversed by
        a cancellation: confirming them again must not earn twice."""
        self.env["customer.point.entry"].flush_model()
        self.env.cr.execute(
            SQL("%s AND e.sale_order_id = ANY(%s)", OPEN_EARN_LINES, self.ids)
        )
        return {row[0] for row in self.env.cr.fetchall()}

    def _loyalty_earn_points(self):
        """Post the earned points of the confirmed orders of ``self``.

        Idempotent: an order that already holds earned points (not reversed
        by a cancellation) earns nothing more. Blocked members earn nothing.
        A handful of queries whatever the number of orders.
        """
        orders = self.filtered(
            lambda o: o.state == "sale" and o.company_id.loyalty_points_enabled
        )
        if not orders:
            return
        # sudo: confirming an order earns its customer's points; the points
        # follow from the order and the programme's settings only.
        entries_model = self.env["customer.point.entry"].sudo()
        computed = orders._loyalty_compute_points()
        rows = []
        today_by_company = {}
        for order_id, data in computed.items():
            if (
                data["has_points"]
                or not data["membership_id"]
                or data["membership_state"] != "active"
                or data["points"] <= 0
            ):
                continue
            company = data["company"]
            if company.id not in today_by_company:
                today_by_company[company.id] = company._loyalty_today()
            release = company.loyalty_points_release
            available_date = None
            if release == "confirm":
                available_date = fields.Date.add(
                    data["date"], days=company.loyalty_points_pending_days
                )
            available = bool(
                available_date and available_date <= today_by_company[company.id]
            )
            rows.append(
                {
                    "membership_id": data["membership_id"],
                    "kind": "earn",
                    "points": data["points"],
                    "state": "available" if available else "pending",
                    "release_rule": release,
                    "available_date": available_date,
                    "expiry_date": company._loyalty_points_expiry_date(data["date"]),
                    "remaining_points": data["points"],
                    "date": data["date"],
                    "sale_order_id": order_id,
                    "tier_id": data["tier_id"],
                    "base_amount": data["base_amount"],
                    "multiplier": data["multiplier"],
                    "rule_ids": data["rule_ids"],
                    "owes_points": data["owes_points"] and available,
                    "company_id": company.id,
                }
            )
        if not rows:
            return
        lines = entries_model._insert_lines(rows)
        entry_by_order = {order_id: entry_id for entry_id, _mid, order_id in lines}
        rule_links = [
            (entry_by_order[row["sale_order_id"]], rule_id)
            for row in rows
            for rule_id in row["rule_ids"]
        ]
        if rule_links:
            self.env.cr.execute(
                SQL(
                    """
                    INSERT INTO customer_point_entry_rule_rel (entry_id, rule_id)
                    SELECT * FROM unnest(%s::int[], %s::int[])
                    """,
                    [link[0] for link in rule_links],
                    [link[1] for link in rule_links],
                )
            )
        entries_model.invalidate_model()
        self.invalidate_recordset(["loyalty_point_entry_ids"])
        # only members who owe points can have debts to settle
        entries_model._settle_debts(
            list({row["membership_id"] for row in rows if row["owes_points"]})
        )
        # the INSERT moved the balances; settling debts moves none
        tiers_model = self.env["customer.tier"].sudo()
        for company_id in {row["company_id"] for row in rows}:
            tiers_model._apply_tiers(
                self.env["res.company"].browse(company_id),
                list(
                    {
                        row["membership_id"]
                        for row in rows
                        if row["company_id"] == company_id
                    }
                ),
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
    # Paying with points: the one redemption API of an order
    # ------------------------------------------------------------------
    def _loyalty_points_amount(self, points):
        """Value of ``points`` in the order's currency."""
        self.ensure_one()
        value_company = points * self.company_id.loyalty_point_value
        return self.currency_id.round(value_company * (self.currency_rate or 1.0))

    def _loyalty_redemption_figures(self, removed=None):
        """(gross, taken, cap) of this order, in its currency: the untaxed
        amount of its lines (but ``removed``) other than points discounts,
        what its points and reward discounts take off, and the most they may
        take off."""
        self.ensure_one()
        lines = self.order_line.filtered(lambda line: not line.display_type)
        if removed:
            lines -= removed
        points_lines = lines.filtered("loyalty_point_entry_id")
        gross = sum((lines - points_lines).mapped("price_subtotal"))
        taken = -sum(points_lines.mapped("price_subtotal"))
        percent = self.company_id.loyalty_points_max_redeem_percent
        return gross, taken, max(gross, 0.0) * percent / 100.0

    def _loyalty_points_room(self):
        """How many more points may pay for this order under the cap."""
        self.ensure_one()
        value = self.company_id.loyalty_point_value
        if value <= 0:
            return 0
        _gross, taken, cap = self._loyalty_redemption_figures()
        room_company = (cap - taken) / (self.currency_rate or 1.0)
        return max(math.floor(room_company / value + 1e-9), 0)

    def _loyalty_check_points_discounts(self, extra=0.0, removed=None):
        """Refuse orders whose points and reward discounts, with ``extra``
        more (in the order's currency) or without the lines ``removed``,
        break the programme's rules:

        1. all of them together take off at most the company's maximum
           share (*Max. Paid with Points*) of the untaxed amount of the other
           lines;
        2. the order's untaxed amount and total stay at zero or above.

        Checked when such a discount is added, when lines of an order holding
        one change, and at confirmation; cancelled orders lose their points
        discounts and are not checked.
        """
        for order in self:
            points_lines = order.order_line.filtered("loyalty_point_entry_id")
            if removed:
                points_lines -= removed
            if order.state == "cancel" or not (extra or points_lines):
                continue
            gross, taken, cap = order._loyalty_redemption_figures(removed)
            currency = order.currency_id
            taken += extra
            if float_compare(taken, cap, precision_rounding=currency.rounding) > 0:
                raise UserError(
                    self.env._(
                        "Points and reward discounts may take off at most "
                        "%(percent)s %% of %(order)s (%(cap)s); with this change "
                        "they would take off %(amount)s. Remove a points discount "
                        "line (its points are given back) or redeem fewer points.",
                        percent=order.company_id.loyalty_points_max_redeem_percent,
                        order=order.name,
                        cap=formatLang(self.env, cap, currency_obj=currency),
                        amount=formatLang(self.env, taken, currency_obj=currency),
                    )
                )
            negative = float_compare(
                gross - taken, 0.0, precision_rounding=currency.rounding
            ) < 0 or (
                not (extra or removed)
                and float_compare(
                    order.amount_total, 0.0, precision_rounding=currency.rounding
                )
                < 0
            )
            if negative:
                raise UserError(
                    self.env._(
                        "The total of %(order)s cannot go below zero with points "
                        "or reward discounts. Remove a points discount line first.",
                        order=order.name,
                    )
                )

    def _loyalty_check_member(self, membership):
        """Refuse ``membership`` paying for this order: it must be the
        membership of the order's customer in the order's company."""
        self.ensure_one()
        if not membership:
            raise UserError(
                self.env._(
                    "%(customer)s is not a member of the loyalty programme.",
                    customer=self.partner_id.display_name,
                )
            )
        membership = membership.sudo()
        if (
            membership.partner_id != self.partner_id.commercial_partner_id
            or membership.company_id != self.company_id
        ):
            raise UserError(
                self.env._(
                    "The points of %(member)s cannot pay for %(order)s, an order "
                    "of %(customer)s.",
                    member=membership.display_name,
                    order=self.name,
                    customer=self.partner_id.display_name,
                )
            )
        if membership.state != "active":
            raise UserError(
                self.env._(
                    "The membership of %(customer)s is blocked.",
                    customer=self.partner_id.display_name,
                )
            )

    def _loyalty_check_quotation(self):
        self.ensure_one()
        if self.state not in ("draft", "sent"):
            raise UserError(self.env._("Points can only be redeemed on a quotation."))
        if not self.company_id.loyalty_points_enabled:
            raise UserError(
                self.env._(
                    "Loyalty points are not enabled for %(company)s.",
                    company=self.company_id.name,
                )
            )

    def _loyalty_redeem_points(self, points):
        """Pay part of this quotation with ``points`` of its customer's
        available points: the ``redeem`` ledger line and the discount line,
        in this transaction. Raise ``UserError`` (nothing written) when the
        order, the member, the amount or the balance does not allow it."""
        self.ensure_one()
        self._loyalty_check_quotation()
        membership = self._loyalty_memberships().get(self.id)
        self._loyalty_check_member(membership)
        company = self.company_id
        if company.loyalty_point_value <= 0:
            raise UserError(
                self.env._("Set the value of one point in the loyalty settings.")
            )
        if points <= 0:
            raise UserError(self.env._("The points to redeem must be above 0."))
        available = self.env["customer.point.entry"]._ledger_balances(membership.ids)[
            membership.id
        ][0]
        room = self._loyalty_points_room()
        if points > room and points <= available:
            raise UserError(
                self.env._(
                    "At most %(max)s points can be redeemed on this order "
                    "(%(percent)s %% of its amount).",
                    max=room,
                    percent=company.loyalty_points_max_redeem_percent,
                )
            )
        amount = self._loyalty_points_amount(points)
        self._loyalty_check_points_discounts(extra=amount)
        # the ledger checks the balance again under a lock: that check is the
        # one that holds when two users redeem at the same moment
        entry = self.env["customer.point.entry"]._post_redemption(
            membership, points, order=self
        )
        return self._loyalty_add_points_line(
            entry,
            amount,
            self.env._(
                "Loyalty points: %(points)s points",
                points=formatLang(self.env, points, digits=0),
            )
            if points != 1
            else self.env._("Loyalty points: 1 point"),
        )

    def _loyalty_add_points_line(self, entry, amount, name):
        """Add the discount line of ``amount`` (order currency) paid by the
        ledger line ``entry``. The only place that links an order line to the
        ledger (as superuser: users cannot set the link)."""
        self.ensure_one()
        product = self.env.ref("repeat_customer.product_points_discount")
        line = (
            self.env["sale.order.line"]
            .sudo()
            .create(
                {
                    "order_id": self.id,
                    "product_id": product.id,
                    "name": name,
                    "product_uom_qty": 1.0,
                    "price_unit": -amount,
                    "tax_id": [Command.clear()],
                    "loyalty_point_entry_id": entry.id,
                    "sequence": 10000,
                }
            )
        )
        return line.sudo(False)

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
