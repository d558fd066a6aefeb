import re
import secrets

from odoo.tests import HttpCase, new_test_user, tagged

from .common import coupon_program_vals


@tagged("post_install", "-at_install")
class TestLoyaltyPortal(HttpCase):
    """``/my/loyalty`` over HTTP, with two portal customers: each reaches only
    their own membership, coupons and ledger."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.ref("base.main_company")
        cls.company.write(
            {"loyalty_points_enabled": True, "loyalty_points_expiry_policy": "never"}
        )
        cls.program = cls.env["loyalty.program"].create(
            coupon_program_vals(cls.company, "Portal voucher", 10.0)
        )
        cls.reward = cls.env["customer.reward"].create(
            {
                "name": "Portal voucher for 200 points",
                "company_id": cls.company.id,
                "points_cost": 200,
                "program_id": cls.program.id,
            }
        )
        cls.user_a = new_test_user(
            cls.env, login="loyal_a", groups="base.group_portal", name="Portal Ann"
        )
        cls.user_b = new_test_user(
            cls.env, login="loyal_b", groups="base.group_portal", name="Portal Bo"
        )
        Membership = cls.env["customer.membership"]
        Entry = cls.env["customer.point.entry"]
        cls.member_a = Membership.create(
            {"partner_id": cls.user_a.partner_id.id, "company_id": cls.company.id}
        )
        cls.member_b = Membership.create(
            {"partner_id": cls.user_b.partner_id.id, "company_id": cls.company.id}
        )
        # 12 ledger lines for A (two history pages), one for B
        for _i in range(12):
            Entry._post_adjustment(cls.member_a, 50, "welcome")
        Entry._post_adjustment(cls.member_b, 777, "welcome")
        cls.coupon_a = cls.reward._redeem(cls.member_a)
        cls.coupon_b = cls.reward._redeem(cls.member_b)

    def _csrf(self, html):
        # a form's field, or the page's own (every page carries one)
        found = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(
            r'csrf_token["\']?:\s*"([^"]+)"', html
        )
        return found.group(1)

    def _form(self, html, **data):
        """What the first redeem form of ``html`` posts: its CSRF token and
        its one-time token (a fresh one when the page shows no form, as
        when points are missing)."""
        token = re.search(r'name="token" value="([^"]+)"', html)
        return {
            "reward_id": self.reward.id,
            "csrf_token": self._csrf(html),
            "token": token.group(1) if token else secrets.token_urlsafe(24),
            **data,
        }

    def _balance(self, membership):
        membership.invalidate_recordset()
        return membership.points_balance

    def test_anonymous_is_sent_to_login(self):
        response = self.url_open("/my/loyalty", allow_redirects=False)
        self.assertEqual(response.status_code, 303)
        self.assertIn("/web/login", response.headers["Location"])

    def test_each_customer_sees_only_their_own(self):
        self.authenticate("loyal_a", "loyal_a")
        page = self.url_open("/my/loyalty")
        self.assertEqual(page.status_code, 200)
        html = page.text
        self.assertIn(self.coupon_a.code, html)
        self.assertNotIn(self.coupon_b.code, html)
        self.assertIn(self.member_a.name, html)
        self.assertNotIn(self.member_b.name, html)
        self.assertIn(">400<", html, "A's balance: 600 - 200")
        self.assertIn(self.reward.name, html)
        self.assertIn('name="viewport"', html, "the page is made for phones too")
        # ledger history: 12 adjustments and a redemption, 10 per page
        self.assertEqual(html.count("<tr>") - 1, 10)
        second = self.url_open("/my/loyalty/page/2").text
        self.assertEqual(second.count("<tr>") - 1, 3)
        # another customer's coupon id in the URL shows nothing of it
        other = self.url_open(f"/my/loyalty?redeemed={self.coupon_b.id}").text
        self.assertNotIn(self.coupon_b.code, other)
        self.assertNotIn("Reward redeemed", other)
        # B sees B's
        self.authenticate("loyal_b", "loyal_b")
        html = self.url_open("/my/loyalty").text
        self.assertIn(self.coupon_b.code, html)
        self.assertNotIn(self.coupon_a.code, html)
        self.assertIn(">577<", html)

    def test_redeem_needs_csrf_and_only_spends_own_points(self):
        self.authenticate("loyal_a", "loyal_a")
        html = self.url_open("/my/loyalty").text
        # no CSRF token: refused, nothing spent
        response = self.url_open(
            "/my/loyalty/redeem", data={"reward_id": self.reward.id}
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self._balance(self.member_a), 400)
        response = self.url_open(
            "/my/loyalty/redeem", data=self._form(html), allow_redirects=False
        )
        self.assertEqual(response.status_code, 303)
        self.assertRegex(response.headers["Location"], r"/my/loyalty\?redeemed=\d+$")
        self.assertEqual(self._balance(self.member_a), 200)
        self.assertEqual(self._balance(self.member_b), 577)
        coupons = self.env["customer.coupon"].search(
            [("membership_id", "=", self.member_a.id)]
        )
        self.assertEqual(len(coupons), 2)
        new = coupons.sorted("id")[-1]
        self.assertEqual(new.partner_id, self.user_a.partner_id)
        shown = self.url_open(response.headers["Location"]).text
        self.assertIn("Reward redeemed", shown)
        self.assertIn(new.code, shown)
        # not enough points left: a clear message, nothing written
        shown = self.url_open("/my/loyalty/redeem", data=self._form(shown)).text
        response = self.url_open(
            "/my/loyalty/redeem",
            data={
                **self._form(self.url_open("/my/loyalty").text),
                "reward_id": self.reward.id,
            },
        )
        self.assertIn("not enough", response.text)
        self.assertEqual(self._balance(self.member_a), 0)
        self.assertEqual(
            self.env["customer.coupon"].search_count(
                [("membership_id", "=", self.member_a.id)]
            ),
            3,
        )
        # a reward that does not exist (or another company's): refused
        response = self.url_open(
            "/my/loyalty/redeem", data=self._form(shown, reward_id=999999)
        )
        self.assertIn("This reward does not exist.", response.text)
        self.assertEqual(self._balance(self.member_b), 577)

    def test_double_submit_redeems_once(self):
        """Issue 9, item 6: the same rendered form posted twice (a double
        click on Confirm) spends the points once and shows the one coupon."""
        self.authenticate("loyal_b", "loyal_b")
        html = self.url_open("/my/loyalty").text
        self.assertIn("o_loyalty_redeem_form", html, "its button disables on submit")
        form = self._form(html)
        first = self.url_open("/my/loyalty/redeem", data=form, allow_redirects=False)
        second = self.url_open("/my/loyalty/redeem", data=form, allow_redirects=False)
        self.assertEqual(first.status_code, 303)
        self.assertEqual(second.headers["Location"], first.headers["Location"])
        self.assertEqual(self._balance(self.member_b), 377)
        coupons = self.env["customer.coupon"].search(
            [("membership_id", "=", self.member_b.id)]
        )
        self.assertEqual(len(coupons), 2)
        # a form without its token is refused, nothing spent
        response = self.url_open(
            "/my/loyalty/redeem",
            data={"reward_id": self.reward.id, "csrf_token": self._csrf(html)},
        )
        self.assertIn("This form has expired", response.text)
        self.assertEqual(self._balance(self.member_b), 377)

    def test_home_entry_and_figures_as_the_backend_prints_them(self):
        """The portal home keeps the loyalty entry for a member with no
        points available; points print with thousands separators; no
        "0 pending points" sentence; errors speak to the customer."""
        Entry = self.env["customer.point.entry"]
        Entry._post_adjustment(self.member_b, -577, "spent elsewhere")
        self.authenticate("loyal_b", "loyal_b")
        counters = self.make_jsonrpc_request(
            "/my/counters", {"counters": ["loyalty_points"]}
        )
        self.assertGreater(counters["loyalty_points"], 0)
        html = self.url_open("/my").text
        self.assertIn("/repeat_customer/static/src/img/loyalty.svg", html)
        html = self.url_open("/my/loyalty").text
        self.assertNotIn("0 more points become", html)
        self.assertIn("No points are waiting", html)
        Entry._post_adjustment(self.member_b, 1300, "welcome back")
        html = self.url_open("/my/loyalty").text
        self.assertIn(">1,300<", html)
        self.assertIn("+1,300", html)
        Entry._post_adjustment(self.member_b, -1200, "spent")
        response = self.url_open(
            "/my/loyalty/redeem", data=self._form(self.url_open("/my/loyalty").text)
        )
        self.assertIn("You have 100 points available, not enough", response.text)
        self.assertNotIn("Portal Bo", response.text.split("o_loyalty_error")[1][:300])

    def test_page_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["repeat_customer"], ["zh_CN"], overwrite=True
        )
        self.user_a.partner_id.lang = "zh_CN"
        self.authenticate("loyal_a", "loyal_a")
        html = self.url_open("/my/loyalty").text
        for text in (
            "我的会员",
            "可用积分",
            "我的优惠券",
            "积分记录",
            self.coupon_a.code,
        ):
            self.assertTrue(text in html, f"{text} is on the Chinese page")
