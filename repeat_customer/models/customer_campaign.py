from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL, format_date

from ..tools.campaigns import (
    mean_uplift,
    members_per_group_needed,
    proportion_uplift,
)
from ..tools.domains import parse_members_filter
from ..tools.numbers import format_number, one_record

TRIGGER_SELECTION = [
    ("birthday", "Birthday"),
    ("anniversary", "Membership anniversary"),
    ("welcome", "Welcome (new member)"),
    ("tier", "Tier reached"),
    ("points_expiring", "Points expiring"),
    ("segment", "Entered a segment"),
    ("churn_high", "Churn risk became high"),
    ("delivered", "Days after an order was delivered"),
    ("inactive", "No order for N days"),
    ("repurchase", "Repurchase due"),
]
# what "days" means for each trigger (shown beside the field)
DAYS_BEFORE = ("birthday", "anniversary")
DAYS_WITHIN = ("points_expiring",)
MAX_DAYS = 3660
MAX_BONUS_POINTS = 1_000_000
STATE_SELECTION = [
    ("draft", "Draft"),
    ("running", "Running"),
    ("stopped", "Stopped"),
]


class CustomerCampaign(models.Model):
    """An automation of the programme: on an occasion of a member (a
    birthday, joining, points about to expire, slipping away…), reach the
    members of an audience once per occasion with one or several actions (a
    message over a channel, a coupon, bonus points, an activity for the
    salesperson), within their consent and the company's frequency cap and
    quiet hours, while a held-out control group gets nothing so that what
    the campaign earned can be measured."""

    _name = "customer.campaign"
    _inherit = ["mail.thread", "customer.job.mixin", "customer.values.mixin"]
    _description = "Loyalty Campaign"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(string="Campaign", required=True, translate=True)
    active = fields.Boolean(string="Active", default=True, tracking=True)
    state = fields.Selection(
        selection=STATE_SELECTION,
        string="Status",
        required=True,
        default="draft",
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
        help="Draft: nothing is sent; try it with Dry Run and Send a Test. "
        "Running: the hourly job reaches the members due. Stopped: nobody new "
        "is reached and queued messages are held (start it again, or cancel "
        "them).",
    )
    date_start = fields.Date(
        string="Start Date",
        tracking=True,
        help="No occasion is reached before this day (empty: from the day it "
        "is started).",
    )
    date_end = fields.Date(
        string="End Date",
        tracking=True,
        help="No occasion is reached after this day; the campaign stops once "
        "the messages it queued are sent (empty: until it is stopped).",
    )
    sequence = fields.Integer(string="Sequence", default=10)
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    # ----- occasion
    trigger = fields.Selection(
        selection=TRIGGER_SELECTION,
        string="Trigger",
        required=True,
        default="birthday",
        tracking=True,
    )
    days = fields.Integer(
        string="Days",
        default=0,
        tracking=True,
        help="Birthday and anniversary: days before the date. Points expiring: "
        "points that expire within this many days. No order for N days: the N. "
        "Repurchase due: days of grace after the expected date. Other triggers: "
        "days after the occasion (0: on the day).",
    )
    tier_id = fields.Many2one(
        "customer.tier",
        string="Tier",
        check_company=True,
        domain="[('company_id', '=', company_id)]",
        help="Tier reached: only members who reach this tier (empty: any upgrade).",
    )
    segment_id = fields.Many2one(
        "customer.segment",
        string="Segment",
        help="Entered a segment: the segment members enter (for example At risk).",
    )
    catch_up_days = fields.Integer(
        string="Catch Up (days)",
        default=3,
        help="A member whose occasion passed at most this many days ago while the "
        "job could not run (server down, quiet hours) still gets it.",
    )
    # ----- audience
    audience_domain = fields.Char(
        string="Audience",
        default="[]",
        help="Only active members that match this filter are reached.",
    )
    audience_count = fields.Integer(
        string="Members in Audience", compute="_compute_audience_count"
    )
    max_per_run = fields.Integer(
        string="At Most per Run",
        default=0,
        help="New deliveries one run of the job creates at most (0: no limit); "
        "the others wait for the next run.",
    )
    # ----- actions
    channel = fields.Selection(
        selection=[("none", "No message"), ("mail", "Email"), ("sms", "SMS")],
        string="Message",
        required=True,
        default="mail",
        help="How the customer is told. Addons add channels.",
    )
    mail_template_id = fields.Many2one(
        "mail.template",
        string="Email Template",
        domain="[('model', '=', 'customer.campaign.delivery')]",
        help="Rendered in the customer's language.",
    )
    sms_template_id = fields.Many2one(
        "sms.template",
        string="SMS Template",
        domain="[('model', '=', 'customer.campaign.delivery')]",
    )
    coupon_program_id = fields.Many2one(
        "loyalty.program",
        string="Coupon Programme",
        check_company=True,
        domain="[('program_type', '=', 'coupons'), "
        "('company_id', 'in', [company_id, False])]",
        help="Issue one coupon of this programme to each member reached.",
    )
    reward_id = fields.Many2one(
        "customer.reward",
        string="Reward",
        check_company=True,
        domain="[('company_id', '=', company_id), ('reward_type', '=', 'coupon'), "
        "('limit_qty', '=', 0)]",
        help="Give each member reached this reward of the catalogue, free of "
        "points: its coupon, valid as the reward says. Rewards with a stock are "
        "for redeeming, not for campaigns.",
    )
    coupon_validity_days = fields.Integer(
        string="Coupon Valid For (days)",
        default=30,
        help="The coupon expires this many days after it is issued (0: never).",
    )
    bonus_points = fields.Integer(
        string="Bonus Points",
        default=0,
        help="Points granted to each member reached, available at once; the "
        "ledger line points to the delivery.",
    )
    survey_questions = fields.Selection(
        [
            ("nps", "Recommendation (NPS 0-10)"),
            ("csat", "Satisfaction (CSAT 1-5)"),
            ("both", "Both"),
        ],
        string="Satisfaction Survey",
        help="Ask each member reached about their order (the one of the "
        "occasion, else their last): the mail carries the survey's link "
        "(object.feedback_id.survey_url), valid as the settings say.",
    )
    activity_type_id = fields.Many2one(
        "mail.activity.type",
        string="Activity for the Salesperson",
        help="Schedule this activity on the member for their salesperson (or, "
        "when they have none, for the campaign's responsible).",
    )
    activity_summary = fields.Char(string="Activity Summary", translate=True)
    activity_days = fields.Integer(
        string="Activity Due In (days)",
        default=2,
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        help="Gets the activities of members without a salesperson.",
    )
    # ----- guards and measure
    is_service = fields.Boolean(
        string="Service Message",
        help="A message the customer needs (an expiry reminder): it is not "
        "counted in, nor held back by, the company's frequency cap.",
    )
    control_share = fields.Float(
        string="Control Group (%)",
        default=10.0,
        digits=(5, 2),
        tracking=True,
        help="Share of the due members held out: they get a delivery marked "
        "Control and nothing else, so that their orders show what the campaign "
        "adds. The draw is fixed per customer and campaign.",
    )
    conversion_days = fields.Integer(
        string="Conversion Window (days)",
        default=30,
        help="A member converts when they order after the delivery (contacted "
        "or control) and at most this many days after its date.",
    )
    last_run_date = fields.Datetime(string="Last Run", readonly=True)
    delivery_ids = fields.One2many(
        "customer.campaign.delivery", "campaign_id", string="Deliveries"
    )
    # ----- results (all deliveries of the campaign)
    sent_count = fields.Integer(string="Contacted", compute="_compute_results")
    control_count = fields.Integer(string="Control", compute="_compute_results")
    skipped_count = fields.Integer(string="Skipped", compute="_compute_results")
    queued_count = fields.Integer(string="Queued", compute="_compute_results")
    conversion_rate = fields.Float(
        string="Conversion (%)", compute="_compute_results", digits=(16, 1)
    )
    control_conversion_rate = fields.Float(
        string="Control Conversion (%)", compute="_compute_results", digits=(16, 1)
    )
    uplift = fields.Float(
        string="Uplift (points of %)",
        compute="_compute_results",
        digits=(16, 1),
        help="Conversion of the contacted minus that of the control group.",
    )
    uplift_low = fields.Float(
        string="Uplift, 95 % Low", compute="_compute_results", digits=(16, 1)
    )
    uplift_high = fields.Float(
        string="Uplift, 95 % High", compute="_compute_results", digits=(16, 1)
    )
    has_uplift = fields.Boolean(compute="_compute_results")
    uplift_verdict = fields.Char(
        string="Is It Significant?",
        compute="_compute_results",
        help="Whether the conversion uplift can be told from chance (its 95 % "
        "interval leaves out zero), and if not yet, how many members each "
        "group would need for an uplift of this size.",
    )
    revenue_per_member = fields.Monetary(
        string="Revenue per Contacted", compute="_compute_results"
    )
    control_revenue_per_member = fields.Monetary(
        string="Revenue per Control", compute="_compute_results"
    )
    revenue_uplift = fields.Monetary(
        string="Revenue Uplift per Member", compute="_compute_results"
    )
    revenue_uplift_low = fields.Monetary(
        string="Revenue Uplift, 95 % Low", compute="_compute_results"
    )
    revenue_uplift_high = fields.Monetary(
        string="Revenue Uplift, 95 % High", compute="_compute_results"
    )
    coupon_use_rate = fields.Float(
        string="Coupons Used (%)", compute="_compute_results", digits=(16, 1)
    )

    @api.model_create_multi
    def create(self, vals_list):
        campaigns = super().create(vals_list)
        running = campaigns.filtered(lambda c: c.state == "running")
        running._check_startable()
        running._activate_programmes()
        return campaigns

    def write(self, vals):
        # an archived campaign reaches nobody: archiving stops it
        stopping = self.browse()
        if vals.get("active") is False and "state" not in vals:
            stopping = self.filtered(lambda c: c.state == "running")
        result = super().write(vals)
        if stopping:
            super(CustomerCampaign, stopping).write({"state": "stopped"})
        if vals.get("state") == "running":
            self._check_startable()
        if vals.get("state") == "running" or vals.get("coupon_program_id"):
            self._activate_programmes()
        return result

    def _activate_programmes(self):
        """Starting a campaign enables the coupon programme it issues (the
        shipped campaigns come with archived programmes): its coupons must
        apply on orders."""
        running = self.filtered(lambda c: c.active and c.state == "running")
        programmes = running.coupon_program_id.sudo()
        programmes |= running.reward_id.program_id.sudo()
        programmes.filtered(lambda p: not p.active).write({"active": True})

    def _check_startable(self):
        """A campaign runs only when not archived and not past its end date."""
        for campaign in self:
            campaign._check_not_archived()
            today = campaign.company_id._loyalty_today()
            if campaign.date_end and campaign.date_end < today:
                raise UserError(
                    self.env._(
                        "The campaign %(campaign)s ended on %(date)s: move its end "
                        "date to start it again.",
                        campaign=campaign.name,
                        date=format_date(self.env, campaign.date_end),
                    )
                )

    def _reaches_on(self, today):
        """Whether the campaign reaches occasions on ``today``: running and
        within its dates."""
        one_record(self)
        return (
            self.active
            and self.state == "running"
            and not (self.date_start and today < self.date_start)
            and not (self.date_end and today > self.date_end)
        )

    # ------------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------------
    @api.constrains(
        "days",
        "catch_up_days",
        "max_per_run",
        "coupon_validity_days",
        "bonus_points",
        "activity_days",
        "control_share",
        "conversion_days",
    )
    def _check_numbers(self):
        bounds = {
            "days": (0, MAX_DAYS),
            "catch_up_days": (0, 31),
            "max_per_run": (0, 10_000_000),
            "coupon_validity_days": (0, 3650),
            "bonus_points": (0, MAX_BONUS_POINTS),
            "activity_days": (0, 365),
            "conversion_days": (1, 366),
        }
        for campaign in self:
            for fname, (low, high) in bounds.items():
                value = campaign[fname]
                if not low <= value <= high:
                    raise ValidationError(
                        self.env._(
                            "%(field)s of the campaign %(campaign)s must be between "
                            "%(low)s and %(high)s (got %(value)s).",
                            field=self._fields[fname]._description_string(self.env),
                            campaign=campaign.name,
                            low=low,
                            high=high,
                            value=value,
                        )
                    )
            if not 0 <= campaign.control_share <= 90:
                raise ValidationError(
                    self.env._(
                        "The control group of %(campaign)s must hold between 0 and "
                        "90 %% of the members (got %(value)s).",
                        campaign=campaign.name,
                        value=campaign.control_share,
                    )
                )

    @api.constrains("date_start", "date_end")
    def _check_dates(self):
        for campaign in self:
            if (
                campaign.date_start
                and campaign.date_end
                and campaign.date_end < campaign.date_start
            ):
                raise ValidationError(
                    self.env._(
                        "The campaign %(campaign)s ends before it starts.",
                        campaign=campaign.name,
                    )
                )

    @api.constrains(
        "trigger",
        "segment_id",
        "channel",
        "mail_template_id",
        "sms_template_id",
        "coupon_program_id",
        "reward_id",
        "bonus_points",
        "activity_type_id",
        "audience_domain",
        "survey_questions",
    )
    def _check_actions(self):
        for campaign in self:
            if campaign.survey_questions and campaign.channel != "mail":
                raise ValidationError(
                    self.env._(
                        "The campaign %(campaign)s sends a satisfaction survey: "
                        "its link goes by email, choose the Email message.",
                        campaign=campaign.name,
                    )
                )
            if campaign.trigger == "segment" and not campaign.segment_id:
                raise ValidationError(
                    self.env._(
                        "The campaign %(campaign)s is triggered by entering a "
                        "segment: choose the segment.",
                        campaign=campaign.name,
                    )
                )
            for template, channel in (
                (campaign.mail_template_id, "mail"),
                (campaign.sms_template_id, "sms"),
            ):
                if campaign.channel == channel and not template:
                    raise ValidationError(
                        self.env._(
                            "The campaign %(campaign)s sends a message: choose its "
                            "template.",
                            campaign=campaign.name,
                        )
                    )
                if template and template.model != "customer.campaign.delivery":
                    raise ValidationError(
                        self.env._(
                            "The template %(template)s is not a template of "
                            "campaign deliveries.",
                            template=template.display_name,
                        )
                    )
            program = campaign.coupon_program_id
            if program and (
                program.program_type != "coupons" or not program.reward_ids
            ):
                raise ValidationError(
                    self.env._(
                        "%(program)s is not a coupon programme with a reward: it "
                        "cannot issue coupons.",
                        program=program.name,
                    )
                )
            reward = campaign.reward_id
            if reward and program:
                raise ValidationError(
                    self.env._(
                        "The campaign %(campaign)s gives either a reward or a "
                        "coupon of a programme, not both.",
                        campaign=campaign.name,
                    )
                )
            if reward and (
                reward.reward_type != "coupon"
                or not reward.program_id
                or reward.limit_qty
            ):
                raise ValidationError(
                    self.env._(
                        "The reward %(reward)s cannot be given by a campaign: it "
                        "must give a coupon and have no stock limit.",
                        reward=reward.name,
                    )
                )
            if not campaign._has_action():
                raise ValidationError(
                    self.env._(
                        "The campaign %(campaign)s does nothing: send a message, "
                        "issue a coupon, grant points or schedule an activity.",
                        campaign=campaign.name,
                    )
                )
            campaign._audience_filter()

    def _has_action(self):
        one_record(self)
        return bool(
            self.channel != "none"
            or self.coupon_program_id
            or self.reward_id
            or self.bonus_points
            or self.activity_type_id
        )

    def _audience_filter(self):
        one_record(self)
        return parse_members_filter(self.env, self.audience_domain, self.name)

    def _audience_domain(self):
        """The active members of the campaign's company in its audience."""
        one_record(self)
        return expression.AND(
            [
                [("company_id", "=", self.company_id.id), ("state", "=", "active")],
                self._audience_filter(),
            ]
        )

    # ------------------------------------------------------------------
    # Figures
    # ------------------------------------------------------------------
    @api.depends("audience_domain", "company_id")
    def _compute_audience_count(self):
        memberships = self.env["customer.membership"]
        for campaign in self:
            try:
                campaign.audience_count = memberships.search_count(
                    campaign._audience_domain()
                )
            except ValidationError:
                campaign.audience_count = 0

    def _results(self, extra_domain=None):
        """{campaign id: figures} over the deliveries of these campaigns (and
        ``extra_domain``): counts per state, conversions, revenue and its
        sum of squares, coupons issued and used, for the contacted and the
        control group."""
        domain = expression.AND([[("campaign_id", "in", self.ids)], extra_domain or []])
        groups = self.env["customer.campaign.delivery"]._read_group(
            domain,
            ["campaign_id", "state"],
            [
                "__count",
                "converted_count:sum",
                "revenue:sum",
                "revenue_squared:sum",
                "coupon_issued_count:sum",
                "coupon_used_count:sum",
            ],
        )
        results = {}
        for campaign, state, count, converted, revenue, squared, issued, used in groups:
            figures = results.setdefault(campaign.id, {})
            figures[state] = {
                "count": count,
                "converted": converted,
                "revenue": revenue,
                "squared": squared,
                "issued": issued,
                "used": used,
            }
        return results

    @api.depends("delivery_ids.state", "delivery_ids.converted_count")
    def _compute_results(self):
        empty = {
            "count": 0,
            "converted": 0,
            "revenue": 0.0,
            "squared": 0.0,
            "issued": 0,
            "used": 0,
        }
        results = self._results() if self.ids else {}
        for campaign in self:
            figures = results.get(campaign.id, {})
            sent = figures.get("sent", empty)
            control = figures.get("control", empty)
            campaign.sent_count = sent["count"]
            campaign.control_count = control["count"]
            campaign.skipped_count = figures.get("skipped", empty)["count"]
            campaign.queued_count = figures.get("to_send", empty)["count"]
            campaign.conversion_rate = (
                100.0 * sent["converted"] / sent["count"] if sent["count"] else 0.0
            )
            campaign.control_conversion_rate = (
                100.0 * control["converted"] / control["count"]
                if control["count"]
                else 0.0
            )
            campaign.revenue_per_member = (
                sent["revenue"] / sent["count"] if sent["count"] else 0.0
            )
            campaign.control_revenue_per_member = (
                control["revenue"] / control["count"] if control["count"] else 0.0
            )
            campaign.coupon_use_rate = (
                100.0 * sent["used"] / sent["issued"] if sent["issued"] else 0.0
            )
            conversion = proportion_uplift(
                sent["converted"], sent["count"], control["converted"], control["count"]
            )
            campaign.has_uplift = bool(conversion)
            campaign.uplift_verdict = campaign._uplift_verdict(
                conversion, sent, control
            )
            diff, low, high = conversion or (0.0, 0.0, 0.0)
            campaign.uplift = 100.0 * diff
            campaign.uplift_low = 100.0 * low
            campaign.uplift_high = 100.0 * high
            revenue = mean_uplift(
                sent["revenue"],
                sent["squared"],
                sent["count"],
                control["revenue"],
                control["squared"],
                control["count"],
            )
            diff, low, high = revenue or (0.0, 0.0, 0.0)
            campaign.revenue_uplift = diff
            campaign.revenue_uplift_low = low
            campaign.revenue_uplift_high = high

    def _uplift_verdict(self, conversion, sent, control):
        """The sentence under the uplift: significant, or not yet and the
        members each group would need (``sent`` and ``control``: the
        groups' counts and conversions)."""
        if not conversion:
            return False
        _diff, low, high = conversion
        if low > 0:
            return self.env._("Significant: the contacted members convert more.")
        if high < 0:
            return self.env._("Significant: the contacted members convert less.")
        needed = members_per_group_needed(
            sent["converted"] / sent["count"],
            control["converted"] / control["count"],
        )
        if not needed:
            return self.env._("Not significant: no difference so far.")
        figures = {
            "needed": format_number(self.env, needed),
            "sent": format_number(self.env, sent["count"]),
            "control": format_number(self.env, control["count"]),
        }
        return self.env._(
            "Not significant yet: an uplift of this size needs about "
            "%(needed)s members in each group (now %(sent)s contacted, "
            "%(control)s in the control group).",
            **figures,
        )

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------
    def _check_not_archived(self):
        one_record(self)
        if not self.active:
            raise UserError(
                self.env._(
                    "The campaign %(campaign)s is archived: restore it first.",
                    campaign=self.name,
                )
            )

    def _check_runnable(self):
        for campaign in self:
            campaign._check_not_archived()
            if campaign.state != "running":
                raise UserError(
                    self.env._(
                        "The campaign %(campaign)s is not running: start it "
                        "first (Dry Run shows who it would reach, without "
                        "sending anything).",
                        campaign=campaign.name,
                    )
                )
            today = campaign.company_id._loyalty_today()
            if not campaign._reaches_on(today):
                raise UserError(
                    self.env._(
                        "The campaign %(campaign)s reaches members from %(start)s "
                        "to %(end)s: today is outside these dates.",
                        campaign=campaign.name,
                        start=format_date(self.env, campaign.date_start)
                        if campaign.date_start
                        else "…",
                        end=format_date(self.env, campaign.date_end)
                        if campaign.date_end
                        else "…",
                    )
                )

    def action_start(self):
        """Start (or resume) the campaign: the hourly job reaches its members
        from now on (from its start date)."""
        self.check_access("write")
        starting = self.filtered(lambda c: c.state != "running")
        starting._check_startable()
        starting.write({"state": "running"})
        return True

    def action_stop(self):
        """Stop the campaign: nobody new is reached, its queued messages are
        held until it is started again or they are cancelled."""
        self.check_access("write")
        self.filtered(lambda c: c.state == "running").write({"state": "stopped"})
        return True

    def action_send_test(self):
        """The campaign's message, as a member of its audience would get it,
        sent to the user (or an address they type)."""
        campaign = one_record(self)
        campaign.check_access("write")
        return self.env["customer.campaign.test"]._open_for(campaign)

    def action_run_now(self):
        """Evaluate the campaign now and send what is due (outside quiet
        hours), as the hourly job does, then show its deliveries. The
        request sends one batch; the job, triggered at once, sends the rest
        in the background (a large audience would outlast a request)."""
        campaign = one_record(self)
        campaign._check_runnable()
        # deliveries are written by the programme only: who may change the
        # campaign may run it
        campaign.check_access("write")
        _created, _sent, remaining = campaign.sudo()._run()
        if remaining:
            self.env.ref("repeat_customer.ir_cron_run_campaigns").sudo()._trigger()
        return campaign.action_open_deliveries()

    def action_cancel_queued(self):
        """Cancel the messages (and the coupons, points and activities that
        go with them) that the campaign queued and has not sent: the choice
        of a user who stopped it and does not want them sent when it is
        started again. A stopped campaign holds its queue until then."""
        campaign = one_record(self)
        campaign.check_access("write")
        if campaign.state == "running":
            raise UserError(
                self.env._(
                    "Stop the campaign %(campaign)s first: a running campaign "
                    "sends what it queued.",
                    campaign=campaign.name,
                )
            )
        self.env["customer.campaign.delivery"].flush_model()
        # the rows a send job holds are left to it (SKIP LOCKED): it sends
        # nothing of a stopped campaign
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_campaign_delivery
                   SET state = 'cancelled', counts_in_cap = FALSE,
                       write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
                 WHERE id IN (SELECT id FROM customer_campaign_delivery
                               WHERE campaign_id = %(campaign)s
                                 AND state = 'to_send'
                                 FOR UPDATE SKIP LOCKED)
                """,
                uid=self.env.uid,
                campaign=campaign.id,
            )
        )
        cancelled = self.env.cr.rowcount
        self.env["customer.campaign.delivery"].invalidate_model()
        campaign.invalidate_recordset()
        campaign.message_post(
            body=self.env._(
                "%(count)s queued messages cancelled.",
                count=format_number(self.env, cancelled),
            ),
            message_type="notification",
            subtype_xmlid="mail.mt_note",
        )
        return True

    def action_dry_run(self):
        """List who the campaign would reach now, and why, writing nothing."""
        campaign = one_record(self)
        campaign.check_access("write")
        return self.env["customer.campaign.dry.run"]._open_for(campaign)

    def action_open_deliveries(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_campaign_delivery_action"
        )
        action["domain"] = [("campaign_id", "=", self.id)]
        action["context"] = {"default_campaign_id": self.id}
        return action

    def action_open_results(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_campaign_result_action"
        )
        action["domain"] = [("campaign_id", "=", self.id)]
        return action

    def action_open_audience(self):
        one_record(self)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Audience of %(campaign)s", campaign=self.name),
            "res_model": "customer.membership",
            "view_mode": "list,form",
            "domain": self._audience_domain(),
        }
