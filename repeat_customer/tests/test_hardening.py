"""The attacks of issue 26, played as the attacker would: a salesperson, a
team member, a portal customer or an anonymous visitor, through the ORM with
their own rights (what Odoo's JSON-RPC ``call_kw`` and the web client's
``onchange`` run) or over HTTP where it is a route. Each test failed before
the server refused the attempt."""

from datetime import timedelta

import psycopg2.errors
from freezegun import freeze_time

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged

from .common import PointsCase, RepeatCustomerCase, RewardsCase
from .test_campaigns import CampaignCase
from .test_concurrency import attempt, race
from .test_service import ServiceCase

# a visitor's comment with a phishing link and a tracking pixel
HOSTILE_HTML = (
    'Call me <a href="https://evil.example/login">here</a>'
    '<img src="https://evil.example/pixel.gif">'
)


def manager(env, login, company):
    """A sales and loyalty manager of ``company``."""
    return new_test_user(
        env,
        login=login,
        groups="sales_team.group_sale_manager,repeat_customer.group_manager",
        company_id=company.id,
        company_ids=[Command.set(company.ids)],
    )


def salesperson(env, login, company):
    return new_test_user(
        env,
        login=login,
        groups="sales_team.group_sale_salesman,repeat_customer.group_user",
        company_id=company.id,
        company_ids=[Command.set(company.ids)],
    )


def member_with_points(case, partner, points):
    membership = case._membership(partner) or case.Membership.create(
        {"partner_id": partner.id, "company_id": case.company.id}
    )
    case.Entry._post_adjustment(membership, points, "test points")
    return membership


@tagged("post_install", "-at_install")
class TestWizardsAreTheirCreators(RewardsCase):
    """Item 1: a transient record is its creator's alone, and a wizard's
    figures are computed for records the user may read only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.li_na = salesperson(cls.env, "rc_wiz_li_na", cls.company)
        cls.chen_wei = salesperson(cls.env, "rc_wiz_chen_wei", cls.company)
        cls.manager = manager(cls.env, "rc_wiz_manager", cls.company)
        cls.customer.user_id = cls.li_na
        cls.other.user_id = cls.chen_wei
        cls.li_member = member_with_points(cls, cls.customer, 700)
        cls.chen_member = member_with_points(cls, cls.other, 43071)
        cls.li_quotation = cls._quotation(cls, cls.customer, 300.0)
        cls.li_quotation.user_id = cls.li_na

    def _env(self, user):
        return self.env(user=user, context={"allowed_company_ids": self.company.ids})

    def test_another_salesperson_cannot_read_open_wizards(self):
        li = self._env(self.li_na)
        points = li["customer.point.redeem.wizard"].create(
            {"order_id": self.li_quotation.id, "points": 10}
        )
        reward = li["customer.reward.redeem.wizard"].create(
            {"membership_id": self.li_member.id}
        )
        self.assertEqual(points.points_available, 700)
        self.assertEqual(reward.points_available, 700)
        for user in (self.chen_wei, self.manager):
            env = self._env(user)
            for wizard in (points, reward):
                self.assertFalse(
                    env[wizard._name].search_read([], ["points_available"]), user.login
                )
                with self.assertRaises(AccessError):
                    env[wizard._name].browse(wizard.id).read(["points_available"])

    def test_onchange_computes_nothing_of_another_salespersons_member(self):
        chen = self._env(self.chen_wei)
        spec = {"membership_id": {}, "points_available": {}, "partner_id": {}}
        with self.assertRaises(AccessError):
            chen["customer.reward.redeem.wizard"].onchange(
                {"membership_id": self.li_member.id}, ["membership_id"], spec
            )
        with self.assertRaises(AccessError):
            chen["customer.point.redeem.wizard"].onchange(
                {"order_id": self.li_quotation.id, "points": 1},
                ["order_id"],
                {"order_id": {}, "points_available": {}, "points_max": {}},
            )
        # her own member's figures are computed
        li = self._env(self.li_na)
        result = li["customer.reward.redeem.wizard"].onchange(
            {"membership_id": self.li_member.id}, ["membership_id"], spec
        )
        self.assertEqual(result["value"]["points_available"], 700)

    def test_segment_migration_lines_are_the_managers(self):
        manager = self._env(self.manager)
        migration = manager["customer.segment.migration"].create(
            {
                "company_id": self.company.id,
                "date_from": self.today - timedelta(days=30),
                "date_to": self.today,
            }
        )
        self.env["customer.rfm.snapshot"].create(
            {
                "membership_id": self.chen_member.id,
                "company_id": self.company.id,
                "snapshot_date": self.today,
            }
        )
        migration.action_compute()
        self.assertTrue(
            manager["customer.segment.migration.line"].search_count(
                [("migration_id", "=", migration.id)]
            )
        )
        li = self._env(self.li_na)
        self.assertFalse(
            li["customer.segment.migration.line"].search_read([], ["membership_id"])
        )
        self.assertFalse(li["customer.segment.migration"].search([]))

    def test_every_wizard_of_the_addons_has_an_owner_rule(self):
        ours = set(
            self.env["ir.module.module"]
            .search([("name", "=like", "repeat_customer%")])
            .mapped("name")
        )
        rules = self.env["ir.rule"].sudo().search([("groups", "=", False)])
        owned = {
            rule.model_id.model
            for rule in rules
            if "create_uid" in (rule.domain_force or "")
        }
        transient = [
            name
            for name, model in self.env.registry.items()
            if model._transient
            and model._original_module in ours
            and not model._abstract
        ]
        self.assertIn("customer.reward.redeem.wizard", transient)
        for name in transient:
            with self.subTest(model=name):
                self.assertIn(name, owned)


@tagged("post_install", "-at_install")
class TestSurveyLinkIsTheCustomers(CampaignCase):
    """Item 2: staff never get a working answer link; item 6: a visitor's
    comment is text in staff's to-do."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = salesperson(cls.env, "rc_survey_sales", cls.company)
        cls.manager = manager(cls.env, "rc_survey_manager", cls.company)
        cls.member = cls._member("Survey Tang")
        cls.member.user_id = cls.salesman
        cls.order = cls._order(cls.member.partner_id, 90.0, days_ago=2)
        cls.survey = cls.env["customer.feedback"]._request(cls.member, [cls.order])

    def test_staff_cannot_read_the_link(self):
        for user in (self.salesman, self.manager):
            Feedback = self.env["customer.feedback"].with_user(user)
            survey = Feedback.browse(self.survey.id)
            self.assertEqual(survey.state, "pending")
            for fname in ("survey_url", "token"):
                with self.subTest(user=user.login, field=fname):
                    with self.assertRaises(AccessError):
                        survey.read([fname])
                    with self.assertRaises(AccessError):
                        Feedback.search_read([("id", "=", survey.id)], [fname])
        # the customer's mail still carries it
        self.assertIn(self.survey.sudo().token, self.survey.sudo().survey_url)

    def test_a_hostile_comment_is_text_in_the_call_back(self):
        self.survey.sudo()._answer(2, 1, HOSTILE_HTML)
        activity = self.survey.activity_ids
        self.assertEqual(len(activity), 1)
        note = str(activity.note)
        self.assertNotIn("<a ", note)
        self.assertNotIn("<img", note)
        self.assertIn("&lt;a href=", note)
        self.assertIn("Call me", note)


@tagged("post_install", "-at_install")
class TestCompensationLimits(ServiceCase):
    """Item 3: compensation is bounded per customer over a rolling period,
    a self-opened or oversized one needs the leader or a manager, and the
    report says who granted it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "loyalty_points_enabled": True,
                "loyalty_service_customer_points": 700,
                "loyalty_service_limit_days": 30,
            }
        )
        cls.manager = manager(cls.env, "rc_comp_manager", cls.company)

    def _complaint(self, user=None):
        Request = self.Request.with_user(user) if user else self.Request
        return Request.create(
            {
                "name": "Broken lid",
                "partner_id": self.member.partner_id.id,
                "company_id": self.company.id,
                "type_id": self.complaint.id,
                "user_id": (user or self.salesman).id,
                # the leader sees the team's requests
                "team_id": self.team.id,
            }
        )

    def _close(self, request, user, points):
        wizard = (
            self.env["customer.service.resolve.wizard"]
            .with_user(user)
            .create(
                {
                    "request_id": request.id,
                    "resolution": "Sorry",
                    "compensation": "points",
                    "points": points,
                }
            )
        )
        return wizard.action_close()

    def _given(self):
        """The points the member was given for complaints."""
        self.env.invalidate_all()
        return sum(
            self.env["customer.point.entry"]
            .search(
                [
                    ("membership_id", "=", self.member.id),
                    ("service_request_id", "!=", False),
                ]
            )
            .mapped("points")
        )

    def test_a_self_opened_complaint_needs_the_leader(self):
        request = self._complaint(self.salesman)
        with self.assertRaises(AccessError):
            self._close(request, self.salesman, 200)
        self.assertEqual(self._given(), 0)
        self.assertFalse(request.is_closed)
        self._close(request, self.leader, 200)
        self.assertEqual(self._given(), 200)
        self.assertEqual(request.compensated_by_id, self.leader)
        self.assertTrue(request.compensation_date)

    def test_a_team_member_cannot_compensate_a_customer_she_cannot_see(self):
        request = self._complaint()
        request.user_id = self.agent_a
        request.team_id = self.team
        self.assertFalse(
            self.member.with_user(self.agent_a).has_access("read"),
            "the agent does not see the member",
        )
        with self.assertRaises(AccessError):
            self._close(request, self.agent_a, 100)
        self.assertEqual(self._given(), 0)

    def test_above_the_request_limit_needs_the_leader(self):
        request = self._complaint()
        with self.assertRaises(UserError):
            self._close(request, self.salesman, 301)
        self.assertEqual(self._given(), 0)
        self._close(request, self.manager, 450)
        self.assertEqual(self._given(), 450)
        self.assertEqual(request.compensated_by_id, self.manager)

    def test_the_customer_limit_holds_over_the_period(self):
        # three complaints of 300 (the per-request limit): 900 > 700
        first, second, third = (self._complaint() for _i in range(3))
        self._close(first, self.salesman, 300)
        self._close(second, self.salesman, 300)
        with self.assertRaises(UserError):
            self._close(third, self.salesman, 300)
        # whoever grants it
        with self.assertRaises(UserError):
            self._close(third, self.manager, 101)
        self.assertEqual(self._given(), 600)
        self.assertFalse(third.is_closed)
        self._close(third, self.manager, 100)
        self.assertEqual(self._given(), 700)
        # the period rolls on: a month later there is room again
        fourth = self._complaint()
        later = fields.Datetime.now() + timedelta(days=31)
        with freeze_time(later):
            self._close(fourth, self.salesman, 300)
        self.assertEqual(self._given(), 1000)
        # the report says who granted what
        rows = self.Request._read_group(
            [("membership_id", "=", self.member.id)],
            ["compensated_by_id"],
            ["compensation_points:sum"],
        )
        self.assertEqual(
            {user: points for user, points in rows if user},
            {self.salesman: 900, self.manager: 100},
        )

    def test_compensation_fields_are_the_programmes(self):
        request = self._complaint()
        for vals in (
            {"compensated_by_id": self.salesman.id},
            {"compensation_coupon_value": 1.0},
            {"compensation_date": "2026-01-01 00:00:00"},
        ):
            with self.assertRaises(AccessError):
                request.with_user(self.manager).write(vals)


@tagged("post_install", "-at_install")
class TestRatesOfPostedDays(RepeatCustomerCase):
    """Item 4: no redemption rate is dated into days already posted."""

    def test_no_rate_into_posted_days(self):
        Rate = self.env["customer.redemption.rate"]
        Rate.create(
            {
                "company_id": self.company.id,
                "date_from": self.today - timedelta(days=60),
                "rate": 0.8,
            }
        )
        future = Rate.create(
            {
                "company_id": self.company.id,
                "date_from": self.today + timedelta(days=10),
                "rate": 0.7,
            }
        )
        self.company.sudo().loyalty_liability_posted_date = self.today - timedelta(
            days=5
        )
        count = Rate.search_count([("company_id", "=", self.company.id)])
        with self.assertRaises(UserError):
            Rate.create(
                {
                    "company_id": self.company.id,
                    "date_from": self.today - timedelta(days=20),
                    "rate": 0.1,
                }
            )
        with self.assertRaises(UserError):
            Rate.create(
                {
                    "company_id": self.company.id,
                    "date_from": self.today - timedelta(days=5),
                    "rate": 0.1,
                }
            )
        self.assertEqual(
            Rate.search_count([("company_id", "=", self.company.id)]), count
        )
        with self.assertRaises(UserError):
            future.date_from = self.today - timedelta(days=30)
        self.assertEqual(future.date_from, self.today + timedelta(days=10))
        # the day after the last posted one is open
        future.date_from = self.today - timedelta(days=4)
        Rate.create(
            {
                "company_id": self.company.id,
                "date_from": self.today,
                "rate": 0.75,
            }
        )


@tagged("post_install", "-at_install")
class TestMembersStayWithTheirSalesperson(RewardsCase):
    """Item 5: a member's salesperson is changed by that salesperson or a
    manager only, and merging contacts does not move a member either."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.li_na = salesperson(cls.env, "rc_move_li_na", cls.company)
        cls.chen_wei = salesperson(cls.env, "rc_move_chen_wei", cls.company)
        (cls.li_na | cls.chen_wei).groups_id |= cls.env.ref(
            "base.group_partner_manager"
        )
        cls.manager = new_test_user(
            cls.env,
            login="rc_move_manager",
            groups="sales_team.group_sale_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.other.user_id = cls.chen_wei
        cls.victim = member_with_points(cls, cls.other, 43071)
        cls.own = cls._partner(
            "Li's walk-in", user_id=cls.li_na.id, email=cls.other.email
        )

    def test_a_salesperson_cannot_take_a_colleagues_member(self):
        partner = self.other.with_user(self.li_na)
        with self.assertRaises(AccessError):
            partner.write({"user_id": self.li_na.id})
        with self.assertRaises(AccessError):
            partner.write({"user_id": False})
        self.assertEqual(self.other.user_id, self.chen_wei)
        self.assertFalse(
            self.env["customer.membership"]
            .with_user(self.li_na)
            .search([("id", "=", self.victim.id)])
        )
        # her own walk-in, no member, is hers to hand over
        self.own.with_user(self.li_na).user_id = self.chen_wei
        # the member's own salesperson and a manager may
        self.other.with_user(self.chen_wei).user_id = self.li_na
        self.assertEqual(self.victim.user_id, self.li_na)
        self.other.with_user(self.manager).user_id = self.chen_wei
        self.assertEqual(self.victim.user_id, self.chen_wei)

    def test_merging_does_not_move_a_member(self):
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_user(self.li_na)
            .create({})
        )
        with self.assertRaises(AccessError):
            wizard._merge([self.other.id, self.own.id], self.own)
        self.assertTrue(self.other.exists())
        self.assertEqual(self.victim.partner_id, self.other)


@tagged("post_install", "-at_install")
class TestComplaintRateOfASalesperson(ServiceCase):
    """Item 14: both sides of a salesperson's complaint rate come from the
    rows she sees."""

    def test_her_rate_reads_her_rows(self):
        # her customer's complaints are about her orders; a colleague's
        # customer complains about the colleague's order
        other = self._member("Rate Other")
        other.user_id = self.agent_a
        orders = self.order
        for _i in range(3):
            orders |= self._order(self.member.partner_id, 10.0)
        other_order = self._order(other.partner_id, 10.0)
        orders.user_id = self.salesman
        other_order.user_id = self.agent_a
        self._request(order_id=self.order.id)
        # she is in the after-sales team: she sees the colleague's customer's
        # complaint, which is not about her orders nor her members
        self.team.member_ids |= self.salesman
        self._request(
            partner_id=other.partner_id.id,
            order_id=other_order.id,
            team_id=self.team.id,
        )
        # her customer complains about an order a colleague took
        colleague_order = self._order(self.member.partner_id, 10.0)
        colleague_order.user_id = self.agent_a
        self._request(order_id=colleague_order.id)
        self.env.flush_all()
        Rate = self.env["customer.service.rate"].with_user(self.salesman)
        ((orders_seen, complaints_seen),) = Rate._read_group(
            [("company_id", "=", self.company.id)],
            [],
            ["order_count:sum", "complaint_count:sum"],
        )
        # her 4 orders and the 1 complaint about them
        self.assertEqual((orders_seen, complaints_seen), (4, 1))
        # the overview's card: her members' orders and complaints
        self.salesman.groups_id |= self.env.ref("repeat_customer.group_user")
        data = (
            self.env["customer.overview"]
            .with_user(self.salesman)
            .get_overview({"company_id": self.company.id})
        )
        service = data["service"]
        # her member's 5 orders, and the 2 complaints of her member
        self.assertEqual((service["orders"], service["complaints"]), (5, 2))
        self.assertAlmostEqual(service["complaint_rate"], 40.0)


@tagged("post_install", "-at_install")
class TestCampaignQueueAndCap(CampaignCase):
    """Item 9: a disabled campaign holds (or cancels) what it queued, the
    same way whatever else is enabled."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.member = cls._member(
            "Queue Qiu", birthdate_date=cls.today.replace(year=1991)
        )

    def test_a_stopped_campaign_sends_nothing_it_queued(self):
        held = self._campaign(name="Held", bonus_points=20)
        self._campaign(
            name="Another, running", trigger="welcome", channel="none", bonus_points=5
        )
        self.assertEqual(held._queue(), 1)
        held.action_stop()
        Delivery = self.env["customer.campaign.delivery"]
        while self.Campaign._cron_run_campaigns():
            pass
        delivery = self._deliveries(held)
        self.assertEqual(delivery.state, "to_send")
        self.assertFalse(
            self.env["customer.point.entry"].search(
                [("campaign_delivery_id", "=", delivery.id)]
            )
        )
        self.assertEqual(held.queued_count, 1)
        # started again, it sends what it held
        held.action_start()
        Delivery._send_queued(self.company)
        self.assertEqual(delivery.state, "sent")

    def test_cancel_what_a_stopped_campaign_queued(self):
        held = self._campaign(name="Cancelled", bonus_points=20)
        self.assertEqual(held._queue(), 1)
        with self.assertRaises(UserError):
            held.action_cancel_queued()
        held.action_stop()
        held.action_cancel_queued()
        delivery = self._deliveries(held)
        self.assertEqual(delivery.state, "cancelled")
        self.assertFalse(delivery.counts_in_cap)
        held.action_start()
        self.env["customer.campaign.delivery"]._send_queued(self.company)
        self.assertEqual(delivery.state, "cancelled")
        self.assertFalse(
            self.env["customer.point.entry"].search(
                [("campaign_delivery_id", "=", delivery.id)]
            )
        )


@tagged("post_install", "-at_install")
class TestFrequencyCapUnderConcurrency(TransactionCase):
    """Item 8: two capped campaigns queued at the same moment in two
    transactions (two *Run Now*, the job and a worker) reach a member within
    the cap. The data is committed (another transaction cannot see
    uncommitted rows) and removed at the end."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            self.saved = {
                fname: company[fname]
                for fname in (
                    "loyalty_quiet_hours_start",
                    "loyalty_quiet_hours_end",
                    "loyalty_campaign_cap",
                    "loyalty_campaign_cap_days",
                )
            }
            company.write(
                {
                    "loyalty_quiet_hours_start": 0.0,
                    "loyalty_quiet_hours_end": 0.0,
                    "loyalty_campaign_cap": 1,
                    "loyalty_campaign_cap_days": 7,
                }
            )
            birthday = company._loyalty_today().replace(year=1988)
            partners = env["res.partner"].create(
                [
                    {
                        "name": f"Capped {i}",
                        "email": f"capped{i}@example.com",
                        "birthdate_date": birthday,
                    }
                    for i in range(3)
                ]
            )
            memberships = env["customer.membership"].create(
                [{"partner_id": p.id, "company_id": company.id} for p in partners]
            )
            template = env.ref("repeat_customer.mail_template_campaign_birthday")
            campaigns = env["customer.campaign"].create(
                [
                    {
                        "name": f"Capped campaign {i}",
                        "company_id": company.id,
                        "trigger": "birthday",
                        "catch_up_days": 0,
                        "channel": "mail",
                        "mail_template_id": template.id,
                        "control_share": 0,
                        "audience_domain": repr([("id", "in", memberships.ids)]),
                        "state": "running",
                    }
                    for i in range(2)
                ]
            )
            self.ids = (partners.ids, memberships.ids, campaigns.ids, company.id)
        self.addCleanup(self._remove_committed_data)

    def _remove_committed_data(self):
        partner_ids, membership_ids, campaign_ids, company_id = self.ids
        with self.registry.cursor() as cr:
            cr.execute(
                "DELETE FROM customer_campaign_delivery WHERE campaign_id = ANY(%s)",
                [campaign_ids],
            )
            cr.execute(
                "DELETE FROM mail_message WHERE model IN "
                "('customer.membership', 'res.partner', 'customer.campaign') "
                "AND res_id = ANY(%s)",
                [membership_ids + partner_ids + campaign_ids],
            )
            cr.execute(
                "DELETE FROM customer_campaign WHERE id = ANY(%s)", [campaign_ids]
            )
            cr.execute(
                "DELETE FROM customer_membership WHERE id = ANY(%s)", [membership_ids]
            )
            cr.execute("DELETE FROM res_partner WHERE id = ANY(%s)", [partner_ids])
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["res.company"].browse(company_id).write(self.saved)

    def _queue(self, index):
        def queue(env):
            return env["customer.campaign"].browse(self.ids[2][index])._queue()

        return queue

    def test_two_campaigns_at_once_respect_the_cap(self):
        results = {}

        def run_b():
            results["b"] = attempt(self.registry, self._queue(1))

        # A queues the first campaign and keeps its transaction open; B
        # queues the second meanwhile: it waits for A, then fails to
        # serialize; its retry sees what A queued
        race(self, self._queue(0), run_b)
        if results["b"] != "done":
            self.assertIsInstance(results["b"], psycopg2.errors.SerializationFailure)
            self.assertEqual(attempt(self.registry, self._queue(1)), "done")
        with self.registry.cursor() as cr:
            cr.execute(
                """SELECT membership_id, count(*) FILTER (WHERE state = 'to_send'),
                          count(*) FILTER (WHERE skip_reason = 'frequency_cap')
                     FROM customer_campaign_delivery
                    WHERE campaign_id = ANY(%s)
                    GROUP BY membership_id ORDER BY membership_id""",
                [self.ids[2]],
            )
            rows = cr.fetchall()
        # every member: one message, the other campaign's occasion capped
        self.assertEqual(rows, [(mid, 1, 1) for mid in sorted(self.ids[1])])


@tagged("post_install", "-at_install")
class TestVisitorsOverHttp(HttpCase):
    """Item 10: a NUL byte in a survey link or a comment is no server error
    and loses no answer; item 6 over the route; item 7: a portal customer
    does not read the programme's classifications of her request."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.ref("base.main_company")
        cls.portal = new_test_user(
            cls.env, login="rc_nul_portal", groups="base.group_portal", name="Nul Ning"
        )
        partner = cls.portal.partner_id
        partner.email = "nul.ning@example.com"
        cls.member = cls.env["customer.membership"].create(
            {"partner_id": partner.id, "company_id": company.id}
        )
        segment = cls.env["customer.segment"].search([], limit=1)
        cls.member.sudo().segment_id = segment
        product = cls.env["product.product"].create({"name": "Nul Tea"})
        cls.order = cls.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "order_line": [Command.create({"product_id": product.id})],
            }
        )
        cls.order.action_confirm()
        cls.survey = cls.env["customer.feedback"]._request(cls.member, [cls.order])
        cls.token = cls.survey.sudo().token

    def _csrf(self, path):
        page = self.url_open(path)
        return page, page.text.split('name="csrf_token" value="')[1].split('"')[0]

    def test_nul_bytes(self):
        self.authenticate(None, None)
        for token in (f"{self.token}%00", "%00", f"abc%00{self.token}"):
            with self.subTest(token=token):
                page = self.url_open(f"/loyalty/feedback/{token}")
                self.assertEqual(page.status_code, 404)
                posted = self.url_open(
                    f"/loyalty/feedback/{token}", data={"nps": "9", "csat": "5"}
                )
                self.assertLess(posted.status_code, 500)
        page, csrf = self._csrf(f"/loyalty/feedback/{self.token}")
        self.assertEqual(page.status_code, 200)
        answered = self.url_open(
            f"/loyalty/feedback/{self.token}",
            data={
                "csrf_token": csrf,
                "nps": "3",
                "csat": "2",
                "comment": "Too\x00 cold" + HOSTILE_HTML,
            },
        )
        self.assertEqual(answered.status_code, 200)
        self.survey.invalidate_recordset()
        self.assertEqual(self.survey.state, "answered")
        self.assertTrue(self.survey.comment.startswith("Too cold"))
        note = str(self.survey.activity_ids.note)
        self.assertNotIn("<a ", note)
        self.assertNotIn("<img", note)

    def test_nul_bytes_in_a_portal_request(self):
        self.authenticate("rc_nul_portal", "rc_nul_portal")
        _page, csrf = self._csrf("/my/requests/new")
        service_type = self.env.ref("repeat_customer.customer_service_type_question")
        done = self.url_open(
            "/my/requests/new",
            data={
                "csrf_token": csrf,
                "type_id": str(service_type.id),
                "name": "Nul\x00 question",
                "description": "What\x00 now?",
            },
        )
        self.assertEqual(done.status_code, 200)
        request = self.env["customer.service.request"].search(
            [("partner_id", "=", self.portal.partner_id.id)]
        )
        self.assertEqual(request.name, "Nul question")
        self.assertEqual(request.description, "What now?")

    def test_portal_customer_reads_no_classification(self):
        request = self.env["customer.service.request"].create(
            {
                "name": "Where is my tea",
                "partner_id": self.portal.partner_id.id,
                "type_id": self.env.ref(
                    "repeat_customer.customer_service_type_question"
                ).id,
            }
        )
        self.assertTrue(request.segment_id)
        mine = request.with_user(self.portal)
        self.assertEqual(mine.read(["name"])[0]["name"], "Where is my tea")
        for fname in (
            "segment_id",
            "tier_id",
            "membership_id",
            "salesperson_id",
            "team_id",
            "escalation",
            "feedback_id",
        ):
            with self.subTest(field=fname):
                with self.assertRaises(AccessError):
                    mine.read([fname])
        with self.assertRaises(AccessError):
            mine.search([("segment_id", "=", request.segment_id.id)])
        # her pages still show her request
        self.authenticate("rc_nul_portal", "rc_nul_portal")
        page = self.url_open(f"/my/requests/{request.id}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Where is my tea", page.text)


# hostile values per field type: each one a field cannot hold
HOSTILE_VALUES = {
    "integer": ["abc", "nan", 2**31, 1.5, [1]],
    "float": ["abc", "nan", float("inf"), 1e300, [1]],
    "monetary": ["abc", "nan", float("-inf"), 1e300, {"a": 1}],
    "many2one": [2**31, "x", -1, [1]],
    "selection": ["9", "zzz", 9, [1]],
    "date": ["2026-13-45", "abc", 20260101],
    "datetime": ["2026-02-30 10:00:00", "yesterday", 20260101],
    "char": [["a", "b"], {"a": 1}, 12],
    "text": [["a", "b"], {"a": 1}],
    "html": [["a"]],
}


@tagged("post_install", "-at_install")
class TestEveryModelGuardsItsValues(RewardsCase):
    """Item 11: every model and wizard of the addons refuses, with a clear
    error and writing nothing, what its fields cannot hold, over RPC
    (``create``, ``write`` and the web client's ``onchange``); its buttons
    refuse several records (or none) clearly. The models and fields are
    read from the registry: a new model is covered the day it lands."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="rc_guard_manager",
            groups="sales_team.group_sale_manager,repeat_customer.group_manager,"
            "account.group_account_manager,base.group_system",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.member = member_with_points(cls, cls.customer, 100)

    def _our_models(self):
        ours = set(
            self.env["ir.module.module"]
            .search([("name", "=like", "repeat_customer%")])
            .mapped("name")
        )
        return sorted(
            name
            for name, model in self.env.registry.items()
            if model._original_module in ours
            and not model._abstract
            and model._auto
            and not name.startswith("report.")
        )

    def _rpc(self, env, model, method, *args):
        try:
            with env.cr.savepoint():
                return api.call_kw(env[model], method, list(args), {})
        except psycopg2.IntegrityError as exc:
            # a missing required value, answered by Odoo's RPC layer as a
            # ValidationError (the request is rolled back)
            raise ValidationError(str(exc)) from exc

    def _assert_refused_or_done(self, call, *args):
        """``call(*args)`` goes through, or is refused with a user error that
        says why; any other exception is a server error."""
        try:
            call(*args)
        except UserError as refusal:
            self.assertTrue(str(refusal), "a refusal says why")
        except Exception as exc:
            self.fail(f"{type(exc).__name__}: {exc}")

    def test_every_model_inherits_the_guard(self):
        models = self._our_models()
        self.assertIn("customer.service.request", models)
        self.assertIn("customer.segment.migration", models)
        for name in models:
            with self.subTest(model=name):
                self.assertIsInstance(
                    self.env[name], type(self.env["customer.values.mixin"])
                )

    def test_hostile_values_everywhere(self):
        env = self.env(
            user=self.manager, context={"allowed_company_ids": self.company.ids}
        )
        for name in self._our_models():
            Model = env[name]
            record = Model.search([], limit=1)
            for fname, field in Model._fields.items():
                if field.type not in HOSTILE_VALUES or fname in ("id",):
                    continue
                if (field.compute and field.readonly) or field.related:
                    continue
                for value in HOSTILE_VALUES[field.type]:
                    calls = [("create", [{fname: value}])]
                    if record:
                        calls.append(("write", [record.ids, {fname: value}]))
                    calls.append(
                        ("onchange", [[], {fname: value}, [fname], {fname: {}}])
                    )
                    for method, args in calls:
                        with self.subTest(
                            model=name, field=fname, value=value, call=method
                        ):
                            self._assert_refused_or_done(
                                self._rpc, env, name, method, *args
                            )
                            env.invalidate_all(flush=False)

    def test_every_button_refuses_several_records(self):
        env = self.env(
            user=self.manager, context={"allowed_company_ids": self.company.ids}
        )
        for name in self._our_models():
            Model = env[name]
            records = Model.sudo().search([], limit=2).with_env(env)
            # the buttons the addons define (not Odoo's archive and the like)
            buttons = sorted(
                attr
                for attr in dir(type(Model))
                if attr.startswith("action_")
                and callable(getattr(type(Model), attr))
                and getattr(type(Model), attr).__module__.startswith(
                    "odoo.addons.repeat_customer"
                )
                and getattr(getattr(type(Model), attr), "_api", None) != "model"
            )
            for method in buttons:
                for ids in ([], records.ids) if len(records) == 2 else ([],):
                    with self.subTest(model=name, method=method, ids=ids):
                        self._assert_refused_or_done(self._rpc, env, name, method, ids)


@tagged("post_install", "-at_install")
class TestRefundReversesWhatWasEarned(PointsCase):
    """Item 17: the lines that earn points are one definition, read by
    earning and by credit notes alike: a refunded order with an excluded
    product and a points discount reverses exactly what it earned."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=cls.company, install_demo=False
        )
        cls.gift_card = cls.env["product.product"].create(
            {"name": "Gift card", "list_price": 50.0, "taxes_id": [Command.clear()]}
        )
        cls.company.loyalty_points_excluded_product_ids = cls.gift_card

    def _line(self, product, price, qty):
        return Command.create(
            {
                "product_id": product.id,
                "price_unit": price,
                "product_uom_qty": qty,
                "tax_id": [Command.clear()],
            }
        )

    def _refund(self, invoice, products):
        """A credit note of the ``products`` lines of ``invoice`` only."""
        refund = invoice._reverse_moves()
        refund.invoice_line_ids = [
            Command.unlink(line.id)
            for line in refund.invoice_line_ids
            if line.product_id not in products
        ]
        refund.action_post()
        return refund

    def test_partial_refunds_with_an_excluded_product_and_a_points_discount(self):
        membership = self.Membership.create(
            {"partner_id": self.customer.id, "company_id": self.company.id}
        )
        self._give(membership, 2000)
        order = (
            self.env["sale.order"]
            .with_company(self.company)
            .create(
                {
                    "partner_id": self.customer.id,
                    "order_line": [
                        self._line(self.product, 100.0, 2),
                        self._line(self.gift_card, 50.0, 1),
                    ],
                }
            )
        )
        # 2 000 points at 0.01: 20 off
        order._loyalty_redeem_points(2000)
        order.action_confirm()
        earned = self._entries(membership, kind="earn").filtered("sale_order_id")
        # tea 200, the gift card excluded, the points discount -20
        self.assertEqual(earned.base_amount, 180.0)
        self.assertEqual(earned.points, 180)
        invoice = order._create_invoices()
        invoice.action_post()
        discount = self.env.ref("repeat_customer.product_points_discount")
        # the gift card alone comes back: it earned nothing, nothing goes
        self._refund(invoice, self.gift_card)
        self.assertFalse(self._entries(membership, kind="reverse"))
        # the tea and the points discount come back: 180 of 180
        self._refund(invoice, self.product | discount)
        reversed_points = -sum(
            self._entries(membership, kind="reverse").mapped("points")
        )
        self.assertEqual(reversed_points, 180)


@tagged("post_install", "-at_install")
class TestPointsDiscountCarriesTaxes(PointsCase):
    """Item 13: a points discount carries the taxes of the lines it pays
    for, split per set of taxes in proportion, so that the tax base falls
    with it, on the order and on its invoice."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=cls.company, install_demo=False
        )
        cls.vat = cls.env["account.tax"].create(
            {
                "name": "VAT 15%",
                "amount": 15.0,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "company_id": cls.company.id,
            }
        )
        cls.membership = cls.Membership.create(
            {"partner_id": cls.customer.id, "company_id": cls.company.id}
        )

    def _quotation(self, *lines):
        return (
            self.env["sale.order"]
            .with_company(self.company)
            .create(
                {
                    "partner_id": self.customer.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": self.product.id,
                                "price_unit": price,
                                "product_uom_qty": 1,
                                "tax_id": [Command.set(taxes.ids)],
                            }
                        )
                        for price, taxes in lines
                    ],
                }
            )
        )

    def _totals(self, record):
        return (record.amount_untaxed, record.amount_tax, record.amount_total)

    def test_the_tax_falls_with_the_discount(self):
        self._give(self.membership, 5000)
        order = self._quotation((210.0, self.vat))
        self.assertEqual(self._totals(order), (210.0, 31.5, 241.5))
        # 5 000 points at 0.01 take 50 off the total: 50 / 1.15 = 43.48
        # untaxed and 6.52 of tax
        order._loyalty_redeem_points(5000)
        line = order.order_line.filtered("loyalty_point_entry_id")
        self.assertEqual(line.tax_id, self.vat)
        self.assertEqual(line.price_subtotal, -43.48)
        self.assertEqual(self._totals(order), (166.52, 24.98, 191.5))
        order.action_confirm()
        invoice = order._create_invoices()
        invoice.action_post()
        self.assertEqual(self._totals(invoice), (166.52, 24.98, 191.5))
        # the points lower what the order earns by their untaxed amount
        earned = order.loyalty_point_entry_ids.filtered(lambda e: e.kind == "earn")
        self.assertEqual(earned.base_amount, 166.52)

    def test_paid_entirely_with_points(self):
        self.company.loyalty_points_max_redeem_percent = 100.0
        self._give(self.membership, 230000)
        order = self._quotation((2000.0, self.vat))
        self.assertEqual(order._loyalty_points_room(), 230000)
        order._loyalty_redeem_points(230000)
        self.assertEqual(self._totals(order), (0.0, 0.0, 0.0))
        with self.assertRaises(UserError):
            order._loyalty_redeem_points(1)

    def test_split_per_set_of_taxes_and_removed_together(self):
        self._give(self.membership, 4300)
        order = self._quotation((100.0, self.vat), (100.0, self.env["account.tax"]))
        # 43 over 115 (taxed) and 100 (untaxed): 23 and 20; the taxed part
        # is 20 untaxed and 3 of tax
        order._loyalty_redeem_points(4300)
        lines = order.order_line.filtered("loyalty_point_entry_id")
        self.assertEqual(len(lines), 2)
        taxed = lines.filtered("tax_id")
        self.assertEqual((taxed.tax_id, taxed.price_subtotal), (self.vat, -20.0))
        self.assertEqual((lines - taxed).price_subtotal, -20.0)
        self.assertEqual(self._totals(order), (160.0, 12.0, 172.0))
        self.assertEqual(self.membership.points_balance, 0)
        # removing one part removes the redemption whole: the points come back
        taxed.unlink()
        self.assertFalse(order.order_line.filtered("loyalty_point_entry_id"))
        self.assertEqual(self._totals(order), (200.0, 15.0, 215.0))
        self.membership.invalidate_recordset()
        self.assertEqual(self.membership.points_balance, 4300)


@tagged("post_install", "-at_install")
class TestPlansWithoutStatistics(RepeatCustomerCase):
    """Item 16: a column added since the last ANALYZE (an install adding its
    own to the order lines) has no statistics, so the planner takes the
    table's rows for a handful; the jobs analyse such a table first."""

    def test_a_column_without_statistics_is_analysed(self):
        Membership = self.env["customer.membership"]
        self._order(self._partner("Plan Ping"), 10.0)
        self.env.flush_all()
        self.env.cr.execute("ANALYZE sale_order_line")
        self.env.cr.cache.pop("repeat_customer.analyzed", None)
        self.assertEqual(Membership._job_analyze(["sale_order_line"]), [])
        self.env.cr.execute("ALTER TABLE sale_order_line ADD COLUMN rc_plan_probe int")
        self.assertEqual(
            Membership._job_analyze(["sale_order_line"]), ["sale_order_line"]
        )
        # analysed: the column has statistics now, and no second ANALYZE
        self.assertEqual(Membership._job_analyze(["sale_order_line"]), [])


@tagged("post_install", "-at_install")
class TestSettingsValues(RepeatCustomerCase):
    """Item 11: 'nan' or text in the programme's monetary settings is a clear
    error naming the setting, not a server error, and nothing is saved."""

    def test_nan_in_monetary_settings(self):
        Settings = self.env["res.config.settings"]
        before = (
            self.company.loyalty_service_max_coupon,
            self.company.loyalty_point_value,
        )
        for fname in ("loyalty_service_max_coupon", "loyalty_point_value"):
            for value in ("nan", "abc", float("inf"), [1]):
                with self.subTest(field=fname, value=value):
                    with self.assertRaises(ValidationError), self.cr.savepoint():
                        Settings.create({fname: value}).execute()
        self.assertEqual(
            (
                self.company.loyalty_service_max_coupon,
                self.company.loyalty_point_value,
            ),
            before,
        )
