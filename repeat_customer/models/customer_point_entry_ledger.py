"""The points ledger's bookkeeping: locks, balances, how points are taken and
debts settled (set-wise SQL), and the posting of reversals, adjustments and
redemptions."""

import logging

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

DEFAULT_LEDGER_BATCH = 50000
LEDGER_BATCH_PARAM = "repeat_customer.ledger_batch_size"


class CustomerPointEntry(models.Model):
    _name = "customer.point.entry"
    _inherit = ["customer.point.entry", "customer.job.mixin"]

    # ------------------------------------------------------------------
    # Bookkeeping (SQL, set-wise)
    # ------------------------------------------------------------------
    @api.model
    def _batch_size(self):
        return self._job_batch_size(LEDGER_BATCH_PARAM, DEFAULT_LEDGER_BATCH)

    @api.model
    def _lock_memberships(self, membership_ids):
        """Lock the memberships whose points are about to move.

        Every change of the ledger rewrites the membership's balances, so a
        transaction that started before another one changed the same member's
        points fails here with a serialization error (and is retried by the
        server) instead of spending a balance it read before the change.
        """
        if membership_ids:
            self.env.cr.execute(
                SQL(
                    """
                    SELECT id FROM customer_membership
                     WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE
                    """,
                    list(membership_ids),
                )
            )

    @api.model
    def _ledger_balances(self, membership_ids):
        """{membership id: (available, pending)} summed from the ledger."""
        self.env.cr.execute(
            SQL(
                """
                SELECT membership_id,
                       COALESCE(sum(points) FILTER (WHERE state = 'available'), 0),
                       COALESCE(sum(points) FILTER (WHERE state = 'pending'), 0)
                  FROM customer_point_entry
                 WHERE membership_id = ANY(%s)
                 GROUP BY membership_id
                """,
                list(membership_ids),
            )
        )
        balances = dict.fromkeys(membership_ids, (0, 0))
        balances.update({mid: (av, pe) for mid, av, pe in self.env.cr.fetchall()})
        return balances

    @api.model
    def _insert_lines(self, rows):
        """INSERT ledger lines from dicts in one statement and return their
        (id, membership id, sales order id).

        Used where lines are posted in bulk (daily jobs, order confirmation):
        the lines get the same columns the ORM would give them.
        """
        if not rows:
            return []
        self.flush_model()
        columns = {
            "membership_id": "int",
            "kind": "varchar",
            "points": "int",
            "state": "varchar",
            "date": "date",
            "remaining_points": "int",
            "reason": "text",
            "release_rule": "varchar",
            "available_date": "date",
            "expiry_date": "date",
            "sale_order_id": "int",
            "tier_id": "int",
            "base_amount": "numeric",
            "multiplier": "float8",
        }
        names = SQL(", ").join(SQL.identifier(col) for col in columns)
        arrays = SQL(", ").join(
            SQL("%s::" + sqltype + "[]", [row.get(col) for row in rows])
            for col, sqltype in columns.items()
        )
        values = SQL(", ").join(SQL.identifier("r", col) for col in columns)
        self.env["customer.membership"].flush_model(
            ["points_balance", "points_pending", "has_negative_balance"]
        )
        # the members' balances move by the lines' points in the same
        # statement (the sums stay equal to the ledger's)
        self.env.cr.execute(
            SQL(
                """
                WITH ins AS (
                    INSERT INTO customer_point_entry (
                        company_id, partner_id, user_id, create_uid, create_date,
                        write_uid, write_date, %(names)s)
                    SELECT m.company_id, m.partner_id, %(uid)s, %(uid)s,
                           now() at time zone 'UTC', %(uid)s,
                           now() at time zone 'UTC', %(values)s
                      FROM unnest(%(arrays)s) WITH ORDINALITY AS r(%(names)s, seq)
                      JOIN customer_membership m ON m.id = r.membership_id
                     ORDER BY r.seq
                    RETURNING id, membership_id, sale_order_id, points, state
                ),
                delta AS (
                    SELECT membership_id,
                           COALESCE(sum(points)
                                    FILTER (WHERE state = 'available'), 0) AS av,
                           COALESCE(sum(points)
                                    FILTER (WHERE state = 'pending'), 0) AS pe
                      FROM ins GROUP BY membership_id
                ),
                balance AS (
                    UPDATE customer_membership m
                       SET points_balance = COALESCE(m.points_balance, 0) + delta.av,
                           points_pending = COALESCE(m.points_pending, 0) + delta.pe,
                           has_negative_balance =
                               COALESCE(m.points_balance, 0) + delta.av < 0
                      FROM delta
                     WHERE m.id = delta.membership_id
                )
                SELECT id, membership_id, sale_order_id FROM ins
                """,
                names=names,
                values=values,
                arrays=arrays,
                uid=self.env.uid,
            )
        )
        lines = self.env.cr.fetchall()
        self.env["customer.membership"].invalidate_model(
            ["points_balance", "points_pending", "has_negative_balance"]
        )
        return lines

    @api.model
    def _take(self, rows, takes):
        """Run ``takes``, SQL of (source line id, consumer line id, points)
        rows that may read ``need(consumer_id, key, points)`` built from
        ``rows``: log each as a consumption and take the points off the
        source lines. Return {consumer id: points taken}."""
        consumers, keys, points = zip(*rows, strict=True)
        self.env.cr.execute(
            SQL(
                """
                WITH need AS (
                    SELECT * FROM unnest(%(consumers)s::int[], %(keys)s::int[],
                                         %(points)s::int[])
                             AS n(consumer_id, key, points)
                ),
                take(source_id, consumer_id, points) AS (%(takes)s),
                logged AS (
                    INSERT INTO customer_point_consumption
                           (source_entry_id, consumer_entry_id, points)
                    SELECT source_id, consumer_id, points FROM take
                )
                UPDATE customer_point_entry e
                   SET remaining_points = e.remaining_points - take.points
                  FROM take
                 WHERE e.id = take.source_id
             RETURNING take.consumer_id, take.points
                """,
                consumers=list(consumers),
                keys=list(keys),
                points=list(points),
                takes=takes,
            )
        )
        taken = {}
        for consumer_id, pts in self.env.cr.fetchall():
            taken[consumer_id] = taken.get(consumer_id, 0) + pts
        self.invalidate_model(["remaining_points"])
        return taken

    @api.model
    def _consume(self, needs):
        """Take points from the available lines with points left, the ones
        that expire first first.

        ``needs`` is a list of (consumer line id, membership id, points > 0),
        at most one per membership. Every point taken is logged as a
        consumption of the consumer line. Return {consumer id: points taken}.
        """
        if not needs:
            return {}
        return self._take(
            needs,
            SQL(
                """
                SELECT id, consumer_id, LEAST(rem, need - (upto - rem))
                  FROM (
                      SELECT e.id, n.consumer_id, n.points AS need,
                             e.remaining_points AS rem,
                             sum(e.remaining_points) OVER (
                                 PARTITION BY e.membership_id
                                 ORDER BY e.expiry_date NULLS LAST, e.date, e.id
                             ) AS upto
                        FROM customer_point_entry e
                        JOIN need n ON n.key = e.membership_id
                       WHERE e.state = 'available' AND e.remaining_points > 0
                  ) src
                 WHERE upto - rem < need
                """
            ),
        )

    @api.model
    def _consume_from(self, pairs):
        """Take points from given lines: ``pairs`` of (consumer id, source id,
        points). Takes at most what each source has left. Return {consumer
        id: points taken}."""
        if not pairs:
            return {}
        return self._take(
            pairs,
            SQL(
                """
                SELECT n.key, n.consumer_id, LEAST(e.remaining_points, n.points)
                  FROM need n
                  JOIN customer_point_entry e ON e.id = n.key
                 WHERE e.remaining_points > 0
                """
            ),
        )

    @api.model
    def _set_debts(self, debts):
        """Record on reversal lines the points they could not take back:
        ``debts`` is {reversal line id: points owed > 0}."""
        if debts:
            self.env.cr.execute(
                SQL(
                    """
                    UPDATE customer_point_entry e
                       SET remaining_points = -d.points
                      FROM unnest(%s::int[], %s::int[]) AS d(id, points)
                     WHERE e.id = d.id
                    """,
                    list(debts),
                    list(debts.values()),
                )
            )
            self.invalidate_model(["remaining_points"])

    @api.model
    def _settle_debts(self, membership_ids):
        """Settle the points members owe with the points they have.

        A member owes points when a reversal took back points already spent.
        Owed points are taken, oldest debt first, from the available points
        that expire first, so that points spent twice never expire as well.
        """
        if not membership_ids:
            return
        self.env.cr.execute(
            SQL(
                """
                WITH debt AS (
                    SELECT id, membership_id, -remaining_points AS amount,
                           sum(-remaining_points) OVER (
                               PARTITION BY membership_id ORDER BY id) AS upto
                      FROM customer_point_entry
                     WHERE membership_id = ANY(%(ids)s)
                       AND state = 'available' AND remaining_points < 0
                ),
                src AS (
                    SELECT id, membership_id, remaining_points AS amount,
                           sum(remaining_points) OVER (
                               PARTITION BY membership_id
                               ORDER BY expiry_date NULLS LAST, date, id) AS upto
                      FROM customer_point_entry
                     WHERE membership_id IN (SELECT membership_id FROM debt)
                       AND state = 'available' AND remaining_points > 0
                ),
                pair AS (
                    SELECT s.id AS source_id, d.id AS debt_id,
                           LEAST(s.upto, d.upto)
                           - GREATEST(s.upto - s.amount, d.upto - d.amount) AS points
                      FROM src s
                      JOIN debt d ON d.membership_id = s.membership_id
                     WHERE s.upto - s.amount < d.upto AND d.upto - d.amount < s.upto
                ),
                logged AS (
                    INSERT INTO customer_point_consumption
                           (source_entry_id, consumer_entry_id, points)
                    SELECT source_id, debt_id, points FROM pair
                ),
                moved AS (
                    SELECT source_id AS id, -sum(points) AS delta
                      FROM pair GROUP BY source_id
                    UNION ALL
                    SELECT debt_id, sum(points) FROM pair GROUP BY debt_id
                )
                UPDATE customer_point_entry e
                   SET remaining_points = e.remaining_points + moved.delta
                  FROM moved
                 WHERE e.id = moved.id
                """,
                ids=list(membership_ids),
            )
        )
        self.invalidate_model(["remaining_points"])

    @api.model
    def _refresh_balances(self, membership_ids):
        """Write the ledger sums on the memberships; flag and log the members
        whose available balance went below zero."""
        if not membership_ids:
            return
        self.flush_model()
        self.env["customer.membership"].flush_model(
            ["points_balance", "points_pending", "has_negative_balance"]
        )
        self.env.cr.execute(
            SQL(
                """
                WITH sums AS (
                    SELECT m.id, m.has_negative_balance AS was_negative,
                           COALESCE(sum(e.points)
                                    FILTER (WHERE e.state = 'available'), 0) AS av,
                           COALESCE(sum(e.points)
                                    FILTER (WHERE e.state = 'pending'), 0) AS pe
                      FROM customer_membership m
                      LEFT JOIN customer_point_entry e ON e.membership_id = m.id
                     WHERE m.id = ANY(%(ids)s)
                     GROUP BY m.id
                )
                UPDATE customer_membership m
                   SET points_balance = sums.av,
                       points_pending = sums.pe,
                       has_negative_balance = sums.av < 0
                  FROM sums
                 WHERE m.id = sums.id
                   AND (m.points_balance IS DISTINCT FROM sums.av
                        OR m.points_pending IS DISTINCT FROM sums.pe
                        OR m.has_negative_balance IS DISTINCT FROM sums.av < 0)
             RETURNING m.id, sums.av, sums.was_negative
                """,
                ids=list(membership_ids),
            )
        )
        newly_negative = {
            mid: balance
            for mid, balance, was_negative in self.env.cr.fetchall()
            if balance < 0 and not was_negative
        }
        memberships = self.env["customer.membership"]
        memberships.invalidate_model(
            ["points_balance", "points_pending", "has_negative_balance"]
        )
        if newly_negative:
            memberships.browse(list(newly_negative)).sudo()._message_log_batch(
                bodies={
                    mid: self.env._(
                        "The points balance is negative (%(balance)s): points "
                        "already spent were taken back. Review the member and "
                        "settle it with an adjustment if needed.",
                        balance=balance,
                    )
                    for mid, balance in newly_negative.items()
                }
            )

    # ------------------------------------------------------------------
    # Posting
    # ------------------------------------------------------------------
    @api.model
    def _reverse(self, entries, amounts=None, credit_note=None, date=None):
        """Post the reversal of ``entries`` (earned or redeemed lines).

        ``amounts`` is {entry id: points to reverse} (default: all of it).
        Reversing earned points takes them back from the line itself first,
        then from the member's other available points; what cannot be taken
        back is owed, and the balance goes negative. Reversing a redemption
        gives the points back to the lines they were taken from.
        Return the reversal lines.
        """
        entries = entries.sudo()
        if not entries:
            return self.browse()
        self._lock_memberships(entries.membership_id.ids)
        todays = {company: company._loyalty_today() for company in entries.company_id}
        vals_list = []
        for entry in entries:
            points = (amounts or {}).get(entry.id, abs(entry.points))
            if points <= 0:
                continue
            sign = -1 if entry.points > 0 else 1
            vals_list.append(
                {
                    "membership_id": entry.membership_id.id,
                    "kind": "reverse",
                    "points": sign * points,
                    "state": entry.state,
                    "available_date": entry.available_date,
                    "release_rule": entry.release_rule,
                    "date": date or todays[entry.company_id],
                    "remaining_points": 0,
                    "sale_order_id": entry.sale_order_id.id,
                    "credit_note_id": credit_note.id if credit_note else False,
                    "reversed_entry_id": entry.id,
                    "reward_id": entry.reward_id.id,
                }
            )
        reversals = self.sudo().create(vals_list)
        self.flush_model()
        # earned points: from the line itself, then the member's other points
        take_back = reversals.filtered(lambda r: r.points < 0)
        taken = self._consume_from(
            [(r.id, r.reversed_entry_id.id, -r.points) for r in take_back]
        )
        needs = []
        for reversal in take_back:
            left = -reversal.points - taken.get(reversal.id, 0)
            if left > 0 and reversal.state == "available":
                needs.append((reversal.id, reversal.membership_id.id, left))
        for consumer_id, pts in self._consume(needs).items():
            taken[consumer_id] = taken.get(consumer_id, 0) + pts
        self._set_debts(
            {
                r.id: -r.points - taken.get(r.id, 0)
                for r in take_back
                if -r.points - taken.get(r.id, 0) > 0
            }
        )
        # redeemed points go back where they were taken from
        give_back = reversals.filtered(lambda r: r.points > 0)
        if give_back:
            self.env.cr.execute(
                SQL(
                    """
                    WITH back AS (
                        SELECT c.source_entry_id, r.id AS reversal_id,
                               sum(c.points) AS points
                          FROM customer_point_entry r
                          JOIN customer_point_consumption c
                            ON c.consumer_entry_id = r.reversed_entry_id
                         WHERE r.id = ANY(%s)
                         GROUP BY c.source_entry_id, r.id
                    ),
                    logged AS (
                        INSERT INTO customer_point_consumption
                               (source_entry_id, consumer_entry_id, points)
                        SELECT source_entry_id, reversal_id, -points FROM back
                    )
                    UPDATE customer_point_entry e
                       SET remaining_points = e.remaining_points + back.points
                      FROM back
                     WHERE e.id = back.source_entry_id
                    """,
                    give_back.ids,
                )
            )
        member_ids = reversals.membership_id.ids
        self._settle_debts(member_ids)
        self._refresh_balances(member_ids)
        self.invalidate_model(["remaining_points"])
        return reversals

    @api.model
    def _post_adjustment(self, membership, points, reason, expiry_date=None):
        """Post a manual adjustment of ``points`` (signed) with its reason.

        A negative adjustment takes available points, the ones that expire
        first first, and cannot take more than the member has.
        """
        membership = membership.sudo()
        self._lock_memberships(membership.ids)
        date = membership.company_id._loyalty_today()
        if points < 0:
            available = self._ledger_balances(membership.ids)[membership.id][0]
            if -points > available:
                raise UserError(
                    self.env._(
                        "%(member)s has %(available)s points available: an "
                        "adjustment cannot take %(points)s.",
                        member=membership.display_name,
                        available=available,
                        points=-points,
                    )
                )
        if points > 0 and expiry_date is None:
            expiry_date = membership.company_id._loyalty_points_expiry_date(date)
        entry = self.sudo().create(
            {
                "membership_id": membership.id,
                "kind": "adjust",
                "points": points,
                "state": "available",
                "date": date,
                "expiry_date": expiry_date if points > 0 else False,
                "remaining_points": max(points, 0),
                "reason": reason,
            }
        )
        self.flush_model()
        if points < 0:
            self._consume([(entry.id, membership.id, -points)])
        self._settle_debts(membership.ids)
        self._refresh_balances(membership.ids)
        self.invalidate_model(["remaining_points"])
        return entry

    @api.model
    def _post_redemption(
        self, membership, points, order=None, reason=None, reward=None
    ):
        """Spend ``points`` of the member's available points.

        Locks the membership and reads the balance from the ledger in this
        transaction, so that two simultaneous redemptions cannot both spend
        the same points.
        """
        membership = membership.sudo()
        if points <= 0:
            raise UserError(self.env._("The points to redeem must be above 0."))
        self._lock_memberships(membership.ids)
        available = self._ledger_balances(membership.ids)[membership.id][0]
        if points > available:
            raise UserError(
                self.env._(
                    "%(member)s has %(available)s points available, not enough "
                    "to redeem %(points)s.",
                    member=membership.display_name,
                    available=available,
                    points=points,
                )
            )
        entry = self.sudo().create(
            {
                "membership_id": membership.id,
                "kind": "redeem",
                "points": -points,
                "state": "available",
                "date": membership.company_id._loyalty_today(),
                "remaining_points": 0,
                "sale_order_id": order.id if order else False,
                "reward_id": reward.id if reward else False,
                "reason": reason,
            }
        )
        self.flush_model()
        taken = self._consume([(entry.id, membership.id, points)])
        if taken.get(entry.id, 0) != points:
            # the ledger's points left disagree with its balance: refuse
            # rather than spend points that cannot be traced
            raise UserError(
                self.env._(
                    "The points of %(member)s cannot be traced to the lines "
                    "they come from; ask a loyalty manager to check the ledger.",
                    member=membership.display_name,
                )
            )
        self._refresh_balances(membership.ids)
        self.invalidate_model(["remaining_points"])
        return entry
