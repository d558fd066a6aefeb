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


def fill_profiles(env):
    """Compute every member's purchase profile and recommendations, after
    each company's product neighbours, a batch of members at a time."""
    memberships = env["customer.membership"]
    batch_size = memberships._batch_size()
    for company in env["res.company"].search([]):
        env["customer.product.similarity"]._update_similarity(company)
        last_id = 0
        while ids := memberships._next_batch(company, last_id, batch_size):
            memberships._update_profiles(company, ids)
            last_id = ids[-1]


# where the shipped repurchase mail shows the recommended products
RECOMMENDATION_BLOCK = (
    "<t t-out=\"object.membership_id.recommendation_cards_html or ''\"/>\n    "
)
RECOMMENDATION_MARKER = '<p style="margin:0 0 16px 0;" t-if="object.point_entry_id">'


def add_recommendation_block(env):
    """Put the recommended products in the shipped repurchase mail of a
    database installed before 18.0.1.9.0 (its templates are not updated),
    in every language, unless it was changed so that the place is gone or
    it already shows them."""
    template = env.ref(
        "repeat_customer.mail_template_campaign_repurchase", raise_if_not_found=False
    )
    if not template:
        return
    env.cr.execute(
        """
        UPDATE mail_template
           SET body_html = (
                   SELECT jsonb_object_agg(lang, replace(body, %(marker)s,
                                                         %(block)s || %(marker)s))
                     FROM jsonb_each_text(body_html) AS t(lang, body))
         WHERE id = %(id)s
           AND body_html::text NOT LIKE '%%recommendation_cards_html%%'
        """,
        {
            "id": template.id,
            "marker": RECOMMENDATION_MARKER,
            "block": RECOMMENDATION_BLOCK,
        },
    )
    template.invalidate_recordset(["body_html"])
