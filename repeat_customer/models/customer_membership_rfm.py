"""RFM: cut points, scores and segments (written with the churn figures of the
model in ``customer_membership_churn``), and the snapshots of what moved."""

from odoo import api, models
from odoo.tools import SQL

from ..tools import scoring
from ..tools.numbers import pg_array
from .customer_membership_churn import CHURN_HORIZON_DAYS, DAYS_PER_PERIOD

QUANTILES = [0.2, 0.4, 0.6, 0.8]
# stored precision of the churn figures: a nightly run rewrites a member only
# when a figure moved at this precision
CHURN_DIGITS = 2
EXPECTED_DIGITS = 1


class CustomerMembership(models.Model):
    _inherit = "customer.membership"

    # ------------------------------------------------------------------
    # RFM and churn scoring
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
                           WITHIN GROUP (ORDER BY %(today)s::date - last_order_date),
                       percentile_cont(%(q)s::float8[])
                           WITHIN GROUP (ORDER BY rfm_frequency),
                       percentile_cont(%(q)s::float8[])
                           WITHIN GROUP (ORDER BY rfm_monetary)
                  FROM customer_membership
                 WHERE company_id = %(company)s AND order_count > 0
                """,
                q=QUANTILES,
                today=company._loyalty_today(),
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
    def _score_sql(self, value, cutpoints, higher_is_better, inclusive):
        """SQL scoring the SQL expression ``value`` from 1 to 5 against four
        cut points, as ``tools.scoring.score`` does."""
        op = SQL(">=") if inclusive else SQL(">")
        passed = SQL(" + ").join(
            SQL("(%s %s %s)::int", value, op, float(c)) for c in cutpoints
        )
        if higher_is_better:
            return SQL("1 + %s", passed)
        return SQL("5 - (%s)", passed)

    @api.model
    def _segment_map(self, company):
        """The segment of each (R, F, M) score triple, as a 125-item list indexed
        by ``(R - 1) * 25 + (F - 1) * 5 + (M - 1)``: the first segment in
        sequence order whose ranges contain the scores."""
        segments = self.env["customer.segment"].search(
            [("company_id", "in", [False, company.id])], order="sequence, id"
        )
        return scoring.segment_map(
            [
                (
                    seg.id,
                    seg.recency_min,
                    seg.recency_max,
                    seg.frequency_min,
                    seg.frequency_max,
                    seg.monetary_min,
                    seg.monetary_max,
                )
                for seg in segments
            ]
        )

    @api.model
    def _update_scores(
        self, company, membership_ids, cutpoints, params, churn_ids=None
    ):
        """Score ``membership_ids`` in one UPDATE: R, F, M, segment, churn
        probability, expected purchases and churn risk. With ``churn_ids``,
        only those members get new churn figures (the nightly run between
        weekly full passes); the others keep theirs, their risk follows the
        current thresholds.

        Only the members whose figures changed are written. Post the segment
        moves in the members' chatter and return the ids of the members whose
        RFM score, segment or churn risk changed, with their previous segment.
        """
        if not membership_ids:
            return []
        ids = list(membership_ids)
        # churn figures of everyone, or of ``churn_ids`` only (the others
        # keep theirs)
        churn_of = ids if churn_ids is None else [i for i in ids if i in churn_ids]
        fit_ids, churn, expected, order_value, clv = self._churn_figures(
            company, churn_of, params
        )
        scores = self._scores_sql(company, cutpoints)
        self.env.cr.execute(
            SQL(
                """
                WITH churn AS (
                    SELECT * FROM unnest(%(fit_ids)s::int[], %(churn)s::numeric[],
                                         %(expected)s::numeric[],
                                         %(order_value)s::numeric[],
                                         %(clv)s::numeric[])
                           AS c(id, probability, expected, order_value, clv)
                ),
                scored AS (
                    SELECT m.id, m.order_count, %(scores)s,
                           CASE WHEN %(partial)s
                                     AND NOT m.id = ANY(%(recomputed)s::int[])
                                THEN m.churn_probability
                                ELSE churn.probability END AS probability,
                           CASE WHEN %(partial)s
                                     AND NOT m.id = ANY(%(recomputed)s::int[])
                                THEN m.expected_purchases_90d
                                ELSE churn.expected END AS expected,
                           CASE WHEN %(partial)s
                                     AND NOT m.id = ANY(%(recomputed)s::int[])
                                THEN m.expected_order_value
                                ELSE churn.order_value END AS order_value,
                           CASE WHEN %(partial)s
                                     AND NOT m.id = ANY(%(recomputed)s::int[])
                                THEN m.clv
                                ELSE churn.clv END AS clv
                      FROM customer_membership m
                      LEFT JOIN churn ON churn.id = m.id
                     WHERE m.id = ANY(%(ids)s::int[]) AND m.company_id = %(company)s
                ),
                new AS (
                    SELECT id,
                           CASE WHEN order_count > 0 THEN r END AS r,
                           CASE WHEN order_count > 0 THEN f END AS f,
                           CASE WHEN order_count > 0 THEN mo END AS mo,
                           -- tools.scoring.segment_index, from 1
                           CASE WHEN order_count > 0 THEN
                               (%(segment_map)s::int[])[(r - 1) * 25 + (f - 1) * 5 + mo]
                           END AS segment_id,
                           probability,
                           expected,
                           order_value,
                           clv,
                           -- tools.scoring.churn_risk
                           CASE WHEN probability IS NULL THEN NULL
                                WHEN probability >= %(high)s THEN 'high'
                                WHEN probability >= %(medium)s THEN 'medium'
                                ELSE 'low' END AS risk
                      FROM scored
                ),
                old AS (
                    SELECT m.id, m.rfm_score, m.segment_id, m.churn_risk
                      FROM customer_membership m
                     WHERE m.id = ANY(%(ids)s::int[])
                )
                UPDATE customer_membership m
                   SET rfm_recency_score = new.r,
                       rfm_frequency_score = new.f,
                       rfm_monetary_score = new.mo,
                       rfm_score = new.r::text || new.f::text || new.mo::text,
                       segment_id = new.segment_id,
                       churn_probability = new.probability,
                       expected_purchases_90d = new.expected,
                       expected_order_value = new.order_value,
                       clv = new.clv,
                       churn_risk = new.risk,
                       -- the day the risk moved from a known level
                       churn_risk_date = CASE
                           WHEN old.churn_risk IS NOT NULL
                                AND old.churn_risk IS DISTINCT FROM new.risk
                           THEN %(today)s::date
                           ELSE m.churn_risk_date END
                  FROM new
                  JOIN old ON old.id = new.id
                 WHERE m.id = new.id
                   AND (m.rfm_recency_score, m.rfm_frequency_score,
                        m.rfm_monetary_score, m.segment_id, m.churn_probability,
                        m.expected_purchases_90d, m.expected_order_value, m.clv,
                        m.churn_risk)
                       IS DISTINCT FROM
                       (new.r, new.f, new.mo, new.segment_id, new.probability,
                        new.expected, new.order_value, new.clv, new.risk)
             RETURNING m.id, old.segment_id, m.segment_id,
                       (old.rfm_score, old.segment_id, old.churn_risk)
                       IS DISTINCT FROM (m.rfm_score, m.segment_id, m.churn_risk)
                """,
                fit_ids=pg_array(fit_ids),
                churn=pg_array(churn),
                expected=pg_array(expected),
                order_value=pg_array(order_value),
                clv=pg_array(clv),
                partial=churn_ids is not None,
                recomputed=pg_array(churn_of),
                scores=scores,
                ids=pg_array(ids),
                company=company.id,
                segment_map=self._segment_map(company),
                high=company.loyalty_churn_high_threshold,
                medium=company.loyalty_churn_medium_threshold,
                today=company._loyalty_today(),
            )
        )
        rows = self.env.cr.fetchall()
        moves = [(mid, old, new) for mid, old, new, _changed in rows if old != new]
        if moves:
            # notes in the company's language, not the cron user's
            lang = company.partner_id.lang or self.env.lang
            self.with_context(lang=lang)._log_segment_moves(
                [move for move in moves if move[1]]
            )
        return [(mid, old) for mid, old, _new, changed in rows if changed]

    @api.model
    def _churn_figures(self, company, ids, params):
        """(ids, churn probabilities, expected purchases, expected order
        values, lifetime values) of the members of ``ids`` who have churn
        inputs, under the fitted ``params`` and the company's spend model
        (no values without one)."""
        if not params:
            return [], [], [], [], []
        fit_ids, frequency, recency, age, value = self._churn_inputs(
            company, SQL("id = ANY(%s::int[])", pg_array(ids)), with_value=True
        )
        if not fit_ids:
            return [], [], [], [], []
        churn, expected = scoring.churn_figures(
            params,
            frequency,
            recency,
            age,
            CHURN_HORIZON_DAYS / DAYS_PER_PERIOD,
            digits=(CHURN_DIGITS, EXPECTED_DIGITS),
        )
        spend = company.loyalty_gamma_gamma_params
        if spend:
            order_value, clv = scoring.value_figures(
                params,
                spend,
                frequency,
                recency,
                age,
                value,
                company.loyalty_clv_months,
                company.loyalty_clv_discount_rate / 100.0,
                DAYS_PER_PERIOD,
            )
        else:
            order_value = clv = [None] * len(fit_ids)
        return fit_ids, churn, expected, order_value, clv

    @api.model
    def _scores_sql(self, company, cutpoints):
        """SQL of the R, F and M scores (r, f, mo) of a member ``m``."""
        if not cutpoints:
            return SQL("NULL::int AS r, NULL::int AS f, NULL::int AS mo")
        threshold = cutpoints["method"] == "threshold"
        recency_days = SQL("(%s::date - m.last_order_date)", company._loyalty_today())
        return SQL(
            "%s AS r, %s AS f, %s AS mo",
            self._score_sql(recency_days, cutpoints["recency"], False, False),
            self._score_sql(
                SQL("m.rfm_frequency"), cutpoints["frequency"], True, threshold
            ),
            self._score_sql(
                SQL("m.rfm_monetary"), cutpoints["monetary"], True, threshold
            ),
        )

    @api.model
    def _log_segment_moves(self, moves):
        """Post one chatter note per membership whose segment changed."""
        if not moves:
            return
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
    # Snapshots
    # ------------------------------------------------------------------
    @api.model
    def _write_snapshots(self, company, changes):
        """Record today's RFM snapshot of the members in ``changes``.

        ``changes`` holds (membership id, previous segment id) of the members
        whose RFM score, segment or churn risk changed: the history keeps one
        row per member and day on which something moved, which is enough to
        know every member's state on any date without rewriting unchanged
        members every night. A second change on the same day updates the row
        and keeps the segment the member had before that day.
        """
        if not changes:
            return
        today = company._loyalty_today()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO customer_rfm_snapshot (
                    membership_id, company_id, snapshot_date,
                    recency_days, frequency, monetary,
                    recency_score, frequency_score, monetary_score, rfm_score,
                    segment_id, previous_segment_id, has_segment_changed,
                    churn_probability, churn_risk)
                SELECT m.id, m.company_id, %(today)s,
                       %(today)s::date - m.last_order_date,
                       m.rfm_frequency, m.rfm_monetary,
                       m.rfm_recency_score, m.rfm_frequency_score,
                       m.rfm_monetary_score, m.rfm_score,
                       m.segment_id, c.previous_segment_id,
                       COALESCE(c.previous_segment_id IS DISTINCT FROM m.segment_id
                                AND c.previous_segment_id IS NOT NULL, FALSE),
                       m.churn_probability, m.churn_risk
                  FROM unnest(%(ids)s::int[], %(previous)s::int[])
                       AS c(membership_id, previous_segment_id)
                  JOIN customer_membership m ON m.id = c.membership_id
                ON CONFLICT (membership_id, snapshot_date) DO UPDATE
                   SET recency_days = EXCLUDED.recency_days,
                       frequency = EXCLUDED.frequency,
                       monetary = EXCLUDED.monetary,
                       recency_score = EXCLUDED.recency_score,
                       frequency_score = EXCLUDED.frequency_score,
                       monetary_score = EXCLUDED.monetary_score,
                       rfm_score = EXCLUDED.rfm_score,
                       segment_id = EXCLUDED.segment_id,
                       has_segment_changed = COALESCE(
                           customer_rfm_snapshot.previous_segment_id
                               IS DISTINCT FROM EXCLUDED.segment_id
                           AND customer_rfm_snapshot.previous_segment_id
                               IS NOT NULL, FALSE),
                       churn_probability = EXCLUDED.churn_probability,
                       churn_risk = EXCLUDED.churn_risk
                """,
                today=today,
                ids=[mid for mid, _previous in changes],
                previous=[previous for _mid, previous in changes],
            )
        )
