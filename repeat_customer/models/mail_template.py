import logging

from odoo import models

_logger = logging.getLogger(__name__)


class MailTemplate(models.Model):
    _inherit = "mail.template"

    def _generate_template_attachments(
        self, res_ids, render_fields, render_results=None
    ):
        """Coupon mails of the loyalty programme go out without their PDF when
        the server cannot print one (no wkhtmltopdf): the code is in the mail
        body, and issuing coupons must not fail for want of a PDF printer."""
        if (
            self.env.context.get("repeat_customer_pdf_optional")
            and "report_template_ids" in render_fields
            and self.report_template_ids
            and self.env["ir.actions.report"].get_wkhtmltopdf_state() == "install"
        ):
            _logger.info(
                "wkhtmltopdf is not installed: %s is sent without its PDF.", self.name
            )
            render_fields = [f for f in render_fields if f != "report_template_ids"]
        return super()._generate_template_attachments(
            res_ids, render_fields, render_results=render_results
        )
