"""Hostile values on every entry point a user reaches: the wizards, the
buttons and the models over RPC (through Odoo's own ``call_kw``, the code
behind ``/web/dataset/call_kw``), and the portal routes over HTTP. Each
value gives a clear ``UserError`` (``ValidationError``, ``AccessError``,
``MissingError``) or an HTTP 4xx and writes nothing; none gives a server
error. Values are drawn by hypothesis, with the ids of other companies'
and other customers' records and of archived ones among them."""

import os
import secrets

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg2 import IntegrityError

from odoo import Command, api
from odoo.exceptions import UserError
from odoo.service.model import _as_validation_error, get_public_method
from odoo.tests import HttpCase, new_test_user, tagged

from ..controllers.portal import TOKEN_PATTERN
from .common import RewardsCase, coupon_program_vals

FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("RC_FUZZ_EXAMPLES", "40")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NUMBERS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63),
    st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, -(2**31), 10**18]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.5, -0.5, 1e-9, 1e308, float("nan"), float("inf")]),
)
JUNK = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "12", "1e3", "nan", "-0", "０", "DROP TABLE x", "\x00"]),
    st.none(),
    st.booleans(),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
HOSTILE = st.one_of(NUMBERS, JUNK)
DATES = st.one_of(
    st.sampled_from(["2026-02-30", "0000-00-00", "yesterday", "2026-13-01", 20260101]),
    JUNK,
    st.dates().map(str),
)

# what a refused call may raise: Odoo's user-facing errors
REFUSALS = (UserError,)


def rpc(env, model, method, *args, **kwargs):
    """Call ``model.method`` as ``/web/dataset/call_kw`` does: public
    methods only, and a constraint of the database (a required value
    missing) answered as Odoo's RPC layer answers it, a ``ValidationError``
    (the request is rolled back)."""
    records = env[model]
    get_public_method(records, method)
    try:
        with env.cr.savepoint():
            return api.call_kw(records, method, list(args), kwargs)
    except IntegrityError as exc:
        raise _as_validation_error(env, exc) from exc


class FuzzCase(RewardsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.loyalty_points_expiry_policy = "never"
        cls.salesperson = new_test_user(
            cls.env,
            login="rc_fuzz_sales",
            groups="sales_team.group_sale_salesman,repeat_customer.group_user",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.manager = new_test_user(
            cls.env,
            login="rc_fuzz_manager",
            groups="sales_team.group_sale_manager,repeat_customer.group_manager",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        cls.customer.user_id = cls.salesperson
        cls.member = cls._membership(cls.customer) or cls.Membership.create(
            {"partner_id": cls.customer.id, "company_id": cls.company.id}
        )
        cls.Entry._post_adjustment(cls.member, 500, "seed")
        cls.other_member = cls.Membership.create(
            {"partner_id": cls.other.id, "company_id": cls.company.id}
        )
        cls.Entry._post_adjustment(cls.other_member, 900, "seed")
        cls.quotation = RewardsCase._quotation(cls, cls.customer, 300.0)
        cls.quotation.user_id = cls.salesperson
        cls.other_quotation = RewardsCase._quotation(cls, cls.other, 300.0)
        # another company's programme, and an archived reward
        cls.company_b = cls.env["res.company"].create({"name": "Fuzz Other Co"})
        program_b = cls.env["loyalty.program"].create(
            coupon_program_vals(cls.company_b, "Other voucher", 5.0)
        )
        cls.reward_b = cls.Reward.create(
            {
                "name": "Other company's voucher",
                "company_id": cls.company_b.id,
                "points_cost": 10,
                "program_id": program_b.id,
            }
        )
        cls.member_b = cls.Membership.sudo().create(
            {"partner_id": cls.customer.id, "company_id": cls.company_b.id}
        )
        cls.archived = cls.Reward.create(
            {
                "name": "Archived voucher",
                "company_id": cls.company.id,
                "points_cost": 10,
                "program_id": cls.program.id,
                "active": False,
            }
        )
        existing = [
            cls.member.id,
            cls.other_member.id,
            cls.member_b.id,
            cls.reward.id,
            cls.reward_b.id,
            cls.archived.id,
            cls.quotation.id,
            cls.other_quotation.id,
            2**31 - 1,
        ]
        complaint_type = cls.env.ref("repeat_customer.customer_service_type_complaint")
        cls.company.loyalty_service_max_points = 300
        cls.complaint, cls.other_complaint = cls.env["customer.service.request"].create(
            [
                {
                    "name": "Fuzz complaint",
                    "partner_id": partner.id,
                    "company_id": cls.company.id,
                    "type_id": complaint_type.id,
                    "user_id": cls.salesperson.id,
                }
                for partner in (cls.customer, cls.other)
            ]
        )
        existing += [cls.complaint.id, cls.other_complaint.id]
        # ids of the records a call acts on: what any model's RPC accepts
        # (0, negative or out-of-range ids fail in the ORM itself, for every
        # model, before any code of ours runs)
        cls.record_ids = st.sampled_from(existing)
        # ids given as values, which our code must refuse clearly
        cls.ids = st.sampled_from([*existing, 0, -7, 2**31 + 5])
        cls.env.flush_all()

    def _state(self):
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT (SELECT count(*) FROM customer_point_entry),
                   (SELECT count(*) FROM customer_point_consumption),
                   (SELECT count(*) FROM customer_coupon),
                   (SELECT count(*) FROM loyalty_card),
                   (SELECT count(*) FROM sale_order_line),
                   (SELECT COALESCE(sum(points_balance), 0) FROM customer_membership),
                   (SELECT count(*) FROM customer_reward),
                   (SELECT count(*) FROM customer_coupon_batch),
                   (SELECT count(*) FROM customer_tier)
            """
        )
        return self.env.cr.fetchone()

    def attempt(self, call):
        """Run ``call()`` in a savepoint that is always rolled back: a
        refusal must be a user error and leave everything as it was; a call
        that goes through must leave the ledger consistent."""
        self.env.flush_all()
        self.env.cr.execute("SAVEPOINT fuzz")
        before = self._state()
        try:
            try:
                call()
            except REFUSALS:
                self.env.invalidate_all()
                self.assertEqual(self._state(), before, "a refusal wrote nothing")
                return "refused"
            except Exception as exc:
                self.fail(f"server error {type(exc).__name__}: {exc}")
            self.env.flush_all()
            checks = self.env["customer.integrity.check"]
            for rule in ("balance", "points_left", "points_left_total", "negative"):
                self.assertFalse(getattr(checks, f"_rule_{rule}")(self.company), rule)
            return "done"
        finally:
            self.env.cr.execute("ROLLBACK TO SAVEPOINT fuzz")
            self.env.invalidate_all()


@tagged("post_install", "-at_install")
class TestFuzzWizards(FuzzCase):
    @FUZZ_SETTINGS
    @given(points=HOSTILE, order=st.data())
    def test_redeem_points_on_a_quotation(self, points, order):
        env = self.env(user=self.salesperson)
        order_id = order.draw(st.one_of(self.ids, HOSTILE))

        def call():
            wizard = rpc(
                env,
                "customer.point.redeem.wizard",
                "create",
                {"order_id": order_id, "points": points},
            )
            rpc(env, "customer.point.redeem.wizard", "action_redeem", wizard)

        self.attempt(call)

    @FUZZ_SETTINGS
    @given(
        membership=st.data(),
        points=HOSTILE,
        reason=JUNK,
        expiry=DATES,
    )
    def test_adjust_points(self, membership, points, reason, expiry):
        env = self.env(user=self.manager)
        membership_id = membership.draw(st.one_of(self.ids, HOSTILE))

        def call():
            wizard = rpc(
                env,
                "customer.point.adjust.wizard",
                "create",
                {
                    "membership_id": membership_id,
                    "points": points,
                    "reason": reason,
                    "expiry_date": expiry,
                },
            )
            rpc(env, "customer.point.adjust.wizard", "action_apply", wizard)

        self.attempt(call)

    @FUZZ_SETTINGS
    @given(data=st.data(), as_manager=st.booleans())
    def test_close_a_complaint(self, data, as_manager):
        env = self.env(user=self.manager if as_manager else self.salesperson)
        request_ids = st.sampled_from([self.complaint.id, self.other_complaint.id])
        vals = {
            "request_id": data.draw(st.one_of(request_ids, self.ids, HOSTILE)),
            "resolution": data.draw(st.one_of(st.just("Refunded"), JUNK)),
            "compensation": data.draw(
                st.one_of(st.sampled_from(["none", "points", "coupon"]), JUNK)
            ),
            "points": data.draw(st.one_of(st.integers(-10, 400), HOSTILE)),
            "program_id": data.draw(
                st.one_of(st.just(self.program.id), self.ids, HOSTILE)
            ),
            "stage_id": data.draw(st.one_of(self.ids, HOSTILE)),
        }

        def call():
            wizard = rpc(env, "customer.service.resolve.wizard", "create", vals)
            rpc(env, "customer.service.resolve.wizard", "action_close", wizard)

        self.attempt(call)

    @FUZZ_SETTINGS
    @given(data=st.data(), as_manager=st.booleans())
    def test_redeem_reward(self, data, as_manager):
        env = self.env(user=self.manager if as_manager else self.salesperson)
        vals = {
            "membership_id": data.draw(st.one_of(self.ids, HOSTILE)),
            "reward_id": data.draw(st.one_of(self.ids, HOSTILE)),
        }
        if data.draw(st.booleans()):
            vals["order_id"] = data.draw(st.one_of(self.ids, HOSTILE))

        def call():
            wizard = rpc(env, "customer.reward.redeem.wizard", "create", vals)
            rpc(env, "customer.reward.redeem.wizard", "action_redeem", wizard)

        self.attempt(call)


@tagged("post_install", "-at_install")
class TestFuzzModels(FuzzCase):
    @FUZZ_SETTINGS
    @given(data=st.data())
    def test_reward_values(self, data):
        env = self.env(user=self.manager)
        vals = {
            "name": data.draw(st.one_of(st.just("Fuzz reward"), JUNK)),
            "company_id": data.draw(st.one_of(st.just(self.company.id), self.ids)),
            "points_cost": data.draw(HOSTILE),
            "reward_type": data.draw(
                st.one_of(st.sampled_from(["coupon", "discount"]), JUNK)
            ),
            "program_id": data.draw(st.one_of(st.just(self.program.id), HOSTILE)),
            "limit_qty": data.draw(HOSTILE),
            "limit_period": data.draw(
                st.one_of(st.sampled_from(["day", "total"]), JUNK)
            ),
            "discount_amount": data.draw(HOSTILE),
            "coupon_validity_days": data.draw(HOSTILE),
            "date_from": data.draw(DATES),
        }
        self.attempt(lambda: rpc(env, "customer.reward", "create", vals))

    @FUZZ_SETTINGS
    @given(data=st.data())
    def test_tier_and_rule_values(self, data):
        env = self.env(user=self.manager)
        tier = {
            "name": "Fuzz tier",
            "company_id": self.company.id,
            "threshold": data.draw(HOSTILE),
            "points_multiplier": data.draw(HOSTILE),
            "minimum_stay_days": data.draw(HOSTILE),
            "sequence": data.draw(HOSTILE),
        }
        self.attempt(lambda: rpc(env, "customer.tier", "create", tier))

    @FUZZ_SETTINGS
    @given(data=st.data())
    def test_coupon_batch(self, data):
        env = self.env(user=self.manager)
        vals = {
            "name": "Fuzz batch",
            "company_id": self.company.id,
            "program_id": data.draw(st.one_of(st.just(self.program.id), HOSTILE)),
            "target": data.draw(
                st.one_of(st.sampled_from(["members", "filter"]), JUNK)
            ),
            "per_customer_limit": data.draw(HOSTILE),
            "validity_days": data.draw(HOSTILE),
            "filter_domain": data.draw(
                st.one_of(
                    st.sampled_from(
                        [
                            "[]",
                            "[('points_balance', '>', 10)]",
                            "[(",
                            "__import__('os')",
                        ]
                    ),
                    JUNK,
                )
            ),
            "membership_ids": [Command.set([self.member.id, self.other_member.id])],
        }

        def call():
            batch = rpc(env, "customer.coupon.batch", "create", vals)
            rpc(env, "customer.coupon.batch", "action_issue", batch)

        self.attempt(call)

    @FUZZ_SETTINGS
    @given(
        field=st.sampled_from(
            [
                "points_balance",
                "points_pending",
                "tier_id",
                "tier_floor_id",
                "tier_floor_end_date",
                "state",
                "marketing_opt_out",
                "join_date",
                "user_id",
                "has_negative_balance",
            ]
        ),
        value=st.one_of(HOSTILE, DATES),
        as_manager=st.booleans(),
        target=st.data(),
    )
    def test_membership_writes(self, field, value, as_manager, target):
        env = self.env(user=self.manager if as_manager else self.salesperson)
        ids = [target.draw(st.one_of(self.record_ids, st.just(self.member.id)))]
        self.attempt(
            lambda: rpc(env, "customer.membership", "write", ids, {field: value})
        )

    @FUZZ_SETTINGS
    @given(
        method=st.sampled_from(
            [
                "action_adjust_points",
                "action_redeem_reward",
                "action_block",
                "action_activate",
                "action_recompute",
                "action_view_points",
                "action_issue_coupons",
            ]
        ),
        target=st.data(),
        as_manager=st.booleans(),
    )
    def test_membership_buttons_on_any_id(self, method, target, as_manager):
        env = self.env(user=self.manager if as_manager else self.salesperson)
        ids = target.draw(st.lists(self.record_ids, min_size=1, max_size=3))
        self.attempt(lambda: rpc(env, "customer.membership", method, ids))

    @FUZZ_SETTINGS
    @given(
        method=st.sampled_from(
            ["action_loyalty_redeem_points", "action_loyalty_redeem_reward"]
        ),
        target=st.data(),
    )
    def test_order_buttons_on_any_id(self, method, target):
        env = self.env(user=self.salesperson)
        ids = target.draw(st.lists(self.record_ids, min_size=1, max_size=2))
        self.attempt(lambda: rpc(env, "sale.order", method, ids))

    def test_private_methods_are_closed(self):
        env = self.env(user=self.manager)
        for model, method in [
            ("customer.point.entry", "_post"),
            ("customer.reward", "_redeem"),
            ("customer.membership", "_compute_company"),
            ("customer.integrity.check", "_check_companies"),
            ("customer.service.request", "_compensate"),
            ("customer.service.request", "_escalate_batch"),
        ]:
            with self.assertRaises(UserError):
                rpc(env, model, method, [])


@tagged("post_install", "-at_install")
class TestFuzzPortal(HttpCase):
    """The portal routes with hostile form values: 4xx or a page that says
    why, never a 500, never a coupon more."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.ref("base.main_company")
        cls.company.write(
            {"loyalty_points_enabled": True, "loyalty_points_expiry_policy": "never"}
        )
        program = cls.env["loyalty.program"].create(
            coupon_program_vals(cls.company, "Fuzz portal voucher", 10.0)
        )
        cls.reward = cls.env["customer.reward"].create(
            {
                "name": "Fuzz portal voucher",
                "company_id": cls.company.id,
                "points_cost": 100,
                "program_id": program.id,
            }
        )
        cls.user = new_test_user(
            cls.env, login="rc_fuzz_portal", groups="base.group_portal", name="Fuzz Ann"
        )
        cls.member = cls.env["customer.membership"].create(
            {"partner_id": cls.user.partner_id.id, "company_id": cls.company.id}
        )
        cls.env["customer.point.entry"]._post_adjustment(cls.member, 1000, "seed")
        other = new_test_user(
            cls.env, login="rc_fuzz_portal_b", groups="base.group_portal"
        )
        other_member = cls.env["customer.membership"].create(
            {"partner_id": other.partner_id.id, "company_id": cls.company.id}
        )
        cls.env["customer.point.entry"]._post_adjustment(other_member, 1000, "seed")
        cls.other_coupon = cls.reward._redeem(other_member)

    def _coupons(self):
        self.env.invalidate_all()
        return self.env["customer.coupon"].search_count([])

    def test_hostile_portal_values(self):
        self.authenticate("rc_fuzz_portal", "rc_fuzz_portal")
        page = self.url_open("/my/loyalty")
        self.assertEqual(page.status_code, 200)
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        values = [
            "",
            "abc",
            "-1",
            "0",
            "1.5",
            "1e9",
            "99999999999999999999999",
            "NaN",
            str(self.other_coupon.id),
            "' OR 1=1 --",
            "\u0000",
            "x" * 5000,
        ]
        before = self._coupons()
        legit = 0
        for value in values:
            for data in (
                {"reward_id": value, "token": secrets.token_urlsafe(24)},
                {"reward_id": str(self.reward.id), "token": value},
                {"reward_id": str(self.reward.id)},
            ):
                response = self.url_open(
                    "/my/loyalty/redeem",
                    data={"csrf_token": csrf, **data},
                    allow_redirects=False,
                )
                self.assertLess(response.status_code, 500, (data, response.text[:300]))
                # a well-formed one-time token with the real reward is a
                # redemption of the customer's own: that one goes through
                legit += data.get("reward_id") == str(self.reward.id) and bool(
                    TOKEN_PATTERN.match(data.get("token") or "")
                )
            for path in (
                f"/my/loyalty?redeemed={value}",
                f"/my/loyalty?page={value}",
            ):
                response = self.url_open(path, allow_redirects=False)
                self.assertLess(response.status_code, 500, (path, response.text[:300]))
            self.assertEqual(self._coupons(), before + legit, value)
        for page_number in (0, 1, 999999, 2**40):
            response = self.url_open(f"/my/loyalty/page/{page_number}")
            self.assertLess(response.status_code, 500, page_number)
        # another customer's coupon is never shown
        response = self.url_open(f"/my/loyalty?redeemed={self.other_coupon.id}")
        self.assertNotIn(self.other_coupon.code, response.text)
        # without the CSRF token the form is refused
        response = self.url_open(
            "/my/loyalty/redeem",
            data={"reward_id": str(self.reward.id), "token": secrets.token_urlsafe(24)},
            allow_redirects=False,
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self._coupons(), before + legit)
