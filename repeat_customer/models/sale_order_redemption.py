"""Paying with points: the one redemption API of an order (checks, cap, the
discount line)."""

import math

from odoo import Command, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, formatLang

from ..tools.numbers import format_number, one_record


class SaleOrder(models.Model):
    _inherit = "sale.order"

    # ------------------------------------------------------------------
    # Paying with points: the one redemption API of an order
    # ------------------------------------------------------------------
    def _loyalty_points_amount(self, points):
        """Value of ``points`` in the order's currency."""
        one_record(self)
        value_company = points * self.company_id.loyalty_point_value
        return self.currency_id.round(value_company * (self.currency_rate or 1.0))

    def _loyalty_redemption_figures(self, removed=None):
        """(gross, taken, cap) of this order, in its currency, taxes
        included (points pay like money): the total of its lines (but
        ``removed``) other than points discounts, what its points and reward
        discounts take off, and the most they may take off."""
        one_record(self)
        lines = self.order_line.filtered(lambda line: not line.display_type)
        if removed:
            lines -= removed
        points_lines = lines.filtered("loyalty_point_entry_id")
        gross = sum((lines - points_lines).mapped("price_total"))
        taken = -sum(points_lines.mapped("price_total"))
        percent = self.company_id.loyalty_points_max_redeem_percent
        return gross, taken, max(gross, 0.0) * percent / 100.0

    def _loyalty_discount_bases(self):
        """{taxes: amount} of the lines points may pay for (not sections,
        notes or points discounts), by the set of their taxes that a
        discount carries (all but fixed amounts, which do not fall with the
        price), each amount the lines' untaxed subtotal plus those taxes, in
        the order's currency."""
        one_record(self)
        bases = {}
        for line in self.order_line:
            if line.display_type or line.loyalty_point_entry_id:
                continue
            taxes = line.tax_id.filtered(lambda tax: tax.amount_type != "fixed")
            computed = line.tax_id.compute_all(
                line.price_unit * (1 - (line.discount or 0.0) / 100.0),
                currency=self.currency_id,
                quantity=line.product_uom_qty,
                product=line.product_id,
                partner=self.partner_shipping_id,
            )
            amount = computed["total_excluded"] + sum(
                tax["amount"] for tax in computed["taxes"] if tax["id"] in taxes.ids
            )
            bases[taxes] = bases.get(taxes, 0.0) + amount
        return bases

    def _loyalty_discount_lines_values(self, amount):
        """The discount lines that take ``amount`` (taxes included) off the
        order, as Odoo's own discount rewards do:

        1. ``amount`` is split over the sets of taxes of the order's lines in
           proportion to what each set's lines come to (taxes included),
           rounded to the currency, the last set taking the rest;
        2. each part is a line carrying that set's taxes, priced so that it
           comes to the part with its taxes: the untaxed amount and the tax
           both fall with the discount;
        3. an order with nothing taxed (or nothing to pay for) gets one line
           without taxes.

        Return [(taxes, price_unit)]."""
        one_record(self)
        currency = self.currency_id
        bases = {
            taxes: base
            for taxes, base in self._loyalty_discount_bases().items()
            if base > 0
        }
        total = sum(bases.values())
        if not total or not any(bases):
            return [(self.env["account.tax"], -amount)]
        parts, left = [], amount
        items = list(bases.items())
        for index, (taxes, base) in enumerate(items):
            part = (
                left
                if index == len(items) - 1
                else currency.round(amount * base / total)
            )
            left -= part
            parts.append((taxes, part))
        values = []
        for taxes, part in parts:
            price = -part
            if taxes:
                computed = taxes.with_context(
                    force_price_include=True, round=False, round_base=False
                ).compute_all(-part, currency=currency)
                included = taxes.filtered("price_include").ids
                price = computed["total_excluded"] + sum(
                    tax["amount"] for tax in computed["taxes"] if tax["id"] in included
                )
            values.append((taxes, price))
        return values

    def _loyalty_points_room(self):
        """How many more points may pay for this order under the cap."""
        one_record(self)
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
        one_record(self)
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
        one_record(self)
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
        one_record(self)
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
                points=format_number(self.env, points),
            )
            if points != 1
            else self.env._("Loyalty points: 1 point"),
        )

    def _loyalty_add_points_line(self, entry, amount, name):
        """Add the discount lines of ``amount`` (order currency, taxes
        included) paid by the ledger line ``entry``: one per set of taxes of
        the order's lines (``_loyalty_discount_lines_values``), all linked to
        the ledger line and removed together. The only place that links an
        order line to the ledger (as superuser: users cannot set the link)."""
        one_record(self)
        product = self.env.ref("repeat_customer.product_points_discount")
        values = self._loyalty_discount_lines_values(amount)
        lines = (
            self.env["sale.order.line"]
            .sudo()
            .create(
                [
                    {
                        "order_id": self.id,
                        "product_id": product.id,
                        "name": name
                        if len(values) == 1 or not taxes
                        else self.env._(
                            "%(name)s - on products with the taxes %(taxes)s",
                            name=name,
                            taxes=", ".join(taxes.mapped("name")),
                        ),
                        "product_uom_qty": 1.0,
                        "price_unit": price,
                        "tax_id": [Command.set(taxes.ids)],
                        "loyalty_point_entry_id": entry.id,
                        "sequence": 10000,
                    }
                    for taxes, price in values
                ]
            )
        )
        return lines.sudo(False)
