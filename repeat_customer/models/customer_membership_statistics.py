"""Purchase statistics of the members, from orders or invoices, in SQL."""

from odoo import api, fields, models
from odoo.tools import SQL


class CustomerMembership(models.Model):
    _inherit = "customer.membership"

    # ------------------------------------------------------------------
    # Statistics
    # ------------------------------------------------------------------
    @api.model
    def _purchases_query(self, company):
        """SQL of the purchases of the members in the temporary batch ``mem``.

        Rows: membership id, purchase day, untaxed amount in company currency,
        and 1 for a purchase or 0 for a credit note.
        """
        if company.loyalty_stats_source == "invoice":
            return SQL(
                """
                SELECT mem.id, am.invoice_date,
                       am.amount_untaxed_signed,
                       CASE WHEN am.move_type = 'out_invoice' THEN 1 ELSE 0 END
                  FROM mem
                  JOIN account_move am ON am.commercial_partner_id = mem.partner_id
                 WHERE am.company_id = %(company)s
                   AND am.state = 'posted'
                   AND am.move_type IN ('out_invoice', 'out_refund')
                """,
                company=company.id,
            )
        return SQL(
            """
            SELECT mem.id,
                   (so.date_order AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date,
                   so.amount_untaxed / COALESCE(NULLIF(so.currency_rate, 0), 1.0),
                   1
              FROM mem
              JOIN res_partner p ON p.commercial_partner_id = mem.partner_id
              JOIN sale_order so ON so.partner_id = p.id
             WHERE so.company_id = %(company)s
               AND so.state = 'sale'
            """,
            company=company.id,
            tz=company._loyalty_tz(),
        )

    @api.model
    def _update_statistics(self, company, membership_ids):
        """Recompute the purchase statistics of ``membership_ids`` in one UPDATE.

        Every figure is recomputed from all documents; only the members whose
        figures changed are written.
        """
        if not membership_ids:
            return
        today = company._loyalty_today()
        window_start = fields.Date.subtract(today, days=company.loyalty_rfm_window_days)
        self.env.cr.execute(
            SQL(
                """
                WITH mem AS (
                    SELECT id, partner_id
                      FROM customer_membership
                     WHERE id = ANY(%(ids)s) AND company_id = %(company)s
                ),
                purchase(membership_id, day, amount, is_order) AS (%(purchases)s),
                agg AS (
                    SELECT membership_id,
                           min(day) FILTER (WHERE is_order = 1) AS first_day,
                           max(day) FILTER (WHERE is_order = 1) AS last_day,
                           sum(is_order) AS order_count,
                           count(DISTINCT day) FILTER (WHERE is_order = 1)
                               AS day_count,
                           sum(amount) AS total,
                           sum(is_order) FILTER (WHERE day > %(window_start)s)
                               AS window_count,
                           sum(amount) FILTER (WHERE day > %(window_start)s)
                               AS window_total
                      FROM purchase
                     GROUP BY membership_id
                ),
                new AS (
                    SELECT mem.id,
                           agg.first_day,
                           agg.last_day,
                           COALESCE(agg.order_count, 0) AS order_count,
                           COALESCE(agg.day_count, 0) AS day_count,
                           COALESCE(agg.total, 0) AS total,
                           COALESCE(agg.total / NULLIF(agg.order_count, 0), 0)
                               AS average,
                           COALESCE(agg.window_count, 0) AS window_count,
                           COALESCE(agg.window_total, 0) AS window_total
                      FROM mem
                      LEFT JOIN agg ON agg.membership_id = mem.id
                )
                UPDATE customer_membership m
                   SET first_order_date = new.first_day,
                       last_order_date = new.last_day,
                       order_count = new.order_count,
                       purchase_day_count = new.day_count,
                       total_spent = new.total,
                       average_order_value = new.average,
                       rfm_frequency = new.window_count,
                       rfm_monetary = new.window_total
                  FROM new
                 WHERE m.id = new.id
                   AND (m.first_order_date, m.last_order_date, m.order_count,
                        m.purchase_day_count, m.total_spent, m.average_order_value,
                        m.rfm_frequency, m.rfm_monetary)
                       IS DISTINCT FROM
                       (new.first_day, new.last_day, new.order_count,
                        new.day_count, new.total, new.average,
                        new.window_count, new.window_total)
                """,
                ids=list(membership_ids),
                company=company.id,
                purchases=self._purchases_query(company),
                window_start=window_start,
            )
        )
