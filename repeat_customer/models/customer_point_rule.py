from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.numbers import in_bounds
from .res_company import MAX_MULTIPLIER


class CustomerPointRule(models.Model):
    _name = "customer.point.rule"
    _inherit = ["customer.programme.mixin"]
    _description = "Loyalty Points Bonus Rule"
    _order = "company_id, sequence, id"
    _check_company_auto = True

    name = fields.Char(string="Rule", required=True, translate=True)
    sequence = fields.Integer(string="Sequence", default=10)
    active = fields.Boolean(string="Active", default=True)
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    rule_type = fields.Selection(
        selection=[
            ("category", "Product category"),
            ("period", "Between two dates"),
            ("birthday", "Birthday month"),
        ],
        string="Applies To",
        required=True,
        default="period",
        help="Product category: lines of products of the category (and its "
        "subcategories) earn multiplied points. Between two dates: orders "
        "confirmed in the period earn multiplied points. Birthday month: orders "
        "of customers in their birthday month earn multiplied points.",
    )
    categ_id = fields.Many2one("product.category", string="Product Category")
    date_from = fields.Date(string="From")
    date_to = fields.Date(string="To")
    multiplier = fields.Float(
        string="Multiplier",
        default=2.0,
        digits=(16, 2),
        help="Points are multiplied by this. Rules that apply together multiply "
        "each other; of several category rules for a line, the highest applies.",
    )

    @api.constrains("rule_type", "categ_id", "date_from", "date_to", "multiplier")
    def _check_rule(self):
        for rule in self:
            if rule.multiplier <= 0 or not in_bounds(
                rule.multiplier, 0, MAX_MULTIPLIER
            ):
                raise ValidationError(
                    self.env._(
                        "The multiplier of rule %(rule)s must be above 0 and at "
                        "most %(maximum)s.",
                        rule=rule.name,
                        maximum=MAX_MULTIPLIER,
                    )
                )
            if rule.rule_type == "category" and not rule.categ_id:
                raise ValidationError(
                    self.env._(
                        "Rule %(rule)s needs a product category.", rule=rule.name
                    )
                )
            if rule.rule_type == "period" and not (rule.date_from and rule.date_to):
                raise ValidationError(
                    self.env._(
                        "Rule %(rule)s needs a start and an end date.", rule=rule.name
                    )
                )
            if rule.date_from and rule.date_to and rule.date_from > rule.date_to:
                raise ValidationError(
                    self.env._("Rule %(rule)s ends before it starts.", rule=rule.name)
                )
