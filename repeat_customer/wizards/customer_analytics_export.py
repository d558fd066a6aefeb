"""The retention analytics as XLSX files: the member list, the cohort
matrix and the rates by month, for a company, a period and the overview's
filters."""

from odoo import fields, models

from ..models.customer_overview import DEFAULT_PERIOD, PERIODS
from ..tools.numbers import one_record


class CustomerAnalyticsExport(models.TransientModel):
    _name = "customer.analytics.export"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Analytics Export"

    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.user.company_ids.ids)],
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    months = fields.Selection(
        [(str(p), str(p)) for p in PERIODS],
        string="Period (months)",
        required=True,
        default=str(DEFAULT_PERIOD),
        help="The cohorts and the rates of this many months, the current one included.",
    )
    tier_id = fields.Many2one(
        "customer.tier", string="Tier", domain="[('company_id', '=', company_id)]"
    )
    segment_id = fields.Many2one("customer.segment", string="Segment")
    country_id = fields.Many2one("res.country", string="Country")
    home_store_id = fields.Many2one(
        "customer.store",
        string="Home Store",
        domain="[('company_id', '=', company_id)]",
        help="The members whose home store it is.",
    )

    def _spec(self):
        """The overview's filter spec of this export (checked the same way)."""
        one_record(self)
        return self.env["customer.overview"]._parse_filters(
            {
                "company_id": self.company_id.id,
                "months": int(self.months),
                "tier_id": self.tier_id.id,
                "segment_id": self.segment_id.id,
                "country_id": self.country_id.id,
                "home_store_id": self.home_store_id.id,
            }
        )

    def action_members_xlsx(self):
        return self._report("repeat_customer.analytics_members_xlsx")

    def action_cohorts_xlsx(self):
        return self._report("repeat_customer.analytics_cohorts_xlsx")

    def action_rates_xlsx(self):
        return self._report("repeat_customer.analytics_rates_xlsx")

    def _report(self, xmlid):
        one_record(self)
        self._spec()
        # a spreadsheet: no PDF layout to set up first, even for an
        # administrator whose company has none yet
        return self.env.ref(xmlid).report_action(self, config=False)
