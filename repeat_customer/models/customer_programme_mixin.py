from odoo import api, models

from ..tools.numbers import refuse_bad_values


class CustomerProgrammeMixin(models.AbstractModel):
    """Records that make up a company's loyalty programme (bonus rules,
    tiers): order confirmations read them from a cache, cleared when they
    change."""

    _name = "customer.programme.mixin"
    _description = "Loyalty Programme Record"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            refuse_bad_values(self, vals)
        records = super().create(vals_list)
        self.env.registry.clear_cache()
        return records

    def write(self, vals):
        refuse_bad_values(self, vals)
        result = super().write(vals)
        self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result
