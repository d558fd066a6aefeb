from odoo import SUPERUSER_ID, api

# the shipped stages and the mail each sends the customer
STAGE_TEMPLATES = {
    "customer_service_stage_new": "mail_template_service_received",
    "customer_service_stage_solved": "mail_template_service_solved",
}


def migrate(cr, version):
    """18.0.1.11.1 mails the customer when a request is received and when it
    is solved: the shipped stages (noupdate) of databases installed at
    18.0.1.11.0 get their mail, unless someone chose one already."""
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    for stage_xmlid, template_xmlid in STAGE_TEMPLATES.items():
        stage = env.ref(f"repeat_customer.{stage_xmlid}", raise_if_not_found=False)
        template = env.ref(
            f"repeat_customer.{template_xmlid}", raise_if_not_found=False
        )
        if stage and template and not stage.template_id:
            stage.template_id = template
