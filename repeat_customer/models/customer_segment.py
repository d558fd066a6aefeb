from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.numbers import one_record

SCORE_BOUNDS = (
    ("recency_min", "recency_max"),
    ("frequency_min", "frequency_max"),
    ("monetary_min", "monetary_max"),
)


class CustomerSegment(models.Model):
    _name = "customer.segment"
    _inherit = ["customer.values.mixin"]
    _description = "RFM Segment"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        help="Technical key of a shipped segment, which keeps it recognisable "
        "when its name is translated or renamed.",
    )
    sequence = fields.Integer(
        default=10,
        help="Segments are tried in this order; a member gets the first whose "
        "score ranges contain their scores.",
    )
    active = fields.Boolean(default=True)
    color = fields.Integer(string="Colour")
    description = fields.Text(translate=True)
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        help="Leave empty to use the segment in every company.",
    )
    recency_min = fields.Integer(string="Recency From", default=1, required=True)
    recency_max = fields.Integer(string="Recency To", default=5, required=True)
    frequency_min = fields.Integer(string="Frequency From", default=1, required=True)
    frequency_max = fields.Integer(string="Frequency To", default=5, required=True)
    monetary_min = fields.Integer(string="Monetary From", default=1, required=True)
    monetary_max = fields.Integer(string="Monetary To", default=5, required=True)
    membership_count = fields.Integer(
        string="Members", compute="_compute_membership_count"
    )

    @api.constrains(*(f for pair in SCORE_BOUNDS for f in pair))
    def _check_score_ranges(self):
        for segment in self:
            for low_name, high_name in SCORE_BOUNDS:
                low, high = segment[low_name], segment[high_name]
                if not (1 <= low <= high <= 5):
                    raise ValidationError(
                        self.env._(
                            "Segment %(segment)s: score ranges go from 1 to 5 and "
                            "the lower bound cannot exceed the upper bound "
                            "(got %(low)s-%(high)s).",
                            segment=segment.name,
                            low=low,
                            high=high,
                        )
                    )

    def _compute_membership_count(self):
        groups = self.env["customer.membership"]._read_group(
            [("segment_id", "in", self.ids)], ["segment_id"], ["__count"]
        )
        counts = {segment.id: count for segment, count in groups}
        for segment in self:
            segment.membership_count = counts.get(segment.id, 0)

    def action_view_memberships(self):
        one_record(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "repeat_customer.customer_membership_action"
        )
        action["domain"] = [("segment_id", "=", self.id)]
        action["context"] = {}
        return action
