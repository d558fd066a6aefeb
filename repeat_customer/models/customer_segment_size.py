from odoo import api, fields, models
from odoo.tools import SQL


class CustomerSegmentSize(models.Model):
    """How many members each RFM segment and each tier held on a day, one row
    per company, day and segment (or tier), written by the nightly
    computation. Grouped by week or month, the figure is the average size
    over the period."""

    _name = "customer.segment.size"
    _inherit = ["customer.values.mixin"]
    _description = "Members per Segment or Tier on a Day"
    _order = "date desc, company_id, kind, id"
    _rec_name = "date"

    company_id = fields.Many2one(
        "res.company", string="Company", required=True, readonly=True, index=True
    )
    date = fields.Date(string="Date", required=True, readonly=True, index=True)
    kind = fields.Selection(
        selection=[("segment", "RFM segment"), ("tier", "Tier")],
        string="Of",
        required=True,
        readonly=True,
    )
    segment_id = fields.Many2one(
        "customer.segment", string="Segment", readonly=True, ondelete="cascade"
    )
    tier_id = fields.Many2one(
        "customer.tier", string="Tier", readonly=True, ondelete="cascade"
    )
    member_count = fields.Integer(
        string="Members",
        readonly=True,
        aggregator="avg",
        help="Members in the segment or tier that night; over a week or a "
        "month, the average of the nights.",
    )

    def init(self):
        self.env.cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS customer_segment_size_day_uniq
                ON customer_segment_size (company_id, date, kind,
                                          COALESCE(segment_id, 0),
                                          COALESCE(tier_id, 0))
            """
        )

    @api.model
    def _record_sizes(self, company, day=None):
        """Write the sizes of ``company``'s segments and tiers on ``day``
        (default: its today), replacing those of a run earlier that day.
        Segments and tiers without members get a 0, so that averages over a
        period are right. Two statements, whatever the number of members."""
        day = day or company._loyalty_today()
        self.env["customer.membership"].flush_model(["segment_id", "tier_id"])
        self.env.cr.execute(
            SQL(
                """
                DELETE FROM customer_segment_size
                 WHERE company_id = %(company)s AND date = %(day)s;
                INSERT INTO customer_segment_size
                       (company_id, date, kind, segment_id, tier_id, member_count,
                        create_uid, create_date, write_uid, write_date)
                SELECT %(company)s, %(day)s, 'segment', s.id, NULL, count(m.id),
                       %(uid)s, now() at time zone 'UTC',
                       %(uid)s, now() at time zone 'UTC'
                  FROM customer_segment s
                  LEFT JOIN customer_membership m
                    ON m.segment_id = s.id AND m.company_id = %(company)s
                 WHERE s.active AND (s.company_id IS NULL
                                     OR s.company_id = %(company)s)
                 GROUP BY s.id
                UNION ALL
                SELECT %(company)s, %(day)s, 'tier', NULL, t.id, count(m.id),
                       %(uid)s, now() at time zone 'UTC',
                       %(uid)s, now() at time zone 'UTC'
                  FROM customer_tier t
                  LEFT JOIN customer_membership m
                    ON m.tier_id = t.id AND m.company_id = %(company)s
                 WHERE t.active AND t.company_id = %(company)s
                 GROUP BY t.id
                """,
                company=company.id,
                day=day,
                uid=self.env.uid,
            )
        )
        self.invalidate_model()
