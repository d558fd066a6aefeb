"""Satisfaction surveys: the tokenised link, one answer, the low score that
reaches a person, the campaign that sends them, the NPS arithmetic."""

from datetime import timedelta

import psycopg2

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..tools import feedback as decide
from .test_campaigns import CampaignCase


class FeedbackCase(CampaignCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Feedback = cls.env["customer.feedback"]
        cls.salesman = new_test_user(
            cls.env,
            login="feedback_salesman",
            groups="sales_team.group_sale_salesman,repeat_customer.group_user",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.leader = new_test_user(
            cls.env,
            login="feedback_leader",
            groups="sales_team.group_sale_salesman,repeat_customer.group_user",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.company.write(
            {
                "loyalty_survey_validity_days": 10,
                "loyalty_survey_low_nps": 6,
                "loyalty_survey_low_csat": 2,
                "loyalty_service_user_id": cls.leader.id,
            }
        )
        cls.member = cls._member("Survey Sun")
        cls.member.user_id = cls.salesman
        cls.order = cls._order(cls.member.partner_id, 120.0, days_ago=3)
        cls._deliver(cls.order)

    def _survey(self, member=None, order=None, questions="both"):
        member = member or self.member
        return self.Feedback._request(member, [order or self.order], questions)


@tagged("post_install", "-at_install")
class TestFeedbackDecisions(FeedbackCase):
    def test_nps_groups_and_values(self):
        self.assertEqual(
            [decide.nps_group(score) for score in (0, 6, 7, 8, 9, 10)],
            ["detractor", "detractor", "passive", "passive", "promoter", "promoter"],
        )
        self.assertEqual(
            [decide.nps_value(score) for score in (3, 7, 10)], [-100, 0, 100]
        )
        self.assertIsNone(decide.nps_group(None))
        self.assertTrue(decide.is_low(6, None, 6, 2))
        self.assertFalse(decide.is_low(7, None, 6, 2))
        self.assertTrue(decide.is_low(None, 2, 6, 2))
        self.assertFalse(decide.is_low(None, None, 6, 2))


@tagged("post_install", "-at_install")
class TestFeedback(FeedbackCase):
    def test_request_is_bound_expiring_and_unguessable(self):
        survey = self._survey()
        self.assertEqual(survey.order_id, self.order)
        self.assertEqual(survey.membership_id, self.member)
        self.assertEqual(survey.state, "pending")
        self.assertEqual(survey.expiry_date, self.today + timedelta(days=10))
        self.assertGreaterEqual(len(survey.sudo().token), 43)
        self.assertIn(f"/loyalty/feedback/{survey.sudo().token}", survey.survey_url)
        # asked again about the same order: the same survey
        self.assertEqual(self._survey(), survey)
        other = self._survey(order=self._order(self.member.partner_id, 50.0))
        self.assertNotEqual(other.sudo().token, survey.sudo().token)

    def test_answer_once(self):
        survey = self._survey()
        self.member.segment_id = self.env.ref("repeat_customer.segment_loyal")
        self.assertTrue(survey._answer(9, 4, "  Fresh tea, fast delivery  "))
        self.assertEqual(survey.state, "answered")
        self.assertEqual(
            (survey.nps, survey.nps_group, survey.nps_value, survey.csat),
            (9, "promoter", 100, 4),
        )
        self.assertEqual(survey.comment, "Fresh tea, fast delivery")
        self.assertEqual(survey.segment_id, self.member.segment_id)
        self.assertFalse(survey.is_low_score)
        self.assertFalse(survey.activity_ids)
        # a second answer changes nothing
        self.assertFalse(survey._answer(0, 1, "changed my mind"))
        self.assertEqual((survey.nps, survey.csat), (9, 4))
        self.assertEqual(survey.comment, "Fresh tea, fast delivery")

    def test_bad_answers_are_refused(self):
        survey = self._survey()
        for nps, csat in ((11, 3), (-1, 3), (None, 3), (5, 0), (5, 6), (5, None)):
            with self.subTest(nps=nps, csat=csat), self.assertRaises(ValidationError):
                survey._answer(nps, csat)
        with self.assertRaises(ValidationError):
            survey._answer(True, 3)
        self.assertEqual(survey.state, "pending")
        self.assertFalse(survey.nps or survey.csat)
        # a survey of one question does not need the other
        only_nps = self._survey(
            order=self._order(self.member.partner_id, 10.0), questions="nps"
        )
        self.assertTrue(only_nps._answer(8, None))
        self.assertFalse(only_nps.csat)

    def test_low_score_reaches_the_salesperson_today(self):
        survey = self._survey()
        self.assertTrue(survey._answer(3, 4, "The dumplings arrived thawed"))
        self.assertTrue(survey.is_low_score)
        activity = survey.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.salesman)
        self.assertEqual(activity.date_deadline, self.today)
        self.assertIn("The dumplings arrived thawed", str(activity.note))
        # the salesperson, who may not change the answer, notes the call and
        # marks the call-back done
        survey_as_salesman = survey.with_user(self.salesman)
        survey_as_salesman.message_post(body="Called, sending new dumplings")
        activity.with_user(self.salesman).action_feedback(feedback="Called")
        self.assertFalse(survey.activity_ids)
        with self.assertRaises(AccessError):
            survey_as_salesman.write({"nps": 10})

    def test_low_score_of_a_customer_without_salesperson_reaches_the_leader(self):
        member = self._member("Survey Wu")
        order = self._order(member.partner_id, 80.0)
        survey = self._survey(member=member, order=order)
        self.assertTrue(survey._answer(8, 1))
        self.assertTrue(survey.is_low_score)
        self.assertEqual(survey.activity_ids.user_id, self.leader)

    def test_member_form_counts_the_answers(self):
        survey = self._survey()
        self.assertEqual(self.member.feedback_count, 0)
        survey._answer(7, 3)
        self.member.invalidate_recordset(["feedback_count"])
        self.assertEqual(self.member.feedback_count, 1)
        action = self.member.action_view_feedback()
        self.assertEqual(self.Feedback.search(action["domain"]), survey)
        # and the customer's form, as their salesperson
        partner = self.member.partner_id.with_user(self.salesman)
        self.assertEqual(partner.loyalty_feedback_count, 1)
        action = partner.action_view_loyalty_feedback()
        self.assertEqual(
            self.Feedback.with_user(self.salesman).search(action["domain"]), survey
        )

    def test_nps_arithmetic(self):
        # promoters 10 and 9, a passive 8, a detractor 2: (2 - 1) / 4 = +25
        answers = [(10, 5), (9, 4), (8, 4), (2, 1)]
        for nps, csat in answers:
            survey = self._survey(order=self._order(self.member.partner_id, 10.0))
            self.assertTrue(survey._answer(nps, csat))
        [(nps, csat, count)] = self.Feedback._read_group(
            [("membership_id", "=", self.member.id), ("state", "=", "answered")],
            [],
            ["nps_value:avg", "csat:avg", "__count"],
        )
        self.assertEqual(count, 4)
        self.assertAlmostEqual(nps, 25.0)
        self.assertAlmostEqual(csat, 3.5)

    def test_salesperson_sees_own_customers_surveys_only(self):
        own = self._survey()
        other_member = self._member("Survey Zhao")
        other = self._survey(
            member=other_member, order=self._order(other_member.partner_id, 10.0)
        )
        visible = self.Feedback.with_user(self.salesman).search(
            [("id", "in", (own | other).ids)]
        )
        self.assertEqual(visible, own)
        with self.assertRaises(AccessError):
            own.with_user(self.salesman).write({"comment": "edited"})

    def test_nobody_rewrites_an_answer(self):
        manager = new_test_user(
            self.env,
            login="feedback_manager",
            groups="repeat_customer.group_manager,sales_team.group_sale_manager",
            company_id=self.company.id,
            company_ids=[Command.set(self.company.ids)],
        )
        survey = self._survey()
        survey._answer(2, 1, "bad")
        for user in (manager, self.salesman):
            for vals in ({"nps": 10}, {"state": "pending"}, {"is_low_score": False}):
                with self.subTest(user=user.login, vals=vals):
                    with self.assertRaises(AccessError):
                        survey.with_user(user).write(vals)
            with self.assertRaises(AccessError):
                survey.with_user(user).unlink()
            with self.assertRaises(AccessError):
                self.Feedback.with_user(user).create(
                    {
                        "membership_id": self.member.id,
                        "company_id": self.company.id,
                        "expiry_date": self.today,
                    }
                )
        # the manager reads every survey of the company, the answer unchanged
        self.assertEqual(survey.with_user(manager).nps, 2)


@tagged("post_install", "-at_install")
class TestSurveyCampaign(FeedbackCase):
    def test_campaign_sends_the_link_of_the_occasions_order(self):
        template = self.env.ref("repeat_customer.mail_template_campaign_survey")
        campaign = self._campaign(
            trigger="delivered",
            days=3,
            mail_template_id=template.id,
            survey_questions="both",
        )
        campaign._run(send_limit=None)
        delivery = self._deliveries(campaign)
        self.assertEqual(len(delivery), 1)
        self.assertEqual(delivery.state, "sent")
        survey = delivery.feedback_id
        self.assertEqual(survey.order_id, self.order)
        mail = self.env["mail.mail"].search(
            [("model", "=", "customer.campaign.delivery"), ("res_id", "=", delivery.id)]
        )
        self.assertIn(survey.survey_url, mail.body_html)
        # run again: no second delivery, no second survey
        campaign._run(send_limit=None)
        self.assertEqual(self._deliveries(campaign), delivery)
        self.assertEqual(
            self.Feedback.search_count([("order_id", "=", self.order.id)]), 1
        )

    def test_a_survey_needs_the_email(self):
        with self.assertRaises(ValidationError):
            self._campaign(
                channel="sms",
                sms_template_id=self.env.ref(
                    "repeat_customer.sms_template_campaign_points_expiring"
                ).id,
                survey_questions="nps",
            )


@tagged("post_install", "-at_install")
class TestSurveyPage(HttpCase):
    """The public page, over HTTP, as the customer's browser sees it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.env.ref("base.main_company")
        cls.company = company
        partner = cls.env["res.partner"].create(
            {"name": "Page Customer", "email": "page@example.com", "lang": "en_US"}
        )
        cls.member = cls.env["customer.membership"].create(
            {"partner_id": partner.id, "company_id": company.id}
        )
        product = cls.env["product.product"].create(
            {"name": "Page Tea", "list_price": 20.0}
        )
        cls.order = cls.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "order_line": [Command.create({"product_id": product.id})],
            }
        )
        cls.order.action_confirm()
        cls.survey = cls.env["customer.feedback"]._request(
            cls.member, [cls.order], "both"
        )
        cls.token = cls.survey.sudo().token

    def _post(self, token, **data):
        self.authenticate(None, None)
        page = self.url_open(f"/loyalty/feedback/{token}")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        return self.url_open(
            f"/loyalty/feedback/{token}", data={"csrf_token": csrf, **data}
        )

    def test_answer_then_the_link_is_spent(self):
        page = self.url_open(f"/loyalty/feedback/{self.token}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("How likely are you to recommend us", page.text)
        self.assertIn(self.order.name, page.text)
        answered = self._post(self.token, nps="10", csat="5", comment="Lovely")
        self.assertEqual(answered.status_code, 200)
        self.assertIn("Thank you", answered.text)
        self.survey.invalidate_recordset()
        self.assertEqual((self.survey.nps, self.survey.csat), (10, 5))
        # reused: refused, nothing changed
        again = self.url_open(
            f"/loyalty/feedback/{self.token}",
            data={"csrf_token": "x", "nps": "0", "csat": "1"},
        )
        self.assertIn(again.status_code, (400, 409))
        self.assertEqual(
            self.url_open(f"/loyalty/feedback/{self.token}").status_code, 409
        )
        self.survey.invalidate_recordset()
        self.assertEqual((self.survey.nps, self.survey.csat), (10, 5))

    def test_reused_token_with_a_valid_form_is_refused(self):
        self.assertEqual(self._post(self.token, nps="9", csat="4").status_code, 200)
        # the customer had the page open twice and sends the second one
        self.survey.sudo().state = "pending"
        page = self.url_open(f"/loyalty/feedback/{self.token}")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        self.survey.sudo().state = "answered"
        second = self.url_open(
            f"/loyalty/feedback/{self.token}",
            data={"csrf_token": csrf, "nps": "1", "csat": "1"},
        )
        self.assertEqual(second.status_code, 409)
        self.assertIn("Already answered", second.text)
        self.survey.invalidate_recordset()
        self.assertEqual(self.survey.nps, 9)

    def test_hostile_values(self):
        hostile = ["abc", "1e9", "", "-0", "99999999999999999999", "5; DROP", "٣"]
        for value in hostile:
            with self.subTest(value=value), mute_logger("odoo.http"):
                page = self._post(self.token, nps=value, csat="3")
                self.assertEqual(page.status_code, 400)
        self.survey.invalidate_recordset()
        self.assertEqual(self.survey.state, "pending")
        # a long comment is cut, the answer recorded
        page = self._post(self.token, nps="8", csat="4", comment="茶" * 10000)
        self.assertEqual(page.status_code, 200)
        self.survey.invalidate_recordset()
        self.assertEqual(len(self.survey.comment), 4000)

    def test_in_the_customers_language(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["repeat_customer"], ["zh_CN"])
        self.member.partner_id.lang = "zh_CN"
        page = self.url_open(f"/loyalty/feedback/{self.token}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("您有多大可能向朋友推荐我们？", page.text)
        self.assertIn("每个链接只能回答一次。作答截止：", page.text)

    def test_forged_and_expired_links_are_refused(self):
        forged = self.token[:-4] + (
            "AAAA" if not self.token.endswith("AAAA") else "BBBB"
        )
        page = self.url_open(f"/loyalty/feedback/{forged}")
        self.assertEqual(page.status_code, 404)
        self.assertIn("This link is not valid", page.text)
        self.assertEqual(self.url_open("/loyalty/feedback/x").status_code, 404)
        self.survey.sudo().expiry_date = self.company._loyalty_today() - timedelta(
            days=1
        )
        expired = self.url_open(f"/loyalty/feedback/{self.token}")
        self.assertEqual(expired.status_code, 410)
        self.assertIn("This survey has closed", expired.text)
        self.assertEqual(self.survey.state, "pending")

    def test_bad_answers_over_http(self):
        with mute_logger("odoo.http"):
            refused = self._post(self.token, nps="12", csat="3")
        self.assertEqual(refused.status_code, 400)
        self.assertIn("Choose a score from 0 to 10", refused.text)
        self.survey.invalidate_recordset()
        self.assertEqual(self.survey.state, "pending")
        # no CSRF token: refused by Odoo before the route
        with mute_logger("odoo.http"):
            no_csrf = self.url_open(
                f"/loyalty/feedback/{self.token}", data={"nps": "5", "csat": "3"}
            )
        self.assertEqual(no_csrf.status_code, 400)
        self.survey.invalidate_recordset()
        self.assertEqual(self.survey.state, "pending")


@tagged("post_install", "-at_install")
class TestAnswerConcurrency(TransactionCase):
    """Two answers to one link at the same time, in two transactions: one is
    recorded; the other meets its update (PostgreSQL refuses it, Odoo retries
    the request) and, retried, changes nothing."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            partner = env["res.partner"].create({"name": "Twice Answered"})
            member = env["customer.membership"].create(
                {"partner_id": partner.id, "company_id": company.id}
            )
            survey = env["customer.feedback"]._request(
                member, [env["sale.order"]], "nps"
            )
            self.ids = (partner.id, member.id, survey.id)
        self.addCleanup(self._remove)

    def _remove(self):
        partner_id, member_id, survey_id = self.ids
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM customer_feedback WHERE id = %s", [survey_id])
            cr.execute("DELETE FROM customer_membership WHERE id = %s", [member_id])
            cr.execute("DELETE FROM res_partner WHERE id = %s", [partner_id])

    def test_two_transactions(self):
        survey_id = self.ids[2]
        with self.registry.cursor() as cr1, self.registry.cursor() as cr2:
            first = api.Environment(cr1, SUPERUSER_ID, {})["customer.feedback"]
            second = api.Environment(cr2, SUPERUSER_ID, {})["customer.feedback"]
            # both requests opened the page: both see a survey waiting
            self.assertEqual(first.browse(survey_id).state, "pending")
            self.assertEqual(second.browse(survey_id).state, "pending")
            self.assertTrue(first.browse(survey_id)._answer(10, None, "first"))
            cr1.commit()
            with (
                self.assertRaises(psycopg2.errors.SerializationFailure),
                mute_logger("odoo.sql_db"),
            ):
                second.browse(survey_id)._answer(0, None, "second")
            cr2.rollback()
            second.env.invalidate_all()
            # the request retried: the link is spent
            self.assertFalse(second.browse(survey_id)._answer(0, None, "second"))
            cr2.commit()
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT nps, comment FROM customer_feedback WHERE id = %s",
                [survey_id],
            )
            self.assertEqual(cr.fetchone(), (10, "first"))
