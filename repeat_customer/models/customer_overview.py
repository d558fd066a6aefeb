"""The data of the Loyalty Overview, in a few grouped reads."""

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.numbers import in_bounds

PERIODS = (3, 6, 12, 24)
DEFAULT_PERIOD = 12
# the filters of the analytics pages: fields of the members (a store: the
# members whose home store it is)
FILTER_KEYS = ("tier_id", "segment_id", "country_id", "home_store_id")
SCORES = (1, 2, 3, 4, 5)


def ratio(numerator, denominator, factor=100.0):
    """``factor`` * numerator / denominator, None without a denominator."""
    return factor * numerator / denominator if denominator else None


class CustomerOverview(models.AbstractModel):
    """Read-only: every figure is a grouped read through the ORM, so the
    record rules of the reader apply (a salesperson's overview is their
    customers'), and the methods run on a read-only cursor, a replica's when
    the server has one (``--db_replica_host``)."""

    _name = "customer.overview"
    _description = "Loyalty Overview"

    @api.readonly
    @api.model
    def get_overview(self, filters=None):
        """The figures of the overview for ``filters``: ``company_id``,
        ``months`` (the period, one of PERIODS), ``tier_id``,
        ``segment_id``, ``country_id``. Each figure comes with the domain of
        the records behind it, for the client to open."""
        spec = self._parse_filters(filters or {})
        company = spec["company"]
        today = company._loyalty_today()
        start = self._period_start(today, spec["months"])
        members = self._member_domain(spec)
        activity = self._activity_domain(spec, start)
        months = self._months(activity, start, today)
        return {
            **self._page_header(spec),
            "start": start.isoformat(),
            "today": today.isoformat(),
            "kpis": self._kpis(spec, members, months, start),
            "segments": self._segments(members),
            "months": months,
            "points": self._points(spec, members, start),
            "cohorts": self._cohorts(spec, start),
            "rf_grid": self._rf_grid(members),
            "service": self._service(spec, start, months),
            "domains": {
                "members": members,
                "activity": activity,
            },
        }

    @api.readonly
    @api.model
    def get_rf_matrix(self, filters=None):
        """The R x F matrix of the members of ``filters`` (as the
        overview's, without the period: scores are today's): per recency
        (5 on top, as the overview) and frequency score, the members, their
        share of the members and of revenue, their average spending and
        main segment; totals per row and column."""
        spec = self._parse_filters(filters or {})
        members = self._member_domain(spec)
        grid = self._rf_grid(members)
        total = sum(cell["count"] for line in grid for cell in line)
        for line in grid:
            for cell in line:
                cell["member_share"] = 100.0 * cell["count"] / total if total else 0.0
        return {
            **self._page_header(spec),
            "rf_grid": grid,
            "rows": [sum(cell["count"] for cell in line) for line in grid],
            "columns": [sum(line[i]["count"] for line in grid) for i in range(5)],
            "total": total,
            "domains": {"members": members},
        }

    @api.model
    def _page_header(self, spec):
        """What every page of the analytics shows above its figures: the
        filters as applied, the choices of each filter, the currency."""
        company = spec["company"]
        return {
            "filters": {
                "company_id": company.id,
                "months": spec["months"],
                **{key: spec[key] for key in FILTER_KEYS},
            },
            "choices": self._choices(company),
            "currency_id": company.currency_id.id,
        }

    @api.model
    def action_export(self, filters=None):
        """The export wizard, filled with the overview's filters."""
        spec = self._parse_filters(filters or {})
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_analytics_export_action"
        )
        context = {
            "default_company_id": spec["company"].id,
            "default_months": str(spec["months"]),
        }
        for key in FILTER_KEYS:
            if spec[key]:
                context[f"default_{key}"] = spec[key]
        action["context"] = context
        return action

    # ------------------------------------------------------------------
    @api.model
    def _period_start(self, today, months):
        """The first day of a period of ``months`` months ending today."""
        return today.replace(day=1) - relativedelta(months=months - 1)

    @api.model
    def _parse_filters(self, filters):
        if not isinstance(filters, dict):
            raise UserError(self.env._("The overview's filters must be a dictionary."))
        company = self.env.company
        if filters.get("company_id"):
            company_id = self._filter_id(filters["company_id"])
            company = self.env["res.company"].browse(company_id)
            if company not in self.env.user.company_ids:
                raise UserError(self.env._("You cannot see this company's overview."))
        months = filters.get("months") or DEFAULT_PERIOD
        if months not in PERIODS:
            raise UserError(
                self.env._(
                    "The period is one of %(periods)s months.",
                    periods=", ".join(str(p) for p in PERIODS),
                )
            )
        spec = {"company": company, "months": months}
        for key in FILTER_KEYS:
            value = filters.get(key)
            spec[key] = self._filter_id(value) if value else False
        return spec

    @api.model
    def _filter_id(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise UserError(self.env._("A filter of the overview must be a record id."))
        if not in_bounds(value, 1, 2**31 - 1):
            raise UserError(self.env._("A filter of the overview must be a record id."))
        return value

    @api.model
    def _member_domain(self, spec, prefix=""):
        """Members of the filters; with ``prefix`` (``membership_id.``), the
        records of those members (every such model carries the company)."""
        domain = [("company_id", "=", spec["company"].id)]
        for key in FILTER_KEYS:
            if spec[key]:
                domain.append((f"{prefix}{key}", "=", spec[key]))
        return domain

    @api.model
    def _activity_domain(self, spec, start):
        return [*self._member_domain(spec, "membership_id."), ("month", ">=", start)]

    @api.model
    def _choices(self, company):
        def pairs(records):
            return [[r.id, r.display_name] for r in records]

        Membership = self.env["customer.membership"]
        countries = Membership._read_group(
            [("company_id", "=", company.id), ("country_id", "!=", False)],
            ["country_id"],
        )
        stores = Membership._read_group(
            [("company_id", "=", company.id), ("home_store_id", "!=", False)],
            ["home_store_id"],
        )
        return {
            "companies": pairs(self.env.user.company_ids),
            "tiers": pairs(
                self.env["customer.tier"].search([("company_id", "=", company.id)])
            ),
            "segments": pairs(self.env["customer.segment"].search([])),
            "countries": pairs(
                self.env["res.country"].union(*(c for (c,) in countries))
            ),
            # the stores some member calls home
            "stores": pairs(self.env["customer.store"].union(*(s for (s,) in stores))),
            "periods": list(PERIODS),
        }

    @api.model
    def _kpis(self, spec, members, months, start):
        Membership = self.env["customer.membership"]
        ((count, points, pending, spent),) = Membership._read_group(
            members,
            [],
            ["__count", "points_balance:sum", "points_pending:sum", "total_spent:sum"],
        )
        start_date = start
        active_domain = [*members, ("last_order_date", ">=", start_date)]
        active = Membership.search_count(active_domain)
        # the period's rates: ratios of the months' sums (the current month
        # has no churn figure yet)
        sums = {
            key: sum(m[key] for m in months)
            for key in ("churned", "previous_active", "repeat", "repeat_base")
        }
        churn = ratio(sums["churned"], sums["previous_active"])
        repeat = ratio(sums["repeat"], sums["repeat_base"])
        entry_domain = [
            *self._member_domain(spec, "membership_id."),
            ("date", ">=", start_date),
        ]
        by_kind = dict(
            self.env["customer.point.entry"]._read_group(
                entry_domain, ["kind"], ["points:sum"]
            )
        )
        issued = by_kind.get("earn", 0)
        redeemed = -by_kind.get("redeem", 0)
        company = spec["company"]
        kpis = {
            "members": count,
            "active": active,
            "active_domain": active_domain,
            "repeat_rate": repeat,
            "churn_rate": churn,
            "points": points or 0,
            "points_pending": pending or 0,
            "points_value": (points or 0) * company.loyalty_point_value,
            "redemption_rate": 100.0 * redeemed / issued if issued else None,
            "entry_domain": entry_domain,
            "spent": spent or 0.0,
        }
        Campaign = self.env["customer.campaign"]
        if Campaign.search_count([("company_id", "=", company.id)], limit=1):
            delivery_domain = [
                *self._member_domain(spec, "membership_id."),
                ("state", "=", "sent"),
                ("delivery_date", ">=", start_date),
            ]
            ((revenue,),) = self.env["customer.campaign.delivery"]._read_group(
                delivery_domain, [], ["revenue:sum"]
            )
            kpis["campaign_revenue"] = revenue or 0.0
            kpis["delivery_domain"] = delivery_domain
        return kpis

    @api.model
    def _service(self, spec, start, months):
        """Satisfaction and service of the period: NPS and answers, complaints
        per 100 orders, open and overdue requests, average working hours to
        the first answer; each with the domain of its records. The orders
        are the months' (the members' monthly activity, already summed for
        the other figures), the complaints the requests received in the
        period: no pass over the orders themselves."""
        members = self._member_domain(spec, "membership_id.")
        start_dt = fields.Datetime.to_datetime(start)
        feedback_domain = [
            *members,
            ("state", "=", "answered"),
            ("answer_date", ">=", start_dt),
        ]
        ((answers, nps),) = self.env["customer.feedback"]._read_group(
            feedback_domain, [], ["__count", "nps_value:avg"]
        )
        orders = sum(month["orders"] for month in months)
        # the complaints of the members whose orders those are: a salesperson
        # may see more requests (her team's, the unassigned) than members
        complaints = self.env["customer.service.request"].search_count(
            [
                *members,
                ("membership_id", "in", self.env["customer.membership"]._search([])),
                ("is_complaint", "=", True),
                ("stage_id.is_cancel", "=", False),
                ("create_date", ">=", start_dt),
            ]
        )
        rate_domain = [*members, ("date", ">=", start)]
        Request = self.env["customer.service.request"]
        open_domain = [*members, ("is_closed", "=", False)]
        overdue_domain = [*open_domain, ("is_overdue", "=", True)]
        answered_domain = [
            *members,
            ("create_date", ">=", start_dt),
            ("first_response_date", "!=", False),
        ]
        ((answered, response_hours),) = Request._read_group(
            answered_domain, [], ["__count", "response_hours:avg"]
        )
        return {
            "answers": answers,
            "nps": nps if answers else None,
            "feedback_domain": feedback_domain,
            "orders": orders or 0,
            "complaints": complaints or 0,
            "complaint_rate": ratio(complaints, orders),
            "rate_domain": rate_domain,
            "open": Request.search_count(open_domain),
            "open_domain": open_domain,
            "overdue": Request.search_count(overdue_domain),
            "overdue_domain": overdue_domain,
            "response_hours": response_hours if answered else None,
            "answered_domain": answered_domain,
        }

    @api.model
    def _segments(self, members):
        rows = self.env["customer.membership"]._read_group(
            members, ["segment_id"], ["__count", "total_spent:sum"]
        )
        return [
            {
                "id": segment.id,
                "name": segment.display_name if segment else self.env._("Not Scored"),
                "color": segment.color if segment else 0,
                "count": count,
                "spent": spent,
            }
            for segment, count, spent in sorted(
                rows, key=lambda r: (r[0].sequence if r[0] else 10**6, r[0].id)
            )
        ]

    @api.model
    def _month_list(self, start, today):
        months, month = [], start
        while month <= today:
            months.append(month)
            month += relativedelta(months=1)
        return months

    @api.model
    def _months(self, activity, start, today):
        """Each month of the period: active and new members, the sums the
        rates are ratios of, the rates, revenue and average order value."""
        rows = self.env["customer.activity.month"]._read_group(
            activity,
            ["month:month"],
            [
                "active_count:sum",
                "new_count:sum",
                "churned_count:sum",
                "previous_active_count:sum",
                "repeat_count:sum",
                "repeat_base_count:sum",
                "order_count:sum",
                "revenue:sum",
            ],
        )
        by_month = {row[0]: row[1:] for row in rows}
        result = []
        current = today.replace(day=1)
        for month in self._month_list(start, today):
            active, new, churned, before, repeat, base, orders, revenue = by_month.get(
                month, (0,) * 7 + (0.0,)
            )
            if month == current:
                # the month is not over: who has not bought yet has not lapsed
                churned = before = 0
            result.append(
                {
                    "month": month.isoformat(),
                    "active": active,
                    "new": new,
                    "churned": churned,
                    "previous_active": before,
                    "repeat": repeat,
                    "repeat_base": base,
                    "churn_rate": ratio(churned, before),
                    "repeat_rate": ratio(repeat, base),
                    "orders": orders,
                    "aov": ratio(revenue, orders, 1.0),
                    "revenue": revenue,
                }
            )
        return result

    @api.model
    def _points(self, spec, members, start):
        domain = [*self._member_domain(spec, "membership_id."), ("date", ">=", start)]
        rows = self.env["customer.point.entry"]._read_group(
            domain, ["date:month", "kind"], ["points:sum"]
        )
        by_month = {}
        for month, kind, points in rows:
            figures = by_month.setdefault(
                month, {"issued": 0, "redeemed": 0, "expired": 0}
            )
            if kind == "earn":
                figures["issued"] += points
            elif kind == "redeem":
                figures["redeemed"] -= points
            elif kind == "expire":
                figures["expired"] -= points
        today = spec["company"]._loyalty_today()
        return [
            {
                "month": month.isoformat(),
                **by_month.get(month, {"issued": 0, "redeemed": 0, "expired": 0}),
            }
            for month in self._month_list(start, today)
        ]

    @api.model
    def _cohorts(self, spec, start, with_revenue=False):
        """The cohorts of first purchases since ``start``, of the members of
        ``spec`` (and of the reader's record rules): size, and by months
        since, buyers and their share of the cohort (and revenue per cohort
        member; ``partial`` for this month's cells, not over yet). Every
        member buys in their cohort's month, so the size is the buyers of
        month 0."""
        domain = [
            *self._activity_domain(spec, start),
            ("cohort_month", ">=", start),
            ("active_count", "=", 1),
        ]
        rows = self.env["customer.activity.month"]._read_group(
            domain, ["cohort_month:month", "months_since"], ["__count", "revenue:sum"]
        )
        cohorts = {}
        for cohort, since, count, revenue in rows:
            entry = cohorts.setdefault(
                cohort, {"cohort": cohort.isoformat(), "cells": {}}
            )
            entry["cells"][since] = {"count": count, "revenue": revenue}
        result = []
        current = spec["company"]._loyalty_today().replace(day=1)
        for cohort in sorted(cohorts):
            entry = cohorts[cohort]
            size = entry["cells"].get(0, {}).get("count", 0)
            if not size:
                continue
            entry["size"] = size
            for since, cell in entry["cells"].items():
                cell["share"] = 100.0 * cell["count"] / size
                # this month is not over: its share is still growing
                cell["partial"] = bool(
                    since and cohort + relativedelta(months=since) >= current
                )
                revenue = cell.pop("revenue")
                if with_revenue:
                    cell["revenue_per_member"] = revenue / size
            if with_revenue:
                entry["cohort_date"] = cohort
            result.append(entry)
        return result

    @api.model
    def _rf_grid(self, members):
        Membership = self.env["customer.membership"]
        rows = Membership._read_group(
            [*members, ("rfm_recency_score", "!=", False)],
            ["rfm_recency_score", "rfm_frequency_score", "segment_id"],
            ["__count", "total_spent:sum"],
        )
        total = sum(spent for *_k, _c, spent in rows) or 0.0
        cells = {}
        for recency, frequency, segment, count, spent in rows:
            cell = cells.setdefault(
                (recency, frequency), {"count": 0, "spent": 0.0, "segments": {}}
            )
            cell["count"] += count
            cell["spent"] += spent
            cell["segments"][segment] = cell["segments"].get(segment, 0) + count
        grid = []
        for recency in reversed(SCORES):
            line = []
            for frequency in SCORES:
                cell = cells.get((recency, frequency))
                if not cell:
                    line.append({"r": recency, "f": frequency, "count": 0})
                    continue
                # the cell is named by the segment most of its members are in
                segment = max(cell["segments"].items(), key=lambda kv: kv[1])[0]
                line.append(
                    {
                        "r": recency,
                        "f": frequency,
                        "count": cell["count"],
                        "share": 100.0 * cell["spent"] / total if total else 0.0,
                        "average_spent": cell["spent"] / cell["count"],
                        "segment": segment.display_name if segment else "",
                        "color": segment.color if segment else 0,
                    }
                )
            grid.append(line)
        return grid
