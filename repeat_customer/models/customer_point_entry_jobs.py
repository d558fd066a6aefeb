"""The daily jobs of the points ledger: pending points become available,
points expire; one batch per cron call, with progress."""

import logging

from odoo import api, fields, models
from odoo.tools import SQL

from .customer_job_mixin import retry_on_conflict
from .customer_point_entry_ledger import BALANCE_FIELDS

_logger = logging.getLogger(__name__)


class CustomerPointEntry(models.Model):
    _inherit = "customer.point.entry"

    # ------------------------------------------------------------------
    # Daily jobs
    # ------------------------------------------------------------------
    @api.model
    def _date_pending_lines(self, company, today):
        """Give a release date to the pending points waiting for a delivery
        or a payment that has now happened."""
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                UPDATE customer_point_entry e
                   SET available_date = %(release)s::date
                 WHERE e.company_id = %(company)s
                   AND e.kind = 'earn' AND e.state = 'pending'
                   AND e.available_date IS NULL AND e.release_rule = 'delivery'
                   AND NOT EXISTS (
                       SELECT 1
                         FROM sale_order_line sol
                         JOIN product_product pp ON pp.id = sol.product_id
                         JOIN product_template pt ON pt.id = pp.product_tmpl_id
                        WHERE sol.order_id = e.sale_order_id
                          AND sol.display_type IS NULL
                          AND pt.type <> 'service'
                          AND sol.qty_delivered < sol.product_uom_qty)
                """,
                release=fields.Date.add(
                    today, days=company.loyalty_points_pending_days
                ),
                company=company.id,
            )
        )
        cr.execute(
            SQL(
                """
                UPDATE customer_point_entry e
                   SET available_date = %(today)s::date
                 WHERE e.company_id = %(company)s
                   AND e.kind = 'earn' AND e.state = 'pending'
                   AND e.available_date IS NULL AND e.release_rule = 'payment'
                   AND EXISTS (
                       SELECT 1
                         FROM sale_order_line sol
                         JOIN sale_order_line_invoice_rel rel
                           ON rel.order_line_id = sol.id
                         JOIN account_move_line aml ON aml.id = rel.invoice_line_id
                         JOIN account_move am ON am.id = aml.move_id
                        WHERE sol.order_id = e.sale_order_id
                          AND am.state = 'posted' AND am.move_type = 'out_invoice')
                   AND NOT EXISTS (
                       SELECT 1
                         FROM sale_order_line sol
                         JOIN sale_order_line_invoice_rel rel
                           ON rel.order_line_id = sol.id
                         JOIN account_move_line aml ON aml.id = rel.invoice_line_id
                         JOIN account_move am ON am.id = aml.move_id
                        WHERE sol.order_id = e.sale_order_id
                          AND am.state = 'posted' AND am.move_type = 'out_invoice'
                          AND am.payment_state NOT IN ('paid', 'in_payment'))
                   AND NOT EXISTS (
                       SELECT 1 FROM sale_order so
                        WHERE so.id = e.sale_order_id
                          AND so.invoice_status = 'to invoice')
                """,
                today=today,
                company=company.id,
            )
        )

    @api.model
    def _release_batch(self, company, today, limit):
        """Make one batch of due pending points available (their reversals
        with them). Return the number of earned lines released."""
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                SELECT id FROM customer_point_entry
                 WHERE company_id = %s AND kind = 'earn' AND state = 'pending'
                   AND available_date <= %s
                 ORDER BY id LIMIT %s
                """,
                company.id,
                today,
                limit,
            )
        )
        ids = [row[0] for row in cr.fetchall()]
        self._release_lines(ids)
        return len(ids)

    @api.model
    def _release_lines(self, line_ids):
        """Make pending earned lines available, with their reversals, moving
        their points from the pending to the available balance in the same
        statement, then settle the debts this makes payable (rule 7). Return
        the ids of the members concerned."""
        if not line_ids:
            return []
        self.flush_model()
        self.env["customer.membership"].flush_model(BALANCE_FIELDS)
        self.env.cr.execute(
            SQL(
                """
                WITH released AS (
                    UPDATE customer_point_entry
                       SET state = 'available'
                     WHERE state = 'pending'
                       AND (id = ANY(%(ids)s) OR reversed_entry_id = ANY(%(ids)s))
                 RETURNING membership_id, points
                ),
                delta AS (
                    SELECT membership_id, sum(points) AS av, -sum(points) AS pe
                      FROM released GROUP BY membership_id
                ),
                balance AS (%(balance)s)
                SELECT id, balance, was_negative FROM balance
                """,
                ids=list(line_ids),
                balance=self._balance_delta_sql("delta"),
            )
        )
        result = self.env.cr.fetchall()
        self.invalidate_model(["state"])
        self._post_invalidate()
        self._log_negative(
            {mid: bal for mid, bal, was in result if bal < 0 and not was}
        )
        member_ids = [row[0] for row in result]
        self._settle_debts(member_ids)
        return member_ids

    @api.model
    def _expire_batch(self, company, today, limit):
        """Expire the points left on the lines of one batch of members whose
        validity ended before ``today``: one expiry line per member. Return
        the number of members processed."""
        cr = self.env.cr
        cr.execute(
            SQL(
                """
                SELECT DISTINCT membership_id FROM customer_point_entry
                 WHERE company_id = %s AND state = 'available'
                   AND remaining_points > 0 AND expiry_date < %s
                 ORDER BY membership_id LIMIT %s
                """,
                company.id,
                today,
                limit,
            )
        )
        member_ids = [row[0] for row in cr.fetchall()]
        if not member_ids:
            return 0
        cr.execute(
            SQL(
                """
                SELECT membership_id, sum(remaining_points)
                  FROM customer_point_entry
                 WHERE membership_id = ANY(%s) AND state = 'available'
                   AND remaining_points > 0 AND expiry_date < %s
                 GROUP BY membership_id
                """,
                member_ids,
                today,
            )
        )
        self._post(
            [
                {
                    "membership_id": mid,
                    "kind": "expire",
                    "points": -total,
                    "date": today,
                }
                for mid, total in cr.fetchall()
            ]
        )
        return len(member_ids)

    @api.model
    def _count_due(self, companies, kind):
        """Lines still to release, or members with points still to expire."""
        total = 0
        for company in companies:
            today = company._loyalty_today()
            if kind == "release":
                query = SQL(
                    """
                    SELECT count(*) FROM customer_point_entry
                     WHERE company_id = %s AND kind = 'earn'
                       AND state = 'pending' AND available_date <= %s
                    """,
                    company.id,
                    today,
                )
            else:
                query = SQL(
                    """
                    SELECT count(DISTINCT membership_id) FROM customer_point_entry
                     WHERE company_id = %s AND state = 'available'
                       AND remaining_points > 0 AND expiry_date < %s
                    """,
                    company.id,
                    today,
                )
            self.env.cr.execute(query)
            total += self.env.cr.fetchone()[0]
        return total

    @api.model
    @retry_on_conflict
    def _cron_release_points(self):
        """Daily: pending points whose return window ended (or whose order is
        delivered or paid, per setting) become available.

        One batch per call; the cron framework commits and calls again while
        lines remain. Safe to repeat: released lines are no longer pending.
        """
        self.env.flush_all()
        companies = self.env["res.company"].sudo().search([])
        done = 0
        for company in companies:
            today = company._loyalty_today()
            self._date_pending_lines(company, today)
            done = self._release_batch(company, today, self._batch_size())
            if done:
                break
        self.invalidate_model()
        remaining = self._count_due(companies, "release")
        self._job_progress(done, remaining)
        return done

    @api.model
    @retry_on_conflict
    def _cron_expire_points(self):
        """Daily: points left on lines whose validity ended expire, FIFO, one
        expiry line per member. One batch of members per call; safe to repeat:
        expired lines have no points left."""
        self.env.flush_all()
        companies = self.env["res.company"].sudo().search([])
        done = 0
        for company in companies:
            done = self._expire_batch(
                company, company._loyalty_today(), self._batch_size()
            )
            if done:
                break
        self.invalidate_model()
        remaining = self._count_due(companies, "expire")
        self._job_progress(done, remaining)
        return done
