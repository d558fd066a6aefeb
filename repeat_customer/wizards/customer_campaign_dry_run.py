from odoo import api, fields, models
from odoo.osv import expression
from odoo.tools import SQL, format_date

# members listed by a dry run (all of them are counted)
MAX_LISTED = 2000
OUTCOME_SELECTION = [
    ("to_send", "Would be reached"),
    ("control", "Control group: nothing sent"),
    ("skipped", "Skipped"),
]


class CustomerCampaignDryRun(models.TransientModel):
    """Who a campaign would reach if it ran now, and why: the same query as
    the job's, read without writing a delivery, a coupon, a line of points,
    a mail or an activity."""

    _name = "customer.campaign.dry.run"
    _inherit = ["customer.values.mixin"]
    _description = "Campaign Dry Run"

    campaign_id = fields.Many2one(
        "customer.campaign", string="Campaign", required=True, readonly=True
    )
    run_date = fields.Date(string="As Of", readonly=True)
    line_ids = fields.One2many(
        "customer.campaign.dry.run.line", "dry_run_id", string="Members"
    )
    to_send_count = fields.Integer(string="Would Be Reached", readonly=True)
    control_count = fields.Integer(string="Control Group", readonly=True)
    skipped_count = fields.Integer(string="Skipped", readonly=True)
    is_truncated = fields.Boolean(string="Only the First Members Listed", readonly=True)
    empty_reason = fields.Text(
        string="Why Nobody",
        readonly=True,
        help="When the dry run finds nobody: what the campaign waits for, and "
        "how many members of its audience there are.",
    )

    @api.model
    def _open_for(self, campaign):
        today = campaign.company_id._loyalty_today()
        judged = campaign.sudo()._judged_sql(today, limit=campaign.max_per_run or None)
        self.env.cr.execute(
            SQL(
                """
                SELECT membership_id, occurrence_key, occasion_date, state,
                       skip_reason, count(*) OVER (PARTITION BY state)
                  FROM (%s) j
                 ORDER BY state DESC, occasion_date, membership_id
                """,
                judged,
            )
        )
        rows = self.env.cr.fetchall()
        counts = {state: count for _m, _k, _d, state, _r, count in rows}
        # written by the programme only (managers read it): lines can name
        # no member the dry run did not find
        wizard = self.sudo().create(
            {
                "campaign_id": campaign.id,
                "run_date": today,
                "to_send_count": counts.get("to_send", 0),
                "control_count": counts.get("control", 0),
                "skipped_count": counts.get("skipped", 0),
                "is_truncated": len(rows) > MAX_LISTED,
                "empty_reason": False if rows else self._empty_reason(campaign, today),
                "line_ids": [
                    fields.Command.create(
                        {
                            "membership_id": membership_id,
                            "occurrence_key": key,
                            "occasion_date": day,
                            "outcome": state,
                            "skip_reason": reason,
                        }
                    )
                    for membership_id, key, day, state, reason, _n in rows[:MAX_LISTED]
                ],
            }
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Dry Run of %(campaign)s", campaign=campaign.name),
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    @api.model
    def _empty_reason(self, campaign, today):
        """Why a dry run finds nobody: a campaign reaches a member on the day
        of their occasion, and nobody of its audience has one today."""
        campaign = campaign.sudo()
        trigger = dict(
            campaign._fields["trigger"]._description_selection(self.env)
        ).get(campaign.trigger, campaign.trigger)
        Membership = self.env["customer.membership"].sudo()
        audience = Membership.search_count(campaign._audience_domain())
        reason = self.env._(
            "Nobody has an occasion on %(date)s for “%(trigger)s”: %(audience)s "
            "active members are in the audience, and a member is reached on "
            "the day of their own occasion (plus the %(catch_up)s days of "
            "catch-up).",
            date=format_date(self.env, today),
            trigger=trigger,
            audience=audience,
            catch_up=campaign.catch_up_days,
        )
        if campaign.trigger == "segment" and campaign.segment_id:
            inside = Membership.search_count(
                expression.AND(
                    [
                        campaign._audience_domain(),
                        [("segment_id", "=", campaign.segment_id.id)],
                    ]
                )
            )
            reason += "\n" + self.env._(
                "%(inside)s of them are in %(segment)s since earlier: the "
                "campaign reaches the members who enter it.",
                inside=inside,
                segment=campaign.segment_id.name,
            )
        elif audience == 0:
            reason += "\n" + self.env._(
                "The audience filter leaves no active member: widen it."
            )
        return reason


class CustomerCampaignDryRunLine(models.TransientModel):
    _name = "customer.campaign.dry.run.line"
    _inherit = ["customer.values.mixin"]
    _description = "Campaign Dry Run Member"
    _order = "id"

    dry_run_id = fields.Many2one(
        "customer.campaign.dry.run", required=True, ondelete="cascade"
    )
    membership_id = fields.Many2one(
        "customer.membership", string="Member", readonly=True
    )
    partner_id = fields.Many2one(related="membership_id.partner_id", string="Customer")
    occurrence_key = fields.Char(string="Occasion", readonly=True)
    occasion_date = fields.Date(string="Occasion Date", readonly=True)
    outcome = fields.Selection(
        selection=OUTCOME_SELECTION, string="Outcome", readonly=True
    )
    skip_reason = fields.Selection(
        selection=lambda self: (
            self.env["customer.campaign.delivery"]
            ._fields["skip_reason"]
            ._description_selection(self.env)
        ),
        string="Skipped Because",
        readonly=True,
    )
