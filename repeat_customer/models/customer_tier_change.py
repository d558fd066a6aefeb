from odoo import api, fields, models
from odoo.tools import SQL

from .customer_job_mixin import retry_on_conflict

# tier rewards issued per call of their job
TIER_REWARD_BATCH_PARAM = "repeat_customer.tier_reward_batch_size"
DEFAULT_TIER_REWARD_BATCH = 2000


class CustomerTierChange(models.Model):
    _name = "customer.tier.change"
    _inherit = ["customer.job.mixin", "customer.values.mixin"]
    _description = "Loyalty Tier Change"
    _order = "date desc, id desc"
    _check_company_auto = True

    membership_id = fields.Many2one(
        "customer.membership",
        string="Membership",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="membership_id.company_id", store=True, index=True
    )
    partner_id = fields.Many2one(related="membership_id.partner_id", store=True)
    date = fields.Date(string="Date", required=True)
    from_tier_id = fields.Many2one("customer.tier", string="From Tier")
    to_tier_id = fields.Many2one("customer.tier", string="To Tier")
    direction = fields.Selection(
        selection=[("up", "Upgrade"), ("down", "Downgrade")],
        string="Direction",
        required=True,
    )
    reason = fields.Selection(
        selection=[
            ("qualified", "Qualified"),
            ("review", "Review downgrade"),
            ("manual", "Manual floor"),
        ],
        string="Reason",
        required=True,
    )
    qualifying_value = fields.Float(
        string="Qualifying Figure",
        digits=(16, 2),
        help="The spend, qualifying points or order count over the tier window "
        "that decided the change.",
    )
    qualifying_rule = fields.Selection(
        selection=[
            ("spend", "Spend"),
            ("points", "Qualifying points earned"),
            ("orders", "Number of orders"),
        ],
        string="Qualified On",
    )
    reward_state = fields.Selection(
        selection=[
            ("none", "No reward"),
            ("to_issue", "To issue"),
            ("issued", "Issued"),
        ],
        string="Tier Reward",
        default="none",
        required=True,
        help="Whether the reward of the tier reached is owed to the member.",
    )
    user_id = fields.Many2one(
        "res.users", string="By", default=lambda self: self.env.user
    )
    coupon_ids = fields.One2many(
        "customer.coupon", "tier_change_id", string="Reward Coupon"
    )

    @api.model
    @retry_on_conflict
    def _cron_issue_tier_rewards(self):
        """Issue the coupons owed for reaching a tier, one batch per call.
        Each change is issued once (unique coupon per change), so a run that
        crashed or runs twice gives nobody a second coupon. Return how many
        are left."""
        limit = self._job_batch_size(TIER_REWARD_BATCH_PARAM, DEFAULT_TIER_REWARD_BATCH)
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                SELECT c.id FROM customer_tier_change c
                 WHERE c.reward_state = 'to_issue'
                   AND NOT EXISTS (SELECT 1 FROM customer_coupon k
                                    WHERE k.tier_change_id = c.id)
                 ORDER BY c.id
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
                """,
                limit,
            )
        )
        changes = self.sudo().browse([row[0] for row in self.env.cr.fetchall()])
        issuable = changes.filtered(
            lambda c: (
                c.to_tier_id.reward_id.active
                and c.to_tier_id.reward_id.program_id.active
                and c.membership_id.state == "active"
            )
        )
        self.env["customer.coupon"]._issue(
            [
                {
                    "membership": change.membership_id,
                    "program": change.to_tier_id.reward_id.program_id,
                    "validity_days": change.to_tier_id.reward_id.coupon_validity_days,
                    "origin": "tier",
                    "reward_id": change.to_tier_id.reward_id.id,
                    "tier_change_id": change.id,
                }
                for change in issuable
            ],
            send_mail="later",
        )
        # the others (reward withdrawn, member blocked) are not owed any more
        (changes - issuable).write({"reward_state": "none"})
        issuable.write({"reward_state": "issued"})
        self.flush_model(["reward_state"])
        self.env.cr.execute(
            "SELECT count(*) FROM customer_tier_change WHERE reward_state = 'to_issue'"
        )
        remaining = self.env.cr.fetchone()[0]
        self._job_progress(len(changes), remaining)
        return remaining
