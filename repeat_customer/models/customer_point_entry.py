import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

DEFAULT_LEDGER_BATCH = 50000
LEDGER_BATCH_PARAM = "repeat_customer.ledger_batch_size"

KIND_SELECTION = [
    ("earn", "Earned"),
    ("redeem", "Redeemed"),
    ("expire", "Expired"),
    ("adjust", "Adjustment"),
    ("reverse", "Reversal"),
]


class CustomerPointEntry(models.Model):
    """One line of the points ledger. Lines are only ever added: the ORM
    refuses to change or delete them, corrections are new lines. Only the
    ledger's own bookkeeping (state, remaining points) moves, in SQL."""

    _name = "customer.point.entry"
    _description = "Loyalty Points Ledger Line"
    _order = "id desc"
    _check_company_auto = True

    # indexed by customer_point_entry_membership_idx (see init)
    membership_id = fields.Many2one(
        "customer.membership",
        string="Membership",
        required=True,
        ondelete="restrict",
        readonly=True,
    )
    company_id = fields.Many2one(
        related="membership_id.company_id", store=True, index=True
    )
    partner_id = fields.Many2one(
        related="membership_id.partner_id", string="Customer", store=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Date(
        string="Date", required=True, readonly=True, default=fields.Date.context_today
    )
    kind = fields.Selection(
        selection=KIND_SELECTION, string="Type", required=True, readonly=True
    )
    points = fields.Integer(
        string="Points",
        required=True,
        readonly=True,
        help="Positive for points given, negative for points taken.",
    )
    state = fields.Selection(
        selection=[("pending", "Pending"), ("available", "Available")],
        string="Status",
        required=True,
        readonly=True,
        default="available",
        help="Pending points count towards tiers but cannot be spent yet.",
    )
    release_rule = fields.Selection(
        selection=[
            ("confirm", "Days after confirmation"),
            ("delivery", "Days after full delivery"),
            ("payment", "When the invoices are paid"),
        ],
        string="Available When",
        readonly=True,
    )
    available_date = fields.Date(
        string="Available From",
        readonly=True,
        help="Pending points become available on this day (empty while "
        "waiting for delivery or payment).",
    )
    expiry_date = fields.Date(
        string="Valid Until",
        readonly=True,
        help="The points left of this line expire the day after.",
    )
    remaining_points = fields.Integer(
        string="Points Left",
        readonly=True,
        help="On lines that give points: the points not yet spent, expired or "
        "reversed. Negative on a reversal: points the member owes.",
    )
    sale_order_id = fields.Many2one(
        "sale.order",
        string="Sales Order",
        index="btree_not_null",
        readonly=True,
        ondelete="set null",
    )
    sale_order_name = fields.Char(
        string="Deleted Order",
        readonly=True,
        help="The number of the sales order of this line, kept when the order "
        "(cancelled, its points reversed) was deleted.",
    )
    reward_id = fields.Many2one(
        "customer.reward",
        string="Reward",
        index="btree_not_null",
        readonly=True,
        ondelete="restrict",
        help="On a redemption: the reward the points bought.",
    )
    coupon_ids = fields.One2many(
        "customer.coupon", "point_entry_id", string="Coupons Issued"
    )
    credit_note_id = fields.Many2one(
        "account.move",
        string="Credit Note",
        index="btree_not_null",
        readonly=True,
        ondelete="restrict",
    )
    reversed_entry_id = fields.Many2one(
        "customer.point.entry",
        string="Reversed Line",
        index="btree_not_null",
        readonly=True,
        ondelete="restrict",
    )
    reversal_ids = fields.One2many(
        "customer.point.entry", "reversed_entry_id", string="Reversals"
    )
    rule_ids = fields.Many2many(
        "customer.point.rule",
        "customer_point_entry_rule_rel",
        "entry_id",
        "rule_id",
        string="Bonus Rules",
        readonly=True,
        help="The bonus rules that multiplied these points.",
    )
    tier_id = fields.Many2one(
        "customer.tier",
        string="Tier",
        readonly=True,
        help="The member's tier when the points were earned.",
    )
    base_amount = fields.Monetary(
        string="Amount Earning Points",
        readonly=True,
        help="Untaxed amount of the order's lines that earn points, in company "
        "currency, after category multipliers.",
    )
    multiplier = fields.Float(
        string="Multiplier",
        readonly=True,
        digits=(16, 4),
        help="Tier multiplier times the bonus rule multipliers.",
    )
    reason = fields.Text(string="Reason", readonly=True)
    user_id = fields.Many2one(
        "res.users",
        string="User",
        readonly=True,
        default=lambda self: self.env.user,
    )
    origin = fields.Char(string="Origin", compute="_compute_origin")
    consumed_ids = fields.One2many(
        "customer.point.consumption",
        "consumer_entry_id",
        string="Points Taken From",
    )

    _sql_constraints = [
        ("points_not_zero", "CHECK(points <> 0)", "A ledger line moves points."),
    ]

    def init(self):
        cr = self.env.cr
        # an earned line is reversed by a cancellation at most once, and by a
        # given credit note at most once
        cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS customer_point_entry_cancel_once
                ON customer_point_entry (reversed_entry_id)
             WHERE kind = 'reverse' AND credit_note_id IS NULL
            """
        )
        cr.execute(
            """
            CREATE UNIQUE INDEX IF NOT EXISTS customer_point_entry_credit_once
                ON customer_point_entry (reversed_entry_id, credit_note_id)
             WHERE kind = 'reverse' AND credit_note_id IS NOT NULL
            """
        )
        # balances are sums per member: an index-only scan of this index
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS customer_point_entry_membership_idx
                ON customer_point_entry (membership_id) INCLUDE (state, points)
            """
        )
        # the daily jobs: pending lines due, and lines with points left
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS customer_point_entry_expiry_idx
                ON customer_point_entry (company_id, expiry_date)
             WHERE state = 'available' AND remaining_points > 0
            """
        )
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS customer_point_entry_pending_idx
                ON customer_point_entry (company_id, available_date)
             WHERE state = 'pending' AND kind = 'earn'
            """
        )
        cr.execute(
            """
            CREATE INDEX IF NOT EXISTS customer_point_entry_left_idx
                ON customer_point_entry (membership_id, expiry_date)
             WHERE remaining_points <> 0
            """
        )

    # ------------------------------------------------------------------
    # Immutability
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise UserError(
                self.env._(
                    "Ledger lines are written by the loyalty programme itself. "
                    "To correct a balance, use Adjust Points on the membership."
                )
            )
        for vals in vals_list:
            if vals.get("kind") == "adjust" and not (vals.get("reason") or "").strip():
                raise UserError(self.env._("A points adjustment needs a reason."))
        return super().create(vals_list)

    def write(self, vals):
        if vals:
            raise UserError(
                self.env._(
                    "Posted ledger lines cannot be changed. Correct them with an "
                    "adjustment or a reversal."
                )
            )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(
            self.env._(
                "Posted ledger lines cannot be deleted. Correct them with an "
                "adjustment or a reversal."
            )
        )

    @api.depends("kind", "points")
    def _compute_display_name(self):
        kinds = dict(self._fields["kind"]._description_selection(self.env))
        for entry in self:
            entry.display_name = f"{kinds.get(entry.kind, '')} {entry.points:+d}"

    @api.depends(
        "sale_order_id", "credit_note_id", "reversed_entry_id", "kind", "reward_id"
    )
    def _compute_origin(self):
        for entry in self:
            if entry.reward_id and not entry.sale_order_id:
                entry.origin = entry.reward_id.name
            elif entry.credit_note_id:
                entry.origin = entry.credit_note_id.name
            elif entry.sale_order_id:
                entry.origin = entry.sale_order_id.name
            elif entry.sale_order_name:
                entry.origin = entry.sale_order_name
            elif entry.kind == "adjust":
                entry.origin = self.env._("Manual adjustment")
            elif entry.kind == "expire":
                entry.origin = self.env._("Expiry")
            else:
                entry.origin = False

    def action_open_origin(self):
        self.ensure_one()
        record = (
            self.credit_note_id
            or self.sale_order_id
            or self.coupon_ids[:1]
            or self.membership_id
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": record._name,
            "res_id": record.id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------
    # Bookkeeping (SQL, set-wise)
    # ------------------------------------------------------------------
    @api.model
    def _batch_size(self):
        value = self.env["ir.config_parameter"].sudo().get_param(LEDGER_BATCH_PARAM)
        try:
            return max(int(value), 1) if value else DEFAULT_LEDGER_BATCH
        except ValueError:
            return DEFAULT_LEDGER_BATCH

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

    # ------------------------------------------------------------------
    # Daily jobs
    # ------------------------------------------------------------------
    @api.model
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
        if not ids:
            return 0
        cr.execute(
            SQL(
                """
                UPDATE customer_point_entry
                   SET state = 'available'
                 WHERE state = 'pending'
                   AND (id = ANY(%(ids)s) OR reversed_entry_id = ANY(%(ids)s))
             RETURNING membership_id
                """,
                ids=ids,
            )
        )
        member_ids = list({row[0] for row in cr.fetchall()})
        self.invalidate_model(["state"])
        self._settle_debts(member_ids)
        self._refresh_balances(member_ids)
        return len(ids)

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
        totals = cr.fetchall()
        lines = self._insert_lines(
            [
                {
                    "membership_id": mid,
                    "kind": "expire",
                    "points": -total,
                    "state": "available",
                    "date": today,
                    "remaining_points": 0,
                }
                for mid, total in totals
            ]
        )
        cr.execute(
            SQL(
                """
                WITH exp AS (
                    SELECT * FROM unnest(%(line_ids)s::int[], %(member_ids)s::int[])
                             AS x(line_id, membership_id)
                ),
                src AS (
                    SELECT e.id, exp.line_id, e.remaining_points
                      FROM customer_point_entry e
                      JOIN exp ON exp.membership_id = e.membership_id
                     WHERE e.state = 'available' AND e.remaining_points > 0
                       AND e.expiry_date < %(today)s
                ),
                logged AS (
                    INSERT INTO customer_point_consumption
                           (source_entry_id, consumer_entry_id, points)
                    SELECT id, line_id, remaining_points FROM src
                )
                UPDATE customer_point_entry e
                   SET remaining_points = 0
                  FROM src
                 WHERE e.id = src.id
                """,
                line_ids=[line[0] for line in lines],
                member_ids=[line[1] for line in lines],
                today=today,
            )
        )
        self.invalidate_model(["remaining_points"])
        self._refresh_balances(member_ids)
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
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    @api.model
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
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done
