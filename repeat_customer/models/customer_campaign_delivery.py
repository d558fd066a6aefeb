import logging

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.numbers import one_record

_logger = logging.getLogger(__name__)

STATE_SELECTION = [
    ("to_send", "Queued"),
    ("sent", "Sent"),
    ("control", "Control"),
    ("skipped", "Skipped"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]
SKIP_SELECTION = [
    ("opt_out", "Opted out of marketing"),
    ("blacklisted", "On the blacklist"),
    ("no_email", "No email address"),
    ("no_phone", "No mobile number"),
    ("frequency_cap", "Frequency cap reached"),
]


class CustomerCampaignDelivery(models.Model):
    """One occasion of a campaign for one member: unique per (campaign,
    membership, occurrence key), so that a job run again, resumed after a
    crash or run on two workers at once never reaches a member twice for the
    same occasion. Holds what was done (message, coupon, points, activity),
    or why nothing was (skipped, control), and what the member bought in the
    conversion window after it."""

    _name = "customer.campaign.delivery"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Campaign Delivery"
    _order = "delivery_date desc, id desc"
    _rec_name = "campaign_id"
    _check_company_auto = True

    campaign_id = fields.Many2one(
        "customer.campaign",
        string="Campaign",
        required=True,
        readonly=True,
        index=True,
        ondelete="restrict",
    )
    trigger = fields.Selection(related="campaign_id.trigger", string="Trigger")
    membership_id = fields.Many2one(
        "customer.membership",
        string="Member",
        required=True,
        readonly=True,
        index=True,
        ondelete="restrict",
    )
    company_id = fields.Many2one(
        "res.company", string="Company", required=True, readonly=True, index=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True, index=True
    )
    user_id = fields.Many2one(
        related="membership_id.user_id", string="Salesperson", store=True
    )
    occurrence_key = fields.Char(
        string="Occasion",
        required=True,
        readonly=True,
        help="What the delivery is for: the year of a birthday, the tier change, "
        "the order delivered… A member gets one delivery per campaign and "
        "occasion.",
    )
    occasion_date = fields.Date(string="Occasion Date", readonly=True)
    delivery_date = fields.Date(
        string="Date",
        required=True,
        readonly=True,
        index=True,
        help="The company's day on which the delivery was decided.",
    )
    state = fields.Selection(
        selection=STATE_SELECTION,
        string="Status",
        required=True,
        readonly=True,
        index=True,
    )
    skip_reason = fields.Selection(
        selection=SKIP_SELECTION, string="Skipped Because", readonly=True
    )
    failure_reason = fields.Text(string="Failure", readonly=True)
    is_control = fields.Boolean(
        string="Control Group",
        readonly=True,
        help="Held out: nothing was sent, so that this member's orders show "
        "what the campaign's members would have bought anyway.",
    )
    counts_in_cap = fields.Boolean(
        string="Counts in Frequency Cap",
        readonly=True,
        help="A marketing message: it counts towards the company's cap of "
        "messages per customer.",
    )
    channel = fields.Selection(
        selection=lambda self: (
            self.env["customer.campaign"]
            ._fields["channel"]
            ._description_selection(self.env)
        ),
        string="Message",
        readonly=True,
    )
    sent_datetime = fields.Datetime(string="Sent On", readonly=True)
    coupon_id = fields.Many2one(
        "customer.coupon", string="Coupon", readonly=True, index="btree_not_null"
    )
    coupon_code = fields.Char(related="coupon_id.code", string="Coupon Code")
    coupon_expiration_date = fields.Date(
        related="coupon_id.expiration_date", string="Coupon Expires On"
    )
    point_entry_id = fields.Many2one(
        "customer.point.entry",
        string="Bonus Points",
        readonly=True,
        index="btree_not_null",
    )
    activity_id = fields.Many2one(
        "mail.activity", string="Activity", readonly=True, ondelete="set null"
    )
    feedback_id = fields.Many2one(
        "customer.feedback",
        string="Satisfaction Survey",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    # attribution, over the conversion window (written by the job)
    attribution_end_date = fields.Date(
        string="Conversion Window Ends",
        readonly=True,
        help="Orders confirmed after the delivery was decided, up to this day, count.",
    )
    order_count = fields.Integer(string="Orders", readonly=True, aggregator="sum")
    converted_count = fields.Integer(
        string="Converted",
        readonly=True,
        aggregator="sum",
        help="1 when the member confirmed an order in the conversion window: "
        "its sum is the number of members who converted.",
    )
    conversion_rate = fields.Float(
        string="Conversion (%)",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
        help="100 when the member converted: its average over a group is the "
        "group's conversion rate.",
    )
    revenue = fields.Monetary(
        string="Revenue",
        readonly=True,
        aggregator="sum",
        help="Untaxed amount, in company currency, of the member's orders "
        "confirmed in the conversion window (after the delivery).",
    )
    revenue_squared = fields.Float(
        string="Revenue Squared", readonly=True, aggregator="sum"
    )
    coupon_issued_count = fields.Integer(
        string="Coupons Issued", readonly=True, aggregator="sum"
    )
    coupon_used_count = fields.Integer(
        string="Coupons Used", readonly=True, aggregator="sum"
    )

    _sql_constraints = [
        (
            "occasion_uniq",
            "unique(campaign_id, membership_id, occurrence_key)",
            "A campaign reaches a member once per occasion.",
        ),
    ]

    def init(self):
        # the frequency cap counts a member's recent marketing messages
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS customer_campaign_delivery_cap_idx
                ON customer_campaign_delivery (membership_id, delivery_date)
             WHERE counts_in_cap
            """
        )
        # the attribution of the deliveries whose window is open
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS customer_campaign_delivery_window_idx
                ON customer_campaign_delivery (company_id, attribution_end_date)
             WHERE state IN ('sent', 'control')
            """
        )

    @api.depends("campaign_id", "membership_id", "occurrence_key")
    def _compute_display_name(self):
        for delivery in self:
            delivery.display_name = (
                f"{delivery.campaign_id.name} / {delivery.membership_id.display_name}"
            )

    # ------------------------------------------------------------------
    # Sending
    # ------------------------------------------------------------------
    def _send(self):
        """Carry out the queued deliveries in ``self`` (rows already locked
        by the caller): per campaign, issue the coupons, grant the points,
        schedule the activities, then send the message over the campaign's
        channel, and mark them sent, all in the caller's transaction, so a
        crash undoes a batch as a whole. A campaign whose actions fail marks
        its deliveries of the batch failed, with the reason."""
        now = fields.Datetime.now()
        for campaign in self.campaign_id:
            deliveries = self.filtered(lambda d, c=campaign: d.campaign_id == c)
            try:
                with self.env.cr.savepoint():
                    deliveries._send_actions(campaign)
                    if campaign.channel != "none":
                        getattr(deliveries, f"_send_{campaign.channel}")(campaign)
                    deliveries.write({"state": "sent", "sent_datetime": now})
            except UserError as error:
                self.env.invalidate_all()
                _logger.warning(
                    "repeat_customer: campaign %s could not reach %s members: %s",
                    campaign.id,
                    len(deliveries),
                    error,
                )
                deliveries.write(
                    {
                        "state": "failed",
                        "failure_reason": str(error),
                        "counts_in_cap": False,
                    }
                )

    def _send_actions(self, campaign):
        """The coupon (of a programme, or of a reward given free), bonus
        points and activity of ``campaign`` for the deliveries in ``self``."""
        reward = campaign.reward_id
        if campaign.coupon_program_id or reward:
            coupons = self.env["customer.coupon"]._issue(
                [
                    {
                        "membership": delivery.membership_id,
                        "program": reward.program_id or campaign.coupon_program_id,
                        "validity_days": reward.coupon_validity_days
                        if reward
                        else campaign.coupon_validity_days,
                        "origin": "campaign",
                        "reward_id": reward.id,
                        "campaign_delivery_id": delivery.id,
                    }
                    for delivery in self
                ],
                # the campaign's own message carries the code
                send_mail=False,
            )
            self._link("coupon_id", coupons)
        if campaign.bonus_points:
            company = campaign.company_id
            expiry = company._loyalty_points_expiry_date(company._loyalty_today())
            entries = self.env["customer.point.entry"]._post(
                [
                    {
                        "membership_id": delivery.membership_id.id,
                        "kind": "earn",
                        "points": campaign.bonus_points,
                        "expiry_date": expiry,
                        "reason": campaign.name,
                        "campaign_delivery_id": delivery.id,
                    }
                    for delivery in self
                ]
            )
            self._link("point_entry_id", entries)
        if campaign.activity_type_id:
            self._send_activities(campaign)
        if campaign.survey_questions:
            surveys = self.env["customer.feedback"]._request(
                self.membership_id.browse([d.membership_id.id for d in self]),
                self._survey_orders(),
                campaign.survey_questions,
            )
            self._link("feedback_id", surveys)

    def _survey_orders(self):
        """The order each delivery of ``self`` asks about, in order: the
        order of its occasion (``order-<id>``, days after a delivery), else
        the member's last confirmed order (an empty record when none)."""
        orders = self.env["sale.order"]
        last = {}
        members = self.membership_id
        if members:
            for row in self.env["sale.order"]._read_group(
                [
                    ("state", "=", "sale"),
                    ("partner_id", "child_of", members.partner_id.ids),
                    ("company_id", "in", members.company_id.ids),
                ],
                ["partner_id", "company_id"],
                ["id:max"],
            ):
                partner, company, order_id = row
                key = (partner.commercial_partner_id.id, company.id)
                last[key] = max(last.get(key, 0), order_id)
        result = []
        for delivery in self:
            key = delivery.occurrence_key or ""
            if key.startswith("order-") and key[6:].isdigit():
                result.append(int(key[6:]))
            else:
                membership = delivery.membership_id
                result.append(
                    last.get((membership.partner_id.id, membership.company_id.id), 0)
                )
        return [orders.browse(order_id) if order_id else orders for order_id in result]

    def _link(self, fname, records):
        """Point each delivery of ``self`` to the record of ``records`` at
        the same position (what its action created), in one UPDATE; a coupon
        also counts as issued."""
        if len(records) != len(self):
            raise ValueError(
                f"{len(records)} {records._name} for {len(self)} deliveries"
            )
        self.flush_recordset([fname])
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_campaign_delivery d
                   SET %(column)s = v.record_id,
                       coupon_issued_count = CASE WHEN %(coupon)s THEN 1
                                                  ELSE d.coupon_issued_count END
                  FROM unnest(%(ids)s::int[], %(records)s::int[])
                       AS v(id, record_id)
                 WHERE d.id = v.id
                """,
                column=SQL.identifier(fname),
                coupon=fname == "coupon_id",
                ids=self.ids,
                records=records.ids,
            )
        )
        self.invalidate_recordset([fname, "coupon_issued_count"])

    def _send_activities(self, campaign):
        """One activity per member for their salesperson (the campaign's
        responsible when they have none; never the job's user)."""
        model = self.env["ir.model"]._get_id("customer.membership")
        deadline = fields.Date.add(
            campaign.company_id._loyalty_today(), days=campaign.activity_days
        )
        activities = (
            self.env["mail.activity"]
            .sudo()
            .with_context(mail_activity_quick_update=True)
            .create(
                [
                    {
                        "res_model_id": model,
                        "res_id": delivery.membership_id.id,
                        "activity_type_id": campaign.activity_type_id.id,
                        "summary": campaign.activity_summary or campaign.name,
                        "user_id": (
                            delivery.membership_id.user_id or campaign.user_id
                        ).id,
                        "date_deadline": deadline,
                    }
                    for delivery in self
                ]
            )
        )
        self._link("activity_id", activities)

    def _send_mail(self, campaign):
        """Queue the campaign's mail to each member, rendered in their
        language (the template's ``lang``); Odoo's mail queue sends it. The
        template is the whole mail, as an Email Marketing mailing is: no
        notification layout around it."""
        campaign.mail_template_id.sudo().send_mail_batch(self.ids)

    def _send_sms(self, campaign):
        """Queue the campaign's SMS to each member's mobile number, rendered
        in their language; Odoo's SMS queue sends it (through IAP)."""
        template = campaign.sms_template_id.sudo()
        bodies = template._render_field("body", self.ids, compute_lang=True)
        self.env["sms.sms"].sudo().create(
            [
                {
                    "number": delivery.partner_id.phone_sanitized,
                    "partner_id": delivery.partner_id.id,
                    "body": bodies[delivery.id],
                    "state": "outgoing",
                }
                for delivery in self
            ]
        )
        self.env.ref("sms.ir_cron_sms_scheduler_action").sudo()._trigger()

    # ------------------------------------------------------------------
    # Attribution
    # ------------------------------------------------------------------
    @api.model
    def _update_attribution(self, company, since=None):
        """Write the orders, revenue and coupon use of the deliveries of
        ``company`` whose conversion window is open (or closed yesterday;
        or ended on ``since`` or later): one UPDATE."""
        today = company._loyalty_today()
        since = since or fields.Date.subtract(today, days=1)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                WITH open AS (
                    SELECT d.id, d.membership_id, d.create_date,
                           d.attribution_end_date, d.coupon_id
                      FROM customer_campaign_delivery d
                     WHERE d.company_id = %(company)s
                       AND d.state IN ('sent', 'control')
                       AND d.attribution_end_date >= %(since)s
                ),
                bought AS (
                    -- purchases of any channel made after the delivery was
                    -- decided (not the one that made the occasion), up to
                    -- the window's end; returns lower the revenue
                    SELECT o.id,
                           count(p.res_id) FILTER (WHERE p.is_order = 1)
                               AS orders,
                           COALESCE(sum(p.amount), 0) AS revenue
                      FROM open o
                      LEFT JOIN (%(purchases)s) p
                        ON p.membership_id = o.membership_id
                       AND p.moment > o.create_date
                       AND p.day <= o.attribution_end_date
                     GROUP BY o.id
                )
                UPDATE customer_campaign_delivery d
                   SET order_count = b.orders,
                       converted_count = CASE WHEN b.orders > 0 THEN 1 ELSE 0 END,
                       conversion_rate = CASE WHEN b.orders > 0 THEN 100 ELSE 0 END,
                       revenue = b.revenue,
                       revenue_squared = b.revenue * b.revenue,
                       coupon_used_count = CASE WHEN c.state = 'used' THEN 1 ELSE 0 END
                  FROM bought b
                  LEFT JOIN open o ON o.id = b.id
                  LEFT JOIN customer_coupon c ON c.id = o.coupon_id
                 WHERE d.id = b.id
                   AND (d.order_count, d.revenue, d.coupon_used_count)
                       IS DISTINCT FROM
                       (b.orders, b.revenue,
                        CASE WHEN c.state = 'used' THEN 1 ELSE 0 END)
                """,
                company=company.id,
                since=since,
                purchases=self.env["customer.purchase"]._documents_sql(
                    company,
                    members=SQL(
                        """
                        (SELECT m.id, m.partner_id FROM customer_membership m
                          WHERE m.id IN (SELECT membership_id FROM open))
                        """
                    ),
                ),
            )
        )
        updated = self.env.cr.rowcount
        self.invalidate_model()
        return updated

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------
    def action_open_membership(self):
        one_record(self)
        return {
            "type": "ir.actions.act_window",
            "res_model": "customer.membership",
            "res_id": self.membership_id.id,
            "view_mode": "form",
        }
