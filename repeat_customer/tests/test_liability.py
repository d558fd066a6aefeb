"""The points liability in the books: a scripted year valued by hand, the
daily entries, reruns, lock dates, settings, reconciliation, companies,
accountants and the XLSX workpapers."""

import io
from datetime import date, timedelta
from unittest.mock import patch

import openpyxl
import psycopg2.errors
from freezegun import freeze_time

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import TransactionCase, tagged

from ..tools.liability import DayFlow, allocation, value_days
from .common import RepeatCustomerCase, run_until_done
from .test_concurrency import attempt, race

V = 0.10  # value of one point


def alloc(amount, points, rate):
    """IFRS 15 relative stand-alone selling price, by hand."""
    standalone = points * V * rate
    return amount * standalone / (amount + standalone)


class LiabilityCase(RepeatCustomerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=cls.company, install_demo=False
        )
        cls.company.write(
            {
                "loyalty_points_enabled": True,
                "loyalty_points_per_unit": 1.0,
                "loyalty_points_rounding": "down",
                "loyalty_points_release": "confirm",
                "loyalty_points_pending_days": 0,
                "loyalty_points_expiry_policy": "months",
                "loyalty_points_expiry_months": 6,
                "loyalty_point_value": V,
            }
        )
        cls.accounts = cls._liability_accounts(cls.company)
        cls.Entry = cls.env["customer.point.entry"]
        cls.Move = cls.env["customer.liability.move"]
        cls.lin = cls._partner("Lin Mei")
        cls.wang = cls._partner("Wang Fang")

    @classmethod
    def _liability_accounts(cls, company, prefix="9"):
        Account = cls.env["account.account"].with_company(company)

        def account(code, name, account_type):
            return Account.create(
                {
                    "code": f"{prefix}{code}",
                    "name": name,
                    "account_type": account_type,
                    "company_ids": [Command.set(company.ids)],
                }
            )

        return {
            "liability": account(
                "2190", "Loyalty points liability", "liability_current"
            ),
            "deferral": account("4190", "Revenue deferred to points", "income"),
            "revenue": account("4191", "Loyalty points revenue", "income"),
            "breakage": account("4192", "Loyalty points breakage", "income_other"),
            "expense": account("6190", "Loyalty programme expense", "expense"),
            "opening": account("1190", "Retained earnings (points)", "equity"),
            "journal": cls.env["account.journal"].search(
                [("type", "=", "general"), ("company_id", "=", company.id)], limit=1
            ),
        }

    @classmethod
    def _settings(cls, accounts, method="deferred"):
        return {
            "loyalty_liability_method": method,
            "loyalty_liability_journal_id": accounts["journal"].id,
            "loyalty_liability_account_id": accounts["liability"].id,
            "loyalty_deferral_account_id": accounts["deferral"].id,
            "loyalty_revenue_account_id": accounts["revenue"].id,
            "loyalty_breakage_account_id": accounts["breakage"].id,
            "loyalty_expense_account_id": accounts["expense"].id,
            "loyalty_opening_account_id": accounts["opening"].id,
        }

    def _enable(self, start, rate=0.5, method="deferred", company=None):
        company = company or self.company
        accounts = self.accounts if company == self.company else self.accounts2
        self.env["customer.redemption.rate"].create(
            {"company_id": company.id, "date_from": start, "rate": rate}
        )
        company.write(
            {
                **self._settings(accounts, method),
                "loyalty_liability_enabled": True,
                "loyalty_liability_start_date": start,
            }
        )

    def _sell(self, partner, amount, qty=1):
        order = (
            self.env["sale.order"]
            .with_company(self.company)
            .create(
                {
                    "partner_id": partner.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": self.product.id,
                                "product_uom_qty": qty,
                                "price_unit": amount / qty,
                                "tax_id": [Command.clear()],
                            }
                        )
                    ],
                }
            )
        )
        order.action_confirm()
        return order

    def _post_until(self, day, company=None):
        """Run the daily job on the day after ``day``."""
        with freeze_time(fields.Date.to_string(day + timedelta(days=1))):
            run_until_done(self.Move._cron_post_liability)

    def _expire(self, day):
        with freeze_time(fields.Date.to_string(day)):
            run_until_done(self.Entry._cron_expire_points)

    def _balance(self, account, day=None, company=None):
        domain = [
            ("account_id", "=", account.id),
            ("parent_state", "=", "posted"),
            ("company_id", "=", (company or self.company).id),
        ]
        if day:
            domain.append(("date", "<=", day))
        lines = self.env["account.move.line"].search(domain)
        return sum(lines.mapped("credit")) - sum(lines.mapped("debit"))

    def _posted(self, kind, company=None):
        moves = self.Move.search([("company_id", "=", (company or self.company).id)])
        return round(sum(moves.mapped(f"{kind}_amount")), 2)

    def _report(self, day, company=None):
        return self.env["customer.liability.report"].create(
            {
                "company_id": (company or self.company).id,
                "date": day,
                "date_from": day.replace(day=1),
            }
        )


@tagged("post_install", "-at_install")
class TestValuationArithmetic(RepeatCustomerCase):
    """The pure valuation, on figures small enough to check by eye."""

    def test_allocation_by_relative_standalone_price(self):
        # 1 000 points worth 0.10 each, half expected redeemed: S = 50;
        # an order of 950 gives the points 950 x 50 / 1000
        self.assertAlmostEqual(allocation(950, 1000, 0.1, 0.5), 47.5)
        self.assertAlmostEqual(allocation(950, 1000, 0.1, 0.5, "provision"), 50.0)
        self.assertEqual(allocation(0, 1000, 0.1, 0.5), 0.0)

    def test_recognition_catch_up_and_breakage(self):
        flows = [
            DayFlow(date(2025, 1, 1), sale_points=1000, sale_value=40.0),
            DayFlow(date(2025, 2, 1), redeemed_points=250),
            DayFlow(date(2025, 3, 1)),  # the rate is revised to 0.8
            DayFlow(date(2025, 4, 1), expired_points=750),
        ]

        def rate_of(day):
            return 0.8 if day >= date(2025, 3, 1) else 0.5

        values = value_days(flows, rate_of)
        # 40 x 250 / (1000 x 0.5) = 20 recognised
        self.assertAlmostEqual(values[1].amounts["revenue"], 20.0)
        self.assertAlmostEqual(values[1].liability, 20.0)
        # at 0.8: 40 x 250 / 800 = 12.5 to date, so 7.5 is caught back
        self.assertAlmostEqual(values[2].amounts["revenue"], -7.5)
        self.assertAlmostEqual(values[2].liability, 27.5)
        # nothing outstanding: the remaining 27.5 is breakage
        self.assertEqual(values[3].outstanding, 0)
        self.assertAlmostEqual(values[3].amounts["breakage"], 27.5)
        self.assertAlmostEqual(values[3].liability, 0.0)

    def test_provision_used_and_released_per_point(self):
        flows = [
            DayFlow(date(2025, 1, 1), sale_points=1000, sale_value=60.0),
            DayFlow(date(2025, 1, 2), gift_points=200, gift_value=12.0),
            DayFlow(date(2025, 2, 1), redeemed_points=600),
            DayFlow(date(2025, 3, 1), expired_points=300),
            DayFlow(date(2025, 4, 1), expired_points=300),
        ]
        values = value_days(flows, lambda day: 0.6, "provision")
        # 72 over 1 200 points: 0.06 a point
        self.assertAlmostEqual(values[2].amounts["usage"], 36.0)
        self.assertAlmostEqual(values[3].amounts["release"], 18.0)
        self.assertAlmostEqual(values[4].amounts["release"], 18.0)
        self.assertAlmostEqual(values[4].liability, 0.0)


@tagged("post_install", "-at_install")
class TestScriptedYear(LiabilityCase):
    """A year of one shop under the deferred revenue method, valued by hand:
    two customers, orders earning a point per euro, points worth 0.10,
    half of them expected redeemed, then 60 % from 1 July."""

    def test_scripted_year(self):
        start = date(2025, 1, 1)
        self._enable(start)
        d1 = alloc(1000, 1000, 0.5)  # 1000 x 50 / 1050 = 47.619...
        d2 = alloc(2000, 2000, 0.5)  # 2000 x 100 / 2100 = 95.238...
        bonus = 100 * V * 0.5  # an adjustment: 5.00 of marketing expense
        d3 = alloc(500, 500, 0.5)  # cancelled two days later
        d4 = alloc(1000, 1000, 0.5)  # 40 % credited ten days later

        with freeze_time("2025-01-10"):
            self._sell(self.lin, 1000)
        with freeze_time("2025-02-05"):
            self._sell(self.wang, 2000)
        with freeze_time("2025-03-01"):
            self.Entry._post_redemption(self._membership(self.lin), 400)
        self._post_until(date(2025, 3, 31))

        # each day of activity has its entry, one line pair per kind
        jan = self.Move.search([("date", "=", date(2025, 1, 10))])
        self.assertEqual(jan.move_id.state, "posted")
        self.assertEqual(jan.move_id.journal_id, self.accounts["journal"])
        self.assertAlmostEqual(jan.deferral_amount, round(d1, 2))
        deferral_line = jan.move_id.line_ids.filtered(
            lambda line: line.account_id == self.accounts["deferral"]
        )
        self.assertAlmostEqual(deferral_line.debit, 47.62)
        self.assertEqual(deferral_line.loyalty_bucket, "deferral")
        self.assertEqual(
            self.Move.search([]).mapped("date"),
            [date(2025, 3, 1), date(2025, 2, 5), date(2025, 1, 10)],
        )
        # revenue to date: (d1 + d2) x 400 / (3 000 x 0.5)
        recognised = (d1 + d2) * 400 / (3000 * 0.5)
        self.assertAlmostEqual(self._posted("revenue"), round(recognised, 2))
        self.assertAlmostEqual(
            self._balance(self.accounts["liability"]),
            round(d1 + d2 - recognised, 2),
        )
        # the entry of the redemption is traced to its ledger line and back
        march = self.Move.search([("date", "=", date(2025, 3, 1))])
        redemption = self.Entry.search([("kind", "=", "redeem")])
        self.assertEqual(redemption.liability_move_id, march)
        self.assertEqual(redemption.liability_bucket, "revenue")
        self.assertEqual(redemption.liability_journal_entry_id, march.move_id)
        action = march.move_id.line_ids.filtered(
            lambda line: line.loyalty_bucket == "revenue"
        )[:1].action_open_loyalty_entries()
        self.assertEqual(self.Entry.search(action["domain"]), redemption)

        with freeze_time("2025-04-01"):
            self.Entry._post_adjustment(self._membership(self.wang), 100, "Apology")
        with freeze_time("2025-05-01"):
            cancelled = self._sell(self.lin, 500)
        with freeze_time("2025-05-03"):
            cancelled._action_cancel()
        with freeze_time("2025-06-01"):
            credited = self._sell(self.wang, 1000, qty=10)
        with freeze_time("2025-06-10"):
            invoice = credited._create_invoices()
            invoice.action_post()
            refund = invoice._reverse_moves()
            refund.invoice_line_ids.quantity = 4
            refund.action_post()
        self._post_until(date(2025, 6, 30))
        pool = d1 + d2 + bonus + d4 * 0.6
        june = pool * 400 / (3700 * 0.5)
        self.assertAlmostEqual(self._posted("marketing"), 5.0)
        self.assertAlmostEqual(self._posted("deferral"), round(d1 + d2 + d3 + d4, 2))
        self.assertAlmostEqual(
            self._posted("deferral_reversal"), round(d3 + 0.4 * d4, 2)
        )
        self.assertAlmostEqual(self._posted("revenue"), round(june, 2), delta=0.011)
        self.assertAlmostEqual(
            self._balance(self.accounts["liability"]), round(pool - june, 2)
        )

        # the rate is revised from 1 July: the revenue to date is caught up
        self.env["customer.redemption.rate"].create(
            {"date_from": date(2025, 7, 1), "rate": 0.6, "note": "H1 redemptions"}
        )
        self._post_until(date(2025, 7, 1))
        catch_up = self.Move.search([("date", "=", date(2025, 7, 1))])
        self.assertAlmostEqual(
            catch_up.revenue_amount,
            round(pool * 400 / (3700 * 0.6), 2) - round(june, 2),
            delta=0.011,
        )
        self.assertLess(catch_up.revenue_amount, 0)
        self.assertIn("60.00%", catch_up.note)

        # Lin's January points expire (600 left), Wang redeems 1 200, and
        # the rest of Wang's points expire in August, October and December
        self._expire(date(2025, 7, 11))
        with freeze_time("2025-07-20"):
            self.Entry._post_redemption(self._membership(self.wang), 1200)
        for day in (date(2025, 8, 6), date(2025, 10, 2), date(2025, 12, 2)):
            self._expire(day)
        expired = self.Entry.search([("kind", "=", "expire")])
        self.assertEqual(sorted(expired.mapped("points")), [-800, -600, -600, -100])
        self._post_until(date(2025, 12, 31))

        revenue = pool * 1600 / (3700 * 0.6)
        self.assertAlmostEqual(self._posted("revenue"), round(revenue, 2), delta=0.011)
        self.assertAlmostEqual(
            self._posted("breakage"), round(pool - revenue, 2), delta=0.011
        )
        december = self.Move.search([("date", "=", date(2025, 12, 2))])
        self.assertEqual(december.outstanding_points, 0)
        self.assertTrue(december.breakage_amount)
        # nothing is outstanding: no liability is left, to the cent
        self.assertEqual(self._balance(self.accounts["liability"]), 0.0)
        # the profit and loss: deferral, revenue, breakage, marketing
        self.assertAlmostEqual(
            self._balance(self.accounts["deferral"]), -round(d1 + d2 + 0.6 * d4, 2)
        )
        self.assertAlmostEqual(self._balance(self.accounts["expense"]), -5.0)
        self.assertAlmostEqual(
            self._balance(self.accounts["revenue"])
            + self._balance(self.accounts["breakage"]),
            round(pool, 2),
            delta=0.011,
        )
        # every ledger line of the year is traced to the entry of its day
        self.assertFalse(self.Entry.search([("liability_move_id", "=", False)]))
        report = self._report(date(2025, 12, 31))
        self.assertEqual(report.difference_amount, 0.0)
        self.assertEqual(report.ledger_amount, 0.0)

        # a rerun posts nothing
        count = self.env["account.move"].search_count([])
        self._post_until(date(2025, 12, 31))
        self.Move._post_company(self.company, date(2025, 12, 30))
        self.assertEqual(self.env["account.move"].search_count([]), count)


@tagged("post_install", "-at_install")
class TestPosting(LiabilityCase):
    def test_opening_entry_for_history(self):
        with freeze_time("2025-01-10"):
            self._sell(self.lin, 1000)
        with freeze_time("2025-02-01"):
            self._enable(date(2025, 2, 1))
        with freeze_time("2025-02-03"):
            self._sell(self.wang, 2000)
        self._post_until(date(2025, 2, 28))
        opening = self.Move.search([("is_opening", "=", True)])
        self.assertEqual(opening.date, date(2025, 1, 31))
        self.assertAlmostEqual(opening.opening_amount, round(alloc(1000, 1000, 0.5), 2))
        self.assertAlmostEqual(
            self._balance(self.accounts["opening"]),
            -round(alloc(1000, 1000, 0.5), 2),
        )
        january = self.Entry.search([("date", "=", date(2025, 1, 10))])
        self.assertEqual(january.liability_move_id, opening)
        self.assertEqual(january.liability_bucket, "opening")
        daily = self.Move.search([("is_opening", "=", False)])
        self.assertEqual(daily.date, date(2025, 2, 3))
        self.assertAlmostEqual(daily.deferral_amount, round(alloc(2000, 2000, 0.5), 2))

    def test_lock_date_moves_the_entry_to_the_first_open_day(self):
        self._enable(date(2025, 1, 1))
        with freeze_time("2025-01-10"):
            self._sell(self.lin, 1000)
        self.company.fiscalyear_lock_date = date(2025, 1, 31)
        self._post_until(date(2025, 2, 2))
        entry = self.Move.search([("date", "=", date(2025, 1, 10))])
        self.assertEqual(entry.accounting_date, date(2025, 2, 1))
        self.assertEqual(entry.move_id.date, date(2025, 2, 1))
        self.assertIn("locked period", entry.note)
        # on 31 January the liability is posted later, and explained
        report = self._report(date(2025, 1, 31))
        self.assertAlmostEqual(report.difference_amount, 47.62)
        self.assertAlmostEqual(report.later_amount, 47.62)
        self.assertEqual(report.unexplained_amount, 0.0)

    def test_rerun_and_two_jobs_post_once(self):
        self._enable(date(2025, 1, 1))
        with freeze_time("2025-01-10"):
            self._sell(self.lin, 1000)
        self._post_until(date(2025, 1, 31))
        self._post_until(date(2025, 1, 31))
        self.Move._post_company(self.company, date(2025, 1, 31))
        self.assertEqual(self.Move.search_count([]), 1)
        self.assertEqual(self.company.loyalty_liability_posted_date, date(2025, 1, 31))

    def test_monthly_and_weekly_entries(self):
        """One entry per month (or week), dated its last day, posted once it
        is over; the same amounts as daily entries, the reconciliation
        unchanged."""
        sales = (
            (date(2025, 1, 10), 1000),
            (date(2025, 1, 20), 500),
            (date(2025, 2, 3), 300),
        )

        def run(frequency):
            with self.env.cr.savepoint() as savepoint:
                self._enable(date(2025, 1, 1))
                self.company.loyalty_liability_frequency = frequency
                for day, amount in sales:
                    with freeze_time(fields.Date.to_string(day)):
                        self._sell(self.lin, amount)
                # in the middle of February: January is over, February not
                self._post_until(date(2025, 2, 14))
                moves = self.Move.search([("company_id", "=", self.company.id)])
                result = (
                    moves.sorted("date").mapped("date"),
                    self._posted("deferral"),
                    self.company.loyalty_liability_posted_date,
                    moves.move_id.mapped("ref"),
                    self._report(date(2025, 2, 14)).unposted_amount,
                    self._report(date(2025, 1, 31)).difference_amount,
                    round(self._report(date(2025, 2, 14)).ledger_amount, 2),
                )
                # the job is not due again until the period is over
                with freeze_time("2025-02-16"):
                    due = bool(self.Move._due_companies() & self.company)
                savepoint.rollback()
            self.env.invalidate_all()
            return result, due

        daily, daily_due = run("day")
        monthly, monthly_due = run("month")
        weekly, weekly_due = run("week")
        self.assertEqual(
            daily[0], [date(2025, 1, 10), date(2025, 1, 20), date(2025, 2, 3)]
        )
        self.assertEqual(monthly[0], [date(2025, 1, 31)])
        self.assertEqual(monthly[2], date(2025, 1, 31))
        self.assertEqual(monthly[3], ["Loyalty points from 2025-01-01 to 2025-01-31"])
        # weeks end on Sunday: those of 12 and 26 January and 9 February
        self.assertEqual(
            weekly[0], [date(2025, 1, 12), date(2025, 1, 26), date(2025, 2, 9)]
        )
        self.assertEqual(weekly[2], date(2025, 2, 9))
        # January's amounts are the same; February's wait for its month
        self.assertEqual(weekly[1], daily[1])
        self.assertLess(monthly[1], daily[1])
        self.assertEqual(daily[6], monthly[6])
        self.assertEqual(monthly[5], 0.0, "January reconciles")
        self.assertGreater(monthly[4], 0.0, "February's days are shown not posted")
        self.assertFalse(monthly_due)
        self.assertFalse(weekly_due)
        self.assertTrue(daily_due)

    def test_posting_that_starts_later_waits(self):
        """Posting enabled from tomorrow: nothing is due today; from today
        on a company without history: yesterday is posted, nothing more is
        due, and the job does not run again and again."""
        with freeze_time("2025-03-10"):
            self._enable(date(2025, 3, 11))
            self.assertFalse(self.Move._due_companies() & self.company)
            self.assertFalse(self.Move._cron_post_liability())
            self.company.loyalty_liability_start_date = date(2025, 3, 10)
            self.assertTrue(self.Move._due_companies() & self.company)
            self.Move._cron_post_liability()
            self.assertEqual(
                self.company.loyalty_liability_posted_date, date(2025, 3, 9)
            )
            self.assertFalse(self.Move._due_companies() & self.company)
        self.assertFalse(self.Move.search([]))

    def test_crash_leaves_no_half_entry(self):
        self._enable(date(2025, 1, 1))
        with freeze_time("2025-01-10"):
            self._sell(self.lin, 1000)
        moves = self.env["account.move"].search_count([])

        def crash(*args, **kwargs):
            raise RuntimeError("power cut")

        with (
            patch.object(type(self.Move), "_link_lines", crash),
            self.assertRaises(RuntimeError),
            self.env.cr.savepoint(),
        ):
            self._post_until(date(2025, 1, 31))
        self.env.invalidate_all()
        self.assertEqual(self.env["account.move"].search_count([]), moves)
        self.assertFalse(self.Move.search([]))
        self.assertFalse(self.company.loyalty_liability_posted_date)
        self.assertFalse(self.Entry.search([("liability_move_id", "!=", False)]))
        self._post_until(date(2025, 1, 31))
        self.assertEqual(self.Move.search_count([]), 1)

    def test_posted_entries_stay_posted(self):
        self._enable(date(2025, 1, 1))
        with freeze_time("2025-01-10"):
            self._sell(self.lin, 1000)
        self._post_until(date(2025, 1, 31))
        move = self.Move.search([]).move_id
        self.assertFalse(move.show_reset_to_draft_button)
        with self.assertRaises(UserError):
            move.button_draft()
        with self.assertRaises(UserError):
            self.Move.search([]).unlink()
        # the method and the liability account cannot change any more
        with self.assertRaises(ValidationError):
            self.company.loyalty_liability_method = "provision"
        # a rate the entries used stays; a revision is a new rate
        with self.assertRaises(UserError):
            self.company.loyalty_redemption_rate_ids.rate = 0.7

    def test_reconciliation_explains_days_not_posted_and_manual_entries(self):
        self._enable(date(2025, 1, 1))
        with freeze_time("2025-01-10"):
            self._sell(self.lin, 1000)
        self._post_until(date(2025, 1, 31))
        with freeze_time("2025-02-03"):
            self._sell(self.wang, 2000)
        manual = self.env["account.move"].create(
            {
                "move_type": "entry",
                "journal_id": self.accounts["journal"].id,
                "date": date(2025, 2, 4),
                "line_ids": [
                    Command.create(
                        {"account_id": self.accounts["liability"].id, "credit": 10.0}
                    ),
                    Command.create(
                        {"account_id": self.accounts["expense"].id, "debit": 10.0}
                    ),
                ],
            }
        )
        manual.action_post()
        report = self._report(date(2025, 2, 5))
        # the breadcrumb names the report and its date, not the model
        self.assertEqual(report.display_name, "Points Liability on 02/05/2025")
        d1, d2 = round(alloc(1000, 1000, 0.5), 2), round(alloc(2000, 2000, 0.5), 2)
        self.assertAlmostEqual(report.ledger_amount, d1 + d2)
        self.assertAlmostEqual(report.account_amount, d1 + 10.0)
        self.assertAlmostEqual(report.manual_amount, 10.0)
        self.assertAlmostEqual(report.unposted_amount, d2)
        self.assertAlmostEqual(report.difference_amount, d2 - 10.0)
        self.assertEqual(report.unexplained_amount, 0.0)
        self._post_until(date(2025, 2, 5))
        report = self._report(date(2025, 2, 5))
        self.assertEqual(report.unposted_amount, 0.0)
        self.assertAlmostEqual(report.difference_amount, -10.0)

    def test_cost_provision_method(self):
        self._enable(date(2025, 1, 1), rate=0.6, method="provision")
        with freeze_time("2025-01-10"):
            self._sell(self.lin, 1000)
        with freeze_time("2025-02-01"):
            self.Entry._post_redemption(self._membership(self.lin), 500)
        self._post_until(date(2025, 2, 28))
        # 1 000 points x 0.10 x 0.6 = 60 of provision; half is used
        self.assertAlmostEqual(self._posted("provision"), 60.0)
        self.assertAlmostEqual(self._posted("usage"), 30.0)
        self.assertAlmostEqual(self._balance(self.accounts["expense"]), -60.0)
        self.assertAlmostEqual(self._balance(self.accounts["liability"]), 30.0)
        self._expire(date(2025, 7, 11))
        self._post_until(date(2025, 7, 31))
        self.assertAlmostEqual(self._posted("release"), 30.0)
        self.assertEqual(self._balance(self.accounts["liability"]), 0.0)


@tagged("post_install", "-at_install")
class TestLiabilitySettings(LiabilityCase):
    def test_wrong_account_types_are_refused(self):
        self.env["customer.redemption.rate"].create(
            {"date_from": date(2025, 1, 1), "rate": 0.5}
        )
        settings = self._settings(self.accounts)
        for field, wrong in (
            ("loyalty_liability_account_id", self.accounts["revenue"]),
            ("loyalty_deferral_account_id", self.accounts["liability"]),
            ("loyalty_expense_account_id", self.accounts["breakage"]),
            ("loyalty_breakage_account_id", self.accounts["expense"]),
        ):
            with self.subTest(field=field), self.assertRaises(ValidationError):
                self.company.write(
                    {**settings, field: wrong.id, "loyalty_liability_enabled": True}
                )
            self.assertFalse(self.company.loyalty_liability_enabled)

    def test_missing_settings_are_refused(self):
        with self.assertRaisesRegex(ValidationError, "journal"):
            self.company.loyalty_liability_enabled = True
        settings = self._settings(self.accounts)
        sale_journal = self.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", self.company.id)], limit=1
        )
        with self.assertRaisesRegex(ValidationError, "miscellaneous"):
            self.company.write(
                {
                    **settings,
                    "loyalty_liability_journal_id": sale_journal.id,
                    "loyalty_liability_enabled": True,
                }
            )
        with self.assertRaisesRegex(ValidationError, "redemption rate"):
            self.company.write({**settings, "loyalty_liability_enabled": True})

    def test_rate_bounds(self):
        for rate in (0, -0.1, 1.5):
            with self.subTest(rate=rate), self.assertRaises(ValidationError):
                self.env["customer.redemption.rate"].create(
                    {"date_from": date(2025, 1, 1), "rate": rate}
                )
        with self.assertRaises(ValidationError):
            self.env["customer.redemption.rate"].create(
                {"date_from": date(2025, 1, 1), "rate": "half"}
            )

    def test_settings_form_enables_posting(self):
        journal = self.accounts["journal"]
        with freeze_time("2025-03-01"):
            settings = (
                self.env["res.config.settings"]
                .with_company(self.company)
                .create(
                    {
                        **self._settings(self.accounts),
                        "loyalty_liability_enabled": True,
                        "loyalty_redemption_rate": 0.55,
                    }
                )
            )
            settings.execute()
        self.assertTrue(self.company.loyalty_liability_enabled)
        self.assertEqual(self.company.loyalty_liability_journal_id, journal)
        self.assertEqual(self.company.loyalty_liability_start_date, date(2025, 3, 1))
        rate = self.company.loyalty_redemption_rate_ids
        self.assertEqual((rate.date_from, rate.rate), (date(2025, 3, 1), 0.55))


@tagged("post_install", "-at_install")
class TestLiabilityCompaniesAndAccountants(LiabilityCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company2 = cls.env["res.company"].create(
            {"name": "Second Shop", "currency_id": cls.env.ref("base.EUR").id}
        )
        cls.company2.partner_id.tz = "UTC"
        cls.env.user.company_ids |= cls.company2
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=cls.company2, install_demo=False
        )
        cls.company2.write(
            {
                "loyalty_points_enabled": True,
                "loyalty_points_per_unit": 1.0,
                "loyalty_points_release": "confirm",
                "loyalty_points_pending_days": 0,
                "loyalty_point_value": V,
            }
        )
        cls.accounts2 = cls._liability_accounts(cls.company2, prefix="8")
        cls.accountant = cls.env["res.users"].create(
            {
                "name": "Accountant",
                "login": "points_accountant",
                "company_id": cls.company.id,
                "company_ids": [Command.set(cls.company.ids)],
                "groups_id": [
                    Command.set([cls.env.ref("account.group_account_invoice").id])
                ],
            }
        )

    def test_salesperson_sees_no_liability(self):
        """A salesperson (Loyalty user, no accounting group) reads none of the
        liability and cannot post or reconcile it."""
        self._enable(date(2025, 1, 1))
        with freeze_time("2025-01-10"):
            self._sell(self.lin, 1000)
        self._post_until(date(2025, 1, 31))
        salesman = self.env["res.users"].create(
            {
                "name": "Points Salesman",
                "login": "points_salesman",
                "company_id": self.company.id,
                "company_ids": [Command.set(self.company.ids)],
                "groups_id": [
                    Command.set([self.env.ref("sales_team.group_sale_salesman").id])
                ],
            }
        )
        env = self.env(user=salesman)
        with self.assertRaises(AccessError):
            env["customer.liability.move"].search([])
        with self.assertRaises(AccessError):
            env["customer.liability.report"].create({"date": date(2025, 1, 31)})
        with self.assertRaises(AccessError):
            env["customer.redemption.rate"].create(
                {"date_from": date(2025, 6, 1), "rate": 0.9}
            )
        with self.assertRaises(UserError):
            env["customer.liability.move"].create(
                {"company_id": self.company.id, "date": date(2025, 2, 1)}
            )
        move = self.Move.search([]).move_id
        self.assertEqual(move.loyalty_entry_count, 1)

    def test_companies_are_posted_apart(self):
        self._enable(date(2025, 1, 1))
        self._enable(date(2025, 1, 1), rate=0.8, company=self.company2)
        with freeze_time("2025-01-10"):
            self._sell(self.lin, 1000)
            order = (
                self.env["sale.order"]
                .with_company(self.company2)
                .create(
                    {
                        "partner_id": self.wang.id,
                        "company_id": self.company2.id,
                        "order_line": [
                            Command.create(
                                {
                                    "product_id": self.product.id,
                                    "price_unit": 2000,
                                    "tax_id": [Command.clear()],
                                }
                            )
                        ],
                    }
                )
            )
            order.action_confirm()
        self._post_until(date(2025, 1, 31))
        one = self.Move.search([("company_id", "=", self.company.id)])
        two = self.Move.search([("company_id", "=", self.company2.id)])
        self.assertAlmostEqual(one.deferral_amount, round(alloc(1000, 1000, 0.5), 2))
        self.assertAlmostEqual(two.deferral_amount, round(alloc(2000, 2000, 0.8), 2))
        self.assertEqual(two.move_id.company_id, self.company2)
        self.assertEqual(one.entry_ids.company_id, self.company)
        self.assertEqual(two.entry_ids.company_id, self.company2)
        # an accountant of the first company sees only its liability
        moves = self.Move.with_user(self.accountant).search([])
        self.assertEqual(moves, one)
        report = self._report(date(2025, 1, 31), company=self.company2)
        with self.assertRaises(AccessError):
            report.with_user(self.accountant)._figures()

    def test_accountant_reads_without_loyalty_group(self):
        self._enable(date(2025, 1, 1))
        with freeze_time("2025-01-10"):
            self._sell(self.lin, 1000)
        self._post_until(date(2025, 1, 31))
        accountant = self.env(user=self.accountant)
        self.assertFalse(self.accountant.has_group("repeat_customer.group_user"))
        lines = accountant["customer.point.entry"].search([])
        self.assertEqual(len(lines), 1)
        lines.read(["points", "liability_amount", "liability_bucket", "membership_id"])
        self.assertTrue(accountant["customer.liability.move"].search([]))
        with self.assertRaises(UserError):  # AccessError is a UserError
            lines.write({"points": 5})
        with self.assertRaises(UserError):
            accountant["customer.point.entry"].create(
                {"membership_id": lines.membership_id.id, "kind": "adjust", "points": 9}
            )
        with self.assertRaises(AccessError):
            accountant["customer.redemption.rate"].create(
                {"date_from": date(2025, 6, 1), "rate": 0.9}
            )
        report = accountant["customer.liability.report"].create(
            {"date": date(2025, 1, 31), "date_from": date(2025, 1, 1)}
        )
        self.assertEqual(report.difference_amount, 0.0)
        content, kind = (
            self.env["ir.actions.report"]
            .with_user(self.accountant)
            ._render_xlsx(
                "repeat_customer.liability_reconciliation_xlsx", report.ids, {}
            )
        )
        self.assertEqual(kind, "xlsx")
        self.assertTrue(content.startswith(b"PK"))


@tagged("post_install", "-at_install")
class TestWorkpapers(LiabilityCase):
    def _open(self, report_name, report):
        content, _kind = self.env["ir.actions.report"]._render_xlsx(
            report_name, report.ids, {}
        )
        return openpyxl.load_workbook(io.BytesIO(content))

    def test_reconciliation_workpaper(self):
        self._enable(date(2025, 1, 1))
        with freeze_time("2025-01-10"):
            self._sell(self.lin, 1000)
        with freeze_time("2025-01-20"):
            self.Entry._post_redemption(self._membership(self.lin), 300)
        self._post_until(date(2025, 1, 31))
        report = self._report(date(2025, 1, 31))
        book = self._open("repeat_customer.liability_reconciliation_xlsx", report)
        sheet = book["Reconciliation"]
        cells = {
            sheet.cell(row, 1).value: sheet.cell(row, 2).value
            for row in range(1, sheet.max_row + 1)
        }
        d1 = alloc(1000, 1000, 0.5)
        liability = round(d1 - d1 * 300 / 500, 2)
        self.assertEqual(cells["Company"], self.company.name)
        self.assertEqual(cells["Date"].date(), date(2025, 1, 31))
        self.assertEqual(cells["Points outstanding"], 700)
        self.assertEqual(cells["Expected redemption rate"], 0.5)
        self.assertAlmostEqual(cells["Liability per ledger"], liability)
        self.assertAlmostEqual(cells["Account balance"], liability)
        self.assertEqual(cells["Difference"], "=B11-B12")
        money_cell = next(
            sheet.cell(row, 2)
            for row in range(1, sheet.max_row + 1)
            if sheet.cell(row, 1).value == "Liability per ledger"
        )
        self.assertIn(self.company.currency_id.symbol, money_cell.number_format)
        entries = book["Daily Entries"]
        self.assertEqual(entries.freeze_panes, "A2")
        self.assertTrue(entries.auto_filter.ref)
        self.assertEqual(entries.cell(1, 1).value, "Ledger Day")
        self.assertEqual(entries.cell(2, 1).value.date(), date(2025, 1, 10))
        self.assertEqual(entries.cell(4, 1).value, "Total")

    def test_movements_workpaper(self):
        self._enable(date(2025, 1, 1))
        with freeze_time("2025-01-10"):
            order = self._sell(self.lin, 1000)
        with freeze_time("2025-01-20"):
            self.Entry._post_redemption(self._membership(self.lin), 300)
        with freeze_time("2025-02-02"):
            self._sell(self.wang, 50)
        self._post_until(date(2025, 1, 31))
        report = self._report(date(2025, 2, 28))
        report.date_from = date(2025, 1, 1)
        book = self._open("repeat_customer.liability_movements_xlsx", report)
        sheet = book["Movements"]
        self.assertEqual(sheet.freeze_panes, "A3")
        header = [cell.value for cell in sheet[2]]
        self.assertEqual(
            header[:6],
            ["Date", "Member Number", "Customer", "Type", "Status", "Points"],
        )
        rows = list(sheet.iter_rows(min_row=3, values_only=True))
        earned, redeemed, unposted, total = rows
        self.assertEqual(earned[0].date(), date(2025, 1, 10))
        self.assertEqual(earned[2], "Lin Mei")
        self.assertEqual(earned[3], "Earned")
        self.assertEqual(earned[5], 1000)
        self.assertEqual(earned[6], order.name)
        self.assertEqual(earned[9], "Revenue deferred")
        self.assertAlmostEqual(earned[10], alloc(1000, 1000, 0.5), places=4)
        self.assertEqual(redeemed[5], -300)
        self.assertAlmostEqual(redeemed[10], -round(alloc(1000, 1000, 0.5) * 0.6, 2))
        self.assertIsNone(unposted[9], "February is not posted yet")
        self.assertEqual(total[0], "Total")
        self.assertEqual(total[5], "=SUM(F3:F5)")

    def test_workpaper_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["repeat_customer"], ["zh_CN"])
        self._enable(date(2025, 1, 1))
        report = self._report(date(2025, 1, 31)).with_context(lang="zh_CN")
        content, _kind = (
            self.env["ir.actions.report"]
            .with_context(lang="zh_CN")
            ._render_xlsx(
                "repeat_customer.liability_reconciliation_xlsx", report.ids, {}
            )
        )
        book = openpyxl.load_workbook(io.BytesIO(content))
        self.assertIn("对账", book.sheetnames[0])


@tagged("post_install", "-at_install")
class TestOrderBackAndForth(LiabilityCase):
    def test_confirmed_cancelled_and_confirmed_again(self):
        """An order confirmed, cancelled, set back to quotation and confirmed
        again defers its points' revenue once, net."""
        self._enable(date(2025, 1, 1))
        with freeze_time("2025-01-10"):
            order = self._sell(self.lin, 1000)
        self._post_until(date(2025, 1, 10))
        with freeze_time("2025-01-11"):
            order._action_cancel()
            order.action_draft()
            order.action_confirm()
        self._post_until(date(2025, 1, 11))
        second = self.Move.search([("date", "=", date(2025, 1, 11))])
        self.assertAlmostEqual(second.deferral_amount, 47.62)
        self.assertAlmostEqual(second.deferral_reversal_amount, 47.62)
        self.assertAlmostEqual(
            self._balance(self.accounts["liability"]),
            round(alloc(1000, 1000, 0.5), 2),
        )
        earned = self.Entry.search([("kind", "=", "earn")])
        self.assertEqual(len(earned), 2)
        self.assertEqual(set(earned.mapped("liability_bucket")), {"deferral"})


@tagged("post_install", "-at_install")
class TestConcurrentPosting(TransactionCase):
    """Two runs of the daily job post the same company at the same moment,
    each in its own transaction: the second waits for the first, then is
    done again and finds nothing left to post. The data is committed, and
    removed at the end."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env["res.company"].create(
                {"name": "Concurrent Points Co", "currency_id": env.ref("base.EUR").id}
            )
            company.partner_id.tz = "UTC"
            env = env(context={"allowed_company_ids": company.ids})
            company.loyalty_points_enabled = True
            accounts = env["account.account"].with_company(company)
            liability, income = accounts.create(
                [
                    {
                        "code": "CONC1",
                        "name": "Points liability",
                        "account_type": "liability_current",
                        "company_ids": [Command.set(company.ids)],
                    },
                    {
                        "code": "CONC2",
                        "name": "Points income",
                        "account_type": "income",
                        "company_ids": [Command.set(company.ids)],
                    },
                ]
            )
            journal = env["account.journal"].create(
                {
                    "name": "Points",
                    "code": "PTS",
                    "type": "general",
                    "company_id": company.id,
                }
            )
            env["customer.redemption.rate"].create(
                {"company_id": company.id, "date_from": date(2025, 1, 1), "rate": 0.5}
            )
            company.write(
                {
                    "loyalty_liability_journal_id": journal.id,
                    "loyalty_liability_account_id": liability.id,
                    "loyalty_deferral_account_id": income.id,
                    "loyalty_revenue_account_id": income.id,
                    "loyalty_breakage_account_id": income.id,
                    "loyalty_expense_account_id": accounts.create(
                        {
                            "code": "CONC3",
                            "name": "Points expense",
                            "account_type": "expense",
                            "company_ids": [Command.set(company.ids)],
                        }
                    ).id,
                    "loyalty_opening_account_id": income.id,
                    "loyalty_liability_start_date": date(2025, 1, 1),
                    "loyalty_liability_enabled": True,
                }
            )
            partner = env["res.partner"].create({"name": "Concurrent Member"})
            membership = env["customer.membership"].create(
                {"partner_id": partner.id, "company_id": company.id}
            )
            with freeze_time("2025-01-10"):
                env["customer.point.entry"]._post_adjustment(membership, 100, "Gift")
            self.company_id = company.id
            self.partner_id = partner.id
        self.addCleanup(self._remove_committed_data)

    def _remove_committed_data(self):
        with self.registry.cursor() as cr:
            company = [self.company_id]
            cr.execute(
                "UPDATE customer_point_entry SET liability_move_id = NULL "
                "WHERE company_id = %s",
                company,
            )
            cr.execute(
                "UPDATE account_move SET loyalty_liability_move_id = NULL "
                "WHERE company_id = %s",
                company,
            )
            for table in (
                "customer_liability_move",
                "account_move_line",
                "account_move",
            ):
                cr.execute(
                    f"DELETE FROM {table} WHERE company_id = %s",
                    company,
                )
            cr.execute(
                "DELETE FROM customer_point_entry WHERE company_id = %s", company
            )
            cr.execute("DELETE FROM customer_membership WHERE company_id = %s", company)
            cr.execute(
                "DELETE FROM customer_redemption_rate WHERE company_id = %s", company
            )
            cr.execute(
                "UPDATE res_company SET loyalty_liability_journal_id = NULL, "
                "loyalty_liability_account_id = NULL, "
                "loyalty_deferral_account_id = NULL, "
                "loyalty_revenue_account_id = NULL, "
                "loyalty_breakage_account_id = NULL, "
                "loyalty_expense_account_id = NULL, "
                "loyalty_opening_account_id = NULL WHERE id = %s",
                company,
            )
            cr.execute("DELETE FROM account_journal WHERE company_id = %s", company)
            cr.execute(
                "DELETE FROM account_account WHERE code_store->>%s LIKE 'CONC%%'",
                [str(self.company_id)],
            )
            cr.execute("SELECT partner_id FROM res_company WHERE id = %s", company)
            company_partner = cr.fetchone()[0]
            try:
                with cr.savepoint():
                    cr.execute("DELETE FROM res_company WHERE id = %s", company)
                    cr.execute(
                        "DELETE FROM res_partner WHERE id = ANY(%s)",
                        [[self.partner_id, company_partner]],
                    )
            except psycopg2.errors.ForeignKeyViolation:
                # another app made records of the company (Inventory its
                # warehouse): it stays, archived, with nothing of the addon
                cr.execute(
                    "UPDATE res_company SET active = FALSE WHERE id = %s", company
                )
                cr.execute("DELETE FROM res_partner WHERE id = %s", [self.partner_id])

    def _post(self, env):
        company = env["res.company"].browse(self.company_id)
        env = env(context={"allowed_company_ids": company.ids})
        return env["customer.liability.move"]._post_company(company, date(2025, 1, 31))

    def test_two_runs_post_once(self):
        outcome = {}

        def run_b():
            outcome["b"] = attempt(self.registry, self._post)

        race(self, self._post, run_b)
        self.assertIsInstance(outcome["b"], psycopg2.errors.SerializationFailure)
        # B is done again in a new transaction: nothing is left to post
        self.assertEqual(attempt(self.registry, self._post), "done")
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*), sum(marketing_amount) FROM customer_liability_move "
                "WHERE company_id = %s",
                [self.company_id],
            )
            # 100 points x 0.01 x 0.5
            self.assertEqual(cr.fetchone(), (1, 0.5))
