from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..tools.numbers import one_record

# the figures of the current company's membership are read as the user, per
# user: a salesperson sees those of their own customers only
AS_USER = {"compute_sudo": False, "depends_context": ("company", "uid")}


class ResPartner(models.Model):
    _inherit = "res.partner"

    loyalty_membership_ids = fields.One2many(
        "customer.membership", "partner_id", string="Memberships"
    )
    loyalty_membership_id = fields.Many2one(
        "customer.membership",
        string="Membership",
        compute="_compute_loyalty_membership_id",
        search="_search_loyalty_membership_id",
        help="The commercial entity's membership in the current company.",
    )
    loyalty_tier_id = fields.Many2one(
        related="loyalty_membership_id.tier_id", **AS_USER, string="Loyalty Tier"
    )
    loyalty_points_balance = fields.Integer(
        related="loyalty_membership_id.points_balance",
        **AS_USER,
        string="Points Available",
    )
    loyalty_points_pending = fields.Integer(
        related="loyalty_membership_id.points_pending",
        **AS_USER,
        string="Points Pending",
    )
    loyalty_points_expiring_soon = fields.Integer(
        related="loyalty_membership_id.points_expiring_soon",
        **AS_USER,
        string="Points Expiring Soon",
    )
    loyalty_points_expiring_date = fields.Date(
        related="loyalty_membership_id.points_expiring_date",
        **AS_USER,
        string="Next Expiry",
    )
    loyalty_segment_id = fields.Many2one(
        related="loyalty_membership_id.segment_id", **AS_USER, string="Segment"
    )
    loyalty_segment_color = fields.Integer(
        related="loyalty_membership_id.segment_id.color", **AS_USER
    )
    loyalty_churn_risk = fields.Selection(
        related="loyalty_membership_id.churn_risk", **AS_USER, string="Churn Risk"
    )
    loyalty_rfm_score = fields.Char(
        related="loyalty_membership_id.rfm_score", **AS_USER, string="RFM"
    )
    loyalty_churn_probability = fields.Float(
        related="loyalty_membership_id.churn_probability",
        **AS_USER,
        string="Churn Probability",
    )
    loyalty_expected_purchases_90d = fields.Float(
        related="loyalty_membership_id.expected_purchases_90d",
        **AS_USER,
        string="Expected Purchases (90 days)",
    )
    loyalty_first_order_date = fields.Date(
        related="loyalty_membership_id.first_order_date",
        **AS_USER,
        string="First Purchase",
    )
    loyalty_last_order_date = fields.Date(
        related="loyalty_membership_id.last_order_date",
        **AS_USER,
        string="Last Purchase",
    )
    loyalty_order_count = fields.Integer(
        related="loyalty_membership_id.order_count", **AS_USER, string="Orders"
    )
    loyalty_currency_id = fields.Many2one(
        related="loyalty_membership_id.currency_id",
        **AS_USER,
        string="Loyalty Currency",
    )
    loyalty_total_spent = fields.Monetary(
        related="loyalty_membership_id.total_spent",
        **AS_USER,
        string="Total Spent",
        currency_field="loyalty_currency_id",
    )
    loyalty_average_order_value = fields.Monetary(
        related="loyalty_membership_id.average_order_value",
        **AS_USER,
        string="Average Basket",
        currency_field="loyalty_currency_id",
    )

    loyalty_favourite_category_id = fields.Many2one(
        related="loyalty_membership_id.favourite_category_id",
        **AS_USER,
        string="Favourite Category",
    )
    loyalty_purchase_interval_days = fields.Float(
        related="loyalty_membership_id.purchase_interval_days",
        **AS_USER,
        string="Days Between Purchases",
    )
    loyalty_next_purchase_date = fields.Date(
        related="loyalty_membership_id.next_purchase_date",
        **AS_USER,
        string="Next Purchase Expected",
    )
    loyalty_preferred_weekday = fields.Selection(
        related="loyalty_membership_id.preferred_weekday",
        **AS_USER,
        string="Preferred Weekday",
    )
    loyalty_preferred_hour_band = fields.Selection(
        related="loyalty_membership_id.preferred_hour_band",
        **AS_USER,
        string="Preferred Time",
    )
    loyalty_promotion_share = fields.Float(
        related="loyalty_membership_id.promotion_share",
        **AS_USER,
        string="Orders with a Promotion (%)",
    )
    loyalty_profile_category_ids = fields.One2many(
        related="loyalty_membership_id.profile_category_ids",
        **AS_USER,
        string="Favourite Categories",
    )
    loyalty_preference_ids = fields.One2many(
        related="loyalty_membership_id.preference_ids",
        **AS_USER,
        readonly=False,
        string="Preferences",
    )
    loyalty_recommendation_ids = fields.One2many(
        related="loyalty_membership_id.recommendation_ids",
        **AS_USER,
        string="Recommended Products",
    )
    loyalty_feedback_count = fields.Integer(
        related="loyalty_membership_id.feedback_count",
        **AS_USER,
        string="Answered Surveys",
    )
    loyalty_service_request_count = fields.Integer(
        related="loyalty_membership_id.service_request_count",
        **AS_USER,
        string="Service Requests",
    )

    def write(self, vals):
        if "user_id" in vals:
            self._check_member_move(vals["user_id"])
        return super().write(vals)

    def _may_move_members(self):
        """Whether the user may give any member customer to another
        salesperson: a sales or loyalty manager (or the superuser)."""
        user = self.env.user
        return (
            self.env.su
            or user.has_group("sales_team.group_sale_manager")
            or user.has_group("repeat_customer.group_manager")
        )

    def _check_member_move(self, user_id=None):
        """A member's salesperson decides who sees the member (and redeems
        their points): only that salesperson or a manager may change it.
        Refuse it when one of the partners ``self`` is a member of a
        programme whose salesperson is someone else than the user (Odoo's
        *Contact Creation* right alone lets any user write a contact's
        salesperson). ``user_id``: the new salesperson (``None``: the
        partners are moved as a whole, by a merge)."""
        if self._may_move_members():
            return
        uid = self.env.uid
        # sudo: the user may not see the memberships this is about
        members = (
            self.env["customer.membership"]
            .sudo()
            .with_context(active_test=False)
            .search([("partner_id", "in", self.ids)])
            .partner_id
        )
        for partner in members:
            if user_id is not None and partner.user_id.id == (user_id or False):
                continue
            if partner.user_id.id != uid:
                raise AccessError(
                    self.env._(
                        "%(customer)s is a loyalty member of %(salesperson)s: only "
                        "their salesperson or a sales or loyalty manager may give "
                        "them to someone else.",
                        customer=partner.display_name,
                        salesperson=partner.user_id.name or self.env._("nobody"),
                    )
                )

    @api.depends_context("company", "uid")
    @api.depends("commercial_partner_id")
    def _compute_loyalty_membership_id(self):
        memberships_model = self.env["customer.membership"]
        if not memberships_model.has_access("read"):
            self.loyalty_membership_id = False
            return
        commercial = self.commercial_partner_id
        memberships = memberships_model.search(
            [
                ("partner_id", "in", commercial.ids),
                ("company_id", "=", self.env.company.id),
            ]
        )
        by_partner = {m.partner_id.id: m for m in memberships}
        for partner in self:
            partner.loyalty_membership_id = by_partner.get(
                partner.commercial_partner_id.id, False
            )

    def _search_loyalty_membership_id(self, operator, value):
        memberships_model = self.env["customer.membership"]
        if operator in ("=", "!=") and not value:
            members = memberships_model.search(
                [("company_id", "=", self.env.company.id)]
            )
            return [
                (
                    "commercial_partner_id",
                    "not in" if operator == "=" else "in",
                    members.partner_id.ids,
                )
            ]
        if operator not in ("=", "in"):
            raise UserError(
                self.env._(
                    "Searching memberships with %(operator)s is not supported.",
                    operator=operator,
                )
            )
        members = memberships_model.search(
            [("id", operator, value), ("company_id", "=", self.env.company.id)]
        )
        return [("commercial_partner_id", "in", members.partner_id.ids)]

    def action_view_loyalty_membership(self):
        one_record(self)
        membership = self.loyalty_membership_id
        if not membership:
            return self.action_loyalty_enrol()
        return {
            "type": "ir.actions.act_window",
            "res_model": "customer.membership",
            "res_id": membership.id,
            "view_mode": "form",
            "name": membership.display_name,
        }

    def action_view_loyalty_points(self):
        one_record(self)
        return self.loyalty_membership_id.action_view_points()

    def action_view_loyalty_feedback(self):
        one_record(self)
        return self.loyalty_membership_id.action_view_feedback()

    def action_view_loyalty_service_requests(self):
        one_record(self)
        return self.loyalty_membership_id.action_view_service_requests()

    def action_view_loyalty_orders(self):
        one_record(self)
        return self.loyalty_membership_id.action_view_orders()

    def action_loyalty_enrol(self):
        """Enrol the customer by hand in the current company's programme."""
        one_record(self)
        memberships_model = self.env["customer.membership"]
        memberships_model.check_access("create")
        # the enrolment inserts by SQL, which the record rules do not see: a
        # salesperson may enrol their own customers only, so the new
        # membership must pass the rules of creating it, or nothing is kept
        with self.env.cr.savepoint():
            membership = memberships_model._enrol_partners(self.env.company, self)
            if not membership or not membership.has_access("create"):
                raise AccessError(
                    self.env._(
                        "%(customer)s is not one of your customers: ask their "
                        "salesperson or a loyalty manager to enrol them.",
                        customer=self.commercial_partner_id.display_name,
                    )
                )
        membership._refresh_figures(full=True)
        return {
            "type": "ir.actions.act_window",
            "res_model": "customer.membership",
            "res_id": membership.id,
            "view_mode": "form",
            "name": membership.display_name,
        }
