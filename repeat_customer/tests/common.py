from datetime import datetime, time, timedelta

from freezegun import freeze_time

from odoo import Command, fields
from odoo.tests import TransactionCase

from ..tools.coupons import coupon_program_vals


class RepeatCustomerCase(TransactionCase):
    """A fresh company with its own customers, so that quantiles and churn fits
    only see what the test creates."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.today = fields.Date.context_today(cls.env["res.partner"])
        cls.company = cls.env["res.company"].create(
            {
                "name": "Repeat Customer Test Co",
                "currency_id": cls.env.ref("base.EUR").id,
            }
        )
        cls.env.user.company_ids |= cls.company
        cls.env = cls.env(
            context=dict(cls.env.context, allowed_company_ids=[cls.company.id])
        )
        cls.company.partner_id.tz = "UTC"
        cls.Membership = cls.env["customer.membership"]
        cls.product = cls.env["product.product"].create(
            {"name": "Oolong Tea", "list_price": 100.0, "taxes_id": [Command.clear()]}
        )

    @classmethod
    def _partner(cls, name, **vals):
        return cls.env["res.partner"].create({"name": name, **vals})

    @classmethod
    def _order(
        cls, partner, amount, days_ago=0, currency=None, state="sale", company=None
    ):
        """A sales order of ``amount`` (untaxed, in ``currency``) of
        ``company`` (default: the test's) dated ``days_ago`` days before
        today at noon UTC."""
        company = company or cls.company
        vals = {
            "partner_id": partner.id,
            "company_id": company.id,
            "order_line": [
                Command.create(
                    {
                        "product_id": cls.product.id,
                        "product_uom_qty": 1,
                        "price_unit": amount,
                        "tax_id": [Command.clear()],
                    }
                )
            ],
        }
        if currency:
            pricelist = cls.env["product.pricelist"].create(
                {
                    "name": f"Pricelist {currency.name}",
                    "currency_id": currency.id,
                    "company_id": company.id,
                }
            )
            vals["pricelist_id"] = pricelist.id
        order = cls.env["sale.order"].with_company(company).create(vals)
        if state in ("sale", "cancel"):
            order.action_confirm()
        if state == "cancel":
            order._action_cancel()
        date = datetime.combine(cls.today - timedelta(days=days_ago), time(12, 0))
        order.write({"date_order": date})
        return order

    @classmethod
    def _deliver(cls, order, when=None):
        """Deliver ``order`` on ``when`` (default: its order date). With
        Inventory's sale_stock (installed with Point of Sale), an order is
        delivered when its delivery is done; without, its confirmation is
        its delivery and there is nothing to do."""
        if "effective_date" not in order._fields:
            return
        for picking in order.picking_ids:
            for move in picking.move_ids:
                move.write({"quantity": move.product_uom_qty, "picked": True})
            picking.button_validate()
            picking.date_done = when or order.date_order

    @classmethod
    def _dated(cls, partner, amount, when, state="sale", company=None):
        """A sales order of ``amount`` dated ``when``."""
        order = cls._order(partner, amount, state=state, company=company)
        order.date_order = when
        return order

    @classmethod
    def _membership(cls, partner):
        return cls.env["customer.membership"].search(
            [
                ("partner_id", "=", partner.commercial_partner_id.id),
                ("company_id", "=", cls.company.id),
            ]
        )

    def _compute(self):
        self.env["customer.membership"]._compute_company(self.company)


def run_until_done(job, *args, limit=500, **kwargs):
    """Call a batch job the way Odoo's scheduler does, until it reports no
    work left (a falsy return); the number of calls. A job that never ends
    fails the test instead of hanging it."""
    for calls in range(1, limit + 1):
        if not job(*args, **kwargs):
            return calls
    raise AssertionError(f"{job.__name__} did not finish in {limit} calls")


class PointsCase(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "loyalty_points_enabled": True,
                "loyalty_points_per_unit": 1.0,
                "loyalty_points_rounding": "down",
                "loyalty_points_release": "confirm",
                "loyalty_points_pending_days": 14,
                "loyalty_points_expiry_policy": "months",
                "loyalty_points_expiry_months": 12,
                "loyalty_point_value": 0.01,
                "loyalty_points_max_redeem_percent": 50.0,
            }
        )
        cls.Entry = cls.env["customer.point.entry"]
        cls.customer = cls._partner("Lin Mei")

    def _entries(self, membership, **filters):
        domain = [("membership_id", "=", membership.id)]
        domain += [(key, "=", value) for key, value in filters.items()]
        return self.Entry.search(domain, order="id")

    def _assert_balances_match_ledger(self, membership):
        membership.invalidate_recordset()
        lines = self._entries(membership)
        available = sum(
            lines.filtered(lambda e: e.state == "available").mapped("points")
        )
        pending = sum(lines.filtered(lambda e: e.state == "pending").mapped("points"))
        self.assertEqual(membership.points_balance, available)
        self.assertEqual(membership.points_pending, pending)
        # the points left on the lines add up to the spendable balance
        self.assertEqual(
            sum(
                lines.filtered(lambda e: e.state == "available").mapped(
                    "remaining_points"
                )
            ),
            available,
        )

    def _release(self, days):
        with freeze_time(fields.Date.to_string(self.today + timedelta(days=days))):
            run_until_done(self.Entry._cron_release_points)

    def _give(self, membership, points, expiry_date=None):
        return self.Entry._post_adjustment(
            membership, points, "test points", expiry_date=expiry_date
        )


class RewardsCase(PointsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Reward = cls.env["customer.reward"]
        cls.Coupon = cls.env["customer.coupon"]
        cls.program = cls._coupon_program("10 EUR voucher", 10.0)
        cls.reward = cls.Reward.create(
            {
                "name": "10 EUR voucher for 200 points",
                "company_id": cls.company.id,
                "points_cost": 200,
                "reward_type": "coupon",
                "program_id": cls.program.id,
                "coupon_validity_days": 30,
            }
        )
        cls.customer.email = "lin.mei@example.com"
        cls.other = cls._partner("Wang Fang", email="wang.fang@example.com")

    @classmethod
    def _coupon_program(cls, name, amount):
        return cls.env["loyalty.program"].create(
            coupon_program_vals(
                cls.company,
                name,
                amount,
                cls.env.ref("loyalty.mail_template_loyalty_card"),
            )
        )

    def _member(self, partner, points=0):
        membership = self._membership(partner) or self.Membership.create(
            {"partner_id": partner.id, "company_id": self.company.id}
        )
        if points:
            self._give(membership, points)
        return membership

    def _quotation(self, partner, amount=100.0):
        return (
            self.env["sale.order"]
            .with_company(self.company)
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": self.company.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": self.product.id,
                                "product_uom_qty": 1,
                                "price_unit": amount,
                                "tax_id": [Command.clear()],
                            }
                        )
                    ],
                }
            )
        )

    def _apply_code(self, order, code):
        """The standard coupon flow of a quotation: the Coupon Code button,
        then the reward it offers."""
        wizard = (
            self.env["sale.loyalty.coupon.wizard"]
            .with_context(active_id=order.id)
            .create({"order_id": order.id, "coupon_code": code})
        )
        action = wizard.action_apply()
        reward_wizard = (
            self.env["sale.loyalty.reward.wizard"]
            .with_context(**action["context"])
            .create({"selected_reward_id": action["context"]["default_reward_ids"][0]})
        )
        reward_wizard.action_apply()

    def _snapshot(self, membership):
        """What a refused operation must leave untouched."""
        membership.invalidate_recordset()
        return (
            self.Entry.search_count([("membership_id", "=", membership.id)]),
            self.Coupon.search_count([]),
            self.env["loyalty.card"].search_count([]),
            membership.points_balance,
        )
