from odoo import api, fields, models


class PosConfig(models.Model):
    _inherit = "pos.config"

    loyalty_store_id = fields.Many2one(
        "customer.store",
        string="Loyalty Store",
        index="btree_not_null",
        check_company=True,
        help="The store this till's orders count for in the loyalty figures "
        "(members' home store, spend per store, the overview by store). "
        "Several tills of one shop share a store; a new point of sale gets a "
        "store of its own name.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        configs = super().create(vals_list)
        configs.filtered(lambda c: not c.loyalty_store_id)._loyalty_assign_stores()
        return configs

    def _loyalty_assign_stores(self):
        """Give each of these points of sale the store of its name in its
        company, created when there is none."""
        Store = self.env["customer.store"].sudo().with_context(active_test=False)
        for config in self:
            store = Store.search(
                [("name", "=", config.name), ("company_id", "=", config.company_id.id)],
                limit=1,
            ) or Store.create({"name": config.name, "company_id": config.company_id.id})
            config.loyalty_store_id = store
