"""Where members live, their age band and gender, stored for grouping."""

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.demographics import AGE_BANDS, age_band, age_band_sql
from ..tools.numbers import pg_array


class CustomerMembership(models.Model):
    _inherit = "customer.membership"

    country_id = fields.Many2one(
        related="partner_id.country_id", store=True, string="Country", index=True
    )
    state_id = fields.Many2one(
        related="partner_id.state_id", store=True, string="State"
    )
    city = fields.Char(related="partner_id.city", store=True, string="City")
    gender = fields.Selection(related="partner_id.gender", store=True, string="Gender")
    age_band = fields.Selection(
        [(key, label) for key, label, _low, _high in AGE_BANDS],
        string="Age Band",
        compute="_compute_age_band",
        store=True,
        help="From the customer's birthday, on the company's day; kept "
        "current by the nightly computation.",
    )

    @api.depends("partner_id.birthdate_date", "company_id")
    def _compute_age_band(self):
        todays = {}
        for membership in self:
            company = membership.company_id
            if company not in todays:
                todays[company] = company._loyalty_today() if company else None
            today = todays[company]
            membership.age_band = (
                age_band(membership.partner_id.birthdate_date, today)
                if today
                else False
            )

    @api.model
    def _update_age_bands(self, company, membership_ids):
        """Move the members of ``membership_ids`` whose birthday passed into
        their new band, in one UPDATE."""
        if not membership_ids:
            return
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_membership m
                   SET age_band = b.band
                  FROM (SELECT m2.id, %(band)s AS band
                          FROM customer_membership m2
                          JOIN res_partner p ON p.id = m2.partner_id
                         WHERE m2.id = ANY(%(ids)s::int[])) b
                 WHERE m.id = b.id
                   AND m.age_band IS DISTINCT FROM b.band
                """,
                band=age_band_sql(
                    SQL("p.birthdate_date"), SQL("%s::date", company._loyalty_today())
                ),
                ids=pg_array(membership_ids),
            )
        )
        if self.env.cr.rowcount:
            self.invalidate_model(["age_band"])
