from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.numbers import one_record


class CustomerServiceRule(models.Model):
    """Who gets a new request: the first active rule, in sequence, whose
    conditions all hold (an empty condition holds for every request) gives
    it to its user, or to its team's members in turn."""

    _name = "customer.service.rule"
    _inherit = ["customer.values.mixin"]
    _description = "Service Request Assignment Rule"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(string="Rule", required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    type_ids = fields.Many2many(
        "customer.service.type",
        string="Types",
        help="The request is of one of these types (empty: any).",
    )
    category_ids = fields.Many2many(
        "product.category",
        string="Product Categories",
        help="The request's product is in one of these categories or their "
        "subcategories (empty: any, with or without a product).",
    )
    salesperson_ids = fields.Many2many(
        "res.users",
        "customer_service_rule_salesperson_rel",
        "rule_id",
        "user_id",
        string="Customer's Salespeople",
        help="The customer's salesperson is one of them (empty: any).",
    )
    sales_team_ids = fields.Many2many(
        "crm.team",
        string="Customer's Sales Teams",
        help="The sales team of the request's order (or else of the customer's "
        "salesperson) is one of them (empty: any).",
    )
    assign_to = fields.Selection(
        [
            ("team", "The team's members in turn"),
            ("user", "A user"),
            ("salesperson", "The customer's salesperson"),
        ],
        string="Assign To",
        required=True,
        default="team",
    )
    team_id = fields.Many2one(
        "customer.service.team", string="Team", check_company=True, ondelete="cascade"
    )
    user_id = fields.Many2one(
        "res.users", string="User", domain=[("share", "=", False)]
    )

    @api.constrains("assign_to", "team_id", "user_id")
    def _check_target(self):
        for rule in self:
            if rule.assign_to == "team" and not rule.team_id:
                raise ValidationError(
                    self.env._("%(rule)s: choose the team.", rule=rule.name)
                )
            if rule.assign_to == "user" and not rule.user_id:
                raise ValidationError(
                    self.env._("%(rule)s: choose the user.", rule=rule.name)
                )
            if rule.user_id.share:
                raise ValidationError(
                    self.env._(
                        "%(rule)s: requests go to internal users, not portal users.",
                        rule=rule.name,
                    )
                )

    def _matches(self, request):
        """Whether every condition of the rule ``self`` holds for ``request``."""
        one_record(self)
        salesperson = request.salesperson_id
        if self.type_ids and request.type_id not in self.type_ids:
            return False
        if self.category_ids:
            category = request.product_id.categ_id
            # parent_path: "1/4/9/", the category and its ancestors
            ancestors = {int(c) for c in (category.parent_path or "").split("/") if c}
            if not ancestors & set(self.category_ids.ids):
                return False
        if self.salesperson_ids and salesperson not in self.salesperson_ids:
            return False
        if self.sales_team_ids and request._sales_team() not in self.sales_team_ids:
            return False
        return True

    def _assignee(self, request):
        """(team, user) the rule ``self`` gives ``request`` to."""
        one_record(self)
        if self.assign_to == "user":
            return self.team_id, self.user_id
        if self.assign_to == "salesperson":
            return self.team_id, request.salesperson_id
        return self.team_id, self.team_id._next_member()
