from odoo.addons.repeat_customer.hooks import move_legacy_birthdays


def migrate(cr, version):
    """18.0.1.6.0 keeps birthdays in OCA partner_contact_birthdate's field."""
    if version:
        move_legacy_birthdays(cr)
