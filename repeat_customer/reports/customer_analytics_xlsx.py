"""The retention analytics as XLSX files (OCA ``report_xlsx``): the member
list, the cohort matrix and the rates by month. Only the members the user
may see are in them (the record rules apply), and rows stream out in
constant-memory mode."""

from odoo import models
from odoo.tools import SQL

# members read per query while the list streams out
ROWS_PER_READ = 5000


class AnalyticsXlsx(models.AbstractModel):
    _name = "report.repeat_customer.analytics_xlsx"
    _inherit = "report.repeat_customer.xlsx_table"
    _description = "Loyalty Analytics Spreadsheet"

    def generate_xlsx_report(self, workbook, data, objs):
        for export in objs:
            spec = export._spec()
            suffix = f" ({export.id})" if len(objs) > 1 else ""
            self._write_sheets(workbook, export, spec, suffix)

    def _write_sheets(self, workbook, export, spec, suffix):
        raise NotImplementedError()

    def _selection(self, model, field_name):
        field = self.env[model]._fields[field_name]
        return dict(field._description_selection(self.env))

    def _title(self, sheet, formats, title, export, row=0):
        """A title and the filters of the export above a table."""
        sheet.write_string(row, 0, title, formats["title"])
        filters = [export.company_id.name]
        filters.append(self.env._("last %(months)s months", months=export.months))
        for record in (export.tier_id, export.segment_id, export.country_id):
            if record:
                filters.append(record.display_name)
        sheet.write_string(row + 1, 0, " · ".join(filters))

    def _start(self, spec):
        overview = self.env["customer.overview"]
        today = spec["company"]._loyalty_today()
        return overview, today, overview._period_start(today, spec["months"])


class AnalyticsMembersXlsx(models.AbstractModel):
    _name = "report.repeat_customer.analytics_members_xlsx"
    _inherit = "report.repeat_customer.analytics_xlsx"
    _description = "Loyalty Member List Spreadsheet"

    def _write_sheets(self, workbook, export, spec, suffix):
        company = spec["company"]
        formats = self._formats(workbook, company.currency_id)
        env = self.env
        sheet = workbook.add_worksheet(env._("Members") + suffix)
        self._title(sheet, formats, env._("Loyalty members"), export)
        columns = [
            (env._("Member Number"), 12, None),
            (env._("Customer"), 30, None),
            (env._("Salesperson"), 20, None),
            (env._("Tier"), 14, None),
            (env._("Segment"), 18, None),
            (env._("R"), 5, "int"),
            (env._("F"), 5, "int"),
            (env._("M"), 5, "int"),
            (env._("Churn Probability"), 11, "percent"),
            (env._("Churn Risk"), 10, None),
            (env._("Orders"), 9, "int"),
            (env._("Spent to Date"), 14, "money"),
            (env._("Average Basket"), 13, "money"),
            (env._("First Purchase"), 12, "date"),
            (env._("Last Purchase"), 12, "date"),
            (env._("Days Since Last Purchase"), 10, "int"),
            (env._("Expected Purchases (90 days)"), 11, "decimal"),
            (env._("Expected Order Value"), 13, "money"),
            (env._("Predicted Lifetime Value"), 14, "money"),
            (env._("Points Balance"), 11, "int"),
            (env._("Country"), 16, None),
            (env._("State"), 16, None),
            (env._("City"), 16, None),
            (env._("Age Band"), 10, None),
            (env._("Gender"), 9, None),
            (env._("Member Since"), 12, "date"),
        ]
        formats["decimal"] = workbook.add_format({"num_format": "0.00"})
        header_row = 3
        self._header(
            sheet, header_row, [(c[0], c[1]) for c in columns], formats, height=48
        )
        sheet.freeze_panes(header_row + 1, 2)
        names = self._names()
        risks = self._selection("customer.membership", "churn_risk")
        bands = self._selection("customer.membership", "age_band")
        genders = self._selection("customer.membership", "gender")
        totals = {10: 0, 11: 0.0, 18: 0.0, 19: 0}
        # the value of each column from a row of _member_rows: the row's own
        # value, or its label from one of the lookups
        lookups = {
            3: names["tier"],
            4: names["segment"],
            9: risks,
            20: names["country"],
            23: bands,
            24: genders,
        }
        writers = []
        for _label, _width, kind in columns:
            fmt = formats[kind] if kind else None
            if kind in ("int", "money", "percent", "decimal"):
                method = sheet.write_number
            elif kind == "date":
                method = sheet.write_datetime
            else:
                method = sheet.write_string
            writers.append((method, fmt))
        # (column, lookup or None, writer, format) once, not per cell
        plan = [
            (col, lookups.get(col), method, fmt)
            for col, (method, fmt) in enumerate(writers)
        ]
        row = header_row
        for values in self._member_rows(spec):
            row += 1
            for col, lookup, method, fmt in plan:
                value = values[col]
                if lookup is not None:
                    value = lookup.get(value)
                # an empty cell is left out: it needs no format
                if value is not None and value is not False:
                    method(row, col, value, fmt)
            for col in totals:
                totals[col] += values[col] or 0
        sheet.autofilter(header_row, 0, max(row, header_row + 1), len(columns) - 1)
        row += 1
        sheet.write_string(row, 0, env._("Total"), formats["bold"])
        for col, value in totals.items():
            fmt = (
                formats["money_bold"]
                if columns[col][2] == "money"
                else formats["int_bold"]
            )
            self._total(sheet, row, col, header_row + 1, value, fmt)

    def _names(self):
        """Translated names of the tiers, segments and countries, by id."""

        def by_id(model):
            records = self.env[model].with_context(active_test=False).search([])
            return {r.id: r.display_name for r in records}

        return {
            "tier": by_id("customer.tier"),
            "segment": by_id("customer.segment"),
            "country": by_id("res.country"),
        }

    def _member_rows(self, spec):
        """The members of ``spec`` the user may see, in member-number order,
        read ``ROWS_PER_READ`` at a time through a server-side cursor."""
        Membership = self.env["customer.membership"]
        domain = self.env["customer.overview"]._member_domain(spec)
        query = Membership._search(domain, order="id")
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                DECLARE analytics_members NO SCROLL CURSOR FOR
                SELECT m.name, p.name, up.name, m.tier_id, m.segment_id,
                       m.rfm_recency_score, m.rfm_frequency_score,
                       m.rfm_monetary_score, m.churn_probability, m.churn_risk,
                       m.order_count, m.total_spent, m.average_order_value,
                       m.first_order_date, m.last_order_date,
                       %(today)s::date - m.last_order_date,
                       m.expected_purchases_90d, m.expected_order_value, m.clv,
                       m.points_balance, m.country_id, st.name, m.city,
                       m.age_band, m.gender, m.join_date
                  FROM customer_membership m
                  JOIN res_partner p ON p.id = m.partner_id
                  LEFT JOIN res_users u ON u.id = m.user_id
                  LEFT JOIN res_partner up ON up.id = u.partner_id
                  LEFT JOIN res_country_state st ON st.id = m.state_id
                 WHERE m.id IN %(ids)s
                 ORDER BY m.id
                """,
                ids=query.subselect(),
                today=spec["company"]._loyalty_today(),
            )
        )
        try:
            while True:
                cr.execute(SQL("FETCH %s FROM analytics_members", ROWS_PER_READ))
                rows = cr.fetchall()
                if not rows:
                    return
                yield from rows
        finally:
            cr.execute(SQL("CLOSE analytics_members"))


class AnalyticsCohortsXlsx(models.AbstractModel):
    _name = "report.repeat_customer.analytics_cohorts_xlsx"
    _inherit = "report.repeat_customer.analytics_xlsx"
    _description = "Loyalty Cohort Matrix Spreadsheet"

    def _write_sheets(self, workbook, export, spec, suffix):
        company = spec["company"]
        formats = self._formats(workbook, company.currency_id)
        formats["month"] = workbook.add_format({"num_format": "yyyy-mm"})
        formats["share"] = workbook.add_format({"num_format": "0.0%"})
        overview, _today, start = self._start(spec)
        cohorts = overview._cohorts(spec, start, with_revenue=True)
        width = max([max(c["cells"], default=0) for c in cohorts] or [0]) + 1
        env = self.env
        for title, key, fmt in (
            (env._("Retention"), "share", "share"),
            (env._("Buyers"), "count", "int"),
            (env._("Revenue per Member"), "revenue_per_member", "money"),
        ):
            sheet = workbook.add_worksheet(title + suffix)
            self._title(
                sheet, formats, env._("Cohort retention: %(what)s", what=title), export
            )
            header_row = 3
            columns = [(env._("Cohort"), 11), (env._("Cohort Size"), 10)]
            columns += [(env._("Month %(n)s", n=n), 9) for n in range(width)]
            self._header(sheet, header_row, columns, formats)
            sheet.freeze_panes(header_row + 1, 2)
            row = header_row
            for cohort in cohorts:
                row += 1
                self._write(sheet, row, 0, cohort["cohort_date"], formats["month"])
                self._write(sheet, row, 1, cohort["size"], formats["int"])
                for since in range(width):
                    cell = cohort["cells"].get(since)
                    value = None
                    if cell:
                        value = cell["share"] / 100.0 if key == "share" else cell[key]
                    self._write(sheet, row, 2 + since, value, formats[fmt])
            if cohorts:
                sheet.conditional_format(
                    header_row + 1,
                    2,
                    row,
                    1 + width,
                    {
                        "type": "3_color_scale",
                        "min_color": "#F8F9FA",
                        "mid_color": "#7FC4C7",
                        "max_color": "#017E84",
                    },
                )
            sheet.autofilter(header_row, 0, max(row, header_row + 1), 1 + width)
            if any(
                cell.get("partial") for c in cohorts for cell in c["cells"].values()
            ):
                sheet.write(
                    row + 2,
                    0,
                    env._(
                        "The last cell of each cohort is the month in progress: "
                        "not over, its figures are still growing."
                    ),
                )


class AnalyticsRatesXlsx(models.AbstractModel):
    _name = "report.repeat_customer.analytics_rates_xlsx"
    _inherit = "report.repeat_customer.analytics_xlsx"
    _description = "Loyalty Rates by Month Spreadsheet"

    MEASURES = [
        "active_count:sum",
        "new_count:sum",
        "previous_active_count:sum",
        "churned_count:sum",
        "churn_rate:avg",
        "repeat_base_count:sum",
        "repeat_count:sum",
        "repeat_rate:avg",
        "order_count:sum",
        "revenue:sum",
        "average_order_value:avg",
        "purchase_frequency:avg",
    ]

    def _columns(self, formats):
        env = self.env
        return [
            (env._("Active Members"), 10, formats["int"]),
            (env._("New Members"), 10, formats["int"]),
            (env._("Active the Month Before"), 11, formats["int"]),
            (env._("Lapsed Members"), 10, formats["int"]),
            (env._("Churn Rate"), 9, formats["share"]),
            (env._("First-Time Buyers (Window Passed)"), 12, formats["int"]),
            (env._("Repeat Buyers"), 10, formats["int"]),
            (env._("Repeat-Purchase Rate"), 11, formats["share"]),
            (env._("Orders"), 9, formats["int"]),
            (env._("Revenue"), 14, formats["money"]),
            (env._("Average Order Value"), 12, formats["money"]),
            (env._("Orders per Active Member"), 10, formats["decimal"]),
        ]

    def _write_values(self, sheet, row, values, columns):
        for col, (value, (_label, _width, fmt)) in enumerate(
            zip(values, columns, strict=True), start=1
        ):
            if value is False:
                value = None
            elif col in (5, 8) and value is not None:
                value = value / 100.0
            self._write(sheet, row, col, value, fmt)

    def _write_sheets(self, workbook, export, spec, suffix):
        company = spec["company"]
        formats = self._formats(workbook, company.currency_id)
        formats["month"] = workbook.add_format({"num_format": "yyyy-mm"})
        formats["share"] = workbook.add_format({"num_format": "0.0%"})
        formats["decimal"] = workbook.add_format({"num_format": "0.00"})
        overview, today, start = self._start(spec)
        domain = overview._activity_domain(spec, start)
        Activity = self.env["customer.activity.month"]
        columns = self._columns(formats)
        env = self.env
        # by month, with a chart
        sheet = workbook.add_worksheet(env._("By Month") + suffix)
        self._title(sheet, formats, env._("Retention rates by month"), export)
        header_row = 3
        self._header(
            sheet,
            header_row,
            [(env._("Month"), 11)] + [c[:2] for c in columns],
            formats,
            height=48,
        )
        sheet.freeze_panes(header_row + 1, 1)
        rows = {
            month: values
            for month, *values in Activity._read_group(
                domain, ["month:month"], self.MEASURES
            )
        }
        row = header_row
        current = today.replace(day=1)
        for month in overview._month_list(start, today):
            row += 1
            values = list(
                rows.get(month, [0, 0, 0, 0, None, 0, 0, None, 0, 0.0, None, None])
            )
            if month == current:
                # the month is not over: nobody has lapsed yet
                values[2:5] = [None, None, None]
            self._write(sheet, row, 0, month, formats["month"])
            self._write_values(sheet, row, values, columns)
        last = row
        sheet.autofilter(header_row, 0, last, len(columns))
        chart = workbook.add_chart({"type": "line"})
        name = sheet.get_name()
        for col in (5, 8):
            chart.add_series(
                {
                    "name": [name, header_row, col],
                    "categories": [name, header_row + 1, 0, last, 0],
                    "values": [name, header_row + 1, col, last, col],
                    "marker": {"type": "circle"},
                }
            )
        chart.set_title({"name": env._("Churn and repeat-purchase rates")})
        chart.set_x_axis({"date_axis": True, "num_format": "yyyy-mm"})
        chart.set_y_axis({"num_format": "0%", "min": 0})
        chart.set_size({"width": 760, "height": 320})
        sheet.insert_chart(last + 3, 0, chart)
        # by segment, tier, country and age band, over the period
        bands = self._selection("customer.membership", "age_band")
        # over the months that are over: the current one has no churn yet
        complete = [*domain, ("month", "<", current)]
        for title, label, groupby, labels in (
            (env._("By Segment"), env._("Segment"), "segment_id", None),
            (env._("By Tier"), env._("Tier"), "tier_id", None),
            (env._("By Country"), env._("Country"), "country_id", None),
            (env._("By Age Band"), env._("Age Band"), "age_band", bands),
        ):
            sheet = workbook.add_worksheet(title + suffix)
            self._title(
                sheet, formats, env._("Retention rates: %(by)s", by=title), export
            )
            sheet.write_string(2, 0, env._("The months that are over."))
            self._header(
                sheet,
                header_row,
                [(label, 22)] + [c[:2] for c in columns],
                formats,
                height=48,
            )
            sheet.freeze_panes(header_row + 1, 1)
            row = header_row
            for key, *values in Activity._read_group(
                complete, [groupby], self.MEASURES
            ):
                row += 1
                if labels is not None:
                    name = labels.get(key) or env._("Unknown")
                else:
                    name = key.display_name if key else env._("None")
                self._write(sheet, row, 0, name)
                self._write_values(sheet, row, values, columns)
            sheet.autofilter(header_row, 0, max(row, header_row + 1), len(columns))
