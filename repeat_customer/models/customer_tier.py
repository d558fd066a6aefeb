from itertools import pairwise

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from ..tools.numbers import in_bounds, one_record
from ..tools.tiers import tier_move
from .customer_job_mixin import retry_on_conflict
from .res_company import MAX_MULTIPLIER, MAX_THRESHOLD

REVIEW_STATE_PARAM = "repeat_customer.tier_review_state"
TIER_BATCH_PARAM = "repeat_customer.tier_batch_size"
DEFAULT_TIER_BATCH = 50000


class CustomerTier(models.Model):
    _name = "customer.tier"
    _inherit = ["customer.programme.mixin", "customer.job.mixin"]
    _description = "Loyalty Tier"
    _order = "company_id, sequence, threshold, id"
    _check_company_auto = True

    name = fields.Char(string="Tier", required=True, translate=True)
    sequence = fields.Integer(
        string="Sequence", default=10, help="Tiers are ordered from low to high."
    )
    active = fields.Boolean(string="Active", default=True)
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    qualifying_rule = fields.Selection(
        related="company_id.loyalty_tier_rule", string="Qualifies On"
    )
    threshold = fields.Float(
        string="Threshold",
        required=True,
        digits=(16, 2),
        help="A member reaches this tier when the company's qualifying figure "
        "(spend, qualifying points or orders over the tier window) is at least "
        "this value. Thresholds must increase strictly from tier to tier.",
    )
    points_multiplier = fields.Float(
        string="Points Multiplier",
        default=1.0,
        digits=(16, 2),
        help="Points earned by members of this tier are multiplied by this.",
    )
    minimum_stay_days = fields.Integer(
        string="Minimum Stay (days)",
        default=365,
        help="A member is not downgraded from this tier before this many days "
        "in it, even when the qualifying figure drops.",
    )
    benefits = fields.Html(string="Benefits", translate=True)
    reward_id = fields.Many2one(
        "customer.reward",
        string="Reward on Reaching",
        check_company=True,
        domain="[('reward_type', '=', 'coupon'), ('company_id', '=', company_id)]",
        help="A coupon reward given (without points) to a member who reaches "
        "this tier, once per member and tier.",
    )
    color = fields.Integer(string="Color")
    membership_count = fields.Integer(
        string="Members", compute="_compute_membership_count"
    )

    _sql_constraints = [
        (
            "name_company_uniq",
            "unique(name, company_id)",
            "Tier names must be unique per company.",
        ),
    ]

    def _compute_membership_count(self):
        counts = dict(
            self.env["customer.membership"]._read_group(
                [("tier_id", "in", self.ids)], ["tier_id"], ["__count"]
            )
        )
        for tier in self:
            tier.membership_count = counts.get(tier, 0)

    @api.constrains(
        "reward_id",
        "threshold",
        "points_multiplier",
        "minimum_stay_days",
        "sequence",
        "company_id",
        "active",
    )
    def _check_values(self):
        for tier in self:
            if tier.reward_id and tier.reward_id.reward_type != "coupon":
                raise ValidationError(
                    self.env._(
                        "The reward of tier %(tier)s must give a coupon: a "
                        "discount on an order needs an order.",
                        tier=tier.name,
                    )
                )
            if not in_bounds(tier.threshold, 0, MAX_THRESHOLD):
                raise ValidationError(
                    self.env._(
                        "The threshold of tier %(tier)s cannot be negative, and "
                        "is at most %(maximum)s (got %(value)s).",
                        tier=tier.name,
                        maximum=int(MAX_THRESHOLD),
                        value=tier.threshold,
                    )
                )
            if tier.points_multiplier <= 0 or not in_bounds(
                tier.points_multiplier, 0, MAX_MULTIPLIER
            ):
                raise ValidationError(
                    self.env._(
                        "The points multiplier of tier %(tier)s must be above 0 "
                        "and at most %(maximum)s (got %(value)s).",
                        tier=tier.name,
                        maximum=MAX_MULTIPLIER,
                        value=tier.points_multiplier,
                    )
                )
            if not in_bounds(tier.minimum_stay_days, 0, 3650):
                raise ValidationError(
                    self.env._(
                        "The minimum stay of tier %(tier)s cannot be negative, and "
                        "is at most 3650 days.",
                        tier=tier.name,
                    )
                )
        for company in self.company_id:
            tiers = self.search([("company_id", "=", company.id)])
            for low, high in pairwise(tiers):
                if high.threshold <= low.threshold:
                    raise ValidationError(
                        self.env._(
                            "Tier thresholds must increase strictly with the tier "
                            "order: %(high)s (%(high_threshold)s) comes after "
                            "%(low)s (%(low_threshold)s).",
                            high=high.name,
                            high_threshold=high.threshold,
                            low=low.name,
                            low_threshold=low.threshold,
                        )
                    )

    def action_view_memberships(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_membership_action"
        )
        action["domain"] = [("tier_id", "=", self.id)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # Qualification (set-wise)
    # ------------------------------------------------------------------
    @api.model
    def _qualifying_query(self, company, membership_ids, today):
        """SQL of (membership id, qualifying figure) over the company's tier window:
        spend (company currency, untaxed), qualifying points (earned on orders,
        net of their reversals, pending included) or number of purchases."""
        memberships = self.env["customer.membership"]
        start = fields.Date.subtract(today, days=company.loyalty_tier_window_days)
        rule = company.loyalty_tier_rule
        if rule == "points":
            query = SQL(
                """
                SELECT e.membership_id, sum(e.points)
                  FROM customer_point_entry e
                  LEFT JOIN customer_point_entry src ON src.id = e.reversed_entry_id
                 WHERE e.membership_id = ANY(%(ids)s)
                   AND (e.kind = 'earn' OR (e.kind = 'reverse' AND src.kind = 'earn'))
                   AND COALESCE(src.date, e.date) > %(start)s
                   AND COALESCE(src.date, e.date) <= %(today)s
                 GROUP BY e.membership_id
                """,
                ids=list(membership_ids),
                start=start,
                today=today,
            )
        else:
            figure = SQL("sum(p.amount)") if rule == "spend" else SQL("sum(p.is_order)")
            query = SQL(
                """
                WITH mem AS (
                    SELECT id, partner_id FROM customer_membership
                     WHERE id = ANY(%(ids)s)
                ),
                p(membership_id, day, amount, is_order, store_id)
                    AS (%(purchases)s)
                SELECT p.membership_id, %(figure)s
                  FROM p
                 WHERE p.day > %(start)s AND p.day <= %(today)s
                 GROUP BY p.membership_id
                """,
                ids=list(membership_ids),
                purchases=memberships._purchases_query(company),
                figure=figure,
                start=start,
                today=today,
            )
        return query

    @api.model
    def _apply_tiers(self, company, membership_ids, today=None, review=False):
        """Move the members of ``membership_ids`` to the tier they qualify for.

        The qualifying figures are computed and written in one statement;
        the decision is ``tools.tiers.tier_move`` (upgrades at once; with
        ``review``, downgrades too, after the current tier's minimum stay; a
        manual floor holds its tier until its end date). Each change is a
        tier change row and a chatter note. Return the tier changes.
        """
        today = today or company._loyalty_today()
        changes = self._tier_decisions(company, membership_ids, today, review=review)
        return self._write_tier_changes(company, changes, today)

    @api.model
    def _tier_decisions(self, company, membership_ids, today, review=False, write=True):
        """The tier changes (dicts of ``customer.tier.change`` values) the
        members of ``membership_ids`` are due. With ``write``, their
        qualifying figures are stored on the way; without, nothing is
        written (the integrity check)."""
        ladder = company._loyalty_programme()["tiers"]
        changes = []
        for mid, tier_id, since, floor_id, floor_end, value in self._tier_candidates(
            company, membership_ids, today, ladder, review, write=write
        ):
            member = {
                "tier_id": tier_id,
                "since": since,
                "floor_id": floor_id,
                "floor_end": floor_end,
                "value": value,
            }
            move = tier_move(ladder, member, today, review=review)
            if move:
                changes.append(
                    {
                        "membership_id": mid,
                        "date": today,
                        "from_tier_id": tier_id or False,
                        "to_tier_id": move.to_tier_id or False,
                        "direction": move.direction,
                        "reason": move.reason,
                        "qualifying_value": float(value),
                        "qualifying_rule": company.loyalty_tier_rule,
                    }
                )
        return changes

    @api.model
    def _tier_candidates(
        self, company, membership_ids, today, ladder, review, write=True
    ):
        """Compute the qualifying figures of the members and (with ``write``)
        store them, in one statement, and return what decides their tier:
        (id, tier, since, floor tier, floor end, figure) rows."""
        if not membership_ids:
            return []
        if not ladder:
            if not review:
                return []
            # no ladder: only members left in a removed tier need a review
            self.env.cr.execute(
                SQL(
                    """
                    SELECT 1 FROM customer_membership
                     WHERE id = ANY(%s) AND tier_id IS NOT NULL LIMIT 1
                    """,
                    list(membership_ids),
                )
            )
            if not self.env.cr.fetchone():
                return []
        self.env.flush_all()
        # one statement: the figures, written where they changed, and what
        # decides each member's tier
        self.env.cr.execute(
            SQL(
                """
                WITH fig(membership_id, value) AS (%(figures)s),
                cur AS (
                    SELECT m.id, m.tier_id, m.tier_since_date, m.tier_floor_id,
                           m.tier_floor_end_date,
                           round(COALESCE(fig.value, 0)::numeric, 2) AS value,
                           m.tier_qualifying_value AS old_value
                      FROM customer_membership m
                      LEFT JOIN fig ON fig.membership_id = m.id
                     WHERE m.id = ANY(%(ids)s) AND m.company_id = %(company)s
                       AND (%(review)s OR m.tier_id IS DISTINCT FROM %(top)s)
                ),
                upd AS (
                    UPDATE customer_membership m
                       SET tier_qualifying_value = cur.value
                      FROM cur
                     WHERE %(write)s AND m.id = cur.id
                       AND m.tier_qualifying_value IS DISTINCT FROM cur.value
                )
                SELECT id, tier_id, tier_since_date, tier_floor_id,
                       tier_floor_end_date, value
                  FROM cur
                """,
                figures=self._qualifying_query(company, list(membership_ids), today),
                ids=list(membership_ids),
                company=company.id,
                review=review,
                write=write,
                # an event only moves members up: the top tier cannot move
                top=ladder[-1][0] if ladder else None,
            )
        )
        rows = self.env.cr.fetchall()
        self.env["customer.membership"].invalidate_model(["tier_qualifying_value"])
        return rows

    @api.model
    def _write_tier_changes(self, company, changes, today):
        """Record the tier changes, move the members and log the moves; the
        tier rewards they earn are issued by their job. Return the changes."""
        changes_model = self.env["customer.tier.change"].sudo()
        if not changes:
            return changes_model
        self._set_reward_states(changes)
        records = changes_model.create(changes)
        if any(c.get("reward_state") == "to_issue" for c in changes):
            self.env.ref("repeat_customer.ir_cron_issue_tier_rewards").sudo()._trigger()
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_membership m
                   SET tier_id = c.tier_id, tier_since_date = %(today)s
                  FROM unnest(%(ids)s::int[], %(tiers)s::int[]) AS c(id, tier_id)
                 WHERE m.id = c.id
                """,
                today=today,
                ids=[c["membership_id"] for c in changes],
                tiers=[c["to_tier_id"] or None for c in changes],
            )
        )
        self.env["customer.membership"].invalidate_model(
            ["tier_id", "tier_since_date", "tier_qualifying_value"]
        )
        self._log_tier_changes(company, records)
        return records

    @api.model
    def _set_reward_states(self, changes):
        """Upgrades to a tier with a reward owe it, once per member and tier."""
        with_reward = set(
            self.sudo()
            .browse({c["to_tier_id"] for c in changes if c["to_tier_id"]})
            .filtered("reward_id")
            .ids
        )
        rewarded = [
            c
            for c in changes
            if c["direction"] == "up" and c["to_tier_id"] in with_reward
        ]
        if not rewarded:
            return
        self.env["customer.tier.change"].flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT membership_id, to_tier_id FROM customer_tier_change
                 WHERE membership_id = ANY(%s) AND reward_state <> 'none'
                """,
                [c["membership_id"] for c in rewarded],
            )
        )
        owed_before = set(self.env.cr.fetchall())
        for change in rewarded:
            key = (change["membership_id"], change["to_tier_id"])
            if key not in owed_before:
                change["reward_state"] = "to_issue"
                owed_before.add(key)

    @api.model
    def _log_tier_changes(self, company, changes):
        lang = company.partner_id.lang or self.env.lang
        changes = changes.with_context(lang=lang)
        reasons = dict(changes._fields["reason"]._description_selection(changes.env))
        none = changes.env._("no tier")
        bodies = {}
        for change in changes:
            bodies[change.membership_id.id] = changes.env._(
                "Tier changed: %(old)s → %(new)s (%(reason)s; qualifying figure "
                "%(figure)s).",
                old=change.from_tier_id.name or none,
                new=change.to_tier_id.name or none,
                reason=reasons[change.reason],
                figure=round(change.qualifying_value, 2),
            )
        changes.membership_id.sudo()._message_log_batch(bodies=bodies)

    # ------------------------------------------------------------------
    # Cron
    # ------------------------------------------------------------------
    @api.model
    @retry_on_conflict
    def _cron_review_tiers(self):
        """Periodic tier review: upgrades and downgrades (after the minimum
        stay) of every member, one batch of members per call. The position is
        kept between calls so a crash resumes at the failed batch; reviewing
        twice changes nothing more. Return the members left to review."""
        state = self._job_state(REVIEW_STATE_PARAM)
        if not state.get("company_ids"):
            state = {
                "company_ids": self.env["res.company"].sudo().search([]).ids,
                "last_id": 0,
            }
        memberships = self.env["customer.membership"].sudo()
        done = 0
        while state["company_ids"]:
            company = self.env["res.company"].sudo().browse(state["company_ids"][0])
            ids = (
                memberships._next_batch(
                    company,
                    state["last_id"],
                    self._job_batch_size(TIER_BATCH_PARAM, DEFAULT_TIER_BATCH),
                )
                if company.exists()
                else []
            )
            if ids:
                self._apply_tiers(company, ids, review=True)
                state["last_id"] = ids[-1]
                done = len(ids)
                break
            state["company_ids"].pop(0)
            state["last_id"] = 0
        remaining = 0
        if state["company_ids"]:
            self.env.cr.execute(
                SQL(
                    """
                    SELECT count(*) FROM customer_membership
                     WHERE company_id = ANY(%s)
                       AND (company_id <> %s OR id > %s)
                    """,
                    state["company_ids"],
                    state["company_ids"][0],
                    state["last_id"],
                )
            )
            remaining = self.env.cr.fetchone()[0]
        if not remaining:
            state = {}
        self._job_save_state(REVIEW_STATE_PARAM, state)
        self._job_progress(done, remaining)
        return remaining
