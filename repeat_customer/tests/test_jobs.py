from odoo.tests import tagged

from ..models.customer_tier import REVIEW_STATE_PARAM
from .common import PointsCase, run_until_done


@tagged("post_install", "-at_install")
class TestJobPlumbing(PointsCase):
    """The batch jobs share their plumbing (issue 10, item 4): each reads a
    batch size of its own, keeps a state that survives a bad value, and
    reports its progress."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for index in range(3):
            cls._order(cls._partner(f"Member {index}"), 100.0 * (index + 1))
        cls.params = cls.env["ir.config_parameter"].sudo()

    def test_each_job_reads_its_own_batch_size(self):
        Tier = self.env["customer.tier"]
        total = self.env["customer.membership"].search_count([])
        companies = self.env["res.company"].search([])
        first_company_members = self.env["customer.membership"].search_count(
            [("company_id", "=", companies[0].id)]
        )
        # the ledger's batch size does not drive the tier review any more
        self.params.set_param("repeat_customer.ledger_batch_size", "1")
        self.params.set_param("repeat_customer.tier_batch_size", "1000000")
        self.assertEqual(Tier._cron_review_tiers(), total - first_company_members)
        Tier._job_save_state(REVIEW_STATE_PARAM, {})
        self.params.set_param("repeat_customer.tier_batch_size", "1")
        self.assertEqual(Tier._cron_review_tiers(), total - 1)
        state = Tier._job_state(REVIEW_STATE_PARAM)
        self.assertTrue(state["company_ids"])
        self.assertTrue(state["last_id"])

    def test_bad_parameters_fall_back(self):
        Tier = self.env["customer.tier"]
        for value, expected in (("abc", 7), ("0", 1), ("-5", 1), ("12", 12), ("", 7)):
            self.params.set_param("repeat_customer.tier_batch_size", value)
            self.assertEqual(
                Tier._job_batch_size("repeat_customer.tier_batch_size", 7), expected
            )
        for raw in ("not json", "[1, 2]", "42"):
            self.params.set_param(REVIEW_STATE_PARAM, raw)
            self.assertEqual(Tier._job_state(REVIEW_STATE_PARAM), {})
        # a run after a corrupt state starts afresh and ends
        run_until_done(Tier._cron_review_tiers)
        self.assertEqual(Tier._job_state(REVIEW_STATE_PARAM), {})
