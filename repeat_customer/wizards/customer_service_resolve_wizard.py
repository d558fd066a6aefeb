from odoo import api, fields, models
from odoo.exceptions import UserError

from ..tools.numbers import one_record
from ._common import whole_number


class CustomerServiceResolveWizard(models.TransientModel):
    """Close a service request with its resolution, and, for a complaint,
    compensate the customer within the company's limits."""

    _name = "customer.service.resolve.wizard"
    _inherit = ["customer.values.mixin"]
    _description = "Close a Service Request"

    request_id = fields.Many2one(
        "customer.service.request", string="Request", required=True, readonly=True
    )
    company_id = fields.Many2one(related="request_id.company_id")
    currency_id = fields.Many2one(related="request_id.currency_id")
    is_complaint = fields.Boolean(related="request_id.is_complaint")
    membership_id = fields.Many2one(related="request_id.membership_id")
    stage_id = fields.Many2one(
        "customer.service.stage",
        string="Close As",
        required=True,
        domain=[("is_closed", "=", True)],
        default=lambda self: self.env["customer.service.stage"].search(
            [("is_closed", "=", True), ("is_cancel", "=", False)], limit=1
        ),
    )
    resolution = fields.Text(
        string="Resolution", required=True, help="What was done for the customer."
    )
    compensation = fields.Selection(
        [("none", "None"), ("points", "Bonus points"), ("coupon", "A coupon")],
        string="Compensation",
        required=True,
        default="none",
    )
    points = fields.Integer(string="Points")
    max_points = fields.Integer(related="company_id.loyalty_service_max_points")
    program_id = fields.Many2one(
        "loyalty.program",
        string="Coupon Programme",
        domain="[('program_type', '=', 'coupons'), "
        "('company_id', 'in', [False, company_id])]",
    )
    max_coupon = fields.Monetary(related="company_id.loyalty_service_max_coupon")

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            whole_number(self.env, vals, "points", self.env._("Points"))
        return super().create(vals_list)

    def write(self, vals):
        whole_number(self.env, vals, "points", self.env._("Points"))
        return super().write(vals)

    def action_close(self):
        one_record(self)
        request = self.request_id
        request.check_access("write")
        if request.is_closed:
            raise UserError(
                self.env._(
                    "%(request)s is already closed.", request=request.display_name
                )
            )
        resolution = (self.resolution or "").strip()
        if not resolution:
            raise UserError(self.env._("Write what was done for the customer."))
        if not self.stage_id.is_closed:
            raise UserError(self.env._("Choose a closing stage."))
        points, program = 0, None
        if self.compensation == "points":
            if self.points <= 0:
                raise UserError(self.env._("Enter the points to give, above 0."))
            points = self.points
        elif self.compensation == "coupon":
            if not self.program_id:
                raise UserError(self.env._("Choose the coupon programme."))
            program = self.program_id
        if (points or program) and self.stage_id.is_cancel:
            raise UserError(
                self.env._(
                    "A cancelled request is not compensated: close it as solved."
                )
            )
        # compensated first: a refused compensation leaves the request open
        request._compensate(points=points, program=program)
        request.write({"resolution": resolution, "stage_id": self.stage_id.id})
        return {"type": "ir.actions.act_window_close"}
