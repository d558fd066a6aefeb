from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import RepeatCustomerCase


@tagged("post_install", "-at_install")
class TestSettings(RepeatCustomerCase):
    def _settings(self):
        return Form(self.env["res.config.settings"].with_company(self.company))

    def test_settings_form_saves(self):
        form = self._settings()
        form.loyalty_rfm_window_days = 365
        form.loyalty_rfm_method = "threshold"
        form.loyalty_rfm_recency_thresholds = "7, 30, 60, 120"
        form.loyalty_churn_medium_threshold = 0.4
        form.loyalty_churn_high_threshold = 0.7
        form.save().execute()
        self.assertEqual(self.company.loyalty_rfm_window_days, 365)
        self.assertEqual(self.company.loyalty_rfm_method, "threshold")
        self.assertEqual(
            self.company._loyalty_thresholds()["recency"], [7.0, 30.0, 60.0, 120.0]
        )

    def test_invalid_settings_refused(self):
        bad_values = [
            {"loyalty_rfm_window_days": 0},
            {"loyalty_rfm_window_days": -30},
            {"loyalty_rfm_recency_thresholds": "30,20,180,365"},
            {"loyalty_rfm_recency_thresholds": "30,30,180,365"},
            {"loyalty_rfm_frequency_thresholds": "2,3,5"},
            {"loyalty_rfm_monetary_thresholds": "a,b,c,d"},
            {"loyalty_rfm_monetary_thresholds": ""},
            {"loyalty_rfm_monetary_thresholds": "-5,1,2,3"},
            {"loyalty_churn_medium_threshold": 0.0},
            {"loyalty_churn_high_threshold": 1.2},
            {
                "loyalty_churn_medium_threshold": 0.9,
                "loyalty_churn_high_threshold": 0.5,
            },
            {"loyalty_churn_medium_threshold": -0.1},
        ]
        before = {
            name: self.company[name]
            for name in (
                "loyalty_rfm_window_days",
                "loyalty_rfm_recency_thresholds",
                "loyalty_rfm_frequency_thresholds",
                "loyalty_rfm_monetary_thresholds",
                "loyalty_churn_medium_threshold",
                "loyalty_churn_high_threshold",
            )
        }
        for values in bad_values:
            with self.subTest(values=values):
                with self.assertRaises(ValidationError), self.cr.savepoint():
                    self.company.write(values)
                self.company.invalidate_recordset()
                for name, value in before.items():
                    self.assertEqual(self.company[name], value)

    def test_invalid_settings_through_form(self):
        form = self._settings()
        form.loyalty_rfm_window_days = 0
        with self.assertRaises(ValidationError):
            form.save().execute()

    def test_error_message_is_clear(self):
        with self.assertRaises(ValidationError) as caught, self.cr.savepoint():
            self.company.loyalty_rfm_frequency_thresholds = "5,3,2,1"
        self.assertIn("strictly increasing", str(caught.exception))
