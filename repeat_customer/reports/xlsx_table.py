"""What the addon's XLSX files share (OCA ``report_xlsx``): constant-memory
workbooks, typed cells, money in the company currency's format, tables with
a frozen header, filters and widths, and totals as formulas."""

from odoo import models


class XlsxTable(models.AbstractModel):
    _name = "report.repeat_customer.xlsx_table"
    _inherit = "report.report_xlsx.abstract"
    _description = "Loyalty XLSX Table"

    def get_workbook_options(self):
        # rows are written in order and flushed: a large file never sits in
        # memory whole
        return {"constant_memory": True, "strings_to_numbers": False}

    def _formats(self, workbook, currency):
        money = self._report_xlsx_currency_format(currency)
        return {
            "title": workbook.add_format({"bold": True, "font_size": 14}),
            "bold": workbook.add_format({"bold": True}),
            "header": workbook.add_format(
                {
                    "bold": True,
                    "bg_color": "#D9E1F2",
                    "border": 1,
                    "text_wrap": True,
                    "valign": "vcenter",
                }
            ),
            "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
            "money": workbook.add_format({"num_format": money}),
            "money_bold": workbook.add_format({"num_format": money, "bold": True}),
            "int": workbook.add_format({"num_format": "#,##0"}),
            "int_bold": workbook.add_format({"num_format": "#,##0", "bold": True}),
            "percent": workbook.add_format({"num_format": "0.00%"}),
        }

    def _header(self, sheet, row, columns, formats, height=30):
        """Write a table header at ``row``: (label, width) per column; the
        sheet prints in landscape, one page wide, the header on every page."""
        sheet.set_landscape()
        sheet.set_paper(9)  # A4
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(row)
        sheet.set_row(row, height)
        for col, (label, width) in enumerate(columns):
            sheet.set_column(col, col, width)
            sheet.write_string(row, col, label, formats["header"])

    def _write(self, sheet, row, col, value, fmt=None):
        """Write a typed cell: dates as dates, numbers as numbers."""
        if value is None or value is False:
            sheet.write_blank(row, col, None, fmt)
        elif hasattr(value, "toordinal"):
            sheet.write_datetime(row, col, value, fmt)
        elif isinstance(value, int | float):
            sheet.write_number(row, col, value, fmt)
        else:
            sheet.write_string(row, col, str(value), fmt)

    def _total(self, sheet, row, col, first_row, value, fmt):
        """A SUM formula over the column above (Excel rows are 1-based),
        with its value cached for readers that do not compute."""
        letter = self._column_letter(col)
        sheet.write_formula(
            row, col, f"=SUM({letter}{first_row + 1}:{letter}{row})", fmt, value
        )

    @staticmethod
    def _column_letter(col):
        letters = ""
        col += 1
        while col:
            col, rest = divmod(col - 1, 26)
            letters = chr(65 + rest) + letters
        return letters
