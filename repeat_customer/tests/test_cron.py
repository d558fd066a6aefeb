from odoo.tests import tagged

from .common import RepeatCustomerCase, run_until_done

FIGURES = [
    "order_count",
    "total_spent",
    "first_order_date",
    "last_order_date",
    "recency_days",
    "rfm_score",
    "segment_id",
    "churn_probability",
    "churn_risk",
    "expected_purchases_90d",
]


@tagged("post_install", "-at_install")
class TestCron(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partners = cls.env["res.partner"]
        for index in range(12):
            partner = cls._partner(f"Cron customer {index}")
            for n in range(index % 4 + 1):
                cls._order(partner, 10.0 * (index + 1), days_ago=15 * index + 40 * n)
            cls.partners |= partner
        cls.env["ir.config_parameter"].sudo().set_param(
            "repeat_customer.batch_size", "5"
        )

    def _run_cron_to_end(self):
        """Call the cron method like the scheduler does: until no work remains."""
        return run_until_done(self.Membership._cron_compute_customers, limit=200)

    def _figures(self):
        memberships = self.Membership.search(
            [("company_id", "=", self.company.id)], order="id"
        )
        memberships.invalidate_recordset()
        return [tuple(m[f] for f in FIGURES) for m in memberships]

    def test_cron_batches_and_reruns_identically(self):
        # wipe the figures written at confirmation so the cron does all the work
        self.env.cr.execute(
            "UPDATE customer_membership SET order_count = 0, segment_id = NULL"
            " WHERE company_id = %s",
            [self.company.id],
        )
        calls = self._run_cron_to_end()
        companies = self.env["res.company"].search_count([])
        # per company: enrol, prepare, one end-of-stats and one end-of-score call,
        # plus one call per batch of 5 memberships for stats and for scoring
        self.assertGreaterEqual(calls, 4 * companies + 2 * 3)
        first = self._figures()
        self.assertEqual(len(first), 12)
        self.assertEqual(first[11][0], 4)  # customer 11: 11 % 4 + 1 orders
        self.assertTrue(all(row[5] for row in first), "every buyer is scored")
        snapshots = self.env["customer.rfm.snapshot"].search_count(
            [("company_id", "=", self.company.id)]
        )
        self.assertEqual(snapshots, 12)
        messages = self.env["mail.message"].search_count(
            [("model", "=", "customer.membership")]
        )
        self._run_cron_to_end()
        self.assertEqual(self._figures(), first)
        self.assertEqual(
            self.env["customer.rfm.snapshot"].search_count(
                [("company_id", "=", self.company.id)]
            ),
            12,
        )
        self.assertEqual(
            self.env["mail.message"].search_count(
                [("model", "=", "customer.membership")]
            ),
            messages,
        )

    def test_cron_resumes_after_interrupted_run(self):
        """A run stopped between batches (crash, timeout) resumes where it was
        and ends with the same figures as an uninterrupted one."""
        self._run_cron_to_end()
        reference = self._figures()
        for _step in range(3):
            self.Membership._cron_compute_customers()
        self.assertTrue(self.Membership._nightly_state(), "run in progress")
        self._run_cron_to_end()
        self.assertEqual(self._figures(), reference)

    def test_cron_record_and_progress(self):
        cron = self.env.ref("repeat_customer.ir_cron_compute_customers")
        self.assertEqual(cron.code.strip(), "model._cron_compute_customers()")
        # through the cron's own progress tracking
        progress = self.env["ir.cron.progress"].create({"cron_id": cron.id})
        self.Membership.with_context(
            ir_cron_progress_id=progress.id
        )._cron_compute_customers()
        self.assertGreater(progress.done, 0)
        self.assertGreater(progress.remaining, 0)

    def test_server_action_recompute(self):
        membership = self.Membership.search([("partner_id", "=", self.partners[3].id)])
        self.env.cr.execute(
            "UPDATE customer_membership SET order_count = 0, rfm_score = NULL"
            " WHERE id = %s",
            [membership.id],
        )
        membership.invalidate_recordset()
        action = self.env.ref("repeat_customer.customer_membership_action_recompute")
        action.with_context(
            active_model="customer.membership",
            active_ids=membership.ids,
            active_id=membership.id,
        ).run()
        self.assertEqual(membership.order_count, 4)
        self.assertTrue(membership.rfm_score)
