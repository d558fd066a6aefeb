"""The accountants' workpapers of the points liability, as XLSX files
(OCA ``report_xlsx``, in Odoo's Print menu of the reconciliation): the
reconciliation on a date, and the ledger movements of a period with their
valuation. Written in xlsxwriter's constant-memory mode, row after row, so
a year of a large ledger streams out without being held in memory."""

from odoo import models
from odoo.tools import SQL

from ..models.customer_liability_move import BUCKET_SELECTION

# ledger lines read per query while a workpaper streams out
ROWS_PER_READ = 5000


class LiabilityWorkpaperMixin(models.AbstractModel):
    """What both workpapers share: a reconciliation per sheet set, and the
    ledger's translated labels."""

    _name = "report.repeat_customer.liability_workpaper"
    _inherit = "report.repeat_customer.xlsx_table"
    _description = "Points Liability Workpaper"

    def generate_xlsx_report(self, workbook, data, objs):
        for report in objs:
            report._check_company_allowed()
            suffix = f" ({report.company_id.id})" if len(objs) > 1 else ""
            self._write_sheets(workbook, report, suffix)

    def _write_sheets(self, workbook, report, suffix):
        """Write the sheets of one reconciliation ``report`` (a
        ``customer.liability.report``); ``suffix`` tells companies apart."""
        raise NotImplementedError()

    def _labels(self, field_name):
        """{value: translated label} of a selection of the ledger lines."""
        field = self.env["customer.point.entry"]._fields[field_name]
        return dict(field._description_selection(self.env))


class LiabilityReconciliationXlsx(models.AbstractModel):
    _name = "report.repeat_customer.liability_reconciliation_xlsx"
    _inherit = "report.repeat_customer.liability_workpaper"
    _description = "Points Liability Reconciliation Workpaper"

    def _write_sheets(self, workbook, report, suffix):
        self._reconciliation_sheet(workbook, report, suffix)
        self._entries_sheet(workbook, report, suffix)

    def _reconciliation_sheet(self, workbook, report, suffix):
        company = report.company_id
        formats = self._formats(workbook, company.currency_id)
        sheet = workbook.add_worksheet(self.env._("Reconciliation") + suffix)
        sheet.set_column(0, 0, 46)
        sheet.set_column(1, 1, 40)
        methods = dict(
            company._fields["loyalty_liability_method"]._description_selection(self.env)
        )
        sheet.write_string(
            0, 0, self.env._("Points liability reconciliation"), formats["title"]
        )
        facts = [
            (self.env._("Company"), company.name, None),
            (self.env._("Date"), report.date, formats["date"]),
            (self.env._("Method"), methods.get(company.loyalty_liability_method), None),
            (self.env._("Expected redemption rate"), report.rate, formats["percent"]),
            (
                self.env._("Points outstanding"),
                report.outstanding_points,
                formats["int"],
            ),
            (
                self.env._("Posted up to"),
                company.loyalty_liability_posted_date,
                formats["date"],
            ),
            (
                self.env._("Liability account"),
                company.loyalty_liability_account_id.display_name,
                None,
            ),
        ]
        row = 1
        for label, value, fmt in facts:
            sheet.write_string(row, 0, label)
            self._write(sheet, row, 1, value, fmt)
            row += 1
        row += 1
        self._header(
            sheet, row, [(self.env._("Item"), 46), (self.env._("Amount"), 40)], formats
        )
        money = formats["money"]
        first = row + 1
        lines = [
            (self.env._("Liability per ledger"), report.ledger_amount),
            (self.env._("Account balance"), report.account_amount),
            (self.env._("  of which posted by the programme"), report.programme_amount),
            (self.env._("  of which other entries"), report.manual_amount),
        ]
        for label, amount in lines:
            row += 1
            sheet.write_string(row, 0, label)
            sheet.write_number(row, 1, amount, money)
        row += 1
        sheet.write_string(row, 0, self.env._("Difference"), formats["bold"])
        sheet.write_formula(
            row,
            1,
            f"=B{first + 1}-B{first + 2}",
            formats["money_bold"],
            report.difference_amount,
        )
        row += 2
        sheet.write_string(row, 0, self.env._("Explained by"), formats["bold"])
        explained_first = row + 1
        for label, amount in [
            (self.env._("Ledger days not posted yet"), report.unposted_amount),
            (self.env._("Posted after the date (lock date)"), report.later_amount),
            (self.env._("Other entries on the account"), -report.manual_amount),
            (self.env._("Unexplained"), report.unexplained_amount),
        ]:
            row += 1
            sheet.write_string(row, 0, label)
            sheet.write_number(row, 1, amount, money)
        row += 1
        sheet.write_string(row, 0, self.env._("Total explained"), formats["bold"])
        self._total(
            sheet,
            row,
            1,
            explained_first,
            report.unposted_amount
            + report.later_amount
            - report.manual_amount
            + report.unexplained_amount,
            formats["money_bold"],
        )

    def _entries_sheet(self, workbook, report, suffix):
        company = report.company_id
        formats = self._formats(workbook, company.currency_id)
        sheet = workbook.add_worksheet(self.env._("Daily Entries") + suffix)
        kinds = dict(BUCKET_SELECTION)
        buckets = [kind for kind, _label in BUCKET_SELECTION]
        labels = self._labels("liability_bucket")
        columns = [
            (self.env._("Ledger Day"), 12),
            (self.env._("Accounting Date"), 12),
            (self.env._("Journal Entry"), 20),
        ]
        columns += [(labels.get(kind, kinds[kind]), 14) for kind in buckets]
        columns += [
            (self.env._("Liability Change"), 14),
            (self.env._("Liability"), 14),
            (self.env._("Points Outstanding"), 14),
            (self.env._("Rate"), 9),
            (self.env._("Note"), 60),
        ]
        self._header(sheet, 0, columns, formats)
        sheet.freeze_panes(1, 0)
        records = (
            self.env["customer.liability.move"]
            .sudo()
            .search(
                [("company_id", "=", company.id), ("date", "<=", report.date)],
                order="date, id",
            )
        )
        totals = [0.0] * (len(buckets) + 1)
        row = 0
        for record in records:
            row += 1
            self._write(sheet, row, 0, record.date, formats["date"])
            self._write(sheet, row, 1, record.accounting_date, formats["date"])
            self._write(sheet, row, 2, record.move_id.name)
            for col, kind in enumerate(buckets, start=3):
                amount = record[f"{kind}_amount"]
                totals[col - 3] += amount
                sheet.write_number(row, col, amount, formats["money"])
            col = 3 + len(buckets)
            totals[-1] += record.change_amount
            sheet.write_number(row, col, record.change_amount, formats["money"])
            sheet.write_number(row, col + 1, record.liability_amount, formats["money"])
            sheet.write_number(row, col + 2, record.outstanding_points, formats["int"])
            sheet.write_number(row, col + 3, record.rate, formats["percent"])
            self._write(sheet, row, col + 4, record.note)
        sheet.autofilter(0, 0, max(row, 1), len(columns) - 1)
        row += 1
        sheet.write_string(row, 0, self.env._("Total"), formats["bold"])
        for col, total in enumerate(totals, start=3):
            self._total(sheet, row, col, 1, total, formats["money_bold"])


class LiabilityMovementsXlsx(models.AbstractModel):
    _name = "report.repeat_customer.liability_movements_xlsx"
    _inherit = "report.repeat_customer.liability_workpaper"
    _description = "Points Ledger Movements Workpaper"

    def _write_sheets(self, workbook, report, suffix):
        self._movements_sheet(workbook, report, suffix)

    def _movements_sheet(self, workbook, report, suffix):
        company = report.company_id
        formats = self._formats(workbook, company.currency_id)
        sheet = workbook.add_worksheet(self.env._("Movements") + suffix)
        kinds = self._labels("kind")
        buckets = self._labels("liability_bucket")
        states = self._labels("state")
        sheet.write_string(
            0,
            0,
            self.env._(
                "Points ledger movements of %(company)s, %(start)s to %(end)s",
                company=company.name,
                start=report.date_from,
                end=report.date,
            ),
            formats["title"],
        )
        columns = [
            (self.env._("Date"), 12),
            (self.env._("Member Number"), 14),
            (self.env._("Customer"), 28),
            (self.env._("Type"), 12),
            (self.env._("Status"), 10),
            (self.env._("Points"), 10),
            (self.env._("Order"), 14),
            (self.env._("Credit Note"), 16),
            (self.env._("Reason"), 30),
            (self.env._("Posted As"), 22),
            (self.env._("Valuation"), 14),
            (self.env._("Ledger Day Posted"), 14),
            (self.env._("Journal Entry"), 20),
        ]
        self._header(sheet, 1, columns, formats)
        sheet.freeze_panes(2, 0)
        row = 1
        points_total = 0
        value_total = 0.0
        for line in self._movement_rows(company, report.date_from, report.date):
            row += 1
            (
                day,
                number,
                customer,
                kind,
                state,
                points,
                order,
                credit_note,
                reason,
                bucket,
                value,
                posted_day,
                move,
            ) = line
            points_total += points
            value_total += float(value or 0.0)
            self._write(sheet, row, 0, day, formats["date"])
            self._write(sheet, row, 1, number)
            self._write(sheet, row, 2, customer)
            self._write(sheet, row, 3, kinds.get(kind, kind))
            self._write(sheet, row, 4, states.get(state, state))
            sheet.write_number(row, 5, points, formats["int"])
            self._write(sheet, row, 6, order)
            self._write(sheet, row, 7, credit_note)
            self._write(sheet, row, 8, reason)
            self._write(sheet, row, 9, buckets.get(bucket) if bucket else None)
            self._write(
                sheet,
                row,
                10,
                float(value) if value is not None else None,
                formats["money"],
            )
            self._write(sheet, row, 11, posted_day, formats["date"])
            self._write(sheet, row, 12, move)
        sheet.autofilter(1, 0, max(row, 2), len(columns) - 1)
        row += 1
        sheet.write_string(row, 0, self.env._("Total"), formats["bold"])
        self._total(sheet, row, 5, 2, points_total, formats["int_bold"])
        self._total(sheet, row, 10, 2, value_total, formats["money_bold"])

    def _movement_rows(self, company, date_from, date_to):
        """The company's ledger lines of the period, in date order, read
        ``ROWS_PER_READ`` at a time through a server-side cursor (one query,
        sorted once, never held whole in memory)."""
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                DECLARE liability_movements NO SCROLL CURSOR FOR
                SELECT e.date, m.name, p.name, e.kind, e.state, e.points,
                       COALESCE(so.name, e.sale_order_name), cn.name,
                       e.reason, e.liability_bucket, e.liability_amount,
                       lm.date, am.name
                  FROM customer_point_entry e
                  JOIN customer_membership m ON m.id = e.membership_id
                  JOIN res_partner p ON p.id = m.partner_id
                  LEFT JOIN sale_order so ON so.id = e.sale_order_id
                  LEFT JOIN account_move cn ON cn.id = e.credit_note_id
                  LEFT JOIN customer_liability_move lm
                    ON lm.id = e.liability_move_id
                  LEFT JOIN account_move am ON am.id = lm.move_id
                 WHERE e.company_id = %(company)s
                   AND e.date BETWEEN %(date_from)s AND %(date_to)s
                 ORDER BY e.date, e.id
                """,
                company=company.id,
                date_from=date_from,
                date_to=date_to,
            )
        )
        try:
            while True:
                cr.execute(SQL("FETCH %s FROM liability_movements", ROWS_PER_READ))
                rows = cr.fetchall()
                if not rows:
                    return
                yield from rows
        finally:
            cr.execute(SQL("CLOSE liability_movements"))
