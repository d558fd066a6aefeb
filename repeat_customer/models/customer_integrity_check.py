"""The ledger integrity check: what an auditor or a support engineer runs
after an incident. Each rule is one set-wise SQL statement over one or all
companies; each row it returns is a finding naming the records involved.
The check reads and reports; it never repairs."""

import logging
import time

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from ..tools.numbers import format_number, one_record

_logger = logging.getLogger(__name__)

# findings stored per rule and company; the rest are counted only
MAX_FINDINGS = 1000

RULE_SELECTION = [
    ("balance", "Balance differs from the ledger"),
    ("points_left", "Points left differ from what was taken"),
    ("points_left_total", "Points left do not add up to the balance"),
    ("negative", "Negative balance without a recorded debt"),
    ("order_earned_twice", "Order earned more than once"),
    ("order_not_reversed", "Cancelled order not reversed"),
    ("reversed_twice", "Earned points reversed more than once"),
    ("credit_note_twice", "Credit note reversed more than once"),
    ("reward_oversold", "Reward stock oversold"),
    ("batch_coupon_twice", "Batch coupon issued more than once"),
    ("coupon_code_twice", "Coupon code not unique"),
    ("coupon_usage", "Coupon status differs from its orders"),
    ("campaign_delivery", "Campaign gift differs from its delivery"),
    ("statistics", "Statistics differ from a fresh recompute"),
    ("tier", "Tier differs from a fresh recompute"),
]


class CustomerIntegrityCheck(models.Model):
    """One run of the integrity check for one company, with its findings."""

    _name = "customer.integrity.check"
    _inherit = ["mail.thread", "customer.values.mixin"]
    _description = "Loyalty Ledger Integrity Check"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(string="Check", required=True, readonly=True)
    company_id = fields.Many2one(
        "res.company", string="Company", required=True, readonly=True, index=True
    )
    user_id = fields.Many2one(
        "res.users", string="Run By", readonly=True, default=lambda self: self.env.user
    )
    date = fields.Datetime(
        string="Run On", readonly=True, default=fields.Datetime.now, required=True
    )
    duration = fields.Float(string="Duration (s)", readonly=True, digits=(16, 2))
    state = fields.Selection(
        selection=[("ok", "No discrepancy"), ("issues", "Discrepancies found")],
        string="Result",
        readonly=True,
        required=True,
        default="ok",
    )
    finding_count = fields.Integer(
        string="Discrepancies",
        readonly=True,
        help="Every discrepancy found, including those beyond the first "
        "1000 of a rule that are counted but not listed.",
    )
    finding_ids = fields.One2many(
        "customer.integrity.finding", "check_id", string="Findings", readonly=True
    )
    summary = fields.Html(string="Summary", readonly=True, sanitize=True)

    # ------------------------------------------------------------------
    # Running
    # ------------------------------------------------------------------
    @api.model
    def _check_companies(self, companies):
        """Run the check for each of ``companies``; return the checks."""
        if not (
            self.env.su or self.env.user.has_group("repeat_customer.group_manager")
        ):
            raise AccessError(
                self.env._("Only loyalty managers can check the ledger's integrity.")
            )
        checks = self.browse()
        self.env.flush_all()
        for company in companies:
            checks |= self.sudo()._run_company(company)
        return checks.with_env(self.env)

    @api.model
    def _run_company(self, company):
        started = time.monotonic()
        counts = {}
        findings = []
        for rule, _label in RULE_SELECTION:
            rows = getattr(self, f"_rule_{rule}")(company)
            counts[rule] = len(rows)
            for row in rows[:MAX_FINDINGS]:
                findings.append(dict(row, rule=rule))
        total = sum(counts.values())
        check = self.create(
            {
                "name": self.env._(
                    "Integrity check of %(company)s",
                    company=company.name,
                ),
                "company_id": company.id,
                "state": "issues" if total else "ok",
                "finding_count": total,
                "duration": time.monotonic() - started,
                "summary": self._summary(counts),
            }
        )
        self.env["customer.integrity.finding"].create(
            [
                {
                    "check_id": check.id,
                    "rule": row["rule"],
                    "membership_id": row.get("membership_id"),
                    "res_model": row["res_model"],
                    "res_id": row["res_id"],
                    "expected": row.get("expected"),
                    "found": row.get("found"),
                    "detail": row.get("detail"),
                }
                for row in findings
            ]
        )
        _logger.info(
            "repeat_customer: integrity check of company %s: %s discrepancies",
            company.id,
            total,
        )
        return check

    @api.model
    def _summary(self, counts):
        labels = dict(
            self.env["customer.integrity.finding"]
            ._fields["rule"]
            ._description_selection(self.env)
        )
        if not any(counts.values()):
            return Markup("<p>%s</p>") % self.env._(
                "Every rule holds: the ledger, balances, orders, rewards, "
                "coupons, statistics and tiers agree."
            )
        items = Markup("").join(
            Markup("<li>%s: %s</li>") % (labels[rule], count)
            for rule, count in counts.items()
            if count
        )
        return Markup("<ul>%s</ul>") % items

    @api.model
    def action_run_check(self):
        """The menu's action: check the companies selected in the company
        switcher and show the result."""
        checks = self._check_companies(self.env.companies)
        action = {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "name": self.env._("Ledger Integrity"),
        }
        if len(checks) == 1:
            action.update(view_mode="form", res_id=checks.id, views=[(False, "form")])
        else:
            action.update(
                view_mode="list,form",
                domain=[("id", "in", checks.ids)],
                views=[(False, "list"), (False, "form")],
            )
        return action

    def action_rerun(self):
        """Check this check's company again."""
        one_record(self)
        check = self._check_companies(self.company_id)
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "view_mode": "form",
            "views": [(False, "form")],
            "res_id": check.id,
        }

    @api.model
    def _cron_check_integrity(self):
        """The optional daily job: check every company with the programme
        and post what it found to the company's loyalty managers."""
        companies = self.env["res.company"].search(
            [("loyalty_points_enabled", "=", True)]
        )
        managers = self.env.ref("repeat_customer.group_manager").users
        for company in companies:
            check = self._check_companies(company)
            if check.state == "ok":
                continue
            partners = managers.filtered(lambda u, c=company: c in u.company_ids)
            check.message_post(
                body=Markup("<p>%s</p>%s")
                % (
                    self.env._(
                        "The daily integrity check found %(count)s discrepancies.",
                        count=format_number(self.env, check.finding_count),
                    ),
                    check.summary,
                ),
                partner_ids=partners.partner_id.ids,
                subtype_xmlid="mail.mt_comment",
            )

    # ------------------------------------------------------------------
    # The rules: each returns dicts of (membership_id, res_model, res_id,
    # expected, found, detail)
    # ------------------------------------------------------------------
    def _rows(self, query):
        self.env.cr.execute(query)
        keys = ["membership_id", "res_model", "res_id", "expected", "found", "detail"]
        return [dict(zip(keys, row, strict=True)) for row in self.env.cr.fetchall()]

    @api.model
    def _rule_balance(self, company):
        """Each member's available and pending balance is the sum of its
        ledger lines in that state."""
        return self._rows(
            SQL(
                """
                WITH s AS (
                    SELECT m.id, COALESCE(m.points_balance, 0) AS bal,
                           COALESCE(m.points_pending, 0) AS pen,
                           COALESCE(sum(e.points)
                                    FILTER (WHERE e.state = 'available'), 0) AS av,
                           COALESCE(sum(e.points)
                                    FILTER (WHERE e.state = 'pending'), 0) AS pe
                      FROM customer_membership m
                      LEFT JOIN customer_point_entry e ON e.membership_id = m.id
                     WHERE m.company_id = %(company)s
                     GROUP BY m.id
                )
                SELECT id, 'customer.membership', id,
                       av || ' / ' || pe, bal || ' / ' || pen,
                       %(detail)s
                  FROM s WHERE (av, pe) <> (bal, pen)
                 ORDER BY id
                """,
                company=company.id,
                detail=self.env._("available / pending"),
            )
        )

    @api.model
    def _rule_points_left(self, company):
        """Each line's points left are its points minus what consumption
        rows took from it (plus, on a line that takes, what it took), within
        the line's bounds; a spend or an expiry is served in full."""
        return self._rows(
            SQL(
                """
                WITH took AS (
                    SELECT c.source_entry_id AS id, sum(c.points) AS points
                      FROM customer_point_consumption c
                      JOIN customer_point_entry e ON e.id = c.source_entry_id
                     WHERE e.company_id = %(company)s
                     GROUP BY c.source_entry_id
                ),
                gave AS (
                    SELECT c.consumer_entry_id AS id, sum(c.points) AS points
                      FROM customer_point_consumption c
                      JOIN customer_point_entry e ON e.id = c.consumer_entry_id
                     WHERE e.company_id = %(company)s AND e.points < 0
                     GROUP BY c.consumer_entry_id
                ),
                x AS (
                    SELECT e.id, e.membership_id, e.kind, e.points, e.state,
                           e.remaining_points AS found,
                           CASE WHEN e.points < 0
                                THEN e.points + COALESCE(g.points, 0)
                                WHEN e.kind IN ('earn', 'adjust') THEN e.points
                                ELSE 0 END - COALESCE(t.points, 0) AS expected
                      FROM customer_point_entry e
                      LEFT JOIN took t ON t.id = e.id
                      LEFT JOIN gave g ON g.id = e.id
                     WHERE e.company_id = %(company)s
                )
                SELECT membership_id, 'customer.point.entry', id,
                       expected::text, COALESCE(found::text, ''),
                       CASE WHEN found IS DISTINCT FROM expected THEN %(taken)s
                            WHEN points < 0 AND kind <> 'reverse'
                                 AND state = 'available' THEN %(unserved)s
                            ELSE %(bounds)s END
                  FROM x
                 WHERE found IS DISTINCT FROM expected
                    OR (points > 0 AND (found < 0 OR found > points))
                    OR (points < 0 AND (found > 0 OR found < points))
                    OR (points < 0 AND kind <> 'reverse' AND state = 'available'
                        AND found <> 0)
                 ORDER BY id
                """,
                company=company.id,
                taken=self.env._("points left differ from the consumption rows"),
                unserved=self.env._("a spend or an expiry not taken in full"),
                bounds=self.env._("points left outside 0 and the line's points"),
            )
        )

    @api.model
    def _rule_points_left_total(self, company):
        """Taking points moves them between a member's lines: the points
        left of a member's lines in a state add up to its balance there."""
        return self._rows(
            SQL(
                """
                WITH s AS (
                    SELECT e.membership_id AS id,
                           sum(e.points) FILTER (WHERE e.state = 'available')
                               AS av,
                           sum(COALESCE(e.remaining_points, 0))
                               FILTER (WHERE e.state = 'available') AS av_left,
                           sum(e.points) FILTER (WHERE e.state = 'pending') AS pe,
                           sum(COALESCE(e.remaining_points, 0))
                               FILTER (WHERE e.state = 'pending') AS pe_left
                      FROM customer_point_entry e
                     WHERE e.company_id = %(company)s
                     GROUP BY e.membership_id
                )
                SELECT id, 'customer.membership', id,
                       COALESCE(av, 0) || ' / ' || COALESCE(pe, 0),
                       COALESCE(av_left, 0) || ' / ' || COALESCE(pe_left, 0),
                       %(detail)s
                  FROM s
                 WHERE (COALESCE(av, 0), COALESCE(pe, 0))
                       <> (COALESCE(av_left, 0), COALESCE(pe_left, 0))
                 ORDER BY id
                """,
                company=company.id,
                detail=self.env._(
                    "sum of the points of the lines / of their points left "
                    "(available / pending)"
                ),
            )
        )

    @api.model
    def _rule_negative(self, company):
        """A balance below zero only comes from a reversal of points already
        spent (a debt still to settle), and the member is flagged."""
        return self._rows(
            SQL(
                """
                SELECT m.id, 'customer.membership', m.id,
                       CASE WHEN m.points_balance < 0 THEN %(flagged)s
                            ELSE %(unflagged)s END,
                       COALESCE(m.points_balance, 0)::text
                       || CASE WHEN m.has_negative_balance THEN %(is_flagged)s
                               ELSE '' END,
                       CASE WHEN COALESCE(m.points_balance, 0) < 0
                                 AND NOT EXISTS (
                                     SELECT 1 FROM customer_point_entry d
                                      WHERE d.membership_id = m.id
                                        AND d.kind = 'reverse'
                                        AND d.state = 'available'
                                        AND d.remaining_points < 0)
                            THEN %(no_debt)s ELSE %(flag)s END
                  FROM customer_membership m
                 WHERE m.company_id = %(company)s
                   AND (COALESCE(m.has_negative_balance, FALSE)
                            <> (COALESCE(m.points_balance, 0) < 0)
                        OR (COALESCE(m.points_balance, 0) < 0
                            AND NOT EXISTS (
                                SELECT 1 FROM customer_point_entry d
                                 WHERE d.membership_id = m.id
                                   AND d.kind = 'reverse'
                                   AND d.state = 'available'
                                   AND d.remaining_points < 0)))
                 ORDER BY m.id
                """,
                company=company.id,
                flagged=self.env._("a recorded debt, member flagged"),
                unflagged=self.env._("member not flagged"),
                is_flagged=self.env._(" (flagged)"),
                no_debt=self.env._("negative balance and no reversal owes points"),
                flag=self.env._("the negative balance flag is wrong"),
            )
        )

    @api.model
    def _rule_order_earned_twice(self, company):
        """An order holds at most one earning not reversed by a cancellation."""
        return self._rows(
            SQL(
                """
                SELECT min(e.membership_id), 'sale.order', e.sale_order_id,
                       '1', count(*)::text,
                       %(detail)s || string_agg(e.id::text, ', ' ORDER BY e.id)
                  FROM customer_point_entry e
                 WHERE e.company_id = %(company)s AND e.kind = 'earn'
                   AND e.sale_order_id IS NOT NULL
                   AND NOT EXISTS (
                       SELECT 1 FROM customer_point_entry r
                        WHERE r.reversed_entry_id = e.id AND r.kind = 'reverse'
                          AND r.credit_note_id IS NULL)
                 GROUP BY e.sale_order_id
                HAVING count(*) > 1
                 ORDER BY e.sale_order_id
                """,
                company=company.id,
                detail=self.env._("earning lines: "),
            )
        )

    @api.model
    def _rule_order_not_reversed(self, company):
        """A cancelled order keeps no earned points and no points spent on
        it: its earnings and redemptions are reversed in full."""
        return self._rows(
            SQL(
                """
                WITH net AS (
                    SELECT e.id, e.membership_id, e.sale_order_id, e.kind,
                           e.points + COALESCE((
                               SELECT sum(r.points) FROM customer_point_entry r
                                WHERE r.reversed_entry_id = e.id
                                  AND r.kind = 'reverse'), 0) AS left_points
                      FROM customer_point_entry e
                      JOIN sale_order so ON so.id = e.sale_order_id
                     WHERE e.company_id = %(company)s AND so.state = 'cancel'
                       AND e.kind IN ('earn', 'redeem')
                )
                SELECT membership_id, 'customer.point.entry', id, '0',
                       left_points::text,
                       CASE WHEN kind = 'earn' THEN %(earn)s ELSE %(spend)s END
                  FROM net WHERE left_points <> 0
                 ORDER BY id
                """,
                company=company.id,
                earn=self.env._("earned points of a cancelled order not reversed"),
                spend=self.env._("points spent on a cancelled order not given back"),
            )
        )

    @api.model
    def _rule_reversed_twice(self, company):
        """A line is reversed by at most one cancellation, and never by more
        points than it has."""
        return self._rows(
            SQL(
                """
                SELECT e.membership_id, 'customer.point.entry', e.id,
                       abs(e.points)::text, abs(sum(r.points))::text,
                       %(detail)s || count(*) FILTER (
                           WHERE r.credit_note_id IS NULL)
                  FROM customer_point_entry e
                  JOIN customer_point_entry r
                    ON r.reversed_entry_id = e.id AND r.kind = 'reverse'
                 WHERE e.company_id = %(company)s
                 GROUP BY e.id
                HAVING count(*) FILTER (WHERE r.credit_note_id IS NULL) > 1
                    OR abs(sum(r.points)) > abs(e.points)
                 ORDER BY e.id
                """,
                company=company.id,
                detail=self.env._("points reversed; reversals by cancellation: "),
            )
        )

    @api.model
    def _rule_credit_note_twice(self, company):
        """A credit note reverses a line's points at most once."""
        return self._rows(
            SQL(
                """
                SELECT min(r.membership_id), 'account.move', r.credit_note_id,
                       '1', count(*)::text,
                       %(detail)s || r.reversed_entry_id
                  FROM customer_point_entry r
                 WHERE r.company_id = %(company)s AND r.kind = 'reverse'
                   AND r.credit_note_id IS NOT NULL
                 GROUP BY r.credit_note_id, r.reversed_entry_id
                HAVING count(*) > 1
                 ORDER BY r.credit_note_id
                """,
                company=company.id,
                detail=self.env._("reversals of line "),
            )
        )

    @api.model
    def _rule_reward_oversold(self, company):
        """No stock period gave more of a reward than its stock."""
        return self._rows(
            SQL(
                """
                WITH given(reward_id, day) AS (
                    SELECT e.reward_id, e.date FROM customer_point_entry e
                     WHERE e.company_id = %(company)s AND e.kind = 'redeem'
                       AND e.reward_id IS NOT NULL
                       AND NOT EXISTS (
                           SELECT 1 FROM customer_point_entry x
                            WHERE x.reversed_entry_id = e.id)
                    UNION ALL
                    SELECT c.reward_id, c.issue_date FROM customer_coupon c
                     WHERE c.company_id = %(company)s AND c.reward_id IS NOT NULL
                       AND c.point_entry_id IS NULL AND c.state <> 'cancelled'
                ),
                per AS (
                    SELECT r.id, r.limit_qty,
                           CASE r.limit_period
                                WHEN 'day' THEN g.day
                                WHEN 'week' THEN date_trunc('week', g.day)::date
                                WHEN 'month' THEN date_trunc('month', g.day)::date
                                WHEN 'year' THEN date_trunc('year', g.day)::date
                           END AS period
                      FROM given g JOIN customer_reward r ON r.id = g.reward_id
                     WHERE r.limit_qty > 0
                )
                SELECT NULL::int, 'customer.reward', id, min(limit_qty)::text,
                       count(*)::text,
                       %(detail)s || COALESCE(period::text, %(total)s)
                  FROM per GROUP BY id, period
                HAVING count(*) > min(limit_qty)
                 ORDER BY id, period
                """,
                company=company.id,
                detail=self.env._("stock period starting "),
                total=self.env._("(in total)"),
            )
        )

    @api.model
    def _rule_batch_coupon_twice(self, company):
        """A batch issues each of its numbers once per member, and no more
        coupons per member than it says."""
        return self._rows(
            SQL(
                """
                SELECT c.membership_id, 'customer.coupon.batch', c.batch_id,
                       b.per_customer_limit::text, count(*)::text,
                       %(detail)s
                       || string_agg(c.batch_index::text, ', '
                                     ORDER BY c.batch_index)
                  FROM customer_coupon c
                  JOIN customer_coupon_batch b ON b.id = c.batch_id
                 WHERE c.company_id = %(company)s
                 GROUP BY c.batch_id, c.membership_id, b.per_customer_limit
                HAVING count(*) > b.per_customer_limit
                    OR count(DISTINCT c.batch_index) < count(*)
                 ORDER BY c.batch_id, c.membership_id
                """,
                company=company.id,
                detail=self.env._("numbers issued to the member: "),
            )
        )

    @api.model
    def _rule_campaign_delivery(self, company):
        """A campaign gives only to the members it reached: a delivery held
        out (control) or skipped has no coupon and no bonus points, and a
        delivery's coupon and ledger line are the ones that point back to it
        (one each at most)."""
        return self._rows(
            SQL(
                """
                WITH given AS (
                    SELECT d.id, d.membership_id, d.state,
                           d.coupon_id IS NOT NULL AS has_coupon,
                           d.point_entry_id IS NOT NULL AS has_points,
                           (SELECT count(*) FROM customer_coupon c
                             WHERE c.campaign_delivery_id = d.id) AS coupons,
                           (SELECT count(*) FROM customer_point_entry e
                             WHERE e.campaign_delivery_id = d.id
                               AND e.kind = 'earn') AS lines
                      FROM customer_campaign_delivery d
                     WHERE d.company_id = %(company)s
                )
                SELECT membership_id, 'customer.campaign.delivery', id,
                       CASE WHEN state = 'sent'
                            THEN has_coupon::int || ' / ' || has_points::int
                            ELSE '0 / 0' END,
                       coupons || ' / ' || lines,
                       %(detail)s || state
                  FROM given
                 WHERE (state <> 'sent' AND (coupons > 0 OR lines > 0
                                             OR has_coupon OR has_points))
                    OR coupons > 1 OR lines > 1
                    OR has_coupon <> (coupons > 0) OR has_points <> (lines > 0)
                 ORDER BY id
                """,
                company=company.id,
                detail=self.env._("coupons / bonus point lines of a delivery: "),
            )
        )

    @api.model
    def _rule_coupon_code_twice(self, company):
        """Every code of a coupon the programme issued belongs to one coupon
        only."""
        return self._rows(
            SQL(
                """
                SELECT NULL::int, 'loyalty.card', min(lc.id), '1',
                       count(*)::text,
                       %(detail)s || lc.code
                  FROM loyalty_card lc
                 WHERE lc.code IN (
                       SELECT code FROM customer_coupon
                        WHERE company_id = %(company)s)
                 GROUP BY lc.code
                HAVING count(*) > 1
                 ORDER BY min(lc.id)
                """,
                company=company.id,
                detail=self.env._("code "),
            )
        )

    @api.model
    def _rule_coupon_usage(self, company):
        """A coupon is used exactly when a confirmed order carries it, and
        records that order."""
        return self._rows(
            SQL(
                """
                WITH carried AS (
                    SELECT l.coupon_id AS card_id, min(o.id) AS order_id,
                           count(DISTINCT o.id) AS orders
                      FROM sale_order_line l
                      JOIN sale_order o ON o.id = l.order_id
                     WHERE o.state = 'sale' AND o.company_id = %(company)s
                       AND l.coupon_id IS NOT NULL
                     GROUP BY l.coupon_id
                )
                SELECT c.membership_id, 'customer.coupon', c.id,
                       CASE WHEN k.card_id IS NULL THEN %(unused)s
                            ELSE %(used_on)s || k.order_id END,
                       c.state || COALESCE(' ' || c.order_id, ''),
                       CASE WHEN k.card_id IS NULL THEN %(no_order)s
                            WHEN c.state <> 'used' THEN %(not_marked)s
                            ELSE %(other_order)s END
                  FROM customer_coupon c
                  LEFT JOIN carried k ON k.card_id = c.card_id
                 WHERE c.company_id = %(company)s
                   AND ((c.state = 'used' AND k.card_id IS NULL)
                        OR (c.state IN ('issued', 'expired')
                            AND k.card_id IS NOT NULL)
                        OR (c.state = 'used' AND c.order_id IS DISTINCT FROM
                            k.order_id AND k.orders = 1))
                 ORDER BY c.id
                """,
                company=company.id,
                unused=self.env._("not used"),
                used_on=self.env._("used on order "),
                no_order=self.env._("marked used but no confirmed order carries it"),
                not_marked=self.env._("a confirmed order carries it, not marked used"),
                other_order=self.env._("marked used on another order"),
            )
        )

    @api.model
    def _rule_statistics(self, company):
        """The purchase statistics equal a fresh recompute from all
        documents; the RFM window figures may be those of today's window or
        of the last nightly pass's."""
        members = self.env["customer.membership"]
        today_start = members._stats_window_start(company)
        last_start = company.loyalty_stats_window_start or today_start
        return self._rows(
            SQL(
                """
                WITH %(fresh)s
                SELECT m.id, 'customer.membership', m.id,
                       concat_ws(' / ', new.order_count, round(new.total, 2),
                                 new.first_day, new.last_day, new.window_count),
                       concat_ws(' / ', m.order_count, round(m.total_spent, 2),
                                 m.first_order_date, m.last_order_date,
                                 m.rfm_frequency),
                       %(detail)s
                  FROM customer_membership m JOIN new ON new.id = m.id
                 WHERE (m.first_order_date, m.last_order_date,
                        COALESCE(m.order_count, 0),
                        COALESCE(m.purchase_day_count, 0),
                        round(COALESCE(m.total_spent, 0), 2),
                        round(COALESCE(m.average_order_value, 0), 2),
                        round(COALESCE(m.repeat_order_value, 0), 2))
                       IS DISTINCT FROM
                       (new.first_day, new.last_day, new.order_count,
                        new.day_count, round(new.total, 2), round(new.average, 2),
                        round(new.repeat_average, 2))
                    OR ((COALESCE(m.rfm_frequency, 0),
                         round(COALESCE(m.rfm_monetary, 0), 2))
                        IS DISTINCT FROM
                        (new.window_count, round(new.window_total, 2))
                        AND (COALESCE(m.rfm_frequency, 0),
                             round(COALESCE(m.rfm_monetary, 0), 2))
                            IS DISTINCT FROM
                            (new.window_count2, round(new.window_total2, 2)))
                 ORDER BY m.id
                """,
                fresh=members._fresh_statistics_sql(
                    company, None, today_start, last_start
                ),
                detail=self.env._(
                    "orders / total spent / first order / last order / orders "
                    "in the RFM window"
                ),
            )
        )

    @api.model
    def _rule_tier(self, company):
        """No member is due a tier an order or a review would give at once
        (a move up, or out of a tier no longer on the ladder)."""
        self.env.cr.execute(
            SQL(
                "SELECT id FROM customer_membership WHERE company_id = %s",
                company.id,
            )
        )
        ids = [row[0] for row in self.env.cr.fetchall()]
        changes = self.env["customer.tier"]._tier_decisions(
            company, ids, company._loyalty_today(), write=False
        )
        tier_ids = {c["to_tier_id"] for c in changes}
        tier_ids |= {c["from_tier_id"] for c in changes}
        tiers = self.env["customer.tier"].browse(sorted(filter(None, tier_ids)))
        names = {tier.id: tier.display_name for tier in tiers.exists()}
        none = self.env._("no tier")
        return [
            {
                "membership_id": change["membership_id"],
                "res_model": "customer.membership",
                "res_id": change["membership_id"],
                "expected": names.get(change["to_tier_id"], none),
                "found": names.get(change["from_tier_id"], none),
                "detail": self.env._(
                    "qualifying figure %(value)s", value=change["qualifying_value"]
                ),
            }
            for change in changes
        ]


class CustomerIntegrityFinding(models.Model):
    """One discrepancy an integrity check found, and the record it is on."""

    _name = "customer.integrity.finding"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Ledger Integrity Finding"
    _order = "check_id desc, rule, id"

    check_id = fields.Many2one(
        "customer.integrity.check",
        string="Check",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="check_id.company_id", store=True, index=True)
    rule = fields.Selection(
        selection=RULE_SELECTION, string="Rule", required=True, readonly=True
    )
    membership_id = fields.Many2one(
        "customer.membership", string="Membership", readonly=True, ondelete="set null"
    )
    res_model = fields.Char(string="Record Type", readonly=True, required=True)
    res_id = fields.Many2oneReference(
        string="Record Id", model_field="res_model", readonly=True
    )
    record_name = fields.Char(string="Record", compute="_compute_record_name")
    expected = fields.Char(string="Expected", readonly=True)
    found = fields.Char(string="Found", readonly=True)
    detail = fields.Char(string="Detail", readonly=True)

    @api.depends("res_model", "res_id")
    def _compute_record_name(self):
        by_model = {}
        for finding in self:
            by_model.setdefault(finding.res_model, set()).add(finding.res_id)
        names = {}
        for model, ids in by_model.items():
            if model not in self.env:
                continue
            records = self.env[model].sudo().browse(ids).exists()
            names.update({(model, r.id): r.display_name for r in records})
        for finding in self:
            finding.record_name = names.get(
                (finding.res_model, finding.res_id),
                f"{finding.res_model},{finding.res_id}",
            )

    def action_open_record(self):
        one_record(self)
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
            "views": [(False, "form")],
        }
