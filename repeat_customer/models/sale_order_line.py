from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

PROTECTED_FIELDS = {"product_id", "product_uom_qty", "price_unit", "discount"}
# line fields whose change can move an order past its points discount cap
AMOUNT_FIELDS = {
    "product_id",
    "product_uom_qty",
    "price_unit",
    "discount",
    "tax_id",
    "display_type",
    "loyalty_point_entry_id",
}


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

    @api.model
    def _loyalty_earning_domain(self):
        """The lines that earn points, and so the lines whose refund gives
        them back: product lines (the points discount lines among them, which
        lower what the order earns), not sections, notes or down payments.
        The one definition, read by the SQL of confirmations (through
        ``_search``), by quotations being edited and by credit notes (through
        ``_loyalty_earning_lines``); the programme's exclusions and category
        multipliers then apply to them (``tools.points.order_points``)."""
        return [
            ("display_type", "=", False),
            ("is_downpayment", "=", False),
            ("product_id", "!=", False),
        ]

    def _loyalty_earning_lines(self):
        """Those of the lines ``self`` that earn points."""
        return self.filtered_domain(self._loyalty_earning_domain())

    def _loyalty_points_line(self, amount=None):
        """The line as ``tools.points.order_points`` takes it: (product,
        category path, ``amount``, by default its untaxed subtotal)."""
        return (
            self.product_id.id,
            self.product_id.categ_id.parent_path or "",
            self.price_subtotal if amount is None else amount,
        )

    def _compute_price_unit(self):
        # the price of a points discount is the value of the points spent
        return super(
            SaleOrderLine, self.filtered(lambda line: not line.loyalty_point_entry_id)
        )._compute_price_unit()

    def _loyalty_refuse_link(self):
        """Only the programme's own code, as superuser, links a line to the
        ledger: a user who could set or clear the link would free any ledger
        line (removing the line reverses it) or turn a discount into money."""
        raise AccessError(
            self.env._(
                "A points discount line is added by Redeem Points or Redeem "
                "Reward and removed as a whole; its link to the points ledger "
                "cannot be set or changed."
            )
        )

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su and any(
            vals.get("loyalty_point_entry_id") for vals in vals_list
        ):
            self._loyalty_refuse_link()
        lines = super().create(vals_list)
        lines.order_id._loyalty_check_points_discounts()
        return lines

    def write(self, vals):
        if "loyalty_point_entry_id" in vals and not self.env.su:
            entry_id = vals["loyalty_point_entry_id"] or False
            if any(line.loyalty_point_entry_id.id != entry_id for line in self):
                self._loyalty_refuse_link()
        if PROTECTED_FIELDS & set(vals):
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
        result = super().write(vals)
        if AMOUNT_FIELDS & set(vals):
            self.order_id._loyalty_check_points_discounts()
        return result

    def unlink(self):
        # the lines of one redemption (one per set of taxes) go together: its
        # points come back whole, so no part of its discount may stay
        lines = self | self.order_id.order_line.filtered(
            lambda line: (
                line.loyalty_point_entry_id
                and line.loyalty_point_entry_id in self.loyalty_point_entry_id
            )
        )
        # checked on what remains, before anything is deleted
        lines.order_id._loyalty_check_points_discounts(removed=lines)
        return super(SaleOrderLine, lines).unlink()

    @api.ondelete(at_uninstall=False)
    def _unlink_reverse_redemption(self):
        """Removing a points discount line gives its points back. Only a
        redemption posted for this very order is reversed."""
        entries = self.env["customer.point.entry"]
        for line in self.sudo().filtered("loyalty_point_entry_id"):
            entry = line.loyalty_point_entry_id
            if (
                entry.kind == "redeem"
                and entry.sale_order_id == line.order_id
                and not entry.reversal_ids
            ):
                entries |= entry
        if entries:
            self.env["customer.point.entry"].sudo()._reverse(entries)
