from odoo import api, fields, models
from odoo.exceptions import ValidationError

# a response or resolution time is at most a year of working hours
MAX_HOURS = 2000.0


class CustomerServiceType(models.Model):
    """What a customer asks for (a complaint, a question, a return, a
    repair...), and how soon the company answers and solves it, in working
    hours of its calendar."""

    _name = "customer.service.type"
    _inherit = ["customer.values.mixin"]
    _description = "Service Request Type"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(string="Type", required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company",
        string="Company",
        index=True,
        help="Empty: the type is offered in every company.",
    )
    is_complaint = fields.Boolean(
        string="Complaint",
        help="Requests of this type count as complaints in the reports and can "
        "be compensated with points or a coupon when closed.",
    )
    portal_visible = fields.Boolean(
        string="Customers Can Choose It",
        default=True,
        help="Offered on the customer's portal page of requests.",
    )
    response_hours = fields.Float(
        string="First Response Within",
        default=8.0,
        help="Working hours of the company's calendar between the request and "
        "the first answer to the customer (0: no deadline).",
    )
    resolution_hours = fields.Float(
        string="Resolution Within",
        default=40.0,
        help="Working hours of the company's calendar between the request and "
        "its closing (0: no deadline).",
    )
    request_count = fields.Integer(compute="_compute_request_count")

    @api.constrains("response_hours", "resolution_hours")
    def _check_hours(self):
        for service_type in self:
            for hours in (service_type.response_hours, service_type.resolution_hours):
                if not 0 <= hours <= MAX_HOURS:
                    raise ValidationError(
                        self.env._(
                            "A response or resolution time is between 0 and "
                            "%(max)s working hours, not %(hours)s.",
                            max=int(MAX_HOURS),
                            hours=hours,
                        )
                    )
            if (
                service_type.response_hours
                and service_type.resolution_hours
                and service_type.response_hours > service_type.resolution_hours
            ):
                raise ValidationError(
                    self.env._(
                        "%(type)s: the first response cannot be due after the "
                        "resolution.",
                        type=service_type.name,
                    )
                )

    def _compute_request_count(self):
        counts = dict(
            self.env["customer.service.request"]._read_group(
                [("type_id", "in", self.ids)], ["type_id"], ["__count"]
            )
        )
        for service_type in self:
            service_type.request_count = counts.get(service_type, 0)
