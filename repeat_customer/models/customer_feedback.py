"""Satisfaction surveys after a purchase: a tokenised link mailed to the
customer, one answer (NPS 0-10 and/or CSAT 1-5 and a comment), and a low
score that reaches a person the same day."""

import re
import secrets

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..tools import feedback as decide
from ..tools.numbers import one_record

QUESTIONS = [
    ("nps", "Recommendation (NPS 0-10)"),
    ("csat", "Satisfaction (CSAT 1-5)"),
    ("both", "Both"),
]
NPS_GROUPS = [
    ("promoter", "Promoter"),
    ("passive", "Passive"),
    ("detractor", "Detractor"),
]
# what a link's token may be: URL-safe base64, as secrets.token_urlsafe makes
SURVEY_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,100}")
# the token's length in bytes (43 URL-safe characters)
TOKEN_BYTES = 32


class CustomerFeedback(models.Model):
    """A satisfaction survey of a member about an order, and its answer.

    Odoo's ``rating.rating`` is not used for the answer: its tokens never
    expire and accept a second rating (the customer may change it), and its
    0-5 scale cannot hold an NPS. The token here is unguessable
    (``secrets``), expires, is bound to the order and takes one answer."""

    _name = "customer.feedback"
    _description = "Loyalty Satisfaction Survey"
    _inherit = ["mail.thread", "mail.activity.mixin", "customer.values.mixin"]
    _order = "id desc"
    _check_company_auto = True
    _sql_constraints = [
        ("token_unique", "UNIQUE(token)", "A survey link is unique."),
        (
            "order_unique",
            "UNIQUE(order_id)",
            "An order has one satisfaction survey.",
        ),
        (
            "nps_range",
            "CHECK(nps IS NULL OR nps BETWEEN 0 AND 10)",
            "The recommendation score is between 0 and 10.",
        ),
        (
            "csat_range",
            "CHECK(csat IS NULL OR csat BETWEEN 1 AND 5)",
            "The satisfaction score is between 1 and 5.",
        ),
    ]

    company_id = fields.Many2one(
        "res.company", string="Company", required=True, readonly=True, index=True
    )
    membership_id = fields.Many2one(
        "customer.membership",
        string="Member",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    partner_id = fields.Many2one(
        related="membership_id.partner_id", string="Customer", store=True
    )
    user_id = fields.Many2one(
        related="membership_id.user_id", string="Salesperson", store=True
    )
    order_id = fields.Many2one(
        "sale.order",
        string="Order",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        check_company=True,
        help="The order the survey asks about.",
    )
    category_id = fields.Many2one(
        "product.category",
        string="Main Category",
        readonly=True,
        help="The category the order spent most on.",
    )
    questions = fields.Selection(
        QUESTIONS, string="Questions", required=True, readonly=True, default="both"
    )
    token = fields.Char(
        string="Token", readonly=True, copy=False, groups="base.group_system"
    )
    survey_url = fields.Char(
        string="Survey Link",
        compute="_compute_survey_url",
        compute_sudo=True,
        # the link answers as the customer: it goes into the customer's mail
        # (rendered as superuser), never to staff, who see the survey's state
        groups="base.group_system",
        help="The page where the customer answers; for the mail templates.",
    )
    expiry_date = fields.Date(string="Answer Before", required=True, readonly=True)
    state = fields.Selection(
        [("pending", "Waiting"), ("answered", "Answered")],
        string="Status",
        required=True,
        readonly=True,
        default="pending",
        index=True,
        tracking=True,
    )
    answer_date = fields.Datetime(string="Answered On", readonly=True)
    nps = fields.Integer(
        string="Recommendation (0-10)", readonly=True, aggregator="avg"
    )
    nps_group = fields.Selection(NPS_GROUPS, string="NPS Group", readonly=True)
    nps_value = fields.Integer(
        string="NPS",
        readonly=True,
        aggregator="avg",
        help="+100 for a promoter (9-10), 0 for a passive (7-8), -100 for a "
        "detractor (0-6): averaged over answers, the Net Promoter Score.",
    )
    csat = fields.Integer(string="Satisfaction (1-5)", readonly=True, aggregator="avg")
    comment = fields.Text(string="Comment", readonly=True)
    is_low_score = fields.Boolean(
        string="Low Score",
        readonly=True,
        index=True,
        help="At or below the company's thresholds: someone was asked to call.",
    )
    segment_id = fields.Many2one(
        "customer.segment",
        string="Segment",
        readonly=True,
        help="The member's segment when they answered.",
    )
    tier_id = fields.Many2one(
        "customer.tier",
        string="Tier",
        readonly=True,
        help="The member's tier when they answered.",
    )
    service_request_ids = fields.One2many(
        "customer.service.request", "feedback_id", string="Service Requests"
    )
    service_request_count = fields.Integer(
        string="Requests", compute="_compute_service_request_count"
    )

    @api.depends("token")
    def _compute_survey_url(self):
        for feedback in self:
            feedback.survey_url = (
                f"{feedback.get_base_url()}/loyalty/feedback/{feedback.token}"
                if feedback.token
                else False
            )

    @api.depends("service_request_ids")
    def _compute_service_request_count(self):
        for feedback in self:
            feedback.service_request_count = len(feedback.service_request_ids)

    @api.depends("order_id", "partner_id")
    def _compute_display_name(self):
        for feedback in self:
            feedback.display_name = self.env._(
                "Survey of %(order)s",
                order=feedback.order_id.name or feedback.partner_id.display_name,
            )

    # ------------------------------------------------------------------
    # Requests
    # ------------------------------------------------------------------
    @api.model
    def _request(self, memberships, orders, questions="both"):
        """One survey per member of ``memberships`` about the order at the
        same position in ``orders`` (an empty record: no order), valid for
        the company's survey validity from its today; returns them, in that
        order. An order that already has a survey keeps it (the same record
        is returned), so a campaign run again asks once."""
        if len(memberships) != len(orders):
            raise ValueError("one order per membership")
        existing = {
            f.order_id.id: f
            for f in self.search([("order_id", "in", [o.id for o in orders if o])])
        }
        result = self.browse()
        to_create = []
        for membership, order in zip(memberships, orders, strict=True):
            if order and order.id in existing:
                continue
            company = membership.company_id
            to_create.append(
                {
                    "membership_id": membership.id,
                    "company_id": company.id,
                    "order_id": order.id or False,
                    "category_id": self._main_category(order).id,
                    "questions": questions,
                    "token": secrets.token_urlsafe(TOKEN_BYTES),
                    "expiry_date": fields.Date.add(
                        company._loyalty_today(),
                        days=company.loyalty_survey_validity_days,
                    ),
                }
            )
        created = iter(self.sudo().create(to_create).sudo(False))
        for order in orders:
            # concatenated, not united: two deliveries may share a survey
            if order and order.id in existing:
                result += existing[order.id]
            else:
                result += next(created)
        return result

    @api.model
    def _main_category(self, order):
        """The category ``order`` spent most on (its untaxed amount)."""
        totals = {}
        for line in order.order_line.filtered(
            lambda line: not line.display_type and line.product_id
        ):
            category = line.product_id.categ_id
            totals[category] = totals.get(category, 0.0) + line.price_subtotal
        return (
            max(totals, key=lambda c: (totals[c], -c.id))
            if totals
            else self.env["product.category"]
        )

    # ------------------------------------------------------------------
    # Answer
    # ------------------------------------------------------------------
    @api.model
    def _find_by_token(self, token):
        """The survey of ``token`` (sudo: the caller is the public route,
        which checks the state and expiry), or an empty record."""
        if not isinstance(token, str) or not SURVEY_TOKEN.fullmatch(token):
            # a link we never made (a NUL byte, another alphabet): no survey
            return self.browse()
        return self.sudo().search([("token", "=", token)], limit=1)

    def _is_expired(self):
        one_record(self)
        return self.company_id._loyalty_today() > self.expiry_date

    def _answer(self, nps=None, csat=None, comment=None):
        """Record the customer's answer to the survey ``self``, once:

        1. the scores asked for are required and within range
           (``ValidationError``);
        2. one atomic UPDATE from Waiting to Answered: a second answer, even
           posted at the same time from another request, changes nothing and
           returns False;
        3. the member's segment and tier are kept with the answer, for the
           reports;
        4. a low score (the company's thresholds) schedules a call for the
           member's salesperson, or the company's service leader, due today.

        Returns True when the answer was recorded."""
        one_record(self)
        if self.questions in ("nps", "both") and not _within(nps, decide.NPS_RANGE):
            raise ValidationError(self.env._("Choose a score from 0 to 10."))
        if self.questions in ("csat", "both") and not _within(csat, decide.CSAT_RANGE):
            raise ValidationError(self.env._("Choose a satisfaction from 1 to 5."))
        if self.questions == "csat":
            nps = None
        if self.questions == "nps":
            csat = None
        company = self.company_id
        low = decide.is_low(
            nps, csat, company.loyalty_survey_low_nps, company.loyalty_survey_low_csat
        )
        membership = self.membership_id
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_feedback
                   SET state = 'answered', answer_date = now() AT TIME ZONE 'UTC',
                       nps = %(nps)s, nps_group = %(group)s, nps_value = %(value)s,
                       csat = %(csat)s, comment = %(comment)s,
                       is_low_score = %(low)s,
                       segment_id = %(segment)s, tier_id = %(tier)s
                 WHERE id = %(id)s AND state = 'pending'
                RETURNING id
                """,
                nps=nps,
                group=decide.nps_group(nps),
                value=decide.nps_value(nps),
                csat=csat,
                comment=(comment or "").strip()[:4000] or None,
                low=low,
                segment=membership.segment_id.id or None,
                tier=membership.tier_id.id or None,
                id=self.id,
            )
        )
        if not self.env.cr.fetchone():
            return False
        self.invalidate_recordset()
        if low:
            self._notify_low_score()
            if company.loyalty_survey_open_request:
                self._open_service_request(raise_if_no_type=False)
        return True

    def _notify_low_score(self):
        """A to-do due today on the survey for the member's salesperson (the
        company's service leader when they have none, else the
        administrator), with the answer."""
        one_record(self)
        user = self.membership_id.user_id or self.company_id._loyalty_service_leader()
        # the comment is a visitor's text: escaped (Markup's %), so that no
        # link or image of theirs is live in the salesperson's to-do
        note = Markup("<p>%s</p>") % " ".join(
            part for part in (self._answer_summary(), self.comment) if part
        )
        self.sudo().activity_schedule(
            "mail.mail_activity_data_todo",
            date_deadline=self.company_id._loyalty_today(),
            summary=self.env._("Call back: low satisfaction score"),
            note=note,
            user_id=user.id,
        )

    def _answer_summary(self):
        """The scores of the answer, in words (a score not asked: -)."""
        one_record(self)
        return self.env._(
            "Recommendation: %(nps)s, satisfaction: %(csat)s.",
            nps=self.nps if self.questions != "csat" else "-",
            csat=self.csat if self.questions != "nps" else "-",
        )

    # ------------------------------------------------------------------
    # Service requests
    # ------------------------------------------------------------------
    def _open_service_request(self, raise_if_no_type=True):
        """A complaint about the survey's order, with the customer's answer,
        assigned by the service rules (sudo: the public answer opens it).
        Returns it, or the survey's open request if it has one."""
        one_record(self)
        feedback = self.sudo()
        existing = feedback.service_request_ids.filtered(lambda r: not r.is_closed)
        if existing:
            return existing[:1]
        company = feedback.company_id
        complaint = (
            self.env["customer.service.type"]
            .sudo()
            .search(
                [
                    ("is_complaint", "=", True),
                    ("company_id", "in", [False, company.id]),
                ],
                limit=1,
            )
        )
        if not complaint:
            if raise_if_no_type:
                raise UserError(
                    self.env._(
                        "There is no complaint type of service request: add one "
                        "(Configuration > Request Types)."
                    )
                )
            return self.env["customer.service.request"]
        answer = feedback._answer_summary()
        product = feedback.order_id.order_line.filtered(
            lambda line: line.product_id and not line.display_type
        )[:1].product_id
        return (
            self.env["customer.service.request"]
            .sudo()
            .with_company(company)
            .create(
                {
                    "name": self.env._(
                        "Low satisfaction: %(order)s",
                        order=feedback.order_id.name or feedback.partner_id.name,
                    ),
                    "description": "\n\n".join(
                        part for part in (answer, feedback.comment) if part
                    ),
                    "company_id": company.id,
                    "partner_id": feedback.partner_id.id,
                    "type_id": complaint.id,
                    "order_id": feedback.order_id.id,
                    "product_id": product.id,
                    "feedback_id": feedback.id,
                    "channel": "survey",
                    "priority": "1",
                }
            )
            .sudo(False)
        )

    def action_open_service_request(self):
        """The button on a survey: open (or show) its complaint."""
        one_record(self)
        if self.state != "answered":
            raise UserError(
                self.env._("The customer has not answered this survey yet.")
            )
        self.env["customer.service.request"].check_access("create")
        request = self._open_service_request()
        return {
            "type": "ir.actions.act_window",
            "res_model": "customer.service.request",
            "res_id": request.id,
            "view_mode": "form",
        }

    def action_view_service_requests(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_service_request_action"
        )
        action["domain"] = [("feedback_id", "=", self.id)]
        return action


def _within(value, bounds):
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and bounds[0] <= value <= bounds[1]
    )
