from odoo import api, fields, models
from odoo.exceptions import UserError

PROTECTED_FIELDS = {"product_id", "product_uom_qty", "price_unit", "discount"}


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    loyalty_point_entry_id = fields.Many2one(
        "customer.point.entry",
        string="Points Redemption",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The ledger line of the points this discount line spent.",
    )

    def _compute_price_unit(self):
        # the price of a points discount is the value of the points spent
        return super(
            SaleOrderLine, self.filtered(lambda line: not line.loyalty_point_entry_id)
        )._compute_price_unit()

    def write(self, vals):
        if PROTECTED_FIELDS & set(vals) and not self.env.context.get(
            "sale_write_from_compute"
        ):
            for line in self.filtered("loyalty_point_entry_id"):
                for fname in PROTECTED_FIELDS & set(vals):
                    new = line._fields[fname].convert_to_record(
                        line._fields[fname].convert_to_cache(vals[fname], line), line
                    )
                    if new != line[fname]:
                        raise UserError(
                            self.env._(
                                "A points discount line cannot be changed: "
                                "remove it to give the points back, then redeem "
                                "again."
                            )
                        )
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_reverse_redemption(self):
        """Removing a points discount line gives its points back."""
        entries = self.sudo().loyalty_point_entry_id.filtered(
            lambda e: not e.reversal_ids
        )
        if entries:
            self.env["customer.point.entry"].sudo()._reverse(entries)
