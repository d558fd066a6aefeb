"""The ledger's one writer (``customer.point.entry._post``) and its
consumption contract, rule by rule."""

from datetime import timedelta

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import PointsCase


@tagged("post_install", "-at_install")
class TestLedgerWriter(PointsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.member = cls.env["customer.membership"].create(
            {"partner_id": cls.customer.id, "company_id": cls.company.id}
        )
        cls.Writer = cls.Entry.sudo()

    def _consumed(self, consumer):
        return {
            (c.source_entry_id.id, c.points)
            for c in self.env["customer.point.consumption"].search(
                [("consumer_entry_id", "=", consumer.id)]
            )
        }

    def _counts(self):
        self.env.cr.execute(
            "SELECT (SELECT count(*) FROM customer_point_entry),"
            " (SELECT count(*) FROM customer_point_consumption)"
        )
        return self.env.cr.fetchone()

    def test_every_kind_goes_through_post(self):
        """Earn, adjust, redeem, expire and reverse, and ORM create() too,
        are written by ``_post``: same defaults, balances moved by delta."""
        today = self.company._loyalty_today()
        earn = self.Writer.create(
            {
                "membership_id": self.member.id,
                "kind": "earn",
                "points": 100,
                "expiry_date": today + timedelta(days=30),
            }
        )
        self.assertEqual(earn.remaining_points, 100)
        self.assertEqual(earn.date, today)
        self.assertEqual(earn.state, "available")
        self.assertEqual(earn.user_id, self.env.user)
        self.assertEqual(earn.company_id, self.company)
        self.assertEqual(self.member.points_balance, 100)
        redeem = self.Entry._post_redemption(self.member, 30)
        self.assertEqual(redeem.remaining_points, 0)
        self.assertEqual(self._consumed(redeem), {(earn.id, 30)})
        back = self.Entry._reverse(redeem)
        self.assertEqual(back.points, 30)
        self.assertEqual(back.remaining_points, 0)
        self.assertEqual(self._consumed(back), {(earn.id, -30)})
        self.assertEqual(earn.remaining_points, 100)
        self.assertEqual(self.member.points_balance, 100)
        self._assert_balances_match_ledger(self.member)

    def test_bad_lines_refused_and_nothing_written(self):
        before = self._counts()
        good = {"membership_id": self.member.id, "kind": "adjust", "reason": "x"}
        for bad, message in [
            ({**good, "points": 0}, "whole number"),
            ({**good, "points": 1.5}, "whole number"),
            ({**good, "points": True}, "whole number"),
            ({**good, "points": 5, "reason": " "}, "needs a reason"),
            ({**good, "points": 5, "kind": "gift"}, "valid type"),
            ({**good, "points": -5, "kind": "earn"}, "cannot have"),
            ({**good, "points": 5, "kind": "redeem"}, "cannot have"),
            ({**good, "points": 5, "kind": "reverse"}, "the line it reverses"),
            ({**good, "points": 5, "state": "lost"}, "pending or available"),
            ({**good, "points": 5, "membership_id": 0}, "existing membership"),
            ({**good, "points": 5, "membership_id": "1"}, "existing membership"),
            ({**good, "points": 5, "remaining": 5}, "no field remaining"),
            ({**good, "points": 5, "rule_ids": ["a"]}, "by their ids"),
        ]:
            with self.subTest(bad=bad):
                with self.assertRaisesRegex(UserError, message), self.cr.savepoint():
                    # a good line first: the whole call is refused
                    self.Writer._post([{**good, "points": 1}, bad])
        self.assertEqual(self._counts(), before)

    def test_spend_above_balance_refused(self):
        """Rule 4, for two spends of one member in one call."""
        self._give(self.member, 50)
        before = self._counts()
        line = {"membership_id": self.member.id, "kind": "redeem", "points": -30}
        with self.assertRaisesRegex(UserError, "not enough"), self.cr.savepoint():
            self.Writer._post([line, dict(line)])
        self.assertEqual(self._counts(), before)
        spent = self.Writer._post([dict(line, points=-20), line])
        self.assertEqual(spent.mapped("remaining_points"), [0, 0])
        self.assertEqual(self.member.points_balance, 0)
        self._assert_balances_match_ledger(self.member)

    def test_fifo_by_validity(self):
        """Rule 2: the line that expires first first, lines without expiry
        last, then by date and id; pending points are never taken (rule 1)."""
        today = self.company._loyalty_today()
        late = self._give(self.member, 10, expiry_date=today + timedelta(days=90))
        never = self.Writer._post(
            [
                {
                    "membership_id": self.member.id,
                    "kind": "adjust",
                    "points": 10,
                    "reason": "no expiry",
                    "expiry_date": False,
                }
            ]
        )
        soon = self._give(self.member, 10, expiry_date=today + timedelta(days=5))
        pending = self.Writer._post(
            [
                {
                    "membership_id": self.member.id,
                    "kind": "earn",
                    "points": 100,
                    "state": "pending",
                    "expiry_date": today + timedelta(days=1),
                }
            ]
        )
        spend = self.Entry._post_redemption(self.member, 25)
        self.assertEqual(
            self._consumed(spend), {(soon.id, 10), (late.id, 10), (never.id, 5)}
        )
        self.assertEqual(pending.remaining_points, 100)
        self.assertEqual(never.remaining_points, 5)
        self._assert_balances_match_ledger(self.member)

    def test_several_reversals_of_one_member_in_one_call(self):
        """Rules 6 and 7 when one call reverses two spent earnings of the same
        member: each takes back from its own line, the rest is one debt each,
        settled later oldest first, never taken twice."""
        today = self.company._loyalty_today()
        lines = self.Writer._post(
            [
                {
                    "membership_id": self.member.id,
                    "kind": "earn",
                    "points": points,
                    "expiry_date": today + timedelta(days=30),
                }
                for points in (40, 60)
            ]
        )
        self.Entry._post_redemption(self.member, 90)  # 10 left, on the second
        reversals = self.Entry._reverse(lines)
        self.assertEqual(reversals.mapped("points"), [-40, -60])
        # the first line has nothing left: all owed; the second gives its 10
        self.assertEqual(reversals.mapped("remaining_points"), [-40, -50])
        self.assertEqual(self.member.points_balance, -90)
        self.assertTrue(self.member.has_negative_balance)
        self._assert_balances_match_ledger(self.member)
        gift = self._give(self.member, 70)
        # oldest debt first: 40, then 30 of the 50
        self.assertEqual(reversals.mapped("remaining_points"), [0, -20])
        self.assertEqual(gift.remaining_points, 0)
        self.assertEqual(self.member.points_balance, -20)
        self._assert_balances_match_ledger(self.member)

    def test_expiry_takes_exactly_the_expired_points(self):
        """Rule 5: only the lines whose validity ended before the date."""
        today = self.company._loyalty_today()
        old = self._give(self.member, 15, expiry_date=today - timedelta(days=1))
        current = self._give(self.member, 20, expiry_date=today)
        expiry = self.Writer._post(
            [
                {
                    "membership_id": self.member.id,
                    "kind": "expire",
                    "points": -15,
                    "date": today,
                }
            ]
        )
        self.assertEqual(self._consumed(expiry), {(old.id, 15)})
        self.assertEqual(current.remaining_points, 20)
        # an expiry that disagrees with the points left is refused, and the
        # writer itself undoes what it had written
        before = self._counts()
        with self.assertRaisesRegex(UserError, "cannot be traced"):
            self.Writer._post(
                [
                    {
                        "membership_id": self.member.id,
                        "kind": "expire",
                        "points": -5,
                        "date": today,
                    }
                ]
            )
        self.assertEqual(self._counts(), before)
        self.assertEqual(current.remaining_points, 20)
        self._assert_balances_match_ledger(self.member)

    def test_negative_balance_logged_once(self):
        first, second = self._give(self.member, 30), self._give(self.member, 30)
        self.Entry._post_redemption(self.member, 60)
        messages = self.member.message_ids
        self.Entry._reverse(first, {first.id: 10})
        self.Entry._reverse(second, {second.id: 10})
        notes = self.member.message_ids - messages
        self.assertEqual(len(notes.filtered(lambda m: "negative" in m.body)), 1)
        self.assertEqual(self.member.points_balance, -20)

    def test_bonus_rules_linked(self):
        rule = self.env["customer.point.rule"].create(
            {
                "name": "Double",
                "company_id": self.company.id,
                "rule_type": "birthday",
                "multiplier": 2.0,
            }
        )
        line = self.Writer._post(
            [
                {
                    "membership_id": self.member.id,
                    "kind": "earn",
                    "points": 8,
                    "rule_ids": [rule.id],
                }
            ]
        )
        self.assertEqual(line.rule_ids, rule)
        created = self.Writer.create(
            {
                "membership_id": self.member.id,
                "kind": "earn",
                "points": 8,
                "rule_ids": [(6, 0, rule.ids)],
            }
        )
        self.assertEqual(created.rule_ids, rule)
