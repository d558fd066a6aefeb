from odoo import SUPERUSER_ID, api

from odoo.addons.repeat_customer.hooks import add_recommendation_block, fill_profiles


def migrate(cr, version):
    """18.0.1.9.0 keeps the members' purchase profiles and recommendations:
    compute them for the history, and show them in the repurchase mail."""
    if version:
        env = api.Environment(cr, SUPERUSER_ID, {})
        fill_profiles(env)
        add_recommendation_block(env)
