from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import RepeatCustomerCase


@tagged("post_install", "-at_install")
class TestRfm(RepeatCustomerCase):
    def _customers(self, specs):
        """Create one customer per (recency days, orders, amount per order)."""
        partners = []
        for index, (recency, count, amount) in enumerate(specs):
            partner = self._partner(f"Customer {index}")
            for n in range(count):
                self._order(partner, amount, days_ago=recency + n)
            partners.append(partner)
        return partners

    def test_quantile_scores_direction(self):
        """Five customers with increasing recency, frequency and spend: by
        quantiles (cut points at 20/40/60/80 %) each gets a distinct score,
        more recent = higher R, more orders = higher F, more spend = higher M.
        """
        partners = self._customers(
            [(10, 1, 10.0), (20, 2, 20.0), (30, 3, 30.0), (40, 4, 40.0), (50, 5, 50.0)]
        )
        self._compute()
        scores = [
            (
                self._membership(p).rfm_recency_score,
                self._membership(p).rfm_frequency_score,
                self._membership(p).rfm_monetary_score,
            )
            for p in partners
        ]
        # recency 10..50 -> cut points 18, 26, 34, 42; frequency 1..5 -> 1.8..4.2;
        # spend 10, 40, 90, 160, 250 -> cut points 34, 70, 118, 178
        self.assertEqual(
            scores, [(5, 1, 1), (4, 2, 2), (3, 3, 3), (2, 4, 4), (1, 5, 5)]
        )
        self.assertEqual(self._membership(partners[0]).rfm_score, "511")
        cutpoints = self.company.loyalty_rfm_cutpoints
        self.assertEqual(cutpoints["method"], "quantile")
        self.assertEqual(cutpoints["recency"], [18.0, 26.0, 34.0, 42.0])

    def test_ties_get_equal_scores(self):
        partners = self._customers(
            [(10, 2, 50.0), (10, 2, 50.0), (10, 2, 50.0), (90, 1, 5.0), (200, 6, 80.0)]
        )
        self._compute()
        first = self._membership(partners[0])
        for partner in partners[1:3]:
            self.assertEqual(self._membership(partner).rfm_score, first.rfm_score)
        self.assertEqual(self._membership(partners[1]).segment_id, first.segment_id)

    def test_fixed_thresholds(self):
        self.company.write(
            {
                "loyalty_rfm_method": "threshold",
                "loyalty_rfm_recency_thresholds": "30,90,180,365",
                "loyalty_rfm_frequency_thresholds": "2,3,5,10",
                "loyalty_rfm_monetary_thresholds": "100,200,500,1000",
            }
        )
        # recency exactly 30 -> 5; 31 -> 4; 3 orders -> F3; 3 x 100 = 300 -> M3
        on_limit, past_limit = self._customers([(30, 1, 100.0), (31, 3, 100.0)])
        self._compute()
        self.assertEqual(self._membership(on_limit).rfm_score, "512")
        self.assertEqual(self._membership(past_limit).rfm_score, "433")

    def test_segment_assignment(self):
        segment = self.env.ref
        self.company.write(
            {
                "loyalty_rfm_method": "threshold",
                "loyalty_rfm_recency_thresholds": "30,90,180,365",
                "loyalty_rfm_frequency_thresholds": "2,3,5,10",
            }
        )
        champion, new, lost, at_risk, cannot_lose = self._customers(
            [
                (1, 10, 10.0),
                (2, 1, 10.0),
                (500, 1, 10.0),
                (300, 3, 10.0),
                (400, 12, 1.0),
            ]
        )
        self._compute()
        expected = {
            champion: "repeat_customer.segment_champions",
            new: "repeat_customer.segment_new",
            lost: "repeat_customer.segment_lost",
            at_risk: "repeat_customer.segment_at_risk",
            cannot_lose: "repeat_customer.segment_cannot_lose",
        }
        for partner, xmlid in expected.items():
            self.assertEqual(self._membership(partner).segment_id, segment(xmlid))

    def test_every_score_cell_has_one_segment(self):
        """The shipped segments cover each of the 25 R x F cells exactly once."""
        segments = self.env["customer.segment"].search([("company_id", "=", False)])
        self.assertEqual(len(segments), 11)
        for r in range(1, 6):
            for f in range(1, 6):
                matching = segments.filtered(
                    lambda s, r=r, f=f: (
                        s.recency_min <= r <= s.recency_max
                        and s.frequency_min <= f <= s.frequency_max
                    )
                )
                self.assertEqual(len(matching), 1, f"R{r} F{f}")

    def test_segment_move_logged_and_snapshot(self):
        self.company.write(
            {
                "loyalty_rfm_method": "threshold",
                "loyalty_rfm_recency_thresholds": "30,90,180,365",
                "loyalty_rfm_frequency_thresholds": "2,3,5,10",
            }
        )
        (partner,) = self._customers([(2, 1, 10.0)])
        self._compute()
        membership = self._membership(partner)
        self.assertEqual(
            membership.segment_id, self.env.ref("repeat_customer.segment_new")
        )
        messages_before = len(membership.message_ids)
        # thresholds change: one order is now worth F2 -> potential loyalist
        self.company.loyalty_rfm_frequency_thresholds = "1,3,5,10"
        self._compute()
        potential = self.env.ref("repeat_customer.segment_potential_loyalist")
        self.assertEqual(membership.segment_id, potential)
        self.assertEqual(len(membership.message_ids), messages_before + 1)
        self.assertIn("Potential loyalist", membership.message_ids[0].body)
        self.assertIn("New", membership.message_ids[0].body)
        # same day: one snapshot, updated in place, remembering no earlier day
        snapshots = membership.snapshot_ids
        self.assertEqual(len(snapshots), 1)
        self.assertEqual(snapshots.segment_id, potential)
        self.assertEqual(snapshots.rfm_score, "521")
        # running again changes nothing and posts nothing
        self._compute()
        self.assertEqual(len(membership.message_ids), messages_before + 1)
        self.assertEqual(len(membership.snapshot_ids), 1)

    def test_invalid_segment_ranges(self):
        with self.assertRaises(ValidationError):
            self.env["customer.segment"].create(
                {"name": "Broken", "recency_min": 4, "recency_max": 2}
            )
        with self.assertRaises(ValidationError):
            self.env["customer.segment"].create({"name": "Broken", "frequency_max": 6})
        self.assertFalse(self.env["customer.segment"].search([("name", "=", "Broken")]))
        with Form(self.env["customer.segment"]) as form:
            form.name = "VIP spenders"
            form.monetary_min = 5
        self.assertEqual(form.record.monetary_max, 5)


@tagged("post_install", "-at_install")
class TestRfmChinese(RepeatCustomerCase):
    def test_segment_move_note_in_company_language(self):
        """The shipped zh_CN translation loads, and segment moves are noted in
        the company's language whoever runs the computation."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(
            ["repeat_customer"], ["zh_CN"], overwrite=True
        )
        self.company.partner_id.lang = "zh_CN"
        self.company.write(
            {
                "loyalty_rfm_method": "threshold",
                "loyalty_rfm_recency_thresholds": "30,90,180,365",
                "loyalty_rfm_frequency_thresholds": "2,3,5,10",
            }
        )
        partner = self._partner("王芳")
        self._order(partner, 10.0, days_ago=2)
        self._compute()
        self.company.loyalty_rfm_frequency_thresholds = "1,3,5,10"
        self._compute()
        membership = self._membership(partner)
        body = membership.message_ids[0].body
        self.assertIn("RFM 分群已变更", body)
        self.assertIn("新客户", body)
        self.assertIn("潜力忠诚客户", body)
