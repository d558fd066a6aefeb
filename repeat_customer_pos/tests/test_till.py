"""Till orders as purchases: made the way Odoo's own POS tests make them
(``sync_from_ui`` on an open session), figures checked against values
computed by hand."""

from datetime import datetime, time, timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.point_of_sale.tests.common import TestPoSCommon


@tagged("post_install", "-at_install")
class TillCase(TestPoSCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the loyalty manager configures stores and reads every member
        cls.env.user.groups_id |= cls.env.ref("repeat_customer.group_manager")
        cls.company.partner_id.tz = "UTC"
        cls.Membership = cls.env["customer.membership"]
        cls.today = cls.company._loyalty_today()

    def setUp(self):
        super().setUp()
        self.config = self.basic_config
        self.coffee = self.create_product("Flat White", self.categ_basic, 10.0)
        self.beans = self.create_product("Coffee Beans", self.categ_basic, 20.0)
        self.open_new_session()

    def _at(self, days_ago, hour=12):
        """Noon UTC ``days_ago`` days before the company's today."""
        return datetime.combine(self.today - timedelta(days=days_ago), time(hour))

    def _sell(self, lines, customer=False, when=None, uuid=None, invoice=False):
        """Sync one till order through Odoo's POS API; return it."""
        data = self.create_ui_order_data(
            lines, customer=customer, is_invoiced=invoice, uuid=uuid
        )
        if when:
            data["date_order"] = fields.Datetime.to_string(when)
        result = self.env["pos.order"].sync_from_ui([data])
        return self.env["pos.order"].browse(result["pos.order"][0]["id"])

    def _refund(self, order, product, quantity, when=None):
        """Return ``quantity`` of ``product`` of ``order`` at the till."""
        line = order.lines.filtered(lambda line: line.product_id == product)[:1]
        return self._sell(
            [
                {
                    "product": product,
                    "quantity": -quantity,
                    "refunded_orderline_id": line.id,
                }
            ],
            customer=order.partner_id,
            when=when,
        )

    def _member(self, partner, company=None):
        return self.Membership.search(
            [
                ("partner_id", "=", partner.commercial_partner_id.id),
                ("company_id", "=", (company or self.company).id),
            ]
        )

    def _sale_order(self, partner, amount, days_ago, team=None):
        """A confirmed sales order of ``amount`` untaxed, dated back."""
        order = self.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "team_id": team.id if team else False,
                "order_line": [
                    Command.create(
                        {
                            "product_id": self.coffee.id,
                            "product_uom_qty": 1,
                            "price_unit": amount,
                            "tax_id": [Command.clear()],
                        }
                    )
                ],
            }
        )
        order.action_confirm()
        order.date_order = self._at(days_ago)
        self._member(partner)._refresh_figures()
        return order

    def _figures(self, membership):
        membership.invalidate_recordset()
        return {
            "orders": membership.order_count,
            "spent": membership.total_spent,
            "days": membership.purchase_day_count,
            "first": membership.first_order_date,
            "last": membership.last_order_date,
        }


class TestTillPurchases(TillCase):
    def test_both_channels_against_hand_computed_figures(self):
        """One sales order (100, ten days ago) and two till orders (2 bags of
        beans, 40, three days ago; a coffee, 10, today): three purchases on
        three days, 150 spent, repeat days worth (40 + 10) / 2."""
        online = self.env["customer.store"].create({"name": "Online Shop"})
        team = self.env["crm.team"].create(
            {
                "name": "Web Sales",
                "company_id": self.company.id,
                "loyalty_store_id": online.id,
            }
        )
        customer = self.customer
        self._sale_order(customer, 100.0, days_ago=10, team=team)
        self._sell([(self.beans, 2)], customer, when=self._at(3))
        self._sell([(self.coffee, 1)], customer, when=self._at(0))
        member = self._member(customer)
        self.assertTrue(member, "the first purchase enrols the customer")
        self.assertEqual(
            self._figures(member),
            {
                "orders": 3,
                "spent": 150.0,
                "days": 3,
                "first": self.today - timedelta(days=10),
                "last": self.today,
            },
        )
        self.assertAlmostEqual(member.average_order_value, 50.0)
        self.assertAlmostEqual(member.repeat_order_value, 25.0)
        # per store: the till's shop twice, the online shop once
        shop = self.config.loyalty_store_id
        self.assertEqual(shop.name, self.config.name)
        figures = {
            row.store_id: (row.order_count, row.total_spent, row.last_order_date)
            for row in member.store_figure_ids
        }
        self.assertEqual(
            figures,
            {
                shop: (2, 50.0, self.today),
                online: (1, 100.0, self.today - timedelta(days=10)),
            },
        )
        self.assertEqual(member.home_store_id, shop)
        self.assertEqual(shop.member_count, 1)
        # the complaint rate's orders are the purchases of every channel
        ((orders,),) = self.env["customer.service.rate"]._read_group(
            [("partner_id", "=", customer.id)], [], ["order_count:sum"]
        )
        self.assertEqual(orders, 3)

    def test_refund_at_the_till_is_a_return(self):
        """Three bags bought (60), one returned (-20) two days later: one
        purchase, 40 spent, the returned bag out of the product's share."""
        customer = self.customer
        order = self._sell([(self.beans, 3)], customer, when=self._at(5))
        refund = self._refund(order, self.beans, 1, when=self._at(3))
        self.assertLess(refund.amount_total, 0)
        member = self._member(customer)
        self.assertEqual(
            self._figures(member),
            {
                "orders": 1,
                "spent": 40.0,
                "days": 1,
                "first": self.today - timedelta(days=5),
                "last": self.today - timedelta(days=5),
            },
        )
        self.Membership._update_profiles(self.company, member.ids)
        product = self.env["customer.profile.product"].search(
            [("membership_id", "=", member.id)]
        )
        self.assertEqual(product.product_id, self.beans)
        self.assertEqual(product.quantity, 2.0)
        self.assertAlmostEqual(product.spend, 40.0)

    def test_order_invoiced_later_counts_once(self):
        customer = self.customer
        order = self._sell([(self.beans, 1)], customer, when=self._at(1))
        order.action_pos_order_invoice()
        self.assertEqual(order.state, "invoiced")
        self.assertEqual(order.account_move.state, "posted")
        member = self._member(customer)
        member._refresh_figures()
        self.assertEqual(self._figures(member)["orders"], 1)
        self.assertEqual(self._figures(member)["spent"], 20.0)
        # counted on invoices: the till order still, its invoice not
        self.company.loyalty_stats_source = "invoice"
        member._refresh_figures()
        self.assertEqual(self._figures(member)["orders"], 1)
        self.assertEqual(self._figures(member)["spent"], 20.0)
        # an invoice of its own is a purchase of the invoice source
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": self.today,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "product_id": self.coffee.id,
                            "quantity": 1,
                            "price_unit": 30.0,
                            "tax_ids": [Command.clear()],
                        }
                    )
                ],
            }
        )
        invoice.action_post()
        member._refresh_figures()
        self.assertEqual(self._figures(member)["orders"], 2)
        self.assertEqual(self._figures(member)["spent"], 50.0)

    def test_child_contact_counts_for_the_company(self):
        company_customer = self.env["res.partner"].create(
            {"name": "Hot Pot House Ltd", "is_company": True}
        )
        buyer = self.env["res.partner"].create(
            {"name": "Chef Wang", "parent_id": company_customer.id}
        )
        self._sell([(self.coffee, 2)], buyer)
        self.assertFalse(self._member(buyer).partner_id - company_customer)
        member = self._member(company_customer)
        self.assertEqual(member.partner_id, company_customer)
        self.assertEqual(self._figures(member)["orders"], 1)
        self.assertEqual(self._figures(member)["spent"], 20.0)

    def test_order_without_customer_counts_for_no_one(self):
        before = self.Membership.search_count([("company_id", "=", self.company.id)])
        order = self._sell([(self.coffee, 1)])
        self.assertEqual(order.state, "paid")
        self.assertEqual(
            self.Membership.search_count([("company_id", "=", self.company.id)]), before
        )
        documents = self.env["customer.purchase"]._documents_sql(self.company)
        self.env.cr.execute(
            f"SELECT count(*) FROM ({documents.code}) d WHERE d.res_id = %s "
            "AND d.res_model = 'pos.order'",
            [*documents.params, order.id],
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)

    def test_no_enrolment_when_the_company_does_not_enrol(self):
        self.company.loyalty_auto_enroll = False
        self._sell([(self.coffee, 1)], self.other_customer)
        self.assertFalse(self._member(self.other_customer))

    def test_session_synced_twice(self):
        """A till that sends the same order again (it did not get the answer)
        makes no second order, and the figures count it once."""
        customer = self.customer
        data = self.create_ui_order_data([(self.beans, 1)], customer=customer)
        first = self.env["pos.order"].sync_from_ui([dict(data)])
        second = self.env["pos.order"].sync_from_ui([dict(data)])
        self.assertEqual(first["pos.order"][0]["id"], second["pos.order"][0]["id"])
        self.assertEqual(
            self.env["pos.order"].search_count([("uuid", "=", data["uuid"])]), 1
        )
        self.assertEqual(self._figures(self._member(customer))["orders"], 1)

    def test_day_in_the_company_time_zone(self):
        """17:30 UTC is half past one the next morning in Shanghai: the
        purchase is of the next day, and so is its profile hour."""
        self.company.partner_id.tz = "Asia/Shanghai"
        customer = self.customer
        when = datetime(2026, 3, 1, 17, 30)
        order = self._sell([(self.coffee, 1)], customer, when=when)
        self.assertEqual(order.date_order, when)
        member = self._member(customer)
        self.assertEqual(member.first_order_date, fields.Date.to_date("2026-03-02"))
        documents = self.env["customer.purchase"]._documents_sql(self.company)
        self.env.cr.execute(
            f"SELECT day FROM ({documents.code}) d WHERE d.res_id = %s "
            "AND d.res_model = 'pos.order'",
            [*documents.params, order.id],
        )
        self.assertEqual(self.env.cr.fetchone()[0], fields.Date.to_date("2026-03-02"))

    def test_backend_payment_refreshes_figures(self):
        """An order paid from the back office (the payment wizard) counts at
        once too, as a sync does."""
        customer = self.other_customer
        data = self.create_ui_order_data([(self.beans, 1)], customer=customer)
        data["state"] = "draft"
        data["payment_ids"] = []
        data["amount_paid"] = 0
        result = self.env["pos.order"].sync_from_ui([data])
        order = self.env["pos.order"].browse(result["pos.order"][0]["id"])
        self.assertEqual(order.state, "draft")
        self.assertFalse(self._member(customer).order_count)
        payment = (
            self.env["pos.make.payment"]
            .with_context(active_id=order.id, active_ids=order.ids)
            .create(
                {"payment_method_id": self.cash_pm1.id, "amount": order.amount_total}
            )
        )
        payment.check()
        self.assertEqual(order.state, "paid")
        self.assertEqual(self._figures(self._member(customer))["orders"], 1)

    def test_nightly_run_catches_up(self):
        """What no event reported (an order's customer set afterwards) is
        counted by the night's pass over the changed documents."""
        order = self._sell([(self.beans, 1)])
        member = self.Membership.create(
            {"partner_id": self.other_customer.id, "company_id": self.company.id}
        )
        self.Membership._compute_company(self.company)
        self.assertEqual(self._figures(member)["orders"], 0)
        order.partner_id = self.other_customer
        self.env.flush_all()
        self.Membership._compute_company(self.company, nightly=True)
        self.assertEqual(self._figures(member)["orders"], 1)

    def test_cashier_without_loyalty_rights_syncs(self):
        """A cashier (POS user, no loyalty group) sells to a member: the
        sync succeeds and the figures move; the cashier still reads no
        membership."""
        cashier = self.env["res.users"].create(
            {
                "name": "Cashier Li",
                "login": "cashier_li",
                "company_id": self.company.id,
                "company_ids": [Command.set(self.company.ids)],
                "groups_id": [
                    Command.set(
                        [
                            self.env.ref("base.group_user").id,
                            self.env.ref("point_of_sale.group_pos_user").id,
                        ]
                    )
                ],
            }
        )
        self.assertFalse(cashier.has_group("repeat_customer.group_user"))
        customer = self.customer
        data = self.create_ui_order_data([(self.coffee, 3)], customer=customer)
        self.env["pos.order"].with_user(cashier).sync_from_ui([data])
        self.assertEqual(self._figures(self._member(customer))["spent"], 30.0)
        with self.assertRaises(AccessError):
            self._member(customer).with_user(cashier).read(["total_spent"])


class TestStores(TillCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_data_2 = cls.setup_other_company()

    def setUp(self):
        super().setUp()
        self.shop = self.config.loyalty_store_id
        self.online = self.env["customer.store"].create({"name": "Online Shop"})
        self.team = self.env["crm.team"].create(
            {
                "name": "Web Sales",
                "company_id": self.company.id,
                "loyalty_store_id": self.online.id,
            }
        )
        # one customer of the till, one of the web shop, both this month
        self._sell([(self.coffee, 1)], self.customer, when=self._at(0))
        self._sale_order(self.other_customer, 80.0, days_ago=0, team=self.team)
        self.members = self._member(self.customer) | self._member(self.other_customer)
        self.Membership._compute_company(self.company)
        self.env["customer.activity.month"]._update_activity(
            self.company, self.members.ids
        )

    def test_home_stores(self):
        self.assertEqual(self._member(self.customer).home_store_id, self.shop)
        self.assertEqual(self._member(self.other_customer).home_store_id, self.online)

    def test_rates_and_cohorts_per_store(self):
        month = self.today.replace(day=1)
        rows = self.env["customer.activity.month"]._read_group(
            [("company_id", "=", self.company.id), ("month", "=", month)],
            ["home_store_id"],
            ["active_count:sum", "revenue:sum", "average_order_value:avg"],
        )
        self.assertEqual(
            {store: (active, revenue, aov) for store, active, revenue, aov in rows},
            {self.shop: (1, 10.0, 10.0), self.online: (1, 80.0, 80.0)},
        )
        # a store's cohort is its own members: each shop kept all of its one
        # new member this month, not half of the company's two
        cohorts = self.env["customer.cohort"]._read_group(
            [("company_id", "=", self.company.id), ("cohort_month", "=", month)],
            ["home_store_id"],
            ["retention:sum"],
        )
        self.assertEqual(dict(cohorts), {self.shop: 100.0, self.online: 100.0})
        ((total,),) = self.env["customer.cohort"]._read_group(
            [("company_id", "=", self.company.id), ("cohort_month", "=", month)],
            [],
            ["retention:sum"],
        )
        self.assertEqual(total, 100.0)

    def test_overview_and_member_list_filter_by_store(self):
        overview = self.env["customer.overview"].get_overview(
            {"company_id": self.company.id, "home_store_id": self.shop.id}
        )
        self.assertEqual(overview["kpis"]["members"], 1)
        self.assertIn([self.shop.id, self.shop.name], overview["choices"]["stores"])
        self.assertIn(
            ("home_store_id", "=", self.shop.id), overview["domains"]["members"]
        )
        bought_here = self.Membership.search(
            [("store_figure_ids.store_id", "=", self.online.id)]
        )
        self.assertEqual(bought_here, self._member(self.other_customer))
        export = self.env["customer.overview"].action_export(
            {"company_id": self.company.id, "home_store_id": self.shop.id}
        )
        self.assertEqual(export["context"]["default_home_store_id"], self.shop.id)

    def test_a_new_store_of_a_till_recomputes_everyone_at_night(self):
        self.assertIn("since", self.Membership._stats_plan(self.company))
        moved = self.env["customer.store"].create({"name": "Nanjing Road Shop"})
        self.config.loyalty_store_id = moved
        self.env.flush_all()
        self.assertNotIn("since", self.Membership._stats_plan(self.company))
        self.Membership._compute_company(self.company, nightly=True)
        self.assertEqual(self._member(self.customer).home_store_id, moved)

    def test_store_of_another_company_is_not_counted(self):
        """A team shared by every company counts for its store in the
        store's company only."""
        other = self.company_data_2["company"]
        foreign = self.env["customer.store"].create(
            {"name": "Foreign Shop", "company_id": other.id}
        )
        self.team.write({"company_id": False, "loyalty_store_id": foreign.id})
        self._sale_order(self.other_customer, 20.0, days_ago=0, team=self.team)
        member = self._member(self.other_customer)
        self.assertNotIn(foreign, member.store_figure_ids.store_id)

    def test_salesperson_sees_own_customers_store_figures_only(self):
        salesperson = self.env["res.users"].create(
            {
                "name": "Salesperson Zhao",
                "login": "salesperson_zhao",
                "company_id": self.company.id,
                "company_ids": [Command.set(self.company.ids)],
                "groups_id": [
                    Command.set([self.env.ref("sales_team.group_sale_salesman").id])
                ],
            }
        )
        self.customer.user_id = salesperson
        rows = self.env["customer.membership.store"].with_user(salesperson).search([])
        self.assertEqual(rows.membership_id, self._member(self.customer))
        with self.assertRaises(AccessError):
            self.env["customer.store"].with_user(salesperson).create({"name": "Mine"})
        with self.assertRaises(AccessError):
            self.shop.with_user(salesperson).write({"name": "Renamed"})
        with self.assertRaises(AccessError):
            self.env["customer.membership.store"].with_user(salesperson).create(
                {
                    "membership_id": self._member(self.customer).id,
                    "company_id": self.company.id,
                    "store_id": self.shop.id,
                    "order_count": 99,
                }
            )


class TestSecondCompanyTill(TillCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_data_2 = cls.setup_other_company()

    def test_a_till_counts_for_its_company_only(self):
        company_b = self.company_data_2["company"]
        self.env.user.company_ids |= company_b
        member_b = self.Membership.create(
            {"partner_id": self.customer.id, "company_id": company_b.id}
        )
        self._sell([(self.beans, 1)], self.customer)
        member_b._refresh_figures()
        self.assertEqual(self._figures(member_b)["orders"], 0)
        self.assertEqual(self._figures(self._member(self.customer))["orders"], 1)
        # company B's own till
        env_b = self.env(
            context=dict(self.env.context, allowed_company_ids=company_b.ids)
        )
        cash_b = env_b["pos.payment.method"].create(
            {
                "name": "Cash B",
                "journal_id": self.company_data_2["default_journal_cash"].id,
                "company_id": company_b.id,
            }
        )
        config_b = env_b["pos.config"].create(
            {"name": "Shop B", "payment_method_ids": [Command.set(cash_b.ids)]}
        )
        self.assertEqual(config_b.loyalty_store_id.company_id, company_b)
        tea = env_b["product.product"].create(
            {
                "name": "Tea B",
                "lst_price": 7.0,
                "taxes_id": [Command.clear()],
                "available_in_pos": True,
            }
        )
        self.env = env_b
        self.config = config_b
        self.open_new_session()
        self._sell([(tea, 2)], self.customer)
        self.assertEqual(self._figures(member_b)["orders"], 1)
        self.assertEqual(self._figures(member_b)["spent"], 14.0)
        self.assertEqual(member_b.home_store_id, config_b.loyalty_store_id)
        member_a = self._member(self.customer, self.company)
        self.assertEqual(self._figures(member_a)["orders"], 1)
        self.assertEqual(self._figures(member_a)["spent"], 20.0)
