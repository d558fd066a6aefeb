"""The Loyalty Overview's data: its figures, record rules, bad filters, the
read-only cursor, and a tour that drills into it."""

import json
from datetime import datetime, time, timedelta

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import RepeatCustomerCase


def make_customers(env, company, salesman, product):
    """Ann buys twice within the repeat window, Bob once, Cai recently."""
    company.loyalty_repeat_days = 30
    today = company._loyalty_today()
    Partner = env["res.partner"]
    ann = Partner.create(
        {
            "name": "Overview Ann",
            "user_id": salesman.id,
            "country_id": env.ref("base.cn").id,
        }
    )
    bob = Partner.create({"name": "Overview Bob"})
    cai = Partner.create({"name": "Overview Cai"})
    for partner, amount, days_ago in (
        (ann, 100.0, 100),
        (ann, 60.0, 90),
        (bob, 200.0, 200),
        (cai, 80.0, 40),
    ):
        order = (
            env["sale.order"]
            .with_company(company)
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "price_unit": amount,
                                "tax_id": [Command.clear()],
                            }
                        )
                    ],
                }
            )
        )
        order.action_confirm()
        order.date_order = datetime.combine(today - timedelta(days=days_ago), time(12))
    env.flush_all()
    env["customer.membership"]._compute_company(company)
    return ann, bob, cai


@tagged("post_install", "-at_install")
class TestOverview(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = new_test_user(
            cls.env,
            login="overview_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.company.loyalty_points_enabled = True
        cls.ann, cls.bob, cls.cai = make_customers(
            cls.env, cls.company, cls.salesman, cls.product
        )

    def _overview(self, env=None, **filters):
        env = env or self.env
        return env["customer.overview"].get_overview(
            {"company_id": self.company.id, **filters}
        )

    def test_figures(self):
        data = self._overview()
        kpis = data["kpis"]
        self.assertEqual(kpis["members"], 3)
        self.assertEqual(kpis["active"], 3)
        # Ann of Ann, Bob and Cai came back within 30 days
        self.assertAlmostEqual(kpis["repeat_rate"], 100.0 / 3, places=2)
        Activity = self.env["customer.activity.month"]
        ((churn,),) = Activity._read_group(
            data["domains"]["activity"], [], ["churn_rate:avg"]
        )
        self.assertAlmostEqual(kpis["churn_rate"], churn)
        memberships = self.env["customer.membership"].search(
            [("company_id", "=", self.company.id)]
        )
        self.assertEqual(kpis["points"], sum(memberships.mapped("points_balance")))
        self.assertEqual(kpis["redemption_rate"], 0.0, "nothing redeemed yet")
        self.assertNotIn("campaign_revenue", kpis)
        self.assertEqual(sum(s["count"] for s in data["segments"]), 3)
        self.assertEqual(len(data["months"]), 12)
        self.assertEqual(sum(m["new"] for m in data["months"]), 3)
        self.assertEqual(
            sum(c["size"] for c in data["cohorts"]),
            3,
            "every first purchase is a cohort's",
        )
        cells = [cell for line in data["rf_grid"] for cell in line]
        self.assertEqual(len(cells), 25)
        self.assertEqual(sum(c["count"] for c in cells), 3)
        self.assertAlmostEqual(sum(c.get("share", 0) for c in cells), 100.0)
        # each cell's members are those its drill-down opens
        for cell in cells:
            if cell["count"]:
                self.assertEqual(
                    self.env["customer.membership"].search_count(
                        data["domains"]["members"]
                        + [
                            ("rfm_recency_score", "=", cell["r"]),
                            ("rfm_frequency_score", "=", cell["f"]),
                        ]
                    ),
                    cell["count"],
                )

    def test_filters(self):
        china = self.env.ref("base.cn")
        data = self._overview(country_id=china.id, months=24)
        self.assertEqual(data["kpis"]["members"], 1)
        self.assertEqual(len(data["months"]), 24)
        self.assertIn([china.id, china.display_name], data["choices"]["countries"])

    def test_redemption_rate(self):
        membership = self._membership(self.ann)
        Entry = self.env["customer.point.entry"]
        Entry._post_adjustment(membership, 500, "test")
        Entry._post_redemption(membership, 200, reason="test")
        issued = sum(
            Entry.search(
                [("company_id", "=", self.company.id), ("kind", "=", "earn")]
            ).mapped("points")
        )
        self.assertGreater(issued, 0)
        data = self._overview()
        # redeemed over earned in the period (the adjustment is neither)
        self.assertAlmostEqual(data["kpis"]["redemption_rate"], 100.0 * 200 / issued)

    def test_salesperson_sees_own_customers(self):
        data = self._overview(env=self.env(user=self.salesman))
        self.assertEqual(data["kpis"]["members"], 1)
        self.assertEqual(sum(c["count"] for line in data["rf_grid"] for c in line), 1)
        self.assertEqual(sum(c["size"] for c in data["cohorts"]), 1)

    def test_bad_filters(self):
        other = self.env["res.company"].create({"name": "Overview Other Co"})
        for filters in (
            {"months": 7},
            {"months": "12"},
            {"tier_id": "x"},
            {"segment_id": -1},
            {"country_id": 2**40},
            {"tier_id": True},
        ):
            with self.subTest(filters=filters), self.assertRaises(UserError):
                self._overview(**filters)
        with self.assertRaises(UserError):
            self.env["customer.overview"].with_user(self.salesman).get_overview(
                {"company_id": other.id}
            )
        with self.assertRaises(UserError):
            self.env["customer.overview"].get_overview(["months", 12])

    def test_methods_are_readonly(self):
        self.assertTrue(type(self.env["customer.overview"]).get_overview._readonly)


@tagged("post_install", "-at_install")
class TestOverviewHttp(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.ref("base.main_company")
        cls.manager = new_test_user(
            cls.env,
            login="overview_manager",
            password="overview_manager",
            groups="sales_team.group_sale_manager,repeat_customer.group_manager",
            name="Overview Manager",
        )
        # only this test's customers in the main company's figures
        cls.env["customer.membership"].search(
            [("company_id", "=", cls.company.id)]
        ).unlink()
        cls.env["customer.activity.month"].search(
            [("company_id", "=", cls.company.id)]
        ).unlink()
        cls.product = cls.env["product.product"].create(
            {"name": "Overview Tea", "list_price": 10.0, "taxes_id": [Command.clear()]}
        )
        cls.ann, cls.bob, cls.cai = make_customers(
            cls.env, cls.company, cls.manager, cls.product
        )

    def test_data_on_a_readonly_cursor(self):
        """Over JSON-RPC the method runs on a read-only cursor (a write there
        would fail) and answers."""
        self.authenticate("overview_manager", "overview_manager")
        response = self.url_open(
            "/web/dataset/call_kw/customer.overview/get_overview",
            data=json.dumps(
                {
                    "params": {
                        "model": "customer.overview",
                        "method": "get_overview",
                        "args": [],
                        "kwargs": {"filters": {}},
                    }
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        payload = response.json()
        self.assertNotIn("error", payload)
        self.assertEqual(payload["result"]["kpis"]["members"], 3)

    def test_tour(self):
        self.start_tour(
            "/odoo/action-repeat_customer.customer_overview_action",
            "repeat_customer_loyalty_overview",
            login="overview_manager",
        )
