from odoo import api, models

from ..tools.numbers import refuse_bad_values


class CustomerValuesMixin(models.AbstractModel):
    """Records a user creates and edits (over the forms or RPC) whose values
    are checked first: a value the field cannot hold is refused with a
    clear error naming the field (``tools.numbers.refuse_bad_values``)."""

    _name = "customer.values.mixin"
    _description = "Loyalty Record with Checked Values"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            refuse_bad_values(self, vals)
        return super().create(vals_list)

    def write(self, vals):
        refuse_bad_values(self, vals)
        return super().write(vals)
