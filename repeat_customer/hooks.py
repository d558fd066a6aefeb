import logging

_logger = logging.getLogger(__name__)


def post_init_hook(env):
    """Enrol the customers of existing order history and compute their figures.

    Runs set-wise in batches of memberships, so installing on a database with
    years of orders takes a few SQL statements per batch.
    """
    memberships = env["customer.membership"]
    for company in env["res.company"].search([]):
        memberships._compute_company(company)
        _logger.info(
            "repeat_customer: %s members enrolled and computed in %s",
            memberships.search_count([("company_id", "=", company.id)]),
            company.name,
        )


def move_legacy_birthdays(cr):
    """Move the birthdays of the addon's own field (``res_partner.birth_date``,
    before 18.0.1.6.0) to OCA ``partner_contact_birthdate``'s ``birthdate_date``,
    the field other addons of the database read, in one statement; a birthday
    already set there wins. Then drop the old column. Return the number of
    birthdays moved (0 when there is no old column)."""
    cr.execute(
        """
        SELECT 1 FROM information_schema.columns
         WHERE table_name = 'res_partner' AND column_name = 'birth_date'
           AND table_schema = current_schema()
        """
    )
    if not cr.fetchone():
        return 0
    cr.execute(
        """
        UPDATE res_partner
           SET birthdate_date = birth_date
         WHERE birth_date IS NOT NULL AND birthdate_date IS NULL
        """
    )
    moved = cr.rowcount
    cr.execute("ALTER TABLE res_partner DROP COLUMN birth_date")
    _logger.info("repeat_customer: %s birthdays moved to birthdate_date", moved)
    return moved


def fill_activity(env):
    """Write every member's monthly activity, a batch of members at a time
    (the retention rates, cohorts and overview read it)."""
    memberships = env["customer.membership"]
    activity = env["customer.activity.month"]
    batch_size = memberships._batch_size()
    for company in env["res.company"].search([]):
        last_id = 0
        while ids := memberships._next_batch(company, last_id, batch_size):
            activity._update_activity(company, ids)
            last_id = ids[-1]
