from odoo import api, models


class CustomerProgrammeMixin(models.AbstractModel):
    """Records that make up a company's loyalty programme (bonus rules,
    tiers): order confirmations read them from a cache, cleared when they
    change."""

    _name = "customer.programme.mixin"
    _inherit = ["customer.values.mixin"]
    _description = "Loyalty Programme Record"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env.registry.clear_cache()
        return records

    def write(self, vals):
        result = super().write(vals)
        self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result
