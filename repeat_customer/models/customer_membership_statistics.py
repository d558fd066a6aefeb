"""Purchase statistics of the members, from orders or invoices, in SQL, and
which members a night must recompute."""

import json
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools.numbers import pg_array

# a full pass (every member from all documents) at least this often
FULL_STATS_DAYS = 7
# what the statistics pass computes, for its signature: a database whose
# figures were computed without one of them is recomputed in full
STATS_FIGURES = "orders,days,spend,average,repeat-average,window,stores"
# documents written by a transaction that started before the last pass but
# committed after it are still seen: "changed since" looks this far back
SINCE_MARGIN = timedelta(hours=1)


class CustomerMembership(models.Model):
    _inherit = "customer.membership"

    # ------------------------------------------------------------------
    # Statistics
    # ------------------------------------------------------------------
    @api.model
    def _purchases_query(self, company):
        """SQL of the purchases (every channel, ``customer.purchase``) of the
        members in the temporary batch ``mem``.

        Rows: membership id, purchase day, untaxed amount in company currency,
        1 for a purchase or 0 for a return, and the store.
        """
        return SQL(
            "SELECT d.membership_id, d.day, d.amount, d.is_order, d.store_id "
            "FROM (%s) d",
            self.env["customer.purchase"]._documents_sql(company, members=SQL("mem")),
        )

    @api.model
    def _fresh_statistics_sql(
        self, company, membership_ids, window_start, other_window_start=None
    ):
        """The CTEs (``mem``, ``purchase``, ``agg``, ``new``) of the purchase
        statistics of ``membership_ids`` (None: every member of ``company``)
        recomputed from all documents, ``new`` holding one row per member.
        Its ``window_count2`` and ``window_total2`` are the RFM window figures
        for a window starting at ``other_window_start`` (default: the same)."""
        if membership_ids is None:
            members = SQL("company_id = %s", company.id)
        else:
            members = SQL(
                "id = ANY(%s::int[]) AND company_id = %s",
                pg_array(membership_ids),
                company.id,
            )
        return SQL(
            """
            mem AS (
                SELECT id, partner_id FROM customer_membership WHERE %(members)s
            ),
            purchase(membership_id, day, amount, is_order, store_id)
                AS (%(purchases)s),
            purchase_day AS (
                SELECT membership_id, day, sum(amount) AS amount,
                       min(day) OVER (PARTITION BY membership_id) AS first_day
                  FROM purchase
                 GROUP BY membership_id, day
                HAVING max(is_order) = 1
            ),
            repeat_day AS (
                -- the Gamma-Gamma model's m: the mean value of the repeat
                -- purchase days (a day's documents added up, the first day
                -- left out)
                SELECT membership_id, avg(amount) AS average
                  FROM purchase_day
                 WHERE day > first_day
                 GROUP BY membership_id
            ),
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
                           AS window_total,
                       sum(is_order) FILTER (WHERE day > %(other_start)s)
                           AS window_count2,
                       sum(amount) FILTER (WHERE day > %(other_start)s)
                           AS window_total2
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
                       COALESCE(repeat_day.average, 0) AS repeat_average,
                       COALESCE(agg.window_count, 0) AS window_count,
                       COALESCE(agg.window_total, 0) AS window_total,
                       COALESCE(agg.window_count2, 0) AS window_count2,
                       COALESCE(agg.window_total2, 0) AS window_total2
                  FROM mem
                  LEFT JOIN agg ON agg.membership_id = mem.id
                  LEFT JOIN repeat_day ON repeat_day.membership_id = mem.id
            )
            """,
            members=members,
            purchases=self._purchases_query(company),
            window_start=window_start,
            other_start=other_window_start or window_start,
        )

    @api.model
    def _update_statistics(self, company, membership_ids):
        """Recompute the purchase statistics of ``membership_ids`` in one UPDATE.

        Every figure is recomputed from all documents; only the members whose
        figures changed are written. Return their ids.
        """
        if not membership_ids:
            return []
        self.env.cr.execute(
            SQL(
                """
                WITH %(fresh)s
                UPDATE customer_membership m
                   SET first_order_date = new.first_day,
                       last_order_date = new.last_day,
                       order_count = new.order_count,
                       purchase_day_count = new.day_count,
                       total_spent = new.total,
                       average_order_value = new.average,
                       repeat_order_value = new.repeat_average,
                       rfm_frequency = new.window_count,
                       rfm_monetary = new.window_total
                  FROM new
                 WHERE m.id = new.id
                   AND (m.first_order_date, m.last_order_date, m.order_count,
                        m.purchase_day_count, m.total_spent, m.average_order_value,
                        m.repeat_order_value, m.rfm_frequency, m.rfm_monetary)
                       IS DISTINCT FROM
                       (new.first_day, new.last_day, new.order_count,
                        new.day_count, new.total, new.average,
                        new.repeat_average, new.window_count, new.window_total)
             RETURNING m.id
                """,
                fresh=self._fresh_statistics_sql(
                    company, membership_ids, self._stats_window_start(company)
                ),
            )
        )
        changed = [row[0] for row in self.env.cr.fetchall()]
        self._update_store_figures(company, membership_ids)
        return changed

    # ------------------------------------------------------------------
    # Which members a pass recomputes
    # ------------------------------------------------------------------
    @api.model
    def _stats_signature(self, company):
        """The settings the statistics depend on; a change forces a full pass."""
        return json.dumps(
            [
                # the figures a pass computes: a new one needs a full pass
                STATS_FIGURES,
                company.loyalty_stats_source,
                company.loyalty_rfm_window_days,
                company._loyalty_tz(),
                company.currency_id.id,
                # which store each channel's documents count for
                self.env["customer.purchase"]._store_map(company),
            ]
        )

    @api.model
    def _stats_plan(self, company, full=False):
        """How the statistics pass starting now covers ``company``: a dict
        (JSON-safe, kept in the nightly job's state) with the database time
        it starts at and, for a pass over the changed members only, the time
        and window start of the last pass.

        Confirming or cancelling an order already refreshes its customer's
        figures; the night catches what no event reports: orders or invoices
        edited afterwards, contacts moved to another company, and documents
        leaving the RFM window. Every ``FULL_STATS_DAYS`` days, after a
        change of the settings the statistics depend on, or with ``full``,
        every member is recomputed from all documents.
        """
        plan = {"started": fields.Datetime.to_string(self.env.cr.now())}
        last_full = company.loyalty_stats_full_date
        if (
            full
            or not company.loyalty_stats_since
            or not last_full
            or company.loyalty_stats_signature != self._stats_signature(company)
            or (company._loyalty_today() - last_full).days >= FULL_STATS_DAYS
        ):
            return plan
        plan["since"] = fields.Datetime.to_string(
            company.loyalty_stats_since - SINCE_MARGIN
        )
        plan["window_start"] = fields.Date.to_string(
            company.loyalty_stats_window_start or company._loyalty_today()
        )
        return plan

    @api.model
    def _stats_window_start(self, company):
        return fields.Date.subtract(
            company._loyalty_today(), days=company.loyalty_rfm_window_days
        )

    @api.model
    def _stats_batch(self, company, plan, after_id, limit):
        """The next ``limit`` ids after ``after_id`` the pass of ``plan``
        recomputes: every member, or the members whose documents or contacts
        changed since the last pass, who have a document that left the
        window, or who have no purchase counted yet (new members among
        them)."""
        if "since" not in plan:
            return self._next_batch(company, after_id, limit)
        since = fields.Datetime.to_datetime(plan["since"])
        changed = self.env["customer.purchase"]._changed_partners_sql(
            company, since, plan["window_start"], self._stats_window_start(company)
        )
        with self._job_setwise_plans():
            self.env.cr.execute(
                SQL(
                    """
                    SELECT m.id FROM customer_membership m
                     WHERE m.company_id = %(company)s AND m.id > %(after)s
                       AND (COALESCE(m.order_count, 0) = 0
                            OR m.partner_id IN (%(changed)s)
                            OR m.partner_id IN (
                                SELECT commercial_partner_id FROM res_partner
                                 WHERE write_date >= %(since)s))
                     ORDER BY m.id LIMIT %(limit)s
                    """,
                    company=company.id,
                    after=after_id,
                    since=since,
                    changed=changed,
                    limit=limit,
                )
            )
            return [row[0] for row in self.env.cr.fetchall()]

    @api.model
    def _stats_done(self, company, plan):
        """Record what the pass of ``plan`` covered, for the next night."""
        values = {
            "loyalty_stats_since": fields.Datetime.to_datetime(plan["started"]),
            "loyalty_stats_window_start": self._stats_window_start(company),
            "loyalty_stats_signature": self._stats_signature(company),
        }
        if "since" not in plan:
            values["loyalty_stats_full_date"] = company._loyalty_today()
        company.sudo().write(values)
