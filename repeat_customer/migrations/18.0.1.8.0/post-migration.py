from odoo import SUPERUSER_ID, api

from odoo.addons.repeat_customer.hooks import fill_activity


def migrate(cr, version):
    """18.0.1.8.0 keeps the members' monthly activity: write it for the
    history."""
    if version:
        fill_activity(api.Environment(cr, SUPERUSER_ID, {}))
