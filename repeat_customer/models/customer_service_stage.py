from odoo import fields, models


class CustomerServiceStage(models.Model):
    """A step of a service request. A closed stage ends it: the resolution
    time is counted up to it and its deadlines no longer run."""

    _name = "customer.service.stage"
    _inherit = ["customer.values.mixin"]
    _description = "Service Request Stage"
    _order = "sequence, id"

    name = fields.Char(string="Stage", required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    fold = fields.Boolean(
        string="Folded in Kanban", help="Folded in the kanban view of requests."
    )
    is_closed = fields.Boolean(
        string="Closed",
        help="The request is over in this stage: solved, or cancelled.",
    )
    is_cancel = fields.Boolean(
        string="Cancelled",
        help="A closed stage where nothing was solved: not counted as resolved "
        "in the reports.",
    )
    description = fields.Text(string="Description", translate=True)
    template_id = fields.Many2one(
        "mail.template",
        string="Email to the Customer",
        domain=[("model", "=", "customer.service.request")],
        help="Mailed to the customer when a request reaches this stage (for "
        "the first stage: when it is received).",
    )
