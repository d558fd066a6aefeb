from datetime import datetime, time, timedelta

from odoo import Command, fields
from odoo.tests import TransactionCase

from ..tools.coupons import coupon_program_vals  # noqa: F401 - the tests import it from here


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
