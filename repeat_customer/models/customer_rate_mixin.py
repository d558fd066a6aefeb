from odoo import api, models
from odoo.tools import SQL


class CustomerRateMixin(models.AbstractModel):
    """Rates of a report: ``_rates`` maps a rate field to (numerator,
    denominator, factor), stored sums of the rows. A group's rate is the
    ratio of its sums, never an average of its rows' ratios: the rate
    fields' ``avg`` is computed so in grouped reads (pivot, graph)."""

    _name = "customer.rate.mixin"
    _description = "Rates of a Report"
    _rates = {}

    def _compute_rates(self):
        for row in self:
            for fname, (num, den, factor) in self._rates.items():
                denominator = row[den]
                row[fname] = factor * row[num] / denominator if denominator else 0.0

    @api.model
    def _read_group_select(self, aggregate_spec, query):
        fname, _property, func = models.parse_read_group_spec(aggregate_spec)
        if fname in self._rates and func == "avg":
            num, den, factor = self._rates[fname]
            return SQL(
                "%s * SUM(%s) / NULLIF(SUM(%s), 0)",
                factor,
                self._field_to_sql(self._table, num, query),
                self._field_to_sql(self._table, den, query),
            )
        return super()._read_group_select(aggregate_spec, query)
