from datetime import date

from freezegun import freeze_time

from odoo.tests import tagged

from .common import RewardsCase


@tagged("post_install", "-at_install")
class TestCompanyToday(RewardsCase):
    """One "today": the company's date in its time zone (issue 10, item 5).
    Shanghai is 8 hours ahead of UTC: 23:30 UTC is 07:30 the next day."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "Asia/Shanghai"

    def test_company_today(self):
        utc_company = self.env["res.company"].create({"name": "UTC Co"})
        utc_company.partner_id.tz = "UTC"
        with freeze_time("2026-03-09 17:00:00"):
            self.assertEqual(self.company._loyalty_today(), date(2026, 3, 10))
            self.assertEqual(utc_company._loyalty_today(), date(2026, 3, 9))
            self.assertEqual(
                (self.company | utc_company)._loyalty_todays(),
                {
                    str(self.company.id): "2026-03-10",
                    str(utc_company.id): "2026-03-09",
                },
            )

    def test_coupon_used_at_0730_in_shanghai(self):
        membership = self._member(self.customer, 500)
        coupon = self.reward._redeem(membership)
        quotation = self._quotation(self.customer, 100.0)
        self._apply_code(quotation, coupon.code)
        with freeze_time("2026-03-09 23:30:00"):
            quotation.action_confirm()
        coupon.invalidate_recordset()
        self.assertEqual(coupon.state, "used")
        self.assertEqual(coupon.used_date, date(2026, 3, 10))

    def test_coupon_expires_after_the_companys_last_day(self):
        membership = self._member(self.customer, 500)
        coupon = self.reward._redeem(membership)
        coupon.card_id.expiration_date = date(2026, 3, 9)
        with freeze_time("2026-03-09 15:00:00"):  # 23:00 in Shanghai: still valid
            self.Coupon._cron_expire_coupons()
        coupon.invalidate_recordset()
        self.assertEqual(coupon.state, "issued")
        with freeze_time("2026-03-09 17:00:00"):  # 01:00 on 10 March in Shanghai
            self.Coupon._cron_expire_coupons()
        coupon.invalidate_recordset()
        self.assertEqual(coupon.state, "expired")

    def test_points_lines_are_dated_in_the_companys_day(self):
        membership = self._member(self.customer)
        with freeze_time("2026-03-09 23:30:00"):
            entry = self._give(membership, 10)
        self.assertEqual(entry.date, date(2026, 3, 10))
