import json
import logging

import numpy as np

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools import bgnbd

_logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 20000
NIGHTLY_STATE_PARAM = "repeat_customer.nightly_state"
BATCH_SIZE_PARAM = "repeat_customer.batch_size"
QUANTILES = [0.2, 0.4, 0.6, 0.8]
# The churn model is fitted on at most this many members, drawn evenly by id:
# the fit is statistically stable long before that and memory stays bounded.
FIT_SAMPLE_SIZE = 200000
MIN_FIT_MEMBERS = 10
DAYS_PER_PERIOD = 7.0  # BG/NBD works in weeks
CHURN_HORIZON_DAYS = 90


class CustomerMembership(models.Model):
    _name = "customer.membership"
    _description = "Customer Membership"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Member Number", readonly=True, copy=False, index="trigram"
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
        domain="[('parent_id', '=', False)]",
        help="The commercial entity: orders of its contacts count for it.",
    )
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        related="partner_id.user_id",
        store=True,
        index=True,
    )
    join_date = fields.Date(
        string="Member Since", default=fields.Date.context_today, required=True
    )
    state = fields.Selection(
        selection=[("active", "Active"), ("blocked", "Blocked")],
        string="Status",
        default="active",
        required=True,
        tracking=True,
    )
    # purchase statistics (lifetime)
    first_order_date = fields.Date(string="First Purchase", readonly=True)
    last_order_date = fields.Date(string="Last Purchase", readonly=True)
    order_count = fields.Integer(
        string="Orders",
        readonly=True,
        help="Confirmed orders (or posted invoices, per setting) of all time.",
    )
    purchase_day_count = fields.Integer(
        string="Purchase Days",
        readonly=True,
        help="Distinct days with a purchase; repeat purchases for the churn "
        "model are this number minus one.",
    )
    total_spent = fields.Monetary(
        string="Total Spent",
        readonly=True,
        help="Untaxed amount of all purchases in company currency, foreign "
        "currencies converted at the order date, credit notes deducted.",
    )
    average_order_value = fields.Monetary(string="Average Basket", readonly=True)
    recency_days = fields.Integer(
        string="Days Since Last Purchase", readonly=True, aggregator="avg"
    )
    stats_date = fields.Datetime(string="Figures Computed On", readonly=True)
    # RFM
    rfm_frequency = fields.Integer(
        string="Orders in RFM Window",
        readonly=True,
        help="Purchases inside the RFM window, the frequency that is scored.",
    )
    rfm_monetary = fields.Monetary(
        string="Spent in RFM Window",
        readonly=True,
        help="Untaxed spend inside the RFM window, the monetary value scored.",
    )
    rfm_recency_score = fields.Integer(
        string="R Score", readonly=True, aggregator="avg", help="1 to 5, 5 is best."
    )
    rfm_frequency_score = fields.Integer(
        string="F Score", readonly=True, aggregator="avg", help="1 to 5, 5 is best."
    )
    rfm_monetary_score = fields.Integer(
        string="M Score", readonly=True, aggregator="avg", help="1 to 5, 5 is best."
    )
    rfm_score = fields.Char(
        string="RFM", readonly=True, help="Recency, frequency and monetary scores."
    )
    segment_id = fields.Many2one(
        "customer.segment", string="Segment", readonly=True, index=True
    )
    segment_color = fields.Integer(related="segment_id.color")
    # churn
    churn_probability = fields.Float(
        string="Churn Probability",
        readonly=True,
        digits=(3, 3),
        aggregator="avg",
        help="1 - P(alive) from the BG/NBD model fitted on the company's members.",
    )
    expected_purchases_90d = fields.Float(
        string="Expected Purchases (90 days)",
        readonly=True,
        digits=(16, 2),
        help="Purchases the BG/NBD model expects in the next 90 days.",
    )
    churn_risk = fields.Selection(
        selection=[("low", "Low"), ("medium", "Medium"), ("high", "High")],
        string="Churn Risk",
        readonly=True,
        index=True,
    )
    snapshot_ids = fields.One2many(
        "customer.rfm.snapshot", "membership_id", string="RFM History"
    )

    _sql_constraints = [
        (
            "partner_company_uniq",
            "unique(partner_id, company_id)",
            "A customer can be a member only once per company.",
        ),
    ]

    @api.depends("name", "partner_id")
    def _compute_display_name(self):
        for membership in self:
            membership.display_name = (
                f"{membership.partner_id.name} ({membership.name})"
                if membership.name
                else membership.partner_id.name
            )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        partners = self.env["res.partner"]
        for vals in vals_list:
            if vals.get("partner_id"):
                commercial = partners.browse(vals["partner_id"]).commercial_partner_id
                vals["partner_id"] = commercial.id
        memberships = super().create(vals_list)
        memberships._assign_member_numbers()
        memberships._refresh_figures()
        return memberships

    def write(self, vals):
        if "partner_id" in vals or "company_id" in vals:
            raise UserError(
                self.env._(
                    "The customer and company of a membership cannot change; "
                    "enrol the other customer instead."
                )
            )
        return super().write(vals)

    def _assign_member_numbers(self):
        """Give every membership of ``self`` without a number its number.

        Numbers derive from the id, so the set-wise SQL enrolment and the ORM
        give the same format.
        """
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_membership
                   SET name = 'M' || lpad(id::text, 7, '0')
                 WHERE id = ANY(%s) AND name IS NULL
                """,
                self.ids,
            )
        )
        self.invalidate_recordset(["name"])

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_view_orders(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("sale.action_orders")
        action["domain"] = [
            ("partner_id", "child_of", self.partner_id.id),
            ("company_id", "=", self.company_id.id),
        ]
        action["context"] = {"create": False}
        return action

    def action_view_snapshots(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_rfm_snapshot_action"
        )
        action["domain"] = [("membership_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_recompute(self):
        """Recompute the figures of the selected memberships now."""
        self._refresh_figures(full=True)
        return True

    def action_block(self):
        self.write({"state": "blocked"})

    def action_activate(self):
        self.write({"state": "active"})

    # ------------------------------------------------------------------
    # Enrolment
    # ------------------------------------------------------------------
    @api.model
    def _enrol_partners(self, company, partners):
        """Enrol the commercial entities of ``partners`` in ``company``.

        Set-wise and idempotent: customers already enrolled are left alone.
        Return the memberships of those customers in that company.
        """
        commercial_ids = list(set(partners.commercial_partner_id.ids))
        if not commercial_ids:
            return self.browse()
        self.flush_model()
        new_ids = self._insert_memberships(
            company,
            SQL(
                """
                SELECT cp.id, %(today)s::date
                  FROM res_partner cp
                 WHERE cp.id = ANY(%(ids)s)
                """,
                today=fields.Date.context_today(self),
                ids=commercial_ids,
            ),
        )
        self.browse(new_ids)._assign_member_numbers()
        return self.search(
            [("partner_id", "in", commercial_ids), ("company_id", "=", company.id)]
        )

    @api.model
    def _insert_memberships(self, company, select):
        """INSERT memberships from ``select`` (partner id, join date) rows.

        Return the ids of the memberships created.
        """
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO customer_membership (
                    partner_id, company_id, user_id, join_date, state,
                    create_uid, create_date, write_uid, write_date)
                SELECT src.partner_id, %(company)s, partner.user_id, src.join_date,
                       'active',
                       %(uid)s, now() at time zone 'UTC',
                       %(uid)s, now() at time zone 'UTC'
                  FROM (%(select)s) AS src(partner_id, join_date)
                  JOIN res_partner partner ON partner.id = src.partner_id
                ON CONFLICT (partner_id, company_id) DO NOTHING
                RETURNING id
                """,
                company=company.id,
                uid=self.env.uid,
                select=select,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _enrol_from_history(self, company):
        """Enrol every active customer with purchases in ``company``'s history.

        One INSERT ... SELECT over the purchase documents; the join date is the
        customer's first purchase. Return the number of new members.
        """
        self.env.flush_all()
        if company.loyalty_stats_source == "invoice":
            select = SQL(
                """
                SELECT am.commercial_partner_id, min(am.invoice_date)
                  FROM account_move am
                  JOIN res_partner cp ON cp.id = am.commercial_partner_id
                 WHERE am.company_id = %(company)s
                   AND am.state = 'posted'
                   AND am.move_type = 'out_invoice'
                   AND cp.active
                 GROUP BY am.commercial_partner_id
                """,
                company=company.id,
            )
        else:
            select = SQL(
                """
                SELECT p.commercial_partner_id,
                       min((so.date_order AT TIME ZONE 'UTC'
                            AT TIME ZONE %(tz)s)::date)
                  FROM sale_order so
                  JOIN res_partner p ON p.id = so.partner_id
                  JOIN res_partner cp ON cp.id = p.commercial_partner_id
                 WHERE so.company_id = %(company)s
                   AND so.state = 'sale'
                   AND cp.active
                 GROUP BY p.commercial_partner_id
                """,
                company=company.id,
                tz=self._company_tz(company),
            )
        new_ids = self._insert_memberships(company, select)
        self.browse(new_ids)._assign_member_numbers()
        return len(new_ids)

    # ------------------------------------------------------------------
    # Statistics
    # ------------------------------------------------------------------
    @api.model
    def _company_tz(self, company):
        return company.partner_id.tz or "UTC"

    @api.model
    def _company_today(self, company):
        return fields.Date.context_today(
            self.with_context(tz=self._company_tz(company))
        )

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
            tz=self._company_tz(company),
        )

    @api.model
    def _update_statistics(self, company, membership_ids):
        """Recompute the purchase statistics of ``membership_ids`` in one UPDATE."""
        if not membership_ids:
            return
        today = self._company_today(company)
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
                )
                UPDATE customer_membership m
                   SET first_order_date = agg.first_day,
                       last_order_date = agg.last_day,
                       order_count = COALESCE(agg.order_count, 0),
                       purchase_day_count = COALESCE(agg.day_count, 0),
                       total_spent = COALESCE(agg.total, 0),
                       average_order_value = COALESCE(
                           agg.total / NULLIF(agg.order_count, 0), 0),
                       recency_days = %(today)s::date - agg.last_day,
                       rfm_frequency = COALESCE(agg.window_count, 0),
                       rfm_monetary = COALESCE(agg.window_total, 0),
                       stats_date = now() at time zone 'UTC'
                  FROM mem
                  LEFT JOIN agg ON agg.membership_id = mem.id
                 WHERE m.id = mem.id
                """,
                ids=list(membership_ids),
                company=company.id,
                purchases=self._purchases_query(company),
                today=today,
                window_start=window_start,
            )
        )

    # ------------------------------------------------------------------
    # RFM
    # ------------------------------------------------------------------
    @api.model
    def _compute_rfm_cutpoints(self, company):
        """Return the cut points scoring R, F and M in ``company``.

        Quantile method: the 20/40/60/80 % quantiles of the members who bought
        something. Threshold method: the configured thresholds. A value gets
        a score by counting the cut points it passes, so equal values always
        get equal scores.
        """
        if company.loyalty_rfm_method == "threshold":
            thresholds = company._loyalty_thresholds()
            return {
                "method": "threshold",
                "recency": thresholds["recency"],
                "frequency": thresholds["frequency"],
                "monetary": thresholds["monetary"],
            }
        self.env.cr.execute(
            SQL(
                """
                SELECT percentile_cont(%(q)s::float8[])
                           WITHIN GROUP (ORDER BY recency_days),
                       percentile_cont(%(q)s::float8[])
                           WITHIN GROUP (ORDER BY rfm_frequency),
                       percentile_cont(%(q)s::float8[])
                           WITHIN GROUP (ORDER BY rfm_monetary)
                  FROM customer_membership
                 WHERE company_id = %(company)s AND order_count > 0
                """,
                q=QUANTILES,
                company=company.id,
            )
        )
        recency, frequency, monetary = self.env.cr.fetchone()
        if recency is None:
            return {}
        return {
            "method": "quantile",
            "recency": recency,
            "frequency": frequency,
            "monetary": monetary,
        }

    @api.model
    def _score_sql(self, column, cutpoints, higher_is_better, inclusive):
        """SQL scoring ``column`` from 1 to 5 against four cut points."""
        op = SQL(">=") if inclusive else SQL(">")
        passed = SQL(" + ").join(
            SQL("(%s %s %s)::int", SQL.identifier("m", column), op, float(c))
            for c in cutpoints
        )
        if higher_is_better:
            return SQL("1 + %s", passed)
        return SQL("5 - (%s)", passed)

    @api.model
    def _update_rfm(self, company, membership_ids, cutpoints):
        """Score ``membership_ids`` and assign their segment in one UPDATE.

        Post the segment moves in the members' chatter.
        """
        if not membership_ids or not cutpoints:
            return
        threshold = cutpoints["method"] == "threshold"
        r_score = self._score_sql("recency_days", cutpoints["recency"], False, False)
        f_score = self._score_sql(
            "rfm_frequency", cutpoints["frequency"], True, threshold
        )
        m_score = self._score_sql(
            "rfm_monetary", cutpoints["monetary"], True, threshold
        )
        self.env.cr.execute(
            SQL(
                """
                WITH scored AS (
                    SELECT m.id, m.segment_id AS old_segment_id,
                           CASE WHEN m.order_count > 0 THEN %(r)s END AS r,
                           CASE WHEN m.order_count > 0 THEN %(f)s END AS f,
                           CASE WHEN m.order_count > 0 THEN %(m)s END AS mo
                      FROM customer_membership m
                     WHERE m.id = ANY(%(ids)s) AND m.company_id = %(company)s
                ),
                segmented AS (
                    SELECT scored.*,
                           (SELECT s.id
                              FROM customer_segment s
                             WHERE s.active
                               AND (s.company_id IS NULL
                                    OR s.company_id = %(company)s)
                               AND scored.r BETWEEN s.recency_min AND s.recency_max
                               AND scored.f
                                   BETWEEN s.frequency_min AND s.frequency_max
                               AND scored.mo
                                   BETWEEN s.monetary_min AND s.monetary_max
                             ORDER BY s.sequence, s.id
                             LIMIT 1) AS segment_id
                      FROM scored
                )
                UPDATE customer_membership m
                   SET rfm_recency_score = segmented.r,
                       rfm_frequency_score = segmented.f,
                       rfm_monetary_score = segmented.mo,
                       rfm_score = segmented.r::text || segmented.f::text
                                   || segmented.mo::text,
                       segment_id = segmented.segment_id
                  FROM segmented
                 WHERE m.id = segmented.id
             RETURNING m.id, segmented.old_segment_id, segmented.segment_id
                """,
                r=r_score,
                f=f_score,
                m=m_score,
                ids=list(membership_ids),
                company=company.id,
            )
        )
        moves = [row for row in self.env.cr.fetchall() if row[1] and row[1] != row[2]]
        if moves:
            self._log_segment_moves(moves)

    @api.model
    def _log_segment_moves(self, moves):
        """Post one chatter note per membership whose segment changed."""
        segments = self.env["customer.segment"].with_context(active_test=False)
        names = {
            seg.id: seg.name
            for seg in segments.browse(
                {old for _id, old, _new in moves} | {new for _id, _old, new in moves}
            ).exists()
        }
        none = self.env._("no segment")
        bodies = {
            membership_id: self.env._(
                "RFM segment changed: %(old)s → %(new)s",
                old=names.get(old, none),
                new=names.get(new, none),
            )
            for membership_id, old, new in moves
        }
        self.browse(list(bodies)).sudo()._message_log_batch(bodies=bodies)

    # ------------------------------------------------------------------
    # Churn (BG/NBD)
    # ------------------------------------------------------------------
    @api.model
    def _churn_inputs(self, company, condition):
        """Return ids and BG/NBD (x, t_x, T) arrays of the buying members of
        ``company`` matching ``condition``."""
        today = self._company_today(company)
        self.env.cr.execute(
            SQL(
                """
                SELECT id,
                       greatest(purchase_day_count - 1, 0),
                       last_order_date - first_order_date,
                       %(today)s::date - first_order_date
                  FROM customer_membership
                 WHERE company_id = %(company)s
                   AND order_count > 0
                   AND first_order_date IS NOT NULL
                   AND %(condition)s
                 ORDER BY id
                """,
                today=today,
                company=company.id,
                condition=condition,
            )
        )
        rows = self.env.cr.fetchall()
        if not rows:
            empty = np.zeros(0)
            return [], empty, empty, empty
        data = np.array(rows, dtype=float)
        ids = data[:, 0].astype(int).tolist()
        frequency = data[:, 1]
        age = np.maximum(data[:, 3], 0.0) / DAYS_PER_PERIOD
        recency = np.clip(data[:, 2] / DAYS_PER_PERIOD, 0.0, age)
        return ids, frequency, recency, age

    @api.model
    def _fit_churn_model(self, company):
        """Fit BG/NBD on the company's buying members; None if it cannot be fitted."""
        self.env.cr.execute(
            SQL(
                """
                SELECT count(*) FROM customer_membership
                 WHERE company_id = %s AND order_count > 0
                """,
                company.id,
            )
        )
        total = self.env.cr.fetchone()[0]
        if total < MIN_FIT_MEMBERS:
            return None
        step = max(1, -(-total // FIT_SAMPLE_SIZE))
        condition = SQL("id %% %s = 0", step) if step > 1 else SQL("TRUE")
        _ids, frequency, recency, age = self._churn_inputs(company, condition)
        if not (frequency > 0).any():
            return None
        try:
            params = bgnbd.fit(frequency, recency, age)
        except ValueError as error:
            _logger.warning(
                "Churn model not fitted for company %s: %s", company.id, error
            )
            return None
        return params._asdict()

    @api.model
    def _update_churn(self, company, membership_ids, params):
        """Write churn probability, expected purchases and risk of the members."""
        if not membership_ids:
            return
        ids = list(membership_ids)
        if not params:
            self.env.cr.execute(
                SQL(
                    """
                    UPDATE customer_membership
                       SET churn_probability = NULL,
                           expected_purchases_90d = NULL,
                           churn_risk = NULL
                     WHERE id = ANY(%s)
                    """,
                    ids,
                )
            )
            return
        model = bgnbd.BgNbdParams(**params)
        fit_ids, frequency, recency, age = self._churn_inputs(
            company, SQL("id = ANY(%s)", ids)
        )
        churn = np.zeros(0)
        expected = np.zeros(0)
        if fit_ids:
            churn = 1.0 - bgnbd.probability_alive(model, frequency, recency, age)
            expected = bgnbd.expected_purchases(
                model, CHURN_HORIZON_DAYS / DAYS_PER_PERIOD, frequency, recency, age
            )
        self.env.cr.execute(
            SQL(
                """
                WITH v AS (
                    SELECT * FROM unnest(%(fit_ids)s::int[], %(churn)s::float8[],
                                         %(expected)s::float8[])
                           AS v(id, churn, expected)
                )
                UPDATE customer_membership m
                   SET churn_probability = v.churn,
                       expected_purchases_90d = v.expected,
                       churn_risk = CASE
                           WHEN v.churn IS NULL THEN NULL
                           WHEN v.churn >= %(high)s THEN 'high'
                           WHEN v.churn >= %(medium)s THEN 'medium'
                           ELSE 'low' END
                  FROM (SELECT unnest(%(ids)s::int[]) AS id) batch
                  LEFT JOIN v ON v.id = batch.id
                 WHERE m.id = batch.id
                """,
                fit_ids=fit_ids,
                churn=[round(float(c), 6) for c in churn],
                expected=[round(float(e), 6) for e in expected],
                ids=ids,
                high=company.loyalty_churn_high_threshold,
                medium=company.loyalty_churn_medium_threshold,
            )
        )

    # ------------------------------------------------------------------
    # Snapshots
    # ------------------------------------------------------------------
    @api.model
    def _write_snapshots(self, company, membership_ids):
        """Upsert today's RFM snapshot of the buying members in one statement."""
        if not membership_ids:
            return
        today = self._company_today(company)
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO customer_rfm_snapshot (
                    membership_id, company_id, partner_id, snapshot_date,
                    recency_days, frequency, monetary,
                    recency_score, frequency_score, monetary_score, rfm_score,
                    segment_id, previous_segment_id, has_segment_changed,
                    churn_probability, churn_risk,
                    create_uid, create_date, write_uid, write_date)
                SELECT m.id, m.company_id, m.partner_id, %(today)s,
                       m.recency_days, m.rfm_frequency, m.rfm_monetary,
                       m.rfm_recency_score, m.rfm_frequency_score,
                       m.rfm_monetary_score, m.rfm_score,
                       m.segment_id, prev.segment_id,
                       COALESCE(prev.segment_id IS DISTINCT FROM m.segment_id
                                AND prev.segment_id IS NOT NULL, FALSE),
                       m.churn_probability, m.churn_risk,
                       %(uid)s, now() at time zone 'UTC',
                       %(uid)s, now() at time zone 'UTC'
                  FROM customer_membership m
                  LEFT JOIN LATERAL (
                      SELECT s.segment_id FROM customer_rfm_snapshot s
                       WHERE s.membership_id = m.id
                         AND s.snapshot_date < %(today)s
                       ORDER BY s.snapshot_date DESC LIMIT 1
                  ) prev ON TRUE
                 WHERE m.id = ANY(%(ids)s)
                   AND m.company_id = %(company)s
                   AND m.order_count > 0
                ON CONFLICT (membership_id, snapshot_date) DO UPDATE
                   SET recency_days = EXCLUDED.recency_days,
                       frequency = EXCLUDED.frequency,
                       monetary = EXCLUDED.monetary,
                       recency_score = EXCLUDED.recency_score,
                       frequency_score = EXCLUDED.frequency_score,
                       monetary_score = EXCLUDED.monetary_score,
                       rfm_score = EXCLUDED.rfm_score,
                       segment_id = EXCLUDED.segment_id,
                       previous_segment_id = EXCLUDED.previous_segment_id,
                       has_segment_changed = EXCLUDED.has_segment_changed,
                       churn_probability = EXCLUDED.churn_probability,
                       churn_risk = EXCLUDED.churn_risk,
                       write_uid = EXCLUDED.write_uid,
                       write_date = EXCLUDED.write_date
                """,
                today=today,
                ids=list(membership_ids),
                company=company.id,
                uid=self.env.uid,
            )
        )

    # ------------------------------------------------------------------
    # Orchestration
    # ------------------------------------------------------------------
    @api.model
    def _batch_size(self):
        value = self.env["ir.config_parameter"].sudo().get_param(BATCH_SIZE_PARAM)
        try:
            size = int(value or DEFAULT_BATCH_SIZE)
        except ValueError:
            size = DEFAULT_BATCH_SIZE
        return max(size, 1)

    @api.model
    def _next_batch(self, company, after_id, limit):
        """Ids of the next ``limit`` memberships of ``company`` after ``after_id``."""
        self.env.cr.execute(
            SQL(
                """
                SELECT id FROM customer_membership
                 WHERE company_id = %s AND id > %s
                 ORDER BY id LIMIT %s
                """,
                company.id,
                after_id,
                limit,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _prepare_scoring(self, company):
        """Compute and store the company's RFM cut points and churn model."""
        cutpoints = self._compute_rfm_cutpoints(company)
        params = self._fit_churn_model(company)
        company.sudo().write(
            {
                "loyalty_rfm_cutpoints": cutpoints or False,
                "loyalty_bgnbd_params": params or False,
                "loyalty_last_compute_date": fields.Datetime.now(),
            }
        )
        return cutpoints, params

    @api.model
    def _score_batch(self, company, membership_ids, cutpoints, params):
        """RFM scores, segment, churn and snapshot of a batch of memberships."""
        self._update_rfm(company, membership_ids, cutpoints)
        self._update_churn(company, membership_ids, params)
        self._write_snapshots(company, membership_ids)

    def _refresh_figures(self, full=False):
        """Recompute the figures of the memberships in ``self``.

        Statistics always; with ``full``, also RFM scores, segment, churn risk
        and today's snapshot, using the cut points and churn model of the
        company's last run (computed now if the company never had one).
        """
        if not self:
            return
        self.env.flush_all()
        for company in self.company_id:
            memberships = self.filtered(lambda m, c=company: m.company_id == c)
            self._update_statistics(company, memberships.ids)
            if full:
                cutpoints = company.loyalty_rfm_cutpoints
                params = company.loyalty_bgnbd_params
                if not cutpoints:
                    cutpoints, params = self._prepare_scoring(company)
                self._score_batch(company, memberships.ids, cutpoints, params)
        self.invalidate_model()

    @api.model
    def _compute_company(self, company, batch_size=None):
        """Run the whole computation for ``company`` in this transaction.

        Used by the install hook, tests and benchmarks; the cron does the same
        steps one batch per call with commits in between.
        """
        batch_size = batch_size or self._batch_size()
        if company.loyalty_auto_enroll:
            self._enrol_from_history(company)
        self.env.flush_all()
        last_id = 0
        while ids := self._next_batch(company, last_id, batch_size):
            self._update_statistics(company, ids)
            last_id = ids[-1]
        cutpoints, params = self._prepare_scoring(company)
        last_id = 0
        while ids := self._next_batch(company, last_id, batch_size):
            self._score_batch(company, ids, cutpoints, params)
            last_id = ids[-1]
        self.invalidate_model()
        self.env["res.company"].invalidate_model()

    @api.model
    def _compute_all_companies(self, batch_size=None):
        for company in self.env["res.company"].sudo().search([]):
            self._compute_company(company, batch_size=batch_size)

    # ------------------------------------------------------------------
    # Cron: one batch per call, state kept between calls
    # ------------------------------------------------------------------
    @api.model
    def _nightly_state(self):
        raw = self.env["ir.config_parameter"].sudo().get_param(NIGHTLY_STATE_PARAM)
        try:
            state = json.loads(raw) if raw else {}
        except ValueError:
            state = {}
        return state if state.get("company_ids") else {}

    @api.model
    def _save_nightly_state(self, state):
        self.env["ir.config_parameter"].sudo().set_param(
            NIGHTLY_STATE_PARAM, json.dumps(state) if state else ""
        )

    @api.model
    def _cron_compute_customers(self):
        """Nightly computation of statistics, RFM, churn and snapshots.

        Each call does one step (an enrolment, one batch of statistics, the
        scoring preparation or one batch of scoring) for one company, saves
        where it is and reports progress; the cron framework commits after
        each call and calls again while work remains. A run interrupted by a
        crash resumes at the batch that failed; every step is idempotent.
        """
        state = self._nightly_state()
        if not state:
            company_ids = self.env["res.company"].sudo().search([]).ids
            state = {"company_ids": company_ids, "step": "enrol", "last_id": 0}
        company = self.env["res.company"].sudo().browse(state["company_ids"][0])
        if not company.exists():
            state["company_ids"].pop(0)
            state.update(step="enrol", last_id=0)
        else:
            self._run_step(company, state)
        if not state["company_ids"]:
            state = {}
        self._save_nightly_state(state)
        self.invalidate_model()
        done, remaining = self._nightly_progress(state)
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return state

    @api.model
    def _run_step(self, company, state):
        step = state["step"]
        batch_size = self._batch_size()
        if step == "enrol":
            if company.loyalty_auto_enroll:
                self._enrol_from_history(company)
            state.update(step="stats", last_id=0)
        elif step == "stats":
            self.env.flush_all()
            ids = self._next_batch(company, state["last_id"], batch_size)
            if ids:
                self._update_statistics(company, ids)
                state["last_id"] = ids[-1]
            else:
                state.update(step="prepare", last_id=0)
        elif step == "prepare":
            self._prepare_scoring(company)
            state.update(step="score", last_id=0)
        elif step == "score":
            ids = self._next_batch(company, state["last_id"], batch_size)
            if ids:
                self._score_batch(
                    company,
                    ids,
                    company.loyalty_rfm_cutpoints,
                    company.loyalty_bgnbd_params,
                )
                state["last_id"] = ids[-1]
            else:
                state["company_ids"].pop(0)
                state.update(step="enrol", last_id=0)

    @api.model
    def _nightly_progress(self, state):
        """(done, remaining) in memberships for the cron's progress report."""
        if not state:
            return 1, 0
        self.env.cr.execute(
            SQL(
                """
                SELECT count(*) FILTER (WHERE company_id = %(current)s
                                          AND id <= %(last_id)s),
                       count(*) FILTER (WHERE company_id = %(current)s
                                          AND id > %(last_id)s),
                       count(*) FILTER (WHERE company_id = ANY(%(later)s))
                  FROM customer_membership
                 WHERE company_id = ANY(%(all)s)
                """,
                current=state["company_ids"][0],
                last_id=state["last_id"],
                later=state["company_ids"][1:],
                all=state["company_ids"],
            )
        )
        done, left, later = self.env.cr.fetchone()
        # the current company still needs its remaining steps; make sure a
        # started run is never reported finished
        return max(done, 1), max(left + later, 1)
