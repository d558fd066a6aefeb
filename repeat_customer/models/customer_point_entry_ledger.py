"""The points ledger's one writer, ``_post``, and its bookkeeping: how points
are taken and debts settled (set-wise SQL), and how balances move. The
reversal, adjustment and redemption helpers of ``customer_point_entry`` only
build the lines they post."""

import logging
from collections import defaultdict

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# members (expiry) or lines (release) per call of the daily ledger jobs: a
# call keeps its members' rows locked until it commits, and a shop order of
# one of them waits meanwhile; 5 000 keep that under a second (50 000, all
# of a year-end expiry at once, held them for seconds: bench/load.py)
DEFAULT_LEDGER_BATCH = 5000
LEDGER_BATCH_PARAM = "repeat_customer.ledger_batch_size"

# the columns ``_post`` writes from a line's values, with their SQL types
LINE_COLUMNS = {
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
    "reward_id": "int",
    "credit_note_id": "int",
    "reversed_entry_id": "int",
    "user_id": "int",
    "campaign_delivery_id": "int",
    "service_request_id": "int",
}
# values ``_post`` accepts besides the columns
LINE_EXTRAS = {"rule_ids"}
# the one2many fields whose cache a posting makes stale
BALANCE_FIELDS = ["points_balance", "points_pending", "has_negative_balance"]


def _take_order():
    """SQL order in which a member's available points are taken (rule 2)."""
    return SQL("e.expiry_date NULLS LAST, e.date, e.id")


class CustomerPointEntry(models.Model):
    _name = "customer.point.entry"
    _inherit = ["customer.point.entry", "customer.job.mixin"]

    @api.model
    def _batch_size(self):
        return self._job_batch_size(LEDGER_BATCH_PARAM, DEFAULT_LEDGER_BATCH)

    # ------------------------------------------------------------------
    # The writer
    # ------------------------------------------------------------------
    @api.model
    def _post(self, lines):
        """Post ledger lines: the only way lines are written, for every kind.

        ``lines`` is a list of dicts with the values of the lines (the keys
        of ``LINE_COLUMNS`` and ``rule_ids``, the bonus rule ids); ``date``
        defaults to the company's today, ``state`` to available. Return the
        posted lines, in the order given. Nothing is written when a line is
        refused (``UserError``), before or after the INSERT.

        How points are taken (the consumption contract):

        1. Only available points with points left are taken; pending points
           count towards tiers but are never spent.
        2. A member's points are taken in this order: the line that expires
           first first, lines without expiry last, then the oldest line, then
           the lowest id (FIFO by validity).
        3. A line that takes points (a redemption, a negative adjustment, a
           reversal of earned points) is posted with its points left equal to
           its points, negative: what it still has to take. Taking raises it
           towards zero; every point taken is a ``customer.point.consumption``
           row (source line, consumer line, points), so that a line's points
           left are always its points minus what consumption rows took (plus
           what they gave back).
        4. A redemption or a negative adjustment never takes more than the
           member's available balance, read from the ledger under a row lock
           of the membership; otherwise it is refused and nothing is written.
           It is served in full when it is posted.
        5. An expiry takes exactly the points left on the member's lines whose
           validity ended before the expiry's date.
        6. A reversal of earned points takes them back from the reversed line
           first. What that line no longer has is a debt: the reversal keeps
           it as negative points left, and the available balance may go below
           zero (the member is flagged and a note is logged once).
        7. Debts are settled, oldest first (lowest id), per rule 2, whenever
           available points are posted, pending points are released, or two
           memberships are merged, so that points spent twice never expire as
           well. A debt of a pending reversal waits until it is released.
        8. A reversal of a redemption gives the points back to the lines they
           were taken from (negative consumption rows).

        Balances move by delta, never by recount: the statement that inserts
        lines adds their points to the members' available or pending balance,
        and the statement that releases lines moves their points from pending
        to available. Taking points does not change a balance.
        """
        if not lines:
            return self.browse()
        rows = self._post_prepare(lines)
        spends = [
            r for r in rows if r["kind"] in ("redeem", "adjust") and r["points"] < 0
        ]
        takers = [r for r in rows if r["points"] < 0]
        self._lock_memberships({r["membership_id"] for r in takers})
        self._post_check_cover(spends)
        try:
            # a refusal found after the INSERT (a ledger that disagrees with
            # its balance) undoes the whole call
            with self.env.cr.savepoint(flush=False):
                ids = self._post_write(rows, takers)
        except UserError:
            self.env.invalidate_all()
            raise
        return self.browse(ids)

    @api.model
    def _post_write(self, rows, takers):
        """Write the prepared ``rows`` and take their points (see ``_post``).
        Return the ids of the lines, in the rows' order."""
        posted, owing = self._post_insert(rows)
        ids = [line_id for line_id, _mid in posted]
        for row, line_id in zip(rows, ids, strict=True):
            row["id"] = line_id
        self._post_rules(rows)
        # rule 6: a reversal takes back from its own line first
        self._consume_from(
            [
                (r["id"], r["reversed_entry_id"], -r["points"])
                for r in takers
                if r["kind"] == "reverse"
            ]
        )
        # rule 5: exactly the expired points, before anything else is taken
        expiries = [r for r in takers if r["kind"] == "expire"]
        self._consume_expired(expiries)
        self._post_check_served(expiries)
        # rule 8
        self._give_back(
            [r["id"] for r in rows if r["kind"] == "reverse" and r["points"] > 0]
        )
        # rules 3, 4 and 7
        self._settle_debts(owing | {r["membership_id"] for r in takers})
        self._post_check_served(
            [r for r in takers if r["kind"] in ("redeem", "adjust")]
        )
        self.invalidate_model(["remaining_points"])
        return ids

    @api.model
    def _post_prepare(self, lines):
        """Check the lines' values and fill their defaults (rules 3 and 6:
        points left). Raise ``UserError`` on a line that cannot be posted."""
        kinds = dict(self._fields["kind"].selection)
        membership_ids = {vals.get("membership_id") for vals in lines}
        if not all(isinstance(mid, int) for mid in membership_ids):
            raise UserError(self.env._("A ledger line needs an existing membership."))
        self.env["customer.membership"].flush_model(["company_id"])
        self.env.cr.execute(
            SQL(
                "SELECT id, company_id FROM customer_membership WHERE id = ANY(%s)",
                list(membership_ids),
            )
        )
        company_of = dict(self.env.cr.fetchall())
        if len(company_of) != len(membership_ids):
            raise UserError(self.env._("A ledger line needs an existing membership."))
        companies = self.env["res.company"].browse(set(company_of.values()))
        todays = {company.id: company._loyalty_today() for company in companies}
        rows = []
        for vals in lines:
            unknown = set(vals) - set(LINE_COLUMNS) - LINE_EXTRAS
            if unknown:
                raise UserError(
                    self.env._(
                        "A ledger line has no field %(fields)s.",
                        fields=", ".join(sorted(unknown)),
                    )
                )
            row = dict(vals)
            kind, points = row.get("kind"), row.get("points")
            if kind not in kinds:
                raise UserError(self.env._("A ledger line needs a valid type."))
            if not isinstance(points, int) or isinstance(points, bool) or not points:
                raise UserError(
                    self.env._("A ledger line moves a whole number of points.")
                )
            if kind == "adjust" and not (row.get("reason") or "").strip():
                raise UserError(self.env._("A points adjustment needs a reason."))
            if (kind == "earn" and points < 0) or (
                kind in ("redeem", "expire") and points > 0
            ):
                raise UserError(
                    self.env._(
                        "A ledger line of type %(kind)s cannot have %(points)s points.",
                        kind=kinds[kind],
                        points=points,
                    )
                )
            if kind == "reverse" and not row.get("reversed_entry_id"):
                raise UserError(self.env._("A reversal needs the line it reverses."))
            row.setdefault("state", "available")
            if row["state"] not in ("available", "pending"):
                raise UserError(self.env._("A ledger line is pending or available."))
            row["date"] = row.get("date") or todays[company_of[row["membership_id"]]]
            row["user_id"] = row.get("user_id") or self.env.uid
            if points < 0:
                row["remaining_points"] = points
            elif kind in ("earn", "adjust"):
                row["remaining_points"] = points
            else:
                row["remaining_points"] = 0
            row["rule_ids"] = self._post_rule_ids(row.get("rule_ids"))
            rows.append(row)
        return rows

    @api.model
    def _post_rule_ids(self, value):
        """Bonus rule ids from a list of ids or of x2many commands."""
        ids = []
        for item in value or ():
            if isinstance(item, int):
                ids.append(item)
            elif isinstance(item, list | tuple) and item and item[0] == 6:
                ids.extend(item[2])
            elif isinstance(item, list | tuple) and item and item[0] == 4:
                ids.append(item[1])
            else:
                raise UserError(self.env._("Bonus rules are given by their ids."))
        return ids

    @api.model
    def _lock_memberships(self, membership_ids):
        """Lock the memberships whose points are about to be taken.

        A transaction that started before another one changed the same
        member's points fails here with a serialization error (and is retried
        by the server) instead of spending a balance it read before the
        change.
        """
        if membership_ids:
            self.env.cr.execute(
                SQL(
                    """
                    SELECT id FROM customer_membership
                     WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE
                    """,
                    sorted(membership_ids),
                )
            )

    @api.model
    def _ledger_balances(self, membership_ids):
        """{membership id: (available, pending)} summed from the ledger."""
        self.flush_model()
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
    def _post_check_cover(self, spends):
        """Rule 4: refuse spends above the member's available balance."""
        if not spends:
            return
        needed = defaultdict(int)
        for row in spends:
            needed[row["membership_id"]] -= row["points"]
        balances = self._ledger_balances(list(needed))
        memberships = self.env["customer.membership"].sudo()
        for row in spends:
            available = balances[row["membership_id"]][0]
            if needed[row["membership_id"]] <= available:
                continue
            member = memberships.browse(row["membership_id"]).display_name
            if row["kind"] == "adjust":
                raise UserError(
                    self.env._(
                        "%(member)s has %(available)s points available: an "
                        "adjustment cannot take %(points)s.",
                        member=member,
                        available=available,
                        points=-row["points"],
                    )
                )
            raise UserError(
                self.env._(
                    "%(member)s has %(available)s points available, not enough "
                    "to redeem %(points)s.",
                    member=member,
                    available=available,
                    points=-row["points"],
                )
            )

    @api.model
    def _post_check_served(self, rows):
        """Rules 4 and 5: a spend or an expiry is taken in full when posted;
        if the ledger's points left disagree with its balance, refuse rather
        than post points that cannot be traced."""
        if not rows:
            return
        self.env.cr.execute(
            SQL(
                "SELECT membership_id FROM customer_point_entry"
                " WHERE id = ANY(%s) AND remaining_points <> 0",
                [r["id"] for r in rows],
            )
        )
        unserved = [row[0] for row in self.env.cr.fetchall()]
        if unserved:
            member = self.env["customer.membership"].sudo().browse(unserved[0])
            raise UserError(
                self.env._(
                    "The points of %(member)s cannot be traced to the lines "
                    "they come from; ask a loyalty manager to check the ledger.",
                    member=member.display_name,
                )
            )

    def _balance_delta_sql(self, delta):
        """The UPDATE that moves members' balances by ``delta`` (a CTE of
        (membership_id, av, pe)), returning (id, balance, was negative)."""
        return SQL(
            """
            UPDATE customer_membership m
               SET points_balance = COALESCE(m.points_balance, 0) + d.av,
                   points_pending = COALESCE(m.points_pending, 0) + d.pe,
                   has_negative_balance = COALESCE(m.points_balance, 0) + d.av < 0
              FROM %(delta)s d
              JOIN customer_membership o ON o.id = d.membership_id
             WHERE m.id = d.membership_id
         RETURNING m.id, m.points_balance AS balance,
                   COALESCE(o.has_negative_balance, FALSE) AS was_negative
            """,
            delta=SQL.identifier(delta),
        )

    @api.model
    def _post_insert(self, rows):
        """INSERT the lines and move the balances by their points in one
        statement. Return ([(line id, membership id)] in the rows' order, the
        ids of the members who owed points before or owe points now)."""
        self.flush_model()
        self.env["customer.membership"].flush_model(BALANCE_FIELDS)
        names = SQL(", ").join(SQL.identifier(col) for col in LINE_COLUMNS)
        arrays = SQL(", ").join(
            SQL(
                "%s::" + sqltype + "[]",
                [None if row.get(col) is False else row.get(col) for row in rows],
            )
            for col, sqltype in LINE_COLUMNS.items()
        )
        values = SQL(", ").join(SQL.identifier("r", col) for col in LINE_COLUMNS)
        self.env.cr.execute(
            SQL(
                """
                WITH ins AS (
                    INSERT INTO customer_point_entry (
                        company_id, partner_id, create_uid, create_date,
                        write_uid, write_date, %(names)s)
                    SELECT m.company_id, m.partner_id, %(uid)s,
                           now() at time zone 'UTC', %(uid)s,
                           now() at time zone 'UTC', %(values)s
                      FROM unnest(%(arrays)s) WITH ORDINALITY AS r(%(names)s, seq)
                      JOIN customer_membership m ON m.id = r.membership_id
                     ORDER BY r.seq
                    RETURNING id, membership_id, points, state
                ),
                delta AS (
                    SELECT membership_id,
                           COALESCE(sum(points)
                                    FILTER (WHERE state = 'available'), 0) AS av,
                           COALESCE(sum(points)
                                    FILTER (WHERE state = 'pending'), 0) AS pe
                      FROM ins GROUP BY membership_id
                ),
                balance AS (%(balance)s)
                SELECT 'line', id, membership_id FROM ins
                 UNION ALL
                SELECT CASE WHEN was_negative THEN 'owed' ELSE 'negative' END,
                       id, balance
                  FROM balance WHERE was_negative OR balance < 0
                """,
                names=names,
                values=values,
                arrays=arrays,
                uid=self.env.uid,
                balance=self._balance_delta_sql("delta"),
            )
        )
        result = self.env.cr.fetchall()
        # ids follow the order of insertion, which is the rows' order
        posted = sorted((a, b) for tag, a, b in result if tag == "line")
        negative = {a: b for tag, a, b in result if tag == "negative"}
        owing = {a for tag, a, _b in result if tag != "line"}
        self._post_invalidate()
        self._log_negative(negative)
        return posted, owing

    @api.model
    def _post_rules(self, rows):
        links = [(row["id"], rule_id) for row in rows for rule_id in row["rule_ids"]]
        if links:
            self.env.cr.execute(
                SQL(
                    """
                    INSERT INTO customer_point_entry_rule_rel (entry_id, rule_id)
                    SELECT * FROM unnest(%s::int[], %s::int[])
                    """,
                    [link[0] for link in links],
                    [link[1] for link in links],
                )
            )
            self.invalidate_model(["rule_ids"])

    @api.model
    def _post_invalidate(self):
        """Forget the cached values a posting by SQL made stale: the members'
        balances and the one2many fields that list ledger lines."""
        self.env["customer.membership"].invalidate_model(BALANCE_FIELDS)
        for field in self._fields.values():
            if field.type != "many2one" or not field.store:
                continue
            for inverse in self.pool.field_inverses[field]:
                self.env[inverse.model_name].invalidate_model([inverse.name])

    @api.model
    def _log_negative(self, balances):
        """Log once on each member whose available balance went below zero."""
        if balances:
            memberships = self.env["customer.membership"].sudo()
            memberships.browse(list(balances))._message_log_batch(
                bodies={
                    mid: self.env._(
                        "The points balance is negative (%(balance)s): points "
                        "already spent were taken back. Review the member and "
                        "settle it with an adjustment if needed.",
                        balance=balance,
                    )
                    for mid, balance in balances.items()
                }
            )

    # ------------------------------------------------------------------
    # Taking points (set-wise SQL)
    # ------------------------------------------------------------------
    @api.model
    def _take(self, takes, params):
        """Run ``takes``, a SELECT of (source line id, consumer line id,
        points) rows: log each as a consumption, take the points off the
        source lines and raise the consumers' negative points left by them
        (rule 3); a line that gives points back (rule 8) keeps none left.
        Return {consumer id: points taken}."""
        self.env.cr.execute(
            SQL(
                """
                WITH take(source_id, consumer_id, points) AS (%(takes)s),
                logged AS (
                    INSERT INTO customer_point_consumption
                           (source_entry_id, consumer_entry_id, points)
                    SELECT source_id, consumer_id, points FROM take
                ),
                moved AS (
                    SELECT source_id AS id, -points AS delta FROM take
                    UNION ALL
                    SELECT t.consumer_id, t.points
                      FROM take t
                      JOIN customer_point_entry c ON c.id = t.consumer_id
                     WHERE c.points < 0
                ),
                upd AS (
                    UPDATE customer_point_entry e
                       SET remaining_points = e.remaining_points + mo.delta
                      FROM (SELECT id, sum(delta) AS delta
                              FROM moved GROUP BY id) mo
                     WHERE e.id = mo.id
                )
                SELECT consumer_id, sum(points) FROM take GROUP BY consumer_id
                """,
                takes=SQL(takes, **params),
            )
        )
        taken = dict(self.env.cr.fetchall())
        self.invalidate_model(["remaining_points"])
        return taken

    @api.model
    def _consume_from(self, triples):
        """Rule 6: take points from given lines. ``triples`` of (consumer
        id, source id, points): at most what each source has left."""
        if not triples:
            return {}
        consumers, sources, points = zip(*triples, strict=True)
        return self._take(
            """
            SELECT e.id, n.consumer_id, LEAST(e.remaining_points, n.points)
              FROM unnest(%(consumers)s::int[], %(sources)s::int[], %(points)s::int[])
                   AS n(consumer_id, source_id, points)
              JOIN customer_point_entry e ON e.id = n.source_id
             WHERE e.remaining_points > 0
            """,
            {
                "consumers": list(consumers),
                "sources": list(sources),
                "points": list(points),
            },
        )

    @api.model
    def _consume_expired(self, rows):
        """Rule 5: an expiry line takes the points left on its member's
        available lines whose validity ended before its date."""
        if not rows:
            return {}
        return self._take(
            """
            SELECT e.id, x.consumer_id, e.remaining_points
              FROM unnest(%(consumers)s::int[], %(members)s::int[], %(dates)s::date[])
                   AS x(consumer_id, membership_id, date)
              JOIN customer_point_entry e ON e.membership_id = x.membership_id
             WHERE e.state = 'available' AND e.remaining_points > 0
               AND e.expiry_date < x.date
            """,
            {
                "consumers": [r["id"] for r in rows],
                "members": [r["membership_id"] for r in rows],
                "dates": [r["date"] for r in rows],
            },
        )

    @api.model
    def _settle_debts(self, membership_ids):
        """Rules 2, 3 and 7: take what the members' available lines still
        have to take (spends just posted, debts), oldest first, from their
        available points, the ones that expire first first. Each pair of a
        debt and a source takes the overlap of their running totals."""
        if not membership_ids:
            return {}
        return self._take(
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
                SELECT e.id, e.membership_id, e.remaining_points AS amount,
                       sum(e.remaining_points) OVER (
                           PARTITION BY e.membership_id ORDER BY %(order)s) AS upto
                  FROM customer_point_entry e
                 WHERE e.membership_id IN (SELECT membership_id FROM debt)
                   AND e.state = 'available' AND e.remaining_points > 0
            )
            SELECT s.id, d.id,
                   LEAST(s.upto, d.upto)
                   - GREATEST(s.upto - s.amount, d.upto - d.amount)
              FROM src s
              JOIN debt d ON d.membership_id = s.membership_id
             WHERE s.upto - s.amount < d.upto AND d.upto - d.amount < s.upto
            """,
            {"ids": sorted(membership_ids), "order": _take_order()},
        )

    @api.model
    def _give_back(self, reversal_ids):
        """Rule 8: reversals of redemptions give the points back to the lines
        the redemptions took them from."""
        if not reversal_ids:
            return {}
        return self._take(
            """
            SELECT c.source_entry_id, r.id, -sum(c.points)
              FROM customer_point_entry r
              JOIN customer_point_consumption c
                ON c.consumer_entry_id = r.reversed_entry_id
             WHERE r.id = ANY(%(ids)s)
             GROUP BY c.source_entry_id, r.id
            """,
            {"ids": list(reversal_ids)},
        )
