"""What each member buys: their favourite categories and products over the
RFM window, kept by the nightly job."""

from odoo import fields, models

# how many categories and products a member's profile keeps
TOP_CATEGORIES = 5
TOP_PRODUCTS = 10


class CustomerProfileLineMixin(models.AbstractModel):
    """A ranked line of a member's purchase profile: spend and quantity over
    the company's RFM window, net of credit notes, in company currency."""

    _name = "customer.profile.line.mixin"
    _description = "Loyalty Purchase Profile Line"
    _order = "membership_id, rank"
    _log_access = False
    # the unique index also serves the lookups by member
    _sql_constraints = [
        (
            "membership_rank_unique",
            "UNIQUE(membership_id, rank)",
            "A member's profile has one line per rank.",
        )
    ]

    membership_id = fields.Many2one(
        "customer.membership",
        string="Member",
        required=True,
        readonly=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        "res.company", string="Company", required=True, readonly=True
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    rank = fields.Integer(string="Rank", readonly=True, aggregator=False)
    spend = fields.Monetary(string="Spend", readonly=True)
    spend_share = fields.Float(
        string="Share of Spend (%)",
        readonly=True,
        digits=(16, 1),
        aggregator="avg",
    )
    quantity = fields.Float(string="Quantity", readonly=True, digits="Product Unit")
    quantity_share = fields.Float(
        string="Share of Quantity (%)",
        readonly=True,
        digits=(16, 1),
        aggregator="avg",
    )
    order_count = fields.Integer(string="Orders", readonly=True)
    last_date = fields.Date(string="Last Purchase", readonly=True)
    user_id = fields.Many2one(related="membership_id.user_id", string="Salesperson")


class CustomerProfileCategory(models.Model):
    _name = "customer.profile.category"
    _inherit = ["customer.profile.line.mixin", "customer.values.mixin"]
    _description = "Loyalty Favourite Category"
    _rec_name = "category_id"

    category_id = fields.Many2one(
        "product.category", string="Category", required=True, readonly=True
    )


class CustomerProfileProduct(models.Model):
    _name = "customer.profile.product"
    _inherit = ["customer.profile.line.mixin", "customer.values.mixin"]
    _description = "Loyalty Favourite Product"
    _rec_name = "product_id"

    product_id = fields.Many2one(
        "product.product", string="Product", required=True, readonly=True
    )
    category_id = fields.Many2one(
        related="product_id.categ_id", string="Category", readonly=True
    )
