"""How the ledger is valued for the points liability: each line's role and
value (SQL), the company's days summed into flows, and the valuation of
those days by ``tools.liability``."""

from collections import defaultdict
from datetime import timedelta

from odoo import api, models
from odoo.tools import SQL

from ..tools.liability import BUCKETS, DayFlow, value_days
from .customer_liability_move import METHOD_BUCKETS


class CustomerLiabilityMove(models.Model):
    _inherit = "customer.liability.move"

    @api.model
    def _own_value_sql(self, entry, rate, order, company):
        """SQL of the value a line that gives points comes in with (alias
        ``entry``, its rate range ``rate``, its order ``order``): a sale's
        points at their allocation (``tools.liability.allocation``), other
        points at points x value per point x rate."""

        def col(alias, name):
            return SQL.identifier(alias, name)

        standalone = SQL(
            "(%s::numeric * %s::numeric * %s::numeric)",
            col(entry, "points"),
            company.loyalty_point_value,
            col(rate, "rate"),
        )
        amount = SQL(
            "COALESCE(%s / NULLIF(%s, 0)::numeric, %s, 0)",
            col(order, "amount_untaxed"),
            col(order, "currency_rate"),
            col(entry, "base_amount"),
        )
        if company.loyalty_liability_method == "provision":
            sale = standalone
        else:
            sale = SQL(
                "CASE WHEN %(a)s > 0 AND %(s)s > 0 "
                "THEN %(a)s * %(s)s / (%(a)s + %(s)s) ELSE 0 END",
                a=amount,
                s=standalone,
            )
        return SQL(
            "CASE WHEN %s = 'earn' AND %s IS NULL THEN %s ELSE %s END",
            col(entry, "kind"),
            col(entry, "campaign_delivery_id"),
            sale,
            standalone,
        )

    @api.model
    def _line_values_sql(self, company, until, unlinked_only=False):
        """SQL of the company's ledger lines up to ``until`` with their role
        (``sale``, ``sale_reversal``, ``gift``, ``redeem``, ``expire``) and
        their value: the change of the liability a line brings when its
        points come in or a reversal takes them back (the value stored when
        it was posted, else as valued today); none on redemptions and
        expiries, which the valuation of the day values as a whole.
        ``unlinked_only``: only the lines no entry has posted yet."""
        rates = self.env["customer.redemption.rate"]._ranges_sql(company)
        unlinked = SQL("AND e.liability_move_id IS NULL" if unlinked_only else "")
        return SQL(
            """
            WITH rates AS (%(rates)s)
            SELECT e.id, e.date, e.kind, e.points, e.liability_move_id,
                   CASE
                     WHEN e.kind = 'earn' AND e.campaign_delivery_id IS NULL
                       THEN 'sale'
                     WHEN e.kind IN ('earn', 'adjust') THEN 'gift'
                     WHEN e.kind = 'reverse' AND e.points < 0
                      AND src.kind = 'earn' AND src.campaign_delivery_id IS NULL
                       THEN 'sale_reversal'
                     WHEN e.kind = 'reverse' AND e.points < 0 THEN 'gift'
                     WHEN e.kind IN ('redeem', 'reverse') THEN 'redeem'
                     ELSE 'expire'
                   END AS role,
                   CASE
                     WHEN e.liability_amount IS NOT NULL THEN e.liability_amount
                     WHEN e.kind IN ('earn', 'adjust') THEN %(own)s
                     WHEN e.kind = 'reverse' AND e.points < 0
                       THEN e.points::numeric / NULLIF(src.points, 0)
                            * COALESCE(src.liability_amount, %(src_own)s)
                   END AS value
              FROM customer_point_entry e
              JOIN rates r ON e.date >= r.date_from AND e.date < r.date_to
              LEFT JOIN sale_order so ON so.id = e.sale_order_id
              LEFT JOIN customer_point_entry src ON src.id = e.reversed_entry_id
              LEFT JOIN rates rs
                ON src.date >= rs.date_from AND src.date < rs.date_to
              LEFT JOIN sale_order sos ON sos.id = src.sale_order_id
             WHERE e.company_id = %(company)s AND e.date <= %(until)s
                   %(unlinked)s
            """,
            rates=rates,
            own=self._own_value_sql("e", "r", "so", company),
            src_own=self._own_value_sql("src", "rs", "sos", company),
            company=company.id,
            until=until,
            unlinked=unlinked,
        )

    @api.model
    def _ledger_flows(self, company, until):
        """The company's ledger up to ``until`` summed per day
        (``DayFlow``, in date order)."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT date,
                       COALESCE(sum(points) FILTER (WHERE role = 'sale'), 0),
                       COALESCE(sum(value) FILTER (WHERE role = 'sale'), 0),
                       COALESCE(-sum(points) FILTER (WHERE role = 'sale_reversal'), 0),
                       COALESCE(-sum(value) FILTER (WHERE role = 'sale_reversal'), 0),
                       COALESCE(sum(points) FILTER (WHERE role = 'gift'), 0),
                       COALESCE(sum(value) FILTER (WHERE role = 'gift'), 0),
                       COALESCE(-sum(points) FILTER (WHERE role = 'redeem'), 0),
                       COALESCE(-sum(points) FILTER (WHERE role = 'expire'), 0)
                  FROM (%s) lines
                 GROUP BY date
                 ORDER BY date
                """,
                self._line_values_sql(company, until),
            )
        )
        return [
            DayFlow(
                day,
                int(sale_points),
                float(sale_value),
                int(reversed_points),
                float(reversed_value),
                int(gift_points),
                float(gift_value),
                int(redeemed),
                int(expired),
            )
            for (
                day,
                sale_points,
                sale_value,
                reversed_points,
                reversed_value,
                gift_points,
                gift_value,
                redeemed,
                expired,
            ) in self.env.cr.fetchall()
        ]

    @api.model
    def _valuation(self, company, until):
        """The valuation of the company's ledger day by day up to ``until``:
        a ``DayValue`` per ledger day and per day a rate starts, and one for
        ``until`` itself."""
        flows = {flow.day: flow for flow in self._ledger_flows(company, until)}
        rates = self.env["customer.redemption.rate"].sudo()
        rate_days = rates.search(
            [("company_id", "=", company.id), ("date_from", "<=", until)]
        ).mapped("date_from")
        for day in [*rate_days, until]:
            flows.setdefault(day, DayFlow(day))
        return value_days(
            [flows[day] for day in sorted(flows)],
            rates._rate_function(company),
            company.loyalty_liability_method,
        )

    @api.model
    def _targets(self, company, values, day):
        """What the entries must have posted, per movement kind, once the
        ledger days up to ``day`` are posted: the opening balance (the
        liability before the first day posted) and the sum of each kind
        over the days posted since. Unrounded."""
        start = company.loyalty_liability_start_date
        targets = defaultdict(float)
        for value in values:
            if value.day > day:
                break
            if value.day < start:
                targets["opening"] = value.liability
            else:
                for kind, amount in value.amounts.items():
                    targets[kind] += amount
        return targets

    @api.model
    def _liability_at(self, values, day):
        """The valuation (``DayValue``) in force at the end of ``day``, or
        ``None`` before the first ledger day."""
        found = None
        for value in values:
            if value.day > day:
                break
            found = value
        return found

    @api.model
    def _posted_totals(self, company):
        """What the company's entries posted so far, per movement kind."""
        self.flush_model()
        columns = SQL(", ").join(
            SQL("COALESCE(sum(%s), 0)", SQL.identifier(f"{kind}_amount"))
            for kind in BUCKETS
        )
        self.env.cr.execute(
            SQL(
                "SELECT %s FROM customer_liability_move WHERE company_id = %s",
                columns,
                company.id,
            )
        )
        return dict(zip(BUCKETS, map(float, self.env.cr.fetchone()), strict=True))

    @api.model
    def _link_lines(self, company, record, day, amounts):
        """Link the company's ledger lines up to ``day`` not posted yet to
        ``record`` (a ``customer.liability.move``), with the movement kind
        that sums them and their value: what they brought for lines that
        give or take back points, their share of the day's amount of their
        kind for redemptions and expiries."""
        roles = (
            dict.fromkeys(METHOD_BUCKETS[record.method], "opening")
            if record.is_opening
            else METHOD_BUCKETS[record.method]
        )
        role_kind = SQL(
            "CASE l.role %s END",
            SQL(" ").join(
                SQL("WHEN %s THEN %s", role, kind) for role, kind in roles.items()
            ),
        )
        share = SQL(
            "CASE l.role %s END",
            SQL(" ").join(
                SQL("WHEN %s THEN %s::numeric", role, -amounts.get(roles[role], 0.0))
                for role in ("redeem", "expire")
            ),
        )
        self.env.cr.execute(
            SQL(
                """
                WITH lines AS (%(lines)s),
                todo AS MATERIALIZED (
                    SELECT l.id, %(kind)s AS kind,
                           CASE WHEN l.role IN ('redeem', 'expire') THEN
                               CASE WHEN %(opening)s THEN NULL
                                    ELSE %(share)s * l.points
                                         / NULLIF(sum(l.points) OVER (
                                               PARTITION BY l.role), 0)
                               END
                           ELSE l.value END AS value
                      FROM lines l
                     WHERE l.liability_move_id IS NULL
                )
                UPDATE customer_point_entry e
                   SET liability_move_id = %(record)s,
                       liability_bucket = todo.kind,
                       liability_amount = todo.value
                  FROM todo
                 WHERE e.id = todo.id
                """,
                lines=self._line_values_sql(company, day, unlinked_only=True),
                kind=role_kind,
                opening=record.is_opening,
                share=share,
                record=record.id,
            )
        )
        linked = self.env.cr.rowcount
        self.env["customer.point.entry"].invalidate_model(
            ["liability_move_id", "liability_bucket", "liability_amount"]
        )
        return linked

    @api.model
    def _has_unlinked_lines(self, company, day):
        self.env.cr.execute(
            SQL(
                """
                SELECT EXISTS (
                    SELECT 1 FROM customer_point_entry
                     WHERE company_id = %s AND date <= %s
                       AND liability_move_id IS NULL)
                """,
                company.id,
                day,
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _first_day(self, company):
        """The first ledger day of the company, or ``None``."""
        self.env.cr.execute(
            SQL(
                "SELECT min(date) FROM customer_point_entry WHERE company_id = %s",
                company.id,
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _candidate_days(self, company, values, until):
        """The ledger days to post, in order: the day before the first day
        posted when the company has older lines (the opening entry), then
        every day after the last day posted with ledger activity or a new
        rate, and ``until`` itself (which carries any correction)."""
        start = company.loyalty_liability_start_date
        posted = company.loyalty_liability_posted_date
        days = []
        opening_day = start - timedelta(days=1)
        first = self._first_day(company)
        if not posted and first and first <= opening_day <= until:
            days.append(opening_day)
        after = max(posted or opening_day, opening_day)
        days += [v.day for v in values if after < v.day <= until]
        if until > after and until not in days:
            days.append(until)
        return days
