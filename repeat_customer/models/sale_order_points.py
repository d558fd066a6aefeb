"""Points an order earns at confirmation, and gives back when it is cancelled
or credited."""

from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import SQL, float_round

from ..tools.numbers import one_record
from ..tools.points import order_points


class SaleOrder(models.Model):
    _inherit = "sale.order"

    # ------------------------------------------------------------------
    # Earning
    # ------------------------------------------------------------------
    def _loyalty_order_date(self):
        """The order's date in its company's time zone; for a quotation,
        today, as confirming it will date it today."""
        one_record(self)
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
        (id, state, tier, tier multiplier, birthday)
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
            tier_id = membership.tier_id.id if membership else None
            inputs[order.id] = {
                "company": order.company_id,
                "rate": order.currency_rate or 1.0,
                "date": order._loyalty_order_date(),
                "membership_id": membership.id if membership else None,
                "membership_state": membership.state if membership else None,
                "tier_id": tier_id,
                "tier_multiplier": order.company_id._loyalty_tier_multiplier(tier_id),
                "birthdate_date": order.partner_id.commercial_partner_id.birthdate_date,
                "has_points": False,
                "lines": [
                    line._loyalty_points_line()
                    for line in order.order_line._loyalty_earning_lines()
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
                       cp.birthdate_date,
                       so.id IN (%(open_earn)s)
                  FROM sale_order so
                  JOIN res_partner p ON p.id = so.partner_id
                  JOIN res_partner cp ON cp.id = p.commercial_partner_id
                  LEFT JOIN customer_membership m
                         ON m.partner_id = cp.id AND m.company_id = so.company_id
                 WHERE so.id = ANY(%(ids)s)
                """,
                ids=self.ids,
                open_earn=self._loyalty_open_earn_query(),
            )
        )
        orders = cr.fetchall()
        # sudo: the lines that earn are the order's, whoever confirms it
        earning = (
            self.env["sale.order.line"]
            .sudo()
            ._search(
                [
                    ("order_id", "in", self.ids),
                    *self.env["sale.order.line"]._loyalty_earning_domain(),
                ]
            )
        )
        cr.execute(
            SQL(
                """
                SELECT sol.order_id, sol.product_id, pc.parent_path,
                       sol.price_subtotal
                  FROM sale_order_line sol
                  JOIN product_product pp ON pp.id = sol.product_id
                  JOIN product_template pt ON pt.id = pp.product_tmpl_id
                  LEFT JOIN product_category pc ON pc.id = pt.categ_id
                 WHERE sol.id IN (%s)
                 ORDER BY sol.order_id, sol.sequence, sol.id
                """,
                earning.subselect(),
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
            birthdate_date,
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
                "tier_multiplier": companies.browse(
                    company_id
                )._loyalty_tier_multiplier(tier_id),
                "birthdate_date": birthdate_date,
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
            earned = order_points(
                data["lines"],
                data["rate"],
                company._loyalty_programme(),
                data["date"],
                data["tier_multiplier"],
                data["birthdate_date"],
                company.loyalty_points_per_unit,
                company.loyalty_points_rounding,
            )
            result[order_id] = dict(
                data,
                points=earned.points,
                base_amount=company.currency_id.round(earned.base),
                multiplier=earned.multiplier,
                rule_ids=earned.rule_ids,
            )
        return result

    def _loyalty_open_earn_query(self):
        """SQL of the ids of the orders of ``self`` holding earned points not
        reversed by a cancellation (``_open_earn_domain``)."""
        # sudo: the ledger is the programme's; the orders are the user's
        entries = self.env["customer.point.entry"].sudo()
        return entries._search(
            [("sale_order_id", "in", self.ids), *entries._open_earn_domain()]
        ).select("sale_order_id")

    def _loyalty_open_earn_entries(self):
        """The earned points of the orders ``self`` not reversed by a
        cancellation (``_open_earn_domain``), as superuser."""
        entries = self.env["customer.point.entry"].sudo()
        return entries.search(
            [("sale_order_id", "in", self.ids), *entries._open_earn_domain()]
        )

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
                }
            )
        if not rows:
            return
        entries_model._post(rows)
        self.invalidate_recordset(["loyalty_point_entry_ids"])
        members_by_company = defaultdict(set)
        for data in computed.values():
            members_by_company[data["company"]].add(data["membership_id"])
        posted = {row["membership_id"] for row in rows}
        tiers_model = self.env["customer.tier"].sudo()
        for company, member_ids in members_by_company.items():
            if member_ids & posted:
                tiers_model._apply_tiers(company, list(member_ids & posted))

    def _loyalty_reverse_points(self):
        """Reverse the points of cancelled orders: earned points not yet
        reversed, and points spent on them (their discount lines go)."""
        orders = self.filtered(lambda o: o.state == "cancel")
        if not orders:
            return
        entries_model = self.env["customer.point.entry"].sudo()
        earned = orders._loyalty_open_earn_entries()
        if earned:
            amounts = {
                e.id: e.points + sum(e.reversal_ids.mapped("points")) for e in earned
            }
            entries_model._reverse(earned, amounts)
        redemption_lines = orders.sudo().order_line.filtered("loyalty_point_entry_id")
        redemption_lines.unlink()

    def _loyalty_refunded_share(self, entry, credit_lines):
        """The share of what the order ``self`` earned (``entry``) that the
        credit note lines ``credit_lines`` refund, from 0 to 1: the base of
        the refunded earning lines (their amounts in company currency, the
        programme's exclusions and category multipliers applied as earning
        applies them) over the base the entry earned on."""
        one_record(self)
        earning = self.order_line._loyalty_earning_lines()
        refunded = [
            sale_line._loyalty_points_line(line.balance)
            for line in credit_lines
            for sale_line in (line.sale_line_ids & earning)[:1]
        ]
        if not refunded or entry.base_amount <= 0:
            return 0.0
        programme = self.company_id._loyalty_programme()
        base = order_points(
            refunded, 1.0, programme, entry.date, 1.0, None, 0.0, "down"
        ).base
        return min(max(base / entry.base_amount, 0.0), 1.0)

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
            amounts = {}
            for entry in orders._loyalty_open_earn_entries():
                if entry.reversal_ids.filtered(
                    lambda r, cn=credit_note: r.credit_note_id == cn
                ):
                    continue
                share = entry.sale_order_id._loyalty_refunded_share(entry, lines)
                if share <= 0:
                    continue
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
