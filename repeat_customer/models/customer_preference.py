"""What customers tell us they like: typed attributes a company defines
(size, colour, skin type, dietary needs), their allowed values, and each
member's recorded values."""

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError


class CustomerPreferenceAttribute(models.Model):
    _name = "customer.preference.attribute"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Preference Attribute"
    _order = "sequence, name, id"

    name = fields.Char(string="Attribute", required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
    )
    value_ids = fields.One2many(
        "customer.preference.value",
        "attribute_id",
        string="Allowed Values",
        copy=True,
    )
    multiple = fields.Boolean(
        string="Several Values",
        help="A member can have several values of this attribute (e.g. "
        "dietary needs); otherwise one (e.g. size).",
    )
    portal_editable = fields.Boolean(
        string="Customers Set It in the Portal",
        help="Customers see and change their value on their loyalty page.",
    )

    _sql_constraints = [
        (
            "name_company_unique",
            "unique (name, company_id)",
            "A company has one preference attribute of each name.",
        )
    ]

    @api.constrains("name", "active", "value_ids")
    def _check_values(self):
        for attribute in self:
            if attribute.active and not attribute.value_ids:
                raise ValidationError(
                    self.env._(
                        "The attribute %s needs at least one allowed value.",
                        attribute.name,
                    )
                )


class CustomerPreferenceValue(models.Model):
    _name = "customer.preference.value"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Preference Value"
    _order = "attribute_id, sequence, id"

    name = fields.Char(string="Value", required=True, translate=True)
    sequence = fields.Integer(default=10)
    attribute_id = fields.Many2one(
        "customer.preference.attribute",
        string="Attribute",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(
        related="attribute_id.company_id", store=True, string="Company"
    )

    _sql_constraints = [
        (
            "name_attribute_unique",
            "unique (name, attribute_id)",
            "An attribute has each value once.",
        )
    ]

    @api.depends("attribute_id.name")
    def _compute_display_name(self):
        for value in self:
            value.display_name = (
                f"{value.attribute_id.name}: {value.name}"
                if self.env.context.get("preference_full_name")
                else value.name
            )


class CustomerPreference(models.Model):
    """A member's value of a preference attribute."""

    _name = "customer.preference"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Customer Preference"
    _order = "membership_id, attribute_sequence, attribute_id, value_sequence"
    _rec_name = "value_id"

    membership_id = fields.Many2one(
        "customer.membership",
        string="Member",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="membership_id.company_id", store=True, string="Company"
    )
    attribute_id = fields.Many2one(
        "customer.preference.attribute",
        string="Attribute",
        required=True,
        ondelete="restrict",
        domain="[('company_id', '=', company_id)]",
    )
    value_id = fields.Many2one(
        "customer.preference.value",
        string="Value",
        required=True,
        ondelete="restrict",
        domain="[('attribute_id', '=', attribute_id)]",
    )
    attribute_sequence = fields.Integer(
        related="attribute_id.sequence", store=True, string="Attribute Sequence"
    )
    value_sequence = fields.Integer(
        related="value_id.sequence", store=True, string="Value Sequence"
    )
    source = fields.Selection(
        [("staff", "Staff"), ("portal", "Customer")],
        string="Recorded By",
        default="staff",
        required=True,
        readonly=True,
    )
    user_id = fields.Many2one(related="membership_id.user_id", string="Salesperson")

    _sql_constraints = [
        (
            "membership_value_unique",
            "unique (membership_id, value_id)",
            "A member has each preference value once.",
        )
    ]

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any("source" in vals for vals in vals_list):
            raise UserError(
                self.env._("Only the portal records a customer's own preferences.")
            )
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and {"membership_id", "source"} & set(vals):
            raise UserError(
                self.env._(
                    "A preference stays with its member and its source: record "
                    "a new one instead."
                )
            )
        return super().write(vals)

    @api.onchange("attribute_id")
    def _onchange_attribute_id(self):
        if self.value_id.attribute_id != self.attribute_id:
            self.value_id = False

    @api.constrains("membership_id", "attribute_id", "value_id")
    def _check_value(self):
        for preference in self:
            attribute = preference.attribute_id
            if preference.value_id.attribute_id != attribute:
                raise ValidationError(
                    self.env._(
                        "%(value)s is not an allowed value of %(attribute)s.",
                        value=preference.value_id.name,
                        attribute=attribute.name,
                    )
                )
            if attribute.company_id != preference.membership_id.company_id:
                raise ValidationError(
                    self.env._(
                        "The attribute %s belongs to another company.",
                        attribute.name,
                    )
                )
        single = self.filtered(lambda p: not p.attribute_id.multiple)
        if not single:
            return
        for membership, attribute, count in self._read_group(
            [
                ("membership_id", "in", single.membership_id.ids),
                ("attribute_id", "in", single.attribute_id.ids),
            ],
            ["membership_id", "attribute_id"],
            ["__count"],
        ):
            if count > 1 and not attribute.multiple:
                raise ValidationError(
                    self.env._(
                        "%(member)s can have one value of %(attribute)s.",
                        member=membership.display_name,
                        attribute=attribute.name,
                    )
                )
