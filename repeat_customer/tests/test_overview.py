"""The Loyalty Overview's data: its figures, record rules, bad filters, the
read-only cursor, and a tour that drills into it."""

import io
import json
import zipfile
from datetime import datetime, time, timedelta

import openpyxl

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
        # over the months that are over
        this_month = self.company._loyalty_today().replace(day=1)
        ((churn,),) = Activity._read_group(
            [*data["domains"]["activity"], ("month", "<", this_month)],
            [],
            ["churn_rate:avg"],
        )
        self.assertAlmostEqual(kpis["churn_rate"], churn or None)
        self.assertIsNone(data["months"][-1]["churn_rate"], "the month is not over")
        memberships = self.env["customer.membership"].search(
            [("company_id", "=", self.company.id)]
        )
        self.assertEqual(kpis["points"], sum(memberships.mapped("points_balance")))
        self.assertEqual(
            kpis["points_pending"], sum(memberships.mapped("points_pending"))
        )
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

    def test_the_month_in_progress_is_marked(self):
        self._order(self.bob, 30.0)
        self.env.flush_all()
        self.env["customer.membership"]._compute_company(self.company)
        data = self._overview()
        # Bob's cohort (200 days ago) has his month 0 and this month
        [cohort] = [c for c in data["cohorts"] if max(c["cells"]) > 5]
        since = max(cohort["cells"])
        self.assertTrue(cohort["cells"][since]["partial"])
        self.assertFalse(cohort["cells"][0]["partial"])
        self.assertFalse(
            any(
                cell["partial"]
                for other in data["cohorts"]
                if other is not cohort
                for cell in other["cells"].values()
            )
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
        self.env["customer.service.request"].create(
            {
                "name": "Overview cup broken",
                "company_id": self.company.id,
                "partner_id": self.ann.id,
                "type_id": self.env.ref(
                    "repeat_customer.customer_service_type_complaint"
                ).id,
            }
        )
        self.start_tour(
            "/odoo/action-repeat_customer.customer_overview_action",
            "repeat_customer_loyalty_overview",
            login="overview_manager",
        )

    def test_rf_matrix_tour(self):
        self.start_tour(
            "/odoo/action-repeat_customer.customer_rf_matrix_action",
            "repeat_customer_rf_matrix",
            login="overview_manager",
        )


@tagged("post_install", "-at_install")
class TestAnalyticsXlsx(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = new_test_user(
            cls.env,
            login="export_salesman",
            groups="sales_team.group_sale_salesman",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.ann, cls.bob, cls.cai = make_customers(
            cls.env, cls.company, cls.salesman, cls.product
        )
        cls.ann.write({"city": "上海", "gender": "female"})

    def _open(self, report, env=None, **values):
        env = env or self.env
        export = env["customer.analytics.export"].create(
            {"company_id": self.company.id, **values}
        )
        content, kind = (
            env["ir.actions.report"]
            .with_user(env.user)
            ._render_xlsx(f"repeat_customer.analytics_{report}_xlsx", export.ids, {})
        )
        self.assertEqual(kind, "xlsx")
        return openpyxl.load_workbook(io.BytesIO(content))

    def test_member_list(self):
        book = self._open("members")
        sheet = book.active
        header = [c.value for c in sheet[4]]
        self.assertEqual(header[:2], ["Member Number", "Customer"])
        self.assertEqual(sheet.freeze_panes, "C5")
        self.assertEqual(sheet.auto_filter.ref.split(":")[0], "A4")
        rows = {
            r[1]: r for r in sheet.iter_rows(min_row=5, max_row=7, values_only=True)
        }
        self.assertEqual(set(rows), {"Overview Ann", "Overview Bob", "Overview Cai"})
        ann = rows["Overview Ann"]
        membership = self._membership(self.ann)
        self.assertEqual(ann[0], membership.name)
        self.assertEqual(ann[10], 2)  # orders, a number
        self.assertEqual(ann[11], 160.0)
        self.assertEqual(ann[13].date(), membership.first_order_date)  # a date
        # blank when the spend model could not value the member
        self.assertAlmostEqual(ann[18] or 0.0, membership.clv, places=2)
        self.assertEqual(ann[22], "上海")
        self.assertEqual(ann[24], "Female")
        self.assertEqual(sheet.cell(8, 1).value, "Total")
        self.assertEqual(sheet.cell(8, 11).value, "=SUM(K5:K7)")
        self.assertIn("#,##0", sheet.cell(5, 12).number_format)

    def test_member_list_of_a_salesperson(self):
        book = self._open("members", env=self.env(user=self.salesman))
        rows = list(book.active.iter_rows(min_row=5, values_only=True))
        self.assertEqual([r[1] for r in rows[:-1]], ["Overview Ann"])
        self.assertEqual(rows[-1][0], "Total")

    def test_cohort_matrix(self):
        book = self._open("cohorts")
        self.assertEqual(book.sheetnames, ["Retention", "Buyers", "Revenue per Member"])
        sheet = book["Retention"]
        rows = list(sheet.iter_rows(min_row=5, values_only=True))
        self.assertEqual(len(rows), 3, "Bob's, Ann's and Cai's cohorts")
        self.assertTrue(all(r[1] == 1 and r[2] == 1.0 for r in rows))
        self.assertEqual(sheet.cell(5, 3).number_format, "0.0%")
        self.assertTrue(sheet.conditional_formatting)
        revenue = book["Revenue per Member"]
        # each cohort has one member: its revenue per member is its revenue
        self.assertEqual(
            sum(
                value or 0
                for r in revenue.iter_rows(min_row=5, min_col=3, values_only=True)
                for value in r
            ),
            440.0,
        )

    def test_rates_by_month(self):
        book = self._open("rates", months="24")
        self.assertEqual(
            book.sheetnames,
            ["By Month", "By Segment", "By Tier", "By Country", "By Age Band"],
        )
        sheet = book["By Month"]
        rows = list(sheet.iter_rows(min_row=5, max_row=28, values_only=True))
        self.assertEqual(len(rows), 24)
        self.assertEqual(sum(r[2] for r in rows), 3, "three new members")
        self.assertEqual(sum(r[9] for r in rows), 4, "four orders")
        by_country = book["By Country"]
        countries = {r[0]: r for r in by_country.iter_rows(min_row=5, values_only=True)}
        self.assertEqual(countries["China"][2], 1)

    def test_rates_chart_is_native(self):
        export = self.env["customer.analytics.export"].create(
            {"company_id": self.company.id}
        )
        content, _kind = self.env["ir.actions.report"]._render_xlsx(
            "repeat_customer.analytics_rates_xlsx", export.ids, {}
        )
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            charts = [n for n in archive.namelist() if n.startswith("xl/charts/")]
            self.assertEqual(len(charts), 1)
            self.assertIn(b"<c:lineChart>", archive.read(charts[0]))

    def test_export_of_another_company_refused(self):
        other = self.env["res.company"].create({"name": "Export Other Co"})
        export = (
            self.env["customer.analytics.export"]
            .with_user(self.salesman)
            .create({"company_id": self.company.id})
        )
        export.sudo().company_id = other
        with self.assertRaises(UserError):
            export.action_members_xlsx()

    def test_an_export_opens_no_pdf_layout_setup(self):
        """An administrator whose company has no document layout yet gets
        the spreadsheet, not Odoo's PDF layout configurator."""
        self.company.external_report_layout_id = False
        export = self.env["customer.analytics.export"].create(
            {"company_id": self.company.id}
        )
        for action in (export.action_members_xlsx(), export.action_rates_xlsx()):
            self.assertEqual(action["type"], "ir.actions.report")
            self.assertEqual(action["report_type"], "xlsx")
        report = self.env["customer.liability.report"].create(
            {"company_id": self.company.id}
        )
        for action in (
            report.action_export_reconciliation(),
            report.action_export_movements(),
        ):
            self.assertEqual(action["report_type"], "xlsx")

    def test_export_from_the_overview(self):
        action = self.env["customer.overview"].action_export(
            {"company_id": self.company.id, "months": 6, "tier_id": False}
        )
        self.assertEqual(action["res_model"], "customer.analytics.export")
        self.assertEqual(
            action["context"],
            {"default_company_id": self.company.id, "default_months": "6"},
        )
        with self.assertRaises(UserError):
            self.env["customer.overview"].action_export({"months": 5})


@tagged("post_install", "-at_install")
class TestReportingMenu(RepeatCustomerCase):
    def test_reports_grouped_in_four_sections(self):
        """Reporting is not a flat list: four sections, each report in one."""
        reporting = self.env.ref("repeat_customer.loyalty_menu_reporting")
        sections = reporting.child_id.sorted("sequence")
        self.assertEqual(
            sections.mapped("name"),
            ["Customers", "Points and Liability", "Campaigns", "Service"],
        )
        self.assertFalse(sections.filtered("action"), "sections open nothing")
        for section in sections:
            with self.subTest(section=section.name):
                self.assertGreaterEqual(len(section.child_id), 2)
                self.assertTrue(all(section.child_id.mapped("action")))
        self.assertIn(
            self.env.ref("repeat_customer.customer_cohort_menu"),
            self.env.ref("repeat_customer.loyalty_menu_reporting_customers").child_id,
        )
        # a salesperson sees the sections, without the managers' reports
        salesman = new_test_user(
            self.env,
            login="menu_salesman",
            groups="sales_team.group_sale_salesman,repeat_customer.group_user",
        )
        menus = self.env["ir.ui.menu"].with_user(salesman).load_menus(False)
        points = self.env.ref("repeat_customer.loyalty_menu_reporting_points")
        self.assertIn(points.id, menus)
        self.assertNotIn(
            self.env.ref("repeat_customer.customer_liability_report_menu").id,
            menus[points.id]["children"],
        )
