"""Customers' service requests and complaints: assigned by rules, answered
and solved against deadlines in the company's working hours, escalated when
late, and a complaint closed with a compensation within the company's
limits."""

from datetime import timedelta

import pytz
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from ..tools.numbers import format_number, one_record

PRIORITIES = [("0", "Normal"), ("1", "Important"), ("2", "Urgent")]
CHANNELS = [
    ("staff", "Staff"),
    ("portal", "Customer Portal"),
    ("survey", "Low Satisfaction Score"),
]
ESCALATIONS = [
    ("response", "First response late"),
    ("resolution", "Resolution late"),
]
ESCALATION_BATCH_PARAM = "repeat_customer.service_escalation_batch_size"
DEFAULT_ESCALATION_BATCH = 500
# how far ahead a deadline is looked for in the calendar before giving up
# (a calendar with no working time at all)
PLANNING_HORIZON_DAYS = 730
# what the programme sets, never a user (even one who may edit the request):
# the clocks, the escalation, the compensation, where it came from
SYSTEM_FIELDS = frozenset(
    {
        "reference",
        "channel",
        "feedback_id",
        "membership_id",
        "salesperson_id",
        "response_deadline",
        "resolution_deadline",
        "first_response_date",
        "close_date",
        "response_hours",
        "resolution_hours",
        "overdue_count",
        "escalation",
        "escalation_date",
        "compensation_points",
        "compensation_coupon_value",
        "compensated_by_id",
        "compensation_date",
        "point_entry_id",
        "coupon_id",
    }
)
# values a form may send for new requests that are the defaults anyway
CREATE_DEFAULTS = {"reference": "/", "channel": "staff"}


# the programme's own classifications and routing: staff see them, the
# customer (a portal user reading their request) does not
STAFF = "base.group_user"


class CustomerServiceRequest(models.Model):
    _name = "customer.service.request"
    _description = "Customer Service Request"
    _inherit = [
        "portal.mixin",
        "mail.thread.cc",
        "mail.activity.mixin",
        "customer.values.mixin",
    ]
    _order = "priority desc, id desc"
    _rec_names_search = ["reference", "name", "partner_id"]
    _check_company_auto = True
    _mail_post_access = "read"

    reference = fields.Char(
        string="Reference", required=True, readonly=True, copy=False, default="/"
    )
    name = fields.Char(string="Subject", required=True, tracking=True)
    description = fields.Text(string="Description")
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        check_company=True,
    )
    commercial_partner_id = fields.Many2one(
        related="partner_id.commercial_partner_id", store=True, index=True
    )
    membership_id = fields.Many2one(
        "customer.membership",
        string="Member",
        compute="_compute_membership_id",
        store=True,
        index="btree_not_null",
        help="The customer's membership of the company's programme.",
        groups=STAFF,
    )
    salesperson_id = fields.Many2one(
        "res.users",
        string="Customer's Salesperson",
        compute="_compute_salesperson_id",
        store=True,
        groups=STAFF,
    )
    segment_id = fields.Many2one(
        related="membership_id.segment_id", string="Segment", groups=STAFF
    )
    tier_id = fields.Many2one(
        related="membership_id.tier_id", string="Tier", groups=STAFF
    )
    type_id = fields.Many2one(
        "customer.service.type",
        string="Type",
        required=True,
        tracking=True,
        check_company=True,
        ondelete="restrict",
    )
    is_complaint = fields.Boolean(related="type_id.is_complaint", store=True)
    channel = fields.Selection(
        CHANNELS, string="Received From", required=True, default="staff", readonly=True
    )
    order_id = fields.Many2one(
        "sale.order",
        string="Order",
        index="btree_not_null",
        tracking=True,
        check_company=True,
        domain="[('partner_id', 'child_of', commercial_partner_id), "
        "('state', '=', 'sale')]",
    )
    product_id = fields.Many2one(
        "product.product", string="Product", tracking=True, check_company=True
    )
    category_id = fields.Many2one(
        related="product_id.categ_id", string="Product Category", store=True
    )
    feedback_id = fields.Many2one(
        "customer.feedback",
        string="Satisfaction Survey",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The low score this request was opened for.",
        groups=STAFF,
    )
    priority = fields.Selection(PRIORITIES, string="Priority", default="0", index=True)
    stage_id = fields.Many2one(
        "customer.service.stage",
        string="Stage",
        required=True,
        tracking=True,
        index=True,
        copy=False,
        ondelete="restrict",
        group_expand="_read_group_expand_stages",
        default=lambda self: self._default_stage(),
    )
    is_closed = fields.Boolean(related="stage_id.is_closed", store=True, index=True)
    user_id = fields.Many2one(
        "res.users",
        string="Assigned To",
        tracking=True,
        index=True,
        domain=[("share", "=", False)],
    )
    team_id = fields.Many2one(
        "customer.service.team",
        string="Team",
        tracking=True,
        check_company=True,
        groups=STAFF,
    )
    response_deadline = fields.Datetime(
        string="Answer Before",
        readonly=True,
        copy=False,
        help="The first answer to the customer is due then: the type's response "
        "time in working hours of the company's calendar.",
    )
    resolution_deadline = fields.Datetime(
        string="Solve Before",
        readonly=True,
        copy=False,
        help="The request is due to be closed then: the type's resolution time "
        "in working hours of the company's calendar.",
    )
    first_response_date = fields.Datetime(
        string="First Answered On",
        readonly=True,
        copy=False,
        help="When staff first wrote to the customer on the request.",
    )
    close_date = fields.Datetime(string="Closed On", readonly=True, copy=False)
    response_hours = fields.Float(
        string="Hours to First Answer",
        readonly=True,
        copy=False,
        aggregator="avg",
        help="Working hours from the request to the first answer.",
    )
    resolution_hours = fields.Float(
        string="Hours to Close",
        readonly=True,
        copy=False,
        aggregator="avg",
        help="Working hours from the request to its closing.",
    )
    is_overdue = fields.Boolean(
        string="Overdue",
        compute="_compute_is_overdue",
        search="_search_is_overdue",
        help="Still open past a deadline: not answered in time, or not solved in time.",
    )
    overdue_count = fields.Integer(
        string="Missed Deadline",
        readonly=True,
        copy=False,
        help="1 when the request missed its deadline (answered or closed late, "
        "or escalated while open).",
    )
    escalation = fields.Selection(
        ESCALATIONS,
        string="Escalated",
        readonly=True,
        copy=False,
        tracking=True,
        help="Escalated to the team leader because this deadline passed.",
        groups=STAFF,
    )
    escalation_date = fields.Datetime(
        string="Escalated On", readonly=True, copy=False, groups=STAFF
    )
    resolution = fields.Text(string="Resolution", tracking=True, copy=False)
    currency_id = fields.Many2one(related="company_id.currency_id")
    compensation_points = fields.Integer(
        string="Points Given", readonly=True, copy=False
    )
    compensation_coupon_value = fields.Monetary(
        string="Coupon Value Given",
        readonly=True,
        copy=False,
        currency_field="currency_id",
        help="The value of the coupon given for the complaint.",
    )
    compensated_by_id = fields.Many2one(
        "res.users",
        string="Compensated By",
        readonly=True,
        copy=False,
        help="Who granted the compensation.",
    )
    compensation_date = fields.Datetime(
        string="Compensated On", readonly=True, copy=False, index="btree_not_null"
    )
    point_entry_id = fields.Many2one(
        "customer.point.entry",
        string="Points Line",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )
    coupon_id = fields.Many2one(
        "customer.coupon",
        string="Coupon Given",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )

    _sql_constraints = [
        (
            "compensation_points_positive",
            "CHECK(compensation_points >= 0)",
            "A compensation gives points, it does not take them.",
        ),
    ]

    # ------------------------------------------------------------------
    # Defaults and computes
    # ------------------------------------------------------------------
    @api.model
    def _default_stage(self):
        return self.env["customer.service.stage"].search(
            [("is_closed", "=", False)], limit=1
        )

    @api.model
    def _read_group_expand_stages(self, stages, domain):
        return stages.search([], order=stages._order)

    @api.depends("partner_id", "company_id")
    def _compute_membership_id(self):
        commercial = self.partner_id.commercial_partner_id
        memberships = (
            self.env["customer.membership"]
            .sudo()
            .search(
                [
                    ("partner_id", "in", commercial.ids),
                    ("company_id", "in", self.company_id.ids),
                ]
            )
        )
        by_key = {(m.partner_id.id, m.company_id.id): m for m in memberships}
        for request in self:
            request.membership_id = by_key.get(
                (request.partner_id.commercial_partner_id.id, request.company_id.id),
                False,
            )

    @api.depends("membership_id.user_id", "partner_id.commercial_partner_id.user_id")
    def _compute_salesperson_id(self):
        for request in self:
            request.salesperson_id = (
                request.membership_id.user_id
                or request.partner_id.commercial_partner_id.user_id
            )

    def _compute_access_url(self):  # pylint: disable=missing-return
        super()._compute_access_url()
        for request in self:
            request.access_url = f"/my/requests/{request.id}"

    @api.depends("reference", "name")
    def _compute_display_name(self):
        for request in self:
            request.display_name = f"{request.reference} {request.name or ''}".strip()

    @api.depends(
        "is_closed", "response_deadline", "resolution_deadline", "first_response_date"
    )
    def _compute_is_overdue(self):
        now = fields.Datetime.now()
        for request in self:
            request.is_overdue = request._overdue_at(now)

    def _overdue_at(self, now):
        if self.is_closed:
            return False
        late_answer = (
            not self.first_response_date
            and self.response_deadline
            and self.response_deadline < now
        )
        late_close = self.resolution_deadline and self.resolution_deadline < now
        return bool(late_answer or late_close)

    def _search_is_overdue(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(self.env._("Search overdue requests with = or !=."))
        now = fields.Datetime.now()
        overdue = [
            ("is_closed", "=", False),
            "|",
            ("resolution_deadline", "<", now),
            "&",
            ("first_response_date", "=", False),
            ("response_deadline", "<", now),
        ]
        if (operator == "=") == value:
            return overdue
        return ["!", *overdue]

    # ------------------------------------------------------------------
    # Create and write
    # ------------------------------------------------------------------
    def _check_system_fields(self, vals, defaults=None):
        """Refuse the programme's own fields from a user (RPC included)."""
        if self.env.su:
            return
        refused = sorted(
            fname
            for fname in SYSTEM_FIELDS & set(vals)
            if not (defaults and fname in defaults and vals[fname] == defaults[fname])
        )
        if refused:
            raise AccessError(
                self.env._(
                    "These fields of a service request are set by the programme, "
                    "not by hand: %(fields)s.",
                    fields=", ".join(
                        self._fields[fname].get_description(self.env)["string"]
                        for fname in refused
                    ),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        default_stage = self._default_stage()
        for vals in vals_list:
            # the values are read below, before the mixin's create checks them
            self._guard_values(vals)
            self._check_system_fields(vals, CREATE_DEFAULTS)
            # given, so that the stage's mail goes out on creation too
            if not vals.get("stage_id") and default_stage:
                vals["stage_id"] = default_stage.id
            company = self.env["res.company"].browse(
                vals.get("company_id") or self.env.company.id
            )
            if vals.get("reference", "/") == "/":
                vals["reference"] = (
                    self.env["ir.sequence"]
                    .with_company(company)
                    .next_by_code("customer.service.request")
                    or "/"
                )
        requests = super().create(vals_list)
        requests._check_type_company()
        requests._set_deadlines()
        unassigned = requests.filtered(lambda r: not r.user_id)
        unassigned._assign()
        for request in requests:
            if request.partner_id not in request.message_partner_ids:
                request.message_subscribe(partner_ids=request.partner_id.ids)
        return requests

    def write(self, vals):
        self._check_system_fields(vals)
        if "stage_id" in vals:
            stage = self.env["customer.service.stage"].browse(vals["stage_id"])
            closing = (
                self.filtered(lambda r: not r.is_closed) if stage.is_closed else None
            )
            reopening = self.filtered("is_closed") if not stage.is_closed else None
        result = super().write(vals)
        if "type_id" in vals or "company_id" in vals:
            self._check_type_company()
            self._set_deadlines()
        if "stage_id" in vals:
            if closing:
                closing._on_close()
            if reopening:
                reopening._on_reopen()
        return result

    def _check_type_company(self):
        for request in self:
            if request.type_id.company_id not in (
                request.company_id,
                self.env["res.company"],
            ):
                raise ValidationError(
                    self.env._(
                        "The type %(type)s belongs to another company.",
                        type=request.type_id.name,
                    )
                )

    # ------------------------------------------------------------------
    # Working hours
    # ------------------------------------------------------------------
    def _calendar_tz(self):
        """(the company's working calendar, the company's time zone)."""
        company = self.company_id
        return company.resource_calendar_id, pytz.timezone(company._loyalty_tz())

    @api.model
    def _plan_working_hours(self, calendar, tz, start, hours):
        """The UTC datetime (naive) ``hours`` working hours of ``calendar``
        after ``start`` (naive UTC), its attendances read in the time zone
        ``tz`` and its public holidays skipped. No calendar: hours of the
        clock."""
        if not calendar:
            return start + timedelta(hours=hours)
        if hours <= 0:
            return start
        begin = pytz.utc.localize(start)
        left = hours
        window = timedelta(days=14)
        for _step in range(PLANNING_HORIZON_DAYS // 14 + 1):
            intervals = calendar._work_intervals_batch(begin, begin + window, tz=tz)[
                False
            ]
            for interval_start, interval_stop, _meta in intervals:
                length = (interval_stop - interval_start).total_seconds() / 3600
                if left <= length:
                    end = interval_start + timedelta(hours=left)
                    return end.astimezone(pytz.utc).replace(tzinfo=None)
                left -= length
            begin += window
        raise UserError(
            self.env._(
                "The working calendar %(calendar)s has no working time in the "
                "next two years: no deadline can be set.",
                calendar=calendar.name,
            )
        )

    @api.model
    def _working_hours_between(self, calendar, tz, start, stop):
        """Working hours of ``calendar`` from ``start`` to ``stop`` (naive
        UTC), 0 when ``stop`` is not after ``start``."""
        if stop <= start:
            return 0.0
        if not calendar:
            return (stop - start).total_seconds() / 3600
        intervals = calendar._work_intervals_batch(
            pytz.utc.localize(start), pytz.utc.localize(stop), tz=tz
        )[False]
        return round(
            sum((b - a).total_seconds() / 3600 for a, b, _meta in intervals), 2
        )

    def _set_deadlines(self):
        """The deadlines of the requests from their creation and type."""
        for request in self:
            calendar, tz = request._calendar_tz()
            start = request.create_date or fields.Datetime.now()
            service_type = request.type_id
            request.sudo().write(
                {
                    "response_deadline": self._plan_working_hours(
                        calendar, tz, start, service_type.response_hours
                    )
                    if service_type.response_hours
                    else False,
                    "resolution_deadline": self._plan_working_hours(
                        calendar, tz, start, service_type.resolution_hours
                    )
                    if service_type.resolution_hours
                    else False,
                }
            )

    def _on_close(self):
        now = fields.Datetime.now()
        for request in self:
            calendar, tz = request._calendar_tz()
            late = bool(
                request.overdue_count
                or (request.resolution_deadline and request.resolution_deadline < now)
            )
            request.sudo().write(
                {
                    "close_date": now,
                    "resolution_hours": self._working_hours_between(
                        calendar, tz, request.create_date, now
                    ),
                    "overdue_count": 1 if late else 0,
                }
            )

    def _on_reopen(self):
        self.sudo().write({"close_date": False, "resolution_hours": 0.0})

    def _track_template(self, changes):
        """The stage's mail to the customer, as a note to them (it does not
        answer the request: the response clock keeps running)."""
        result = super()._track_template(changes)
        request = self[0]
        if "stage_id" in changes and request.stage_id.template_id:
            result["stage_id"] = (
                request.stage_id.template_id,
                {
                    "auto_delete_keep_log": False,
                    "subtype_id": self.env.ref("mail.mt_note").id,
                    "email_layout_xmlid": "mail.mail_notification_light",
                },
            )
        return result

    def _message_post_after_hook(self, message, msg_vals):
        """The first message staff write to the customer (not an internal
        note) answers the request: its response time is counted."""
        result = super()._message_post_after_hook(message, msg_vals)
        if (
            not self.first_response_date
            and message.message_type == "comment"
            and message.subtype_id == self.env.ref("mail.mt_comment")
            and message.author_id
            and message.author_id.user_ids.filtered(lambda u: not u.share)
        ):
            self._mark_answered(message.date or fields.Datetime.now())
        return result

    def _mark_answered(self, when):
        for request in self.filtered(lambda r: not r.first_response_date):
            calendar, tz = request._calendar_tz()
            late = bool(request.response_deadline and request.response_deadline < when)
            request.sudo().write(
                {
                    "first_response_date": when,
                    "response_hours": self._working_hours_between(
                        calendar, tz, request.create_date, when
                    ),
                    "overdue_count": 1 if late else request.overdue_count,
                }
            )

    # ------------------------------------------------------------------
    # Assignment
    # ------------------------------------------------------------------
    def _assign(self):
        """Give each request to the first matching rule's user or team (in
        turn within the team); with no rule, or no one the rule can give it
        to, to the company's service leader."""
        rules = (
            self.env["customer.service.rule"]
            .sudo()
            .search([("company_id", "in", self.company_id.ids)])
        )
        for request in self:
            team = self.env["customer.service.team"]
            user = self.env["res.users"]
            for rule in rules:
                if rule.company_id == request.company_id and rule._matches(request):
                    team, user = rule._assignee(request)
                    break
            # no rule, or nobody to give it to (a customer without salesperson,
            # a team without members): the service leader
            user = user or request.company_id.loyalty_service_user_id
            values = {}
            if team and not request.team_id:
                values["team_id"] = team.id
            if user:
                values["user_id"] = user.id
            if values:
                request.sudo().write(values)

    def _sales_team(self):
        """The sales team of the request's order, else the customer's
        salesperson's."""
        one_record(self)
        return self.order_id.team_id or self.salesperson_id.sudo().sale_team_id

    def action_assign(self):
        """Assign the requests again by the rules (the button on requests
        still unassigned)."""
        self.write({"user_id": False})
        self._assign()
        return True

    # ------------------------------------------------------------------
    # Escalation
    # ------------------------------------------------------------------
    @api.model
    def _escalation_batch_size(self):
        return int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(ESCALATION_BATCH_PARAM, DEFAULT_ESCALATION_BATCH)
        )

    @api.model
    def _cron_escalate(self):
        """Escalate the open requests past a deadline to their team leader
        (the company's service leader when the team has none): a to-do due
        today and a note on the request. Each request is escalated once per
        deadline: its level is raised in one UPDATE that no other run can
        repeat, so a job run twice, or two at once, escalates nothing twice.
        A batch per call; the cron framework commits and calls again while
        requests are left."""
        requests = self._escalate_batch(self._escalation_batch_size())
        self.env.cr.execute(
            SQL(
                "SELECT count(*) FROM customer_service_request r WHERE %s",
                self._escalation_due_sql(fields.Datetime.now()),
            )
        )
        self.env["ir.cron"]._notify_progress(
            done=len(requests), remaining=self.env.cr.fetchone()[0]
        )
        return requests

    @api.model
    def _escalation_due_sql(self, now):
        """The requests ``r`` to escalate at ``now``: open, past the
        resolution deadline and not escalated for it, or past the response
        deadline unanswered and not escalated at all."""
        return SQL(
            """NOT COALESCE(r.is_closed, FALSE)
               AND ((r.resolution_deadline < %(now)s
                     AND r.escalation IS DISTINCT FROM 'resolution')
                 OR (r.response_deadline < %(now)s
                     AND r.first_response_date IS NULL
                     AND r.escalation IS NULL))""",
            now=now,
        )

    @api.model
    def _escalate_batch(self, limit):
        now = fields.Datetime.now()
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                WITH due AS (
                    SELECT id FROM customer_service_request r
                     WHERE %(due)s
                     ORDER BY r.id
                     LIMIT %(limit)s
                       FOR UPDATE SKIP LOCKED
                )
                UPDATE customer_service_request r
                   SET escalation = CASE
                           WHEN r.resolution_deadline < %(now)s THEN 'resolution'
                           ELSE 'response' END,
                       escalation_date = %(now)s,
                       overdue_count = 1
                  FROM due
                 WHERE r.id = due.id
                RETURNING r.id
                """,
                due=self._escalation_due_sql(now),
                now=now,
                limit=limit,
            )
        )
        ids = sorted(row[0] for row in self.env.cr.fetchall())
        self.invalidate_model(["escalation", "escalation_date", "overdue_count"])
        requests = self.sudo().browse(ids)
        for request in requests:
            request._notify_escalation()
        return requests.sudo(False)

    def _notify_escalation(self):
        one_record(self)
        leader = self.team_id.leader_id or self.company_id._loyalty_service_leader()
        if self.escalation == "resolution":
            summary = self.env._("Escalated: request not solved in time")
        else:
            summary = self.env._("Escalated: customer not answered in time")
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            date_deadline=self.company_id._loyalty_today(),
            summary=summary,
            # the request's subject may be the customer's own text: escaped
            note=Markup("<p>%s</p>")
            % self.env._(
                "%(request)s of %(customer)s, assigned to %(user)s.",
                request=self.display_name,
                customer=self.partner_id.display_name,
                user=self.user_id.name or self.env._("nobody"),
            ),
            user_id=leader.id,
        )
        self.message_post(
            body=self.env._(
                "%(summary)s; escalated to %(leader)s.",
                summary=summary,
                leader=leader.name,
            ),
            message_type="notification",
            subtype_xmlid="mail.mt_note",
        )

    # ------------------------------------------------------------------
    # Compensation
    # ------------------------------------------------------------------
    def _compensate(self, points=0, program=None):
        """Compensate the customer of the complaint ``self``: ``points``
        bonus points (a ledger adjustment whose origin is the request) and/or
        a coupon of the coupon programme ``program``, each within the
        company's limits, once per request."""
        one_record(self)
        if not points and not program:
            return False
        if not self.is_complaint:
            raise UserError(self.env._("Only a complaint can be compensated."))
        if isinstance(points, bool) or not isinstance(points, int) or points < 0:
            raise UserError(
                self.env._("Compensation points are a whole number above 0.")
            )
        if not self.membership_id:
            # enrolled since the request came in
            self.sudo()._compute_membership_id()
        membership = self.membership_id
        if not membership:
            raise UserError(
                self.env._(
                    "%(customer)s is not a member of the programme: no points or "
                    "coupon can be given.",
                    customer=self.partner_id.display_name,
                )
            )
        value = self._coupon_value(program) if program else 0.0
        self._check_compensation_rights(membership, points, value)
        # the request's row is locked: a second compensation, even from
        # another transaction, sees the first and is refused
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT point_entry_id, coupon_id FROM customer_service_request
                    WHERE id = %s FOR UPDATE""",
                self.id,
            )
        )
        entry_id, coupon_id = self.env.cr.fetchone()
        if (points and entry_id) or (program and coupon_id):
            raise UserError(
                self.env._(
                    "%(request)s was already compensated.", request=self.display_name
                )
            )
        self._check_customer_compensation(membership, points, value)
        values = {
            "compensated_by_id": self.env.uid,
            "compensation_date": fields.Datetime.now(),
        }
        reason = self.env._("Compensation for %(request)s", request=self.display_name)
        if points:
            entry = self.env["customer.point.entry"]._post_adjustment(
                membership, points, reason, service_request=self
            )
            values.update(compensation_points=points, point_entry_id=entry[:1].id)
        if program:
            coupon = self.env["customer.coupon"]._issue(
                [
                    {
                        "membership": membership.sudo(),
                        "program": program.sudo(),
                        "validity_days": self.company_id.loyalty_service_coupon_days,
                        "origin": "service",
                        "service_request_id": self.id,
                    }
                ]
            )
            values.update(coupon_id=coupon.id, compensation_coupon_value=value)
        self.sudo().write(values)
        given = []
        if points:
            given.append(
                self.env._("%(points)s points", points=format_number(self.env, points))
            )
        if program:
            given.append(self.env._("coupon %(code)s", code=self.coupon_id.code))
        self.message_post(
            body=self.env._(
                "%(reason)s: %(given)s.", reason=reason, given=", ".join(given)
            ),
            message_type="notification",
            subtype_xmlid="mail.mt_note",
        )
        return True

    def _check_compensation_rights(self, membership, points, coupon_value):
        """Who may grant what, for the request ``self``:

        1. the company's service leader and loyalty managers may grant any
           amount within the customer's limit
           (``_check_customer_compensation``);
        2. anyone else must be allowed to see the member (a team member who
           handles the request of another salesperson's customer may not
           compensate them) and may not compensate a request they opened
           themselves (the programme itself, as superuser, may);
        3. nor grant more than the per-request limits of the settings.
        """
        company = self.company_id
        user = self.env.user
        if user.has_group("repeat_customer.group_manager") or (
            user == company._loyalty_service_leader()
        ):
            return
        if not self.env.su:
            self._check_compensation_by(user, membership)
        self._check_compensation_per_request(points, coupon_value)

    def _check_compensation_by(self, user, membership):
        """Refuse the compensation by ``user`` of a member they may not see,
        or of a request they opened themselves."""
        if not membership.has_access("read"):
            raise AccessError(
                self.env._(
                    "You cannot see the membership of %(customer)s: the service "
                    "leader or a loyalty manager compensates this complaint.",
                    customer=self.partner_id.display_name,
                )
            )
        if self.create_uid == user:
            raise AccessError(
                self.env._(
                    "You opened %(request)s yourself: its compensation is granted "
                    "by the service leader or a loyalty manager.",
                    request=self.display_name,
                )
            )

    def _check_compensation_per_request(self, points, coupon_value):
        """Refuse more than the per-request limits of the settings."""
        company = self.company_id
        if points > company.loyalty_service_max_points:
            raise UserError(
                self.env._(
                    "A complaint is compensated with at most %(limit)s points "
                    "(the limit set in the settings), not %(points)s: more needs "
                    "the service leader or a loyalty manager.",
                    limit=company.loyalty_service_max_points,
                    points=points,
                )
            )
        if coupon_value > company.loyalty_service_max_coupon:
            raise UserError(
                self.env._(
                    "A coupon of %(value)s is above the compensation limit of "
                    "%(limit)s set in the settings: a larger one needs the service "
                    "leader or a loyalty manager.",
                    value=coupon_value,
                    limit=company.loyalty_service_max_coupon,
                )
            )

    def _check_customer_compensation(self, membership, points, coupon_value):
        """Refuse a compensation that would take what the customer was given
        for complaints over the company's rolling period (counted back from
        now) above the company's per-customer limits, whoever grants it.

        The member's row is written first: of two compensations of one
        customer in concurrent transactions, the later one fails to
        serialize (and is retried by the server, then sees the first)."""
        company = self.company_id
        self.env.cr.execute(
            SQL(
                "UPDATE customer_membership SET write_date = write_date WHERE id = %s",
                membership.id,
            )
        )
        since = fields.Datetime.now() - timedelta(
            days=company.loyalty_service_limit_days
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT COALESCE(sum(compensation_points), 0),
                       COALESCE(sum(compensation_coupon_value), 0)
                  FROM customer_service_request
                 WHERE membership_id = %s AND compensation_date >= %s
                """,
                membership.id,
                since,
            )
        )
        given_points, given_value = self.env.cr.fetchone()
        days = company.loyalty_service_limit_days
        if points and given_points + points > company.loyalty_service_customer_points:
            raise UserError(
                self.env._(
                    "%(customer)s was given %(given)s points for complaints in the "
                    "last %(days)s days: %(points)s more would pass the limit of "
                    "%(limit)s points per customer set in the settings.",
                    customer=self.partner_id.display_name,
                    given=given_points,
                    days=days,
                    points=points,
                    limit=company.loyalty_service_customer_points,
                )
            )
        if (
            coupon_value
            and given_value + coupon_value > company.loyalty_service_customer_coupon
        ):
            raise UserError(
                self.env._(
                    "%(customer)s was given coupons of %(given)s for complaints in "
                    "the last %(days)s days: one of %(value)s more would pass the "
                    "limit of %(limit)s per customer set in the settings.",
                    customer=self.partner_id.display_name,
                    given=given_value,
                    days=days,
                    value=coupon_value,
                    limit=company.loyalty_service_customer_coupon,
                )
            )

    @api.model
    def _coupon_value(self, program):
        """The value of one coupon of ``program`` in its currency: the
        largest fixed discount of its rewards. A percentage or a free
        product has no fixed value and cannot compensate."""
        rewards = program.reward_ids
        if (
            program.program_type != "coupons"
            or not rewards
            or any(
                r.reward_type != "discount" or r.discount_mode != "per_order"
                for r in rewards
            )
        ):
            raise UserError(
                self.env._(
                    "%(program)s cannot compensate a complaint: choose a coupon "
                    "programme whose reward is a fixed amount off the order.",
                    program=program.name,
                )
            )
        return max(rewards.mapped("discount"))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_resolve(self):
        one_record(self)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Close Request"),
            "res_model": "customer.service.resolve.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_request_id": self.id},
        }

    def action_take(self):
        """Take the requests (the Assign to Me button)."""
        self.write({"user_id": self.env.uid})
        return True
