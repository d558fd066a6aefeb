"""Service requests: assignment by rules and in turn, deadlines in the
company's working hours, escalation, compensation through the ledger, the
customer's portal, the complaint rate."""

import importlib.util
import re
from datetime import datetime, timedelta

import psycopg2

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, HttpCase, TransactionCase, new_test_user, tagged
from odoo.tools import SQL, file_path, mute_logger

from .common import coupon_program_vals
from .test_campaigns import CampaignCase


class ServiceCase(CampaignCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Request = cls.env["customer.service.request"]

        def user(login):
            return new_test_user(
                cls.env,
                login=login,
                groups="sales_team.group_sale_salesman,repeat_customer.group_user",
                company_id=cls.company.id,
                company_ids=[Command.set(cls.company.ids)],
            )

        cls.agent_a = user("service_agent_a")
        cls.agent_b = user("service_agent_b")
        cls.leader = user("service_leader")
        cls.salesman = user("service_salesman")
        cls.outsider = user("service_outsider")
        cls.team = cls.env["customer.service.team"].create(
            {
                "name": "After-Sales",
                "company_id": cls.company.id,
                "leader_id": cls.leader.id,
                "member_ids": [Command.set((cls.agent_a | cls.agent_b).ids)],
            }
        )
        cls.complaint = cls.env.ref("repeat_customer.customer_service_type_complaint")
        cls.question = cls.env.ref("repeat_customer.customer_service_type_question")
        cls.returns = cls.env.ref("repeat_customer.customer_service_type_return")
        cls.company.write(
            {
                "loyalty_service_user_id": cls.leader.id,
                "loyalty_service_max_points": 300,
                "loyalty_service_max_coupon": 20.0,
            }
        )
        cls.member = cls._member("Service Sun")
        cls.member.user_id = cls.salesman
        cls.order = cls._order(cls.member.partner_id, 80.0, days_ago=2)

    def _request(self, **vals):
        vals = {
            "name": "Damaged parcel",
            "partner_id": self.member.partner_id.id,
            "company_id": self.company.id,
            "type_id": self.complaint.id,
            **vals,
        }
        return self.Request.create(vals)

    def _rule(self, **vals):
        return self.env["customer.service.rule"].create(
            {"name": "Rule", "company_id": self.company.id, **vals}
        )


@tagged("post_install", "-at_install")
class TestAssignment(ServiceCase):
    def test_team_members_in_turn(self):
        self._rule(type_ids=[Command.set(self.complaint.ids)], team_id=self.team.id)
        users = [self._request().user_id for _i in range(3)]
        self.assertEqual(users, [self.agent_a, self.agent_b, self.agent_a])
        self.assertEqual(self.team.last_user_id, self.agent_a)
        # a member leaves the team: the turn skips them
        self.team.member_ids = [Command.unlink(self.agent_b.id)]
        self.assertEqual(self._request().user_id, self.agent_a)

    def test_first_matching_rule_wins(self):
        self._rule(
            sequence=1,
            type_ids=[Command.set(self.returns.ids)],
            assign_to="user",
            user_id=self.agent_b.id,
        )
        self._rule(sequence=2, assign_to="salesperson")
        self.assertEqual(self._request(type_id=self.returns.id).user_id, self.agent_b)
        # not a return: the second rule, the customer's salesperson
        self.assertEqual(self._request().user_id, self.salesman)
        # a customer without salesperson: the service leader
        walk_in = self._partner("Walk-in Wu")
        self.assertEqual(self._request(partner_id=walk_in.id).user_id, self.leader)

    def test_product_category_and_its_subcategories(self):
        food = self.env["product.category"].create({"name": "Food"})
        tea = self.env["product.category"].create({"name": "Tea", "parent_id": food.id})
        green = self.env["product.product"].create(
            {"name": "Green", "categ_id": tea.id}
        )
        self._rule(
            category_ids=[Command.set(food.ids)],
            assign_to="user",
            user_id=self.agent_b.id,
        )
        self.assertEqual(self._request(product_id=green.id).user_id, self.agent_b)
        # no product, or another category: no rule, the service leader
        self.assertEqual(self._request().user_id, self.leader)
        self.assertEqual(self._request(product_id=self.product.id).user_id, self.leader)

    def test_customers_salesperson_and_sales_team(self):
        sales_team = self.env["crm.team"].create(
            {"name": "Shanghai Shop", "company_id": self.company.id}
        )
        self._rule(
            salesperson_ids=[Command.set(self.salesman.ids)],
            sales_team_ids=[Command.set(sales_team.ids)],
            assign_to="user",
            user_id=self.agent_a.id,
        )
        self.assertEqual(self._request().user_id, self.leader)
        self.order.team_id = sales_team
        self.assertEqual(self._request(order_id=self.order.id).user_id, self.agent_a)

    def test_bad_rules_are_refused(self):
        with self.assertRaises(ValidationError):
            self._rule(assign_to="team")
        with self.assertRaises(ValidationError):
            self._rule(assign_to="user")
        portal = new_test_user(
            self.env, login="service_portal_x", groups="base.group_portal"
        )
        with self.assertRaises(ValidationError):
            self._rule(assign_to="user", user_id=portal.id)
        with self.assertRaises(ValidationError):
            self.team.member_ids = [Command.link(portal.id)]

    def test_an_explicit_user_is_kept(self):
        self._rule(team_id=self.team.id)
        self.assertEqual(self._request(user_id=self.outsider.id).user_id, self.outsider)
        self.assertEqual(self.team.last_user_id, self.env["res.users"])


@tagged("post_install", "-at_install")
class TestDeadlines(ServiceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.calendar = cls.env["resource.calendar"].create(
            {
                "name": "Shop hours",
                "company_id": cls.company.id,
                "attendance_ids": [
                    Command.create(
                        {
                            "name": f"{day} {start}",
                            "dayofweek": str(day),
                            "hour_from": start,
                            "hour_to": stop,
                            "day_period": "morning" if start < 12 else "afternoon",
                        }
                    )
                    for day in range(5)
                    for start, stop in ((8, 12), (13, 17))
                ],
            }
        )
        cls.company.resource_calendar_id = cls.calendar

    def _created_at(self, request, when):
        """Set the request's creation to ``when`` (naive UTC), as if it was
        received then, and plan its deadlines again."""
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE customer_service_request SET create_date = %s WHERE id = %s",
            [when, request.id],
        )
        request.invalidate_recordset(["create_date"])
        request._set_deadlines()
        return request

    def test_across_a_weekend_in_the_companys_time_zone(self):
        self.company.partner_id.tz = "Asia/Shanghai"
        # Friday 2026-12-04 15:00 in Shanghai (07:00 UTC): 2 working hours
        # left on Friday, then Monday from 8:00
        request = self._created_at(self._request(), datetime(2026, 12, 4, 7, 0))
        # first response 4 h: Monday 10:00 Shanghai
        self.assertEqual(request.response_deadline, datetime(2026, 12, 7, 2, 0))
        # resolution 24 h: Fri 2 + Mon 8 + Tue 8 + Wed 6 -> Wednesday 15:00
        self.assertEqual(request.resolution_deadline, datetime(2026, 12, 9, 7, 0))

    def test_the_same_hour_in_another_time_zone(self):
        self.company.partner_id.tz = "UTC"
        # Friday 07:00 UTC is before opening in UTC: 8 hours on Friday
        request = self._created_at(self._request(), datetime(2026, 12, 4, 7, 0))
        self.assertEqual(request.response_deadline, datetime(2026, 12, 4, 12, 0))
        # 24 h: Fri 8, Mon 8, Tue 8 -> Tuesday 17:00
        self.assertEqual(request.resolution_deadline, datetime(2026, 12, 8, 17, 0))

    def test_public_holidays_are_skipped(self):
        self.company.partner_id.tz = "UTC"
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Holiday",
                "calendar_id": self.calendar.id,
                "company_id": self.company.id,
                "date_from": datetime(2026, 12, 7, 0, 0),
                "date_to": datetime(2026, 12, 7, 23, 59),
            }
        )
        # received on Saturday: Monday is a holiday, Tuesday 8:00 + 4 h
        request = self._created_at(self._request(), datetime(2026, 12, 5, 10, 0))
        self.assertEqual(request.response_deadline, datetime(2026, 12, 8, 12, 0))

    def test_no_time_no_deadline_and_bad_times(self):
        other = self.env["customer.service.type"].create(
            {"name": "Idea", "response_hours": 0, "resolution_hours": 0}
        )
        request = self._request(type_id=other.id)
        self.assertFalse(request.response_deadline)
        self.assertFalse(request.resolution_deadline)
        self.assertFalse(request.is_overdue)
        with self.assertRaises(ValidationError):
            other.response_hours = -1
        with self.assertRaises(ValidationError):
            other.write({"response_hours": 10, "resolution_hours": 5})

    def test_response_and_resolution_times_in_working_hours(self):
        self.company.partner_id.tz = "UTC"
        request = self._created_at(self._request(), datetime(2026, 12, 4, 16, 0))
        calendar, tz = request._calendar_tz()
        # Friday 16:00 to Monday 9:30: 1 h on Friday, 1.5 h on Monday
        self.assertEqual(
            request._working_hours_between(
                calendar, tz, request.create_date, datetime(2026, 12, 7, 9, 30)
            ),
            2.5,
        )
        request._mark_answered(datetime(2026, 12, 7, 9, 30))
        self.assertEqual(request.response_hours, 2.5)
        self.assertEqual(request.overdue_count, 0)

    def test_first_answer_is_a_message_to_the_customer(self):
        request = self._request()
        request.message_post(body="Internal", subtype_xmlid="mail.mt_note")
        self.assertFalse(request.first_response_date)
        request.message_post(
            body="Customer writes",
            author_id=self.member.partner_id.id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.assertFalse(request.first_response_date)
        request.with_user(self.leader).message_post(
            body="We are sorry: a new parcel is on its way.",
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.assertTrue(request.first_response_date)

    def test_overdue_is_highlighted_and_searchable(self):
        request = self._request()
        self.assertFalse(request.is_overdue)
        past = fields.Datetime.now() - timedelta(hours=1)
        request.sudo().write({"response_deadline": past})
        self.assertTrue(request.is_overdue)
        self.assertIn(request, self.Request.search([("is_overdue", "=", True)]))
        self.assertNotIn(request, self.Request.search([("is_overdue", "=", False)]))
        # answered: the response deadline no longer runs
        request._mark_answered(fields.Datetime.now())
        self.assertFalse(request.is_overdue)
        self.assertEqual(request.overdue_count, 1)
        with self.assertRaises(UserError):
            self.Request.search([("is_overdue", "in", [True])])


@tagged("post_install", "-at_install")
class TestEscalation(ServiceCase):
    def _late(self, request, **deadlines):
        self.env.flush_all()
        for fname, hours in deadlines.items():
            self.env.cr.execute(
                SQL(
                    "UPDATE customer_service_request SET %s = %s WHERE id = %s",
                    SQL.identifier(fname),
                    fields.Datetime.now() - timedelta(hours=hours),
                    request.id,
                )
            )
        request.invalidate_recordset()

    def _leader_todos(self, request):
        return request.activity_ids.filtered(lambda a: a.user_id == self.leader)

    def test_run_twice_escalates_once_per_deadline(self):
        self.company.loyalty_service_user_id = self.outsider
        request = self._request(team_id=self.team.id, user_id=self.agent_a.id)
        on_time = self._request(user_id=self.agent_a.id)
        self._late(request, response_deadline=1)
        escalated = self.Request._cron_escalate()
        self.assertEqual(escalated, request)
        self.assertEqual(request.escalation, "response")
        self.assertEqual(request.overdue_count, 1)
        self.assertEqual(len(self._leader_todos(request)), 1)
        self.assertFalse(self.Request._cron_escalate())
        self.assertEqual(len(self._leader_todos(request)), 1)
        self.assertFalse(on_time.escalation)
        # later the resolution deadline passes too: escalated once more
        self._late(request, resolution_deadline=1)
        self.assertEqual(self.Request._cron_escalate(), request)
        self.assertEqual(request.escalation, "resolution")
        self.assertEqual(len(self._leader_todos(request)), 2)
        self.assertFalse(self.Request._cron_escalate())

    def test_without_team_to_the_service_leader_and_closed_are_left(self):
        request = self._request(user_id=self.agent_a.id)
        closed = self._request(user_id=self.agent_a.id)
        closed.stage_id = self.env.ref("repeat_customer.customer_service_stage_solved")
        self._late(request, resolution_deadline=2)
        self._late(closed, resolution_deadline=2)
        self.assertEqual(self.Request._cron_escalate(), request)
        self.assertEqual(len(self._leader_todos(request)), 1)
        self.assertFalse(closed.escalation)

    def test_batches(self):
        requests = self.Request.browse()
        for _i in range(3):
            requests |= self._request(user_id=self.agent_a.id)
        for request in requests:
            self._late(request, resolution_deadline=1)
        self.assertEqual(len(self.Request._escalate_batch(2)), 2)
        self.assertEqual(len(self.Request._escalate_batch(2)), 1)
        self.assertFalse(self.Request._escalate_batch(2))
        self.assertEqual(set(requests.mapped("escalation")), {"resolution"})


@tagged("post_install", "-at_install")
class TestClosing(ServiceCase):
    def _wizard(self, request, **vals):
        # the customer's salesperson closes it: within the per-request limits
        # (the service leader and managers may grant more)
        return (
            self.env["customer.service.resolve.wizard"]
            .with_user(self.salesman)
            .with_context(default_request_id=request.id)
            .create({"resolution": "Refunded the damaged cup", **vals})
        )

    def test_the_solved_mail_says_what_was_given(self):
        self.member.partner_id.email = "sun@example.com"
        for compensation, vals, expected in (
            ("points", {"points": 150}, "we added <strong>150 points</strong>"),
            ("coupon", {}, "here is a coupon for your next order"),
        ):
            with self.subTest(compensation=compensation):
                request = self._request()
                if compensation == "coupon":
                    vals = {
                        "program_id": self.env["loyalty.program"]
                        .create(coupon_program_vals(self.company, "Sorry", 15.0))
                        .id
                    }
                self._wizard(request, compensation=compensation, **vals).action_close()
                self.env.flush_all()
                self.env.cr.precommit.run()
                mail = request.message_ids.filtered(
                    lambda m: "solved" in (m.subject or "")
                )
                self.assertIn(expected, str(mail.body))
                if compensation == "coupon":
                    self.assertIn(request.coupon_id.code, str(mail.body))

    def test_upgrade_brings_the_shipped_solved_mail_up_to_date(self):
        path = file_path("repeat_customer/migrations/18.0.1.13.1/post-migrate.py")
        spec = importlib.util.spec_from_file_location("migration_18_0_1_13_1", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        self.env["res.lang"]._activate_lang("zh_CN")
        template = self.env.ref("repeat_customer.mail_template_service_solved")
        shipped = template.with_context(lang="en_US").body_html
        # the template of 18.0.1.12: no word of the compensation
        old = re.sub(
            r'\s*<p[^>]*t-if="object.point_entry_id".*?</t>\n',
            "\n",
            str(shipped),
            flags=re.S,
        )
        self.assertNotIn("point_entry_id", old)
        template.with_context(lang="en_US").body_html = old
        migration.migrate(self.env.cr, "18.0.1.13.0")
        template.invalidate_recordset()
        self.assertIn("point_entry_id", template.with_context(lang="en_US").body_html)
        self.assertIn("作为补偿", template.with_context(lang="zh_CN").body_html)
        # a template the company edited is left as it is
        template.with_context(lang="en_US").body_html = "<p>Our own words</p>"
        migration.migrate(self.env.cr, "18.0.1.13.0")
        self.assertEqual(
            str(template.with_context(lang="en_US").body_html), "<p>Our own words</p>"
        )

    def test_close_with_points_through_the_ledger(self):
        request = self._request()
        balance = self.member.points_balance
        self._wizard(request, compensation="points", points=200).action_close()
        self.assertTrue(request.is_closed)
        self.assertTrue(request.close_date)
        self.assertEqual(request.resolution, "Refunded the damaged cup")
        entry = request.point_entry_id
        self.assertEqual(entry.kind, "adjust")
        self.assertEqual(entry.points, 200)
        self.assertEqual(entry.service_request_id, request)
        self.assertEqual(entry.origin, request.display_name)
        self.assertEqual(self.member.points_balance, balance + 200)
        self.assertEqual(request.compensation_points, 200)
        # once per request, even called again
        with self.assertRaises(UserError):
            request._compensate(points=10)
        self.assertEqual(self.member.points_balance, balance + 200)

    def test_limits_and_bad_inputs_leave_the_request_open(self):
        request = self._request()
        balance = self.member.points_balance
        for vals in (
            {"compensation": "points", "points": 301},
            {"compensation": "points", "points": 0},
            {"compensation": "points", "points": -5},
            {"compensation": "coupon"},
            {"resolution": "  "},
        ):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                self._wizard(request, **vals).action_close()
        with self.assertRaises(UserError):
            self._wizard(request, compensation="points", points="1.5")
        self.assertFalse(request.is_closed)
        self.assertFalse(request.point_entry_id)
        self.assertEqual(self.member.points_balance, balance)
        question = self._request(type_id=self.question.id)
        with self.assertRaises(UserError):
            question._compensate(points=10)
        walk_in = self._partner("Walk-in")
        no_member = self._request(partner_id=walk_in.id)
        with self.assertRaises(UserError):
            no_member._compensate(points=10)
        # enrolled since: the request finds the membership
        member = self.Membership.create(
            {"partner_id": walk_in.id, "company_id": self.company.id}
        )
        self.assertTrue(no_member._compensate(points=10))
        self.assertEqual(no_member.membership_id, member)
        self.assertEqual(member.points_balance, 10)

    def test_coupon_within_the_limit(self):
        request = self._request()
        program = self.env["loyalty.program"].create(
            coupon_program_vals(self.company, "Sorry coupon", 15.0)
        )
        expensive = self.env["loyalty.program"].create(
            coupon_program_vals(self.company, "Big sorry", 25.0)
        )
        with self.assertRaises(UserError):
            self._wizard(
                request, compensation="coupon", program_id=expensive.id
            ).action_close()
        self._wizard(
            request, compensation="coupon", program_id=program.id
        ).action_close()
        coupon = request.coupon_id
        self.assertEqual(coupon.origin, "service")
        self.assertEqual(coupon.service_request_id, request)
        self.assertEqual(coupon.membership_id, self.member)
        self.assertEqual(coupon.program_id, program)
        with self.assertRaises(UserError):
            request._compensate(program=program)

    def test_percentage_coupon_cannot_compensate(self):
        vals = coupon_program_vals(self.company, "Ten percent", 10.0)
        vals["reward_ids"][0][2]["discount_mode"] = "percent"
        program = self.env["loyalty.program"].create(vals)
        with self.assertRaises(UserError):
            self._request()._compensate(program=program)

    def test_reopen_and_close_again(self):
        request = self._request()
        solved = self.env.ref("repeat_customer.customer_service_stage_solved")
        new = self.env.ref("repeat_customer.customer_service_stage_new")
        request.stage_id = solved
        self.assertTrue(request.close_date)
        request.stage_id = new
        self.assertFalse(request.close_date)
        self._wizard(request, compensation="points", points=50).action_close()
        with self.assertRaises(UserError):
            self._wizard(request).action_close()
        self.assertEqual(request.compensation_points, 50)

    def test_cancelled_is_not_compensated(self):
        request = self._request()
        cancelled = self.env.ref("repeat_customer.customer_service_stage_cancelled")
        with self.assertRaises(UserError):
            self._wizard(
                request, compensation="points", points=10, stage_id=cancelled.id
            ).action_close()
        self._wizard(request, stage_id=cancelled.id).action_close()
        self.assertTrue(request.is_closed)


@tagged("post_install", "-at_install")
class TestLowScore(ServiceCase):
    def test_low_score_opens_a_complaint(self):
        self._rule(type_ids=[Command.set(self.complaint.ids)], team_id=self.team.id)
        survey = self.env["customer.feedback"]._request(
            self.member, [self.order], "both"
        )
        survey._answer(nps=2, csat=1, comment="Cold and late")
        request = survey.service_request_ids
        self.assertEqual(len(request), 1)
        self.assertEqual(request.channel, "survey")
        self.assertEqual(request.type_id, self.complaint)
        self.assertEqual(request.order_id, self.order)
        self.assertEqual(request.user_id, self.agent_a)
        self.assertIn("Cold and late", request.description)
        # the button shows the same request, it does not open another
        action = survey.action_open_service_request()
        self.assertEqual(action["res_id"], request.id)
        self.assertEqual(len(survey.service_request_ids), 1)

    def test_setting_off_or_a_good_score(self):
        self.company.loyalty_survey_open_request = False
        survey = self.env["customer.feedback"]._request(
            self.member, [self.order], "nps"
        )
        survey._answer(nps=1)
        self.assertFalse(survey.service_request_ids)
        # staff can still open one from the survey
        survey.action_open_service_request()
        self.assertEqual(len(survey.service_request_ids), 1)
        self.company.loyalty_survey_open_request = True
        other = self._order(self.member.partner_id, 30.0)
        good = self.env["customer.feedback"]._request(self.member, [other], "nps")
        good._answer(nps=10)
        self.assertFalse(good.service_request_ids)
        pending = self.env["customer.feedback"]._request(
            self.member, [self._order(self.member.partner_id, 10.0)], "nps"
        )
        with self.assertRaises(UserError):
            pending.action_open_service_request()


@tagged("post_install", "-at_install")
class TestServiceAccess(ServiceCase):
    def test_users_see_their_own_teams_and_customers(self):
        mine = self._request(user_id=self.agent_a.id)
        team = self._request(user_id=self.agent_b.id, team_id=self.team.id)
        other = self._request(
            user_id=self.leader.id, partner_id=self._partner("Other").id
        )
        seen_by = {
            user: set(self.Request.with_user(user).search([]).ids)
            for user in (self.agent_a, self.salesman, self.outsider)
        }
        self.assertTrue({mine.id, team.id} <= seen_by[self.agent_a])
        self.assertNotIn(other.id, seen_by[self.agent_a])
        # the salesperson sees their customer's requests
        self.assertTrue({mine.id, team.id} <= seen_by[self.salesman])
        self.assertFalse({mine.id, team.id, other.id} & seen_by[self.outsider])
        with self.assertRaises(AccessError):
            other.with_user(self.outsider).write({"name": "Hidden"})

    def test_the_customer_is_mailed_when_received_and_solved(self):
        self.member.partner_id.email = "sun@example.com"
        request = self._request(user_id=self.agent_a.id)
        self.env.flush_all()
        self.env.cr.precommit.run()
        received = request.message_ids.filtered(
            lambda m: request.reference in (m.subject or "")
        )
        self.assertEqual(len(received), 1)
        self.assertIn(self.member.partner_id, received.partner_ids)
        # the acknowledgement is not the first answer
        self.assertFalse(request.first_response_date)
        request.write(
            {
                "resolution": "A new cup is on its way.",
                "stage_id": self.env.ref(
                    "repeat_customer.customer_service_stage_solved"
                ).id,
            }
        )
        self.env.flush_all()
        self.env.cr.precommit.run()
        solved = request.message_ids.filtered(lambda m: "solved" in (m.subject or ""))
        self.assertEqual(len(solved), 1)
        self.assertIn("A new cup is on its way.", str(solved.body))

    def test_the_mail_is_in_the_customers_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["repeat_customer"], ["zh_CN"])
        self.member.partner_id.write({"lang": "zh_CN", "email": "sun@example.com"})
        request = self._request(user_id=self.agent_a.id)
        self.env.flush_all()
        self.env.cr.precommit.run()
        mail = request.message_ids.filtered(
            lambda m: request.reference in (m.subject or "")
        )
        self.assertEqual(mail.subject, f"我们已收到您的请求 {request.reference}")
        self.assertIn("会尽快回复您", str(mail.body))

    def test_an_agent_records_a_request_in_the_form(self):
        form = Form(self.Request.with_user(self.agent_a))
        form.name = "Wants a gift wrap"
        form.partner_id = self.member.partner_id
        form.type_id = self.question
        form.order_id = self.order
        form.user_id = self.agent_a
        request = form.save()
        self.assertRegex(request.reference, r"^SR/\d{4}/\d{5}$")
        self.assertEqual(request.channel, "staff")
        self.assertEqual(request.membership_id, self.member)
        self.assertEqual(
            request.stage_id, self.env.ref("repeat_customer.customer_service_stage_new")
        )
        self.assertTrue(request.resolution_deadline)
        action = request.with_user(self.agent_a).action_resolve()
        wizard = Form(
            self.env[action["res_model"]]
            .with_user(self.agent_a)
            .with_context(**action["context"])
        )
        wizard.resolution = "Wrapped"
        wizard.save().action_close()
        self.assertTrue(request.is_closed)

    def test_programme_fields_are_not_set_by_hand(self):
        request = self._request(user_id=self.agent_a.id)
        as_agent = request.with_user(self.agent_a)
        for vals in (
            {"compensation_points": 500},
            {"first_response_date": fields.Datetime.now()},
            {"response_hours": 0.1},
            {"escalation": False},
            {"overdue_count": 0},
            {"resolution_deadline": fields.Datetime.now() + timedelta(days=30)},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                as_agent.write(vals)
        with self.assertRaises(AccessError):
            self.Request.with_user(self.agent_a).create(
                {
                    "name": "Faked",
                    "partner_id": self.member.partner_id.id,
                    "type_id": self.question.id,
                    "channel": "survey",
                }
            )
        # what an agent does set
        as_agent.write({"priority": "2", "name": "Parcel crushed"})
        self.assertEqual(request.priority, "2")

    def test_closing_needs_the_request_and_the_programme_readable(self):
        hidden = self._request(
            user_id=self.leader.id, partner_id=self._partner("Hidden Hu").id
        )
        Wizard = self.env["customer.service.resolve.wizard"].with_user(self.outsider)
        with self.assertRaises(AccessError):
            Wizard.create({"request_id": hidden.id, "resolution": "Done"})
        mine = self._request(user_id=self.outsider.id)
        other_company = self.env["res.company"].create({"name": "Programme Co"})
        foreign = self.env["loyalty.program"].create(
            coupon_program_vals(other_company, "Foreign coupon", 5.0)
        )
        with self.assertRaises(AccessError):
            Wizard.create(
                {
                    "request_id": mine.id,
                    "resolution": "Done",
                    "compensation": "coupon",
                    "program_id": foreign.id,
                }
            )
        self.assertFalse(mine.is_closed)
        self.assertFalse(mine.coupon_id)

    def test_another_company_does_not_see_them(self):
        request = self._request(user_id=self.agent_a.id)
        other = self.env["res.company"].create({"name": "Other Service Co"})
        manager = new_test_user(
            self.env,
            login="service_other_manager",
            groups="repeat_customer.group_manager",
            company_id=other.id,
            company_ids=[Command.set(other.ids)],
        )
        self.assertFalse(
            self.Request.with_user(manager)
            .with_context(allowed_company_ids=other.ids)
            .search([("id", "=", request.id)])
        )


@tagged("post_install", "-at_install")
class TestComplaintRate(ServiceCase):
    def test_complaints_per_hundred_orders(self):
        other = self._member("Rate Rain")
        other.user_id = self.agent_a
        for _i in range(3):
            self._order(self.member.partner_id, 10.0)
        self._order(other.partner_id, 10.0)
        self._order(other.partner_id, 10.0, state="cancel")
        self._request()
        self._request(type_id=self.question.id)  # not a complaint
        cancelled = self._request()
        cancelled.stage_id = self.env.ref(
            "repeat_customer.customer_service_stage_cancelled"
        )
        self._request(partner_id=other.partner_id.id)
        orders = self.env["sale.order"].search([("company_id", "=", self.company.id)])
        orders.filtered(
            lambda o: o.partner_id == self.member.partner_id
        ).user_id = self.salesman
        orders.filtered(
            lambda o: o.partner_id == other.partner_id
        ).user_id = self.agent_a
        self.env.flush_all()
        Rate = self.env["customer.service.rate"]
        domain = [("company_id", "=", self.company.id)]
        ((orders, complaints, rate),) = Rate._read_group(
            domain, [], ["order_count:sum", "complaint_count:sum", "complaint_rate:avg"]
        )
        # 4 confirmed orders of this test + the class's one, 2 complaints
        self.assertEqual((orders, complaints), (5, 2))
        self.assertAlmostEqual(rate, 40.0)
        by_salesperson = {
            user: (o, c, r)
            for user, o, c, r in Rate._read_group(
                domain,
                ["user_id"],
                ["order_count:sum", "complaint_count:sum", "complaint_rate:avg"],
            )
        }
        self.assertEqual(by_salesperson[self.salesman][:2], (4, 1))
        self.assertAlmostEqual(by_salesperson[self.salesman][2], 25.0)
        self.assertEqual(by_salesperson[self.agent_a][:2], (1, 1))
        self.assertAlmostEqual(by_salesperson[self.agent_a][2], 100.0)

    def test_service_times_report(self):
        first = self._request()
        second = self._request()
        first.sudo().write({"response_hours": 2.0, "resolution_hours": 10.0})
        second.sudo().write({"response_hours": 4.0, "resolution_hours": 20.0})
        ((count, response, resolution),) = self.Request._read_group(
            [("id", "in", (first | second).ids)],
            [],
            ["__count", "response_hours:avg", "resolution_hours:avg"],
        )
        self.assertEqual((count, response, resolution), (2, 3.0, 15.0))


@tagged("post_install", "-at_install")
class TestServicePortal(HttpCase):
    """Two customers on the portal: each sees and opens only their own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.ref("base.main_company")
        cls.alice = new_test_user(
            cls.env,
            login="service_alice",
            groups="base.group_portal",
            name="Alice Portal",
        )
        cls.bob = new_test_user(
            cls.env, login="service_bob", groups="base.group_portal", name="Bob Portal"
        )
        product = cls.env["product.product"].create({"name": "Portal Kettle"})
        cls.alice_order = cls.env["sale.order"].create(
            {
                "partner_id": cls.alice.partner_id.id,
                "order_line": [Command.create({"product_id": product.id})],
            }
        )
        cls.alice_order.action_confirm()
        cls.bob_order = cls.env["sale.order"].create(
            {
                "partner_id": cls.bob.partner_id.id,
                "order_line": [Command.create({"product_id": product.id})],
            }
        )
        cls.bob_order.action_confirm()
        cls.product = product
        cls.type = cls.env.ref("repeat_customer.customer_service_type_return")

    def _form(self, login, **data):
        self.authenticate(login, login)
        page = self.url_open("/my/requests/new")
        self.assertEqual(page.status_code, 200)
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        return self.url_open("/my/requests/new", data={"csrf_token": csrf, **data})

    def test_two_customers(self):
        done = self._form(
            "service_alice",
            type_id=str(self.type.id),
            order_id=str(self.alice_order.id),
            name="Kettle leaks",
            description="Water on the table",
        )
        self.assertEqual(done.status_code, 200)
        Request = self.env["customer.service.request"]
        mine = Request.search([("partner_id", "=", self.alice.partner_id.id)])
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine.channel, "portal")
        self.assertEqual(mine.order_id, self.alice_order)
        self.assertIn("Kettle leaks", done.text)
        self.assertIn(self.alice.partner_id, mine.message_partner_ids)
        listing = self.url_open("/my/requests")
        self.assertIn(mine.reference, listing.text)
        # Bob neither lists nor opens it, nor reads it over RPC
        self.authenticate("service_bob", "service_bob")
        self.assertNotIn(mine.reference, self.url_open("/my/requests").text)
        page = self.url_open(f"/my/requests/{mine.id}")
        self.assertNotIn("Kettle leaks", page.text)
        self.assertFalse(Request.with_user(self.bob).search([("id", "=", mine.id)]))
        with self.assertRaises(AccessError):
            mine.with_user(self.bob).read(["name"])
        with self.assertRaises(AccessError):
            mine.with_user(self.alice).write({"name": "Changed"})

    def test_hostile_values_create_nothing(self):
        Request = self.env["customer.service.request"]
        before = Request.search_count([])
        hidden = self.env["customer.service.type"].create(
            {"name": "Staff only", "portal_visible": False}
        )
        for data in (
            {
                "type_id": str(self.type.id),
                "order_id": str(self.bob_order.id),
                "name": "x",
            },
            {"type_id": str(hidden.id), "name": "x"},
            {"type_id": "1e3", "name": "x"},
            {"type_id": str(self.type.id), "name": "   "},
            {"type_id": str(self.type.id), "name": "x" * 201},
            {"type_id": str(self.type.id), "order_id": "-1", "name": "x"},
        ):
            with self.subTest(data=data):
                page = self._form("service_alice", **data)
                self.assertEqual(page.status_code, 200)
                self.assertIn("o_service_error", page.text)
        self.assertEqual(Request.search_count([]), before)
        form = self.url_open("/my/requests/new").text
        self.assertIn('id="service_description"', form)
        self.assertIn("Portal Kettle", form)
        # a product on none of the customer's orders is ignored, not linked
        other = self.env["product.product"].create({"name": "Not on the order"})
        self._form(
            "service_alice",
            type_id=str(self.type.id),
            order_id=str(self.alice_order.id),
            product_id=str(other.id),
            name="Which product",
        )
        created = Request.search([("name", "=", "Which product")])
        self.assertEqual(len(created), 1)
        self.assertFalse(created.product_id)
        self._form(
            "service_alice",
            type_id=str(self.type.id),
            product_id=str(self.product.id),
            name="Kettle handle",
        )
        self.assertEqual(
            Request.search([("name", "=", "Kettle handle")]).product_id, self.product
        )

    def test_products_offered_with_their_orders_and_no_discount_line(self):
        """Each product is offered with the orders that have it (the form
        shows only those of the chosen order); discount lines are none."""
        teapot = self.env["product.product"].create({"name": "Portal Teapot"})
        discount = self.env.ref("repeat_customer.product_points_discount")
        second = self.env["sale.order"].create(
            {
                "partner_id": self.alice.partner_id.id,
                "order_line": [
                    Command.create({"product_id": teapot.id}),
                    Command.create({"product_id": self.product.id}),
                ],
            }
        )
        second.action_confirm()
        # a down payment line stands for a line the form must not offer
        self.env["sale.order.line"].create(
            {
                "order_id": second.id,
                "product_id": discount.id,
                "price_unit": -1.0,
                "is_downpayment": True,
            }
        )
        self.authenticate("service_alice", "service_alice")
        form = self.url_open("/my/requests/new").text
        orders = sorted([self.alice_order.id, second.id])
        self.assertIn(
            f'value="{self.product.id}" data-order-ids="{orders[0]} {orders[1]}"', form
        )
        self.assertIn(f'value="{teapot.id}" data-order-ids="{second.id}"', form)
        self.assertNotIn(f'value="{discount.id}" data-order-ids', form)
        # the teapot is not on the first order: not linked to a request on it
        self._form(
            "service_alice",
            type_id=str(self.type.id),
            order_id=str(self.alice_order.id),
            product_id=str(teapot.id),
            name="Teapot on the wrong order",
        )
        created = self.env["customer.service.request"].search(
            [("name", "=", "Teapot on the wrong order")]
        )
        self.assertEqual(len(created), 1)
        self.assertFalse(created.product_id)

    def test_the_form_offers_the_products_of_the_chosen_order(self):
        kettle = self.env["product.product"].create({"name": "Tour Kettle"})
        teapot = self.env["product.product"].create({"name": "Tour Teapot"})
        today = fields.Datetime.now()
        for lines, when in (
            ([kettle], today - timedelta(days=3)),
            ([teapot, kettle], today - timedelta(days=1)),
        ):
            order = self.env["sale.order"].create(
                {
                    "partner_id": self.bob.partner_id.id,
                    "order_line": [
                        Command.create({"product_id": product.id}) for product in lines
                    ],
                }
            )
            order.action_confirm()
            order.date_order = when
        self.bob_order.date_order = today - timedelta(days=30)
        self.start_tour(
            "/my/requests/new",
            "repeat_customer_service_request_products",
            login="service_bob",
        )


@tagged("post_install", "-at_install")
class TestServiceOverview(ServiceCase):
    def test_cards(self):
        overview = self.env["customer.overview"]
        empty = overview.get_overview({"company_id": self.company.id})["service"]
        self.assertIsNone(empty["nps"])
        self.assertEqual((empty["open"], empty["overdue"]), (0, 0))
        for nps in (10, 9, 3):
            order = self._order(self.member.partner_id, 20.0)
            self.env["customer.feedback"]._request(self.member, [order], "nps")._answer(
                nps=nps
            )
        late = self._request(user_id=self.agent_a.id)
        late.sudo().write(
            {"resolution_deadline": fields.Datetime.now() - timedelta(hours=1)}
        )
        # the orders are the members' monthly activity, kept by the nightly
        # computation
        self._compute()
        service = overview.get_overview({"company_id": self.company.id})["service"]
        # two promoters and a detractor: (100 + 100 - 100) / 3
        self.assertAlmostEqual(service["nps"], 100.0 / 3)
        self.assertEqual(service["answers"], 3)
        # the low score opened a complaint, and the late one: 2 over 4 orders
        self.assertEqual(service["complaints"], 2)
        self.assertEqual(service["orders"], 4)
        self.assertAlmostEqual(service["complaint_rate"], 50.0)
        self.assertEqual((service["open"], service["overdue"]), (2, 1))
        self.assertEqual(self.Request.search(service["overdue_domain"]), late)
        # a tier filter nobody is in: nothing
        tier = self.env["customer.tier"].create(
            {"name": "Nobody", "company_id": self.company.id, "threshold": 10**6}
        )
        filtered = overview.get_overview(
            {"company_id": self.company.id, "tier_id": tier.id}
        )["service"]
        self.assertEqual((filtered["answers"], filtered["open"]), (0, 0))


@tagged("post_install", "-at_install")
class TestCompensationConcurrency(TransactionCase):
    """Two agents compensate one complaint at the same time, in two
    transactions: one posts the points; the other meets its lock (PostgreSQL
    refuses it, Odoo retries the request) and, retried, is refused: the
    ledger has one line."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            partner = env["res.partner"].create({"name": "Twice Compensated"})
            member = env["customer.membership"].create(
                {"partner_id": partner.id, "company_id": company.id}
            )
            request = (
                env["customer.service.request"]
                .with_context(mail_create_nolog=True, tracking_disable=True)
                .create(
                    {
                        "name": "Broken lid",
                        "partner_id": partner.id,
                        "company_id": company.id,
                        "type_id": env.ref(
                            "repeat_customer.customer_service_type_complaint"
                        ).id,
                    }
                )
            )
            self.ids = (partner.id, member.id, request.id)
        self.addCleanup(self._remove)

    def _remove(self):
        partner_id, member_id, request_id = self.ids
        with self.registry.cursor() as cr:
            cr.execute(
                "DELETE FROM customer_point_entry WHERE membership_id = %s", [member_id]
            )
            cr.execute(
                "DELETE FROM mail_message WHERE model = 'customer.service.request' "
                "AND res_id = %s",
                [request_id],
            )
            cr.execute(
                "DELETE FROM mail_followers "
                "WHERE res_model = 'customer.service.request' AND res_id = %s",
                [request_id],
            )
            cr.execute(
                "DELETE FROM customer_service_request WHERE id = %s", [request_id]
            )
            cr.execute("DELETE FROM customer_membership WHERE id = %s", [member_id])
            cr.execute("DELETE FROM res_partner WHERE id = %s", [partner_id])

    def test_two_transactions(self):
        _partner_id, member_id, request_id = self.ids
        with self.registry.cursor() as cr1, self.registry.cursor() as cr2:
            first = api.Environment(cr1, SUPERUSER_ID, {})["customer.service.request"]
            second = api.Environment(cr2, SUPERUSER_ID, {})["customer.service.request"]
            # both agents opened the request: neither sees a compensation
            self.assertFalse(first.browse(request_id).point_entry_id)
            self.assertFalse(second.browse(request_id).point_entry_id)
            self.assertTrue(first.browse(request_id)._compensate(points=100))
            cr1.commit()
            with (
                self.assertRaises(psycopg2.errors.SerializationFailure),
                mute_logger("odoo.sql_db"),
            ):
                second.browse(request_id)._compensate(points=150)
            cr2.rollback()
            second.env.invalidate_all()
            with self.assertRaises(UserError):
                second.browse(request_id)._compensate(points=150)
            cr2.rollback()
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT points FROM customer_point_entry WHERE membership_id = %s",
                [member_id],
            )
            self.assertEqual(cr.fetchall(), [(100,)])
