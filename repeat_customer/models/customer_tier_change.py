from odoo import fields, models


class CustomerTierChange(models.Model):
    _name = "customer.tier.change"
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
