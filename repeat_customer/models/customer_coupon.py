import logging
import secrets

from psycopg2.extras import Json

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..tools.numbers import one_record
from .customer_job_mixin import retry_on_conflict

_logger = logging.getLogger(__name__)

# no 0/O, 1/I/L, U: codes are read aloud and typed from paper
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16  # 30^16 ≈ 2^78 possible codes
CODE_PREFIX = "RC"

# coupon mails rendered per call of the mailing job (rendering costs about
# 30 ms a mail), and coupons marked expired per call of the expiry job
MAIL_BATCH_PARAM = "repeat_customer.coupon_mail_batch_size"
DEFAULT_MAIL_BATCH = 500
EXPIRY_BATCH_PARAM = "repeat_customer.coupon_expiry_batch_size"
DEFAULT_EXPIRY_BATCH = 50000

ORIGIN_SELECTION = [
    ("reward", "Reward redeemed with points"),
    ("batch", "Coupon batch"),
    ("tier", "Tier reward"),
    ("campaign", "Campaign"),
    ("service", "Complaint compensation"),
]


class CustomerCoupon(models.Model):
    """A native coupon (``loyalty.card``) issued to a member by the loyalty
    programme, and what became of it: used on which order, for how much."""

    _name = "customer.coupon"
    _inherit = ["customer.job.mixin", "customer.values.mixin"]
    _description = "Loyalty Coupon Issued"
    _order = "issue_date desc, id desc"
    _rec_name = "code"
    _check_company_auto = True

    card_id = fields.Many2one(
        "loyalty.card",
        string="Coupon",
        required=True,
        readonly=True,
        ondelete="cascade",
        index=True,
    )
    code = fields.Char(related="card_id.code", string="Code", store=True)
    program_id = fields.Many2one(
        related="card_id.program_id", string="Coupon Programme", store=True
    )
    membership_id = fields.Many2one(
        "customer.membership",
        string="Membership",
        required=True,
        readonly=True,
        index=True,
        ondelete="restrict",
    )
    company_id = fields.Many2one(
        related="membership_id.company_id", store=True, index=True
    )
    partner_id = fields.Many2one(
        related="membership_id.partner_id", string="Customer", store=True
    )
    user_id = fields.Many2one(
        related="membership_id.user_id", string="Salesperson", store=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    origin = fields.Selection(
        selection=ORIGIN_SELECTION, string="Issued For", required=True, readonly=True
    )
    reward_id = fields.Many2one(
        "customer.reward", string="Reward", readonly=True, index="btree_not_null"
    )
    batch_id = fields.Many2one(
        "customer.coupon.batch",
        string="Batch",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
    )
    batch_index = fields.Integer(
        string="Number in Batch",
        readonly=True,
        help="1 for the first coupon of this customer in the batch, 2 for the "
        "second… Issuing a batch again never issues a number twice.",
    )
    tier_change_id = fields.Many2one(
        "customer.tier.change",
        string="Tier Change",
        readonly=True,
        index="btree_not_null",
    )
    campaign_delivery_id = fields.Many2one(
        "customer.campaign.delivery",
        string="Campaign Delivery",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
    )
    service_request_id = fields.Many2one(
        "customer.service.request",
        string="Service Request",
        readonly=True,
        index="btree_not_null",
        ondelete="restrict",
    )
    point_entry_id = fields.Many2one(
        "customer.point.entry",
        string="Points Redemption",
        readonly=True,
        index="btree_not_null",
    )
    points_cost = fields.Integer(
        related="point_entry_id.points", string="Points Spent (signed)"
    )
    issue_date = fields.Date(string="Issued On", required=True, readonly=True)
    expiration_date = fields.Date(
        related="card_id.expiration_date", string="Expires On", store=True
    )
    state = fields.Selection(
        selection=[
            ("issued", "Not used"),
            ("used", "Used"),
            ("expired", "Expired"),
            ("cancelled", "Cancelled"),
        ],
        string="Status",
        default="issued",
        required=True,
        readonly=True,
        index=True,
    )
    used_date = fields.Date(string="Used On", readonly=True)
    order_id = fields.Many2one(
        "sale.order", string="Used on Order", readonly=True, index="btree_not_null"
    )
    order_amount = fields.Monetary(
        string="Order Amount",
        currency_field="currency_id",
        readonly=True,
        help="Untaxed amount, in company currency, of the order the coupon was "
        "used on.",
    )
    used_count = fields.Integer(
        string="Used",
        readonly=True,
        aggregator="sum",
        help="1 when the coupon was used: its sum is the number of coupons used.",
    )
    redemption_rate = fields.Float(
        string="Redemption Rate (%)",
        readonly=True,
        aggregator="avg",
        digits=(16, 1),
        help="100 when the coupon was used, 0 otherwise: its average over a "
        "group is the share of coupons used.",
    )
    mail_state = fields.Selection(
        selection=[
            ("to_send", "To mail"),
            ("sent", "Mailed"),
            ("opted_out", "Not mailed: opted out"),
            ("no_email", "Not mailed: no email"),
            ("no_template", "Not mailed: no template"),
        ],
        string="Mail",
        readonly=True,
    )
    portal_token = fields.Char(
        string="Portal Form Token",
        readonly=True,
        copy=False,
        groups="base.group_system",
        help="The one-time token of the portal form that redeemed this coupon: "
        "the same form submitted twice redeems once.",
    )

    _sql_constraints = [
        (
            "portal_token_uniq",
            "unique(membership_id, portal_token)",
            "A portal form redeems one reward.",
        ),
        ("card_uniq", "unique(card_id)", "A coupon is issued only once."),
        (
            "batch_member_uniq",
            "unique(batch_id, membership_id, batch_index)",
            "A batch issues each of its coupons once per customer.",
        ),
        (
            "tier_change_uniq",
            "unique(tier_change_id)",
            "A tier reward is issued once per tier change.",
        ),
        (
            "campaign_delivery_uniq",
            "unique(campaign_delivery_id)",
            "A campaign issues one coupon per delivery.",
        ),
        (
            "service_request_uniq",
            "unique(service_request_id)",
            "A complaint is compensated with one coupon.",
        ),
    ]

    @api.model
    def _usage_counts(self, fname, records):
        """{record: (coupons issued, coupons used)} for the coupons whose
        ``fname`` (reward_id, batch_id) is one of ``records``."""
        groups = self._read_group(
            [(fname, "in", records.ids)], [fname, "state"], ["__count"]
        )
        counts = {}
        for record, state, count in groups:
            issued, used = counts.get(record, (0, 0))
            counts[record] = (issued + count, used + (count if state == "used" else 0))
        return counts

    # ------------------------------------------------------------------
    # Issuing
    # ------------------------------------------------------------------
    @api.model
    def _generate_code(self):
        """A new coupon code, from the operating system's cryptographic
        source (the policy an addon overrides for codes of its own)."""
        body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        return f"{CODE_PREFIX}{body}"

    @api.model
    def _new_codes(self, count):
        """``count`` coupon codes that no coupon of the database uses."""
        codes = set()
        while len(codes) < count:
            wanted = {self._generate_code() for _ in range(count - len(codes))} - codes
            self.env.cr.execute(
                SQL("SELECT code FROM loyalty_card WHERE code = ANY(%s)", list(wanted))
            )
            taken = {code for (code,) in self.env.cr.fetchall()}
            codes |= wanted - taken
        return list(codes)

    @api.model
    def _issue(self, vals_list, send_mail="now"):
        """Issue one native coupon per dict of ``vals_list`` and record it.

        Keys: ``membership`` (record), ``program`` (loyalty.program of type
        coupons), ``validity_days`` (0: no expiry), ``origin`` and the optional
        ``reward_id``, ``batch_id``, ``batch_index``, ``tier_change_id``,
        ``campaign_delivery_id``, ``service_request_id``, ``point_entry_id``.
        The coupon is reserved
        for the member's customer and mailed with the programme's template
        unless the member opted out:
        ``send_mail="now"``, or ``"later"`` by the mailing job (rendering a
        mail costs far more than issuing a coupon: batches mail afterwards,
        in chunks), or ``False``.
        """
        if not vals_list:
            return self.browse()
        cards_model = (
            self.env["loyalty.card"]
            .sudo()
            .with_context(
                loyalty_no_mail=True,
                tracking_disable=True,
                mail_create_nolog=True,
                mail_create_nosubscribe=True,
            )
        )
        codes = self._new_codes(len(vals_list))
        card_vals, coupon_vals = [], []
        today_per_company = {}
        for vals, code in zip(vals_list, codes, strict=True):
            membership = vals["membership"]
            program = vals["program"]
            if program.program_type != "coupons" or not program.reward_ids:
                raise UserError(
                    self.env._(
                        "%(program)s is not a coupon programme with a reward: it "
                        "cannot issue coupons.",
                        program=program.name,
                    )
                )
            if program.company_id and program.company_id != membership.company_id:
                raise UserError(
                    self.env._(
                        "The coupon programme %(program)s belongs to another company.",
                        program=program.name,
                    )
                )
            company = membership.company_id
            if company not in today_per_company:
                today_per_company[company] = company._loyalty_today()
            today = today_per_company[company]
            validity = vals.get("validity_days") or 0
            card_vals.append(
                {
                    "program_id": program.id,
                    "partner_id": membership.partner_id.id,
                    "code": code,
                    # enough points for any one reward of the programme
                    "points": max(program.reward_ids.mapped("required_points")),
                    "expiration_date": fields.Date.add(today, days=validity)
                    if validity
                    else False,
                }
            )
            coupon_vals.append(
                {
                    "membership_id": membership.id,
                    "origin": vals["origin"],
                    "reward_id": vals.get("reward_id"),
                    "batch_id": vals.get("batch_id"),
                    "batch_index": vals.get("batch_index"),
                    "tier_change_id": vals.get("tier_change_id"),
                    "campaign_delivery_id": vals.get("campaign_delivery_id"),
                    "service_request_id": vals.get("service_request_id"),
                    "point_entry_id": vals.get("point_entry_id"),
                    "issue_date": today,
                }
            )
        cards = cards_model.create(card_vals)
        for vals, card in zip(coupon_vals, cards, strict=True):
            vals["card_id"] = card.id
        coupons = self.sudo().create(coupon_vals)
        if send_mail == "later":
            coupons.write({"mail_state": "to_send"})
            self.env.ref("repeat_customer.ir_cron_send_coupon_mails").sudo()._trigger()
        elif send_mail:
            coupons._send_coupon_mails()
        return coupons.with_env(self.env)

    def _mail_skip_reason(self):
        """Why this coupon is not mailed (None: it is)."""
        one_record(self)
        partner = self.partner_id
        if self.membership_id.marketing_opt_out or partner.is_blacklisted:
            return "opted_out"
        if not partner.email:
            return "no_email"
        return None

    def _send_coupon_mails(self):
        """Mail each coupon's code with its programme's coupon template to
        the customers who did not opt out; record what was done."""
        by_template = {}
        states = {}
        for coupon in self.sudo():
            reason = coupon._mail_skip_reason()
            template = coupon.card_id._get_default_template() if not reason else None
            if not reason and not template:
                reason = "no_template"
            if reason:
                states.setdefault(reason, []).append(coupon.id)
                continue
            by_template.setdefault(template, []).append(coupon)
            states.setdefault("sent", []).append(coupon.id)
        for template, coupons in by_template.items():
            # sudo: the customers' own portal redemptions mail them too, and
            # portal users cannot read coupon programmes; the coupons are
            # the member's own and the template is the programme's
            template.sudo().with_context(
                repeat_customer_pdf_optional=True
            ).send_mail_batch(
                [coupon.card_id.id for coupon in coupons],
                email_layout_xmlid="mail.mail_notification_light",
            )
        for state, ids in states.items():
            self.browse(ids).sudo().write({"mail_state": state})

    # ------------------------------------------------------------------
    # Use
    # ------------------------------------------------------------------
    @api.model
    def _track_orders(self, orders):
        """Record on the coupons applied to ``orders`` whether they are now
        used (confirmed order) or free again (cancelled order)."""
        if not orders:
            return
        self.env["sale.order"].flush_model(["state", "amount_untaxed", "currency_rate"])
        self.env["sale.order.line"].flush_model(["coupon_id", "order_id"])
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_coupon c
                   SET state = 'used', used_count = 1, redemption_rate = 100,
                       order_id = o.id,
                       -- the day of the order in its company's time zone
                       used_date = (o.date_order AT TIME ZONE 'UTC'
                                    AT TIME ZONE (%(tz)s::jsonb
                                                  ->> o.company_id::text))::date,
                       order_amount = round(
                           (o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1)
                           )::numeric, 2)
                  FROM sale_order_line l
                  JOIN sale_order o ON o.id = l.order_id
                 WHERE l.order_id = ANY(%(ids)s) AND l.coupon_id = c.card_id
                   AND o.state = 'sale' AND c.state IN ('issued', 'expired')
                """,
                ids=orders.ids,
                tz=Json({str(c.id): c._loyalty_tz() for c in orders.company_id}),
            )
        )
        touched = self.env.cr.rowcount
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_coupon c
                   SET state = CASE WHEN c.expiration_date < (%(todays)s::jsonb
                                             ->> c.company_id::text)::date
                                    THEN 'expired' ELSE 'issued' END,
                       used_count = 0, redemption_rate = 0,
                       order_id = NULL, used_date = NULL, order_amount = 0
                  FROM sale_order o
                 WHERE c.order_id = o.id AND o.id = ANY(%(ids)s)
                   AND o.state = 'cancel'
                """,
                ids=orders.ids,
                todays=Json(orders.company_id._loyalty_todays()),
            )
        )
        if touched or self.env.cr.rowcount:
            self.invalidate_model()

    def action_cancel(self):
        """Withdraw unused coupons; a coupon bought with points gives them
        back."""
        if not self.env.user.has_group("repeat_customer.group_manager"):
            raise UserError(self.env._("Only loyalty managers can cancel coupons."))
        for coupon in self:
            if coupon.state == "used":
                raise UserError(
                    self.env._(
                        "Coupon %(code)s was used on %(order)s: it cannot be "
                        "cancelled.",
                        code=coupon.code,
                        order=coupon.order_id.name,
                    )
                )
        coupons = self.filtered(lambda c: c.state != "cancelled").sudo()
        if (
            self.env["sale.order.line"]
            .sudo()
            .search_count([("coupon_id", "in", coupons.card_id.ids)], limit=1)
        ):
            raise UserError(
                self.env._(
                    "A coupon to cancel is applied on a quotation: remove it "
                    "from the quotation first."
                )
            )
        coupons.card_id.write({"points": 0, "active": False})
        entries = coupons.point_entry_id.filtered(lambda e: not e.reversal_ids)
        if entries:
            self.env["customer.point.entry"]._reverse(entries)
        coupons.write({"state": "cancelled", "used_count": 0, "redemption_rate": 0})
        return True

    def action_open_card(self):
        one_record(self)
        return {
            "type": "ir.actions.act_window",
            "res_model": "loyalty.card",
            "res_id": self.card_id.id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------
    # Cron
    # ------------------------------------------------------------------
    @api.model
    @retry_on_conflict
    def _cron_send_coupon_mails(self):
        """Mail the coupons issued by batches and tier rewards, one chunk per
        call; return how many are left."""
        limit = self._job_batch_size(MAIL_BATCH_PARAM, DEFAULT_MAIL_BATCH)
        coupons = self.sudo().search(
            [("mail_state", "=", "to_send")], order="id", limit=limit
        )
        coupons._send_coupon_mails()
        remaining = self.sudo().search_count([("mail_state", "=", "to_send")])
        self._job_progress(len(coupons), remaining)
        return remaining

    @api.model
    @retry_on_conflict
    def _cron_expire_coupons(self):
        """Mark the coupons past their expiry date as expired, one batch per
        call; return how many are left."""
        limit = self._job_batch_size(EXPIRY_BATCH_PARAM, DEFAULT_EXPIRY_BATCH)
        # each company's coupons expire after its own today
        todays = Json(self.env["res.company"].sudo().search([])._loyalty_todays())
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
                UPDATE customer_coupon SET state = 'expired'
                 WHERE id IN (SELECT id FROM customer_coupon
                               WHERE state = 'issued'
                                 AND expiration_date < (%(todays)s::jsonb
                                                        ->> company_id::text)::date
                               ORDER BY id LIMIT %(limit)s)
                """,
                todays=todays,
                limit=limit,
            )
        )
        done = self.env.cr.rowcount
        self.env.cr.execute(
            SQL(
                """
                SELECT count(*) FROM customer_coupon
                 WHERE state = 'issued'
                   AND expiration_date < (%(todays)s::jsonb
                                          ->> company_id::text)::date
                """,
                todays=todays,
            )
        )
        remaining = self.env.cr.fetchone()[0]
        self.invalidate_model(["state"])
        self._job_progress(done, remaining)
        return remaining
