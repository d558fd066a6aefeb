from odoo import api, models

from ..tools.numbers import refuse_bad_values

TEXTS = ("char", "text", "html")


class CustomerValuesMixin(models.AbstractModel):
    """Records a user creates and edits (over the forms or RPC) whose values
    are checked first: a value the field cannot hold is refused with a
    clear error naming the field (``tools.numbers.refuse_bad_values``).

    Every model and wizard of the addon inherits it (a test reads the
    registry to make sure). On a wizard (a transient model, which shows
    figures it computes as superuser), a record the user may not read is
    refused as a value too, on create, write and ``onchange`` alike: the web
    client's ``onchange`` computes a form's figures without saving anything,
    so it is checked the same way."""

    _name = "customer.values.mixin"
    _description = "Loyalty Record with Checked Values"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._guard_values(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._guard_values(vals)
        return super().write(vals)

    def onchange(self, values, field_names, fields_spec):
        if isinstance(values, dict):
            self._guard_values(
                {
                    # the web client gives a link as {"id": …}
                    name: value.get("id")
                    if isinstance(value, dict) and self._fields[name].type == "many2one"
                    else value
                    for name, value in values.items()
                    if name in self._fields and self._is_user_value(name)
                },
            )
        return super().onchange(values, field_names, fields_spec)

    def _is_user_value(self, fname):
        """Whether the user gives this field's value (not one the form only
        shows: a related or read-only computed field)."""
        field = self._fields[fname]
        return not field.related and not (field.compute and field.readonly)

    def _guard_values(self, vals):
        """Refuse what the fields cannot hold; on a wizard, also a linked
        record the user may not read. A NUL byte, which PostgreSQL cannot
        store, is taken out of a text."""
        for fname, value in vals.items():
            field = self._fields.get(fname)
            if field and field.type in TEXTS and isinstance(value, str):
                vals[fname] = value.replace("\x00", "")
        refuse_bad_values(self, vals)
        if not self._transient or self.env.su:
            return
        for fname, value in vals.items():
            field = self._fields.get(fname)
            if field is None or field.type != "many2one" or not value:
                continue
            if isinstance(value, int) and not isinstance(value, bool):
                self.env[field.comodel_name].browse(value).check_access("read")
