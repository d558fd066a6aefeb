import logging

from odoo.tools import SQL

from odoo.addons.repeat_customer.hooks import fill_activity

from .models.customer_purchase import COUNTED_STATES
from .models.pos_order import GUARD_TABLE

_logger = logging.getLogger(__name__)


def post_init_hook(env):
    """Give every point of sale a store, then count the till's history: the
    companies with counted till orders have their members enrolled and their
    figures recomputed from every channel."""
    configs = (
        env["pos.config"]
        .with_context(active_test=False)
        .search([("loyalty_store_id", "=", False)])
    )
    configs._loyalty_assign_stores()
    env.cr.execute(
        SQL(
            "SELECT DISTINCT company_id FROM pos_order WHERE state IN %s",
            COUNTED_STATES,
        )
    )
    company_ids = [row[0] for row in env.cr.fetchall()]
    memberships = env["customer.membership"]
    for company in env["res.company"].browse(company_ids):
        memberships._compute_company(company)
        _logger.info(
            "repeat_customer_pos: till orders counted for %s members of %s",
            memberships.search_count([("company_id", "=", company.id)]),
            company.name,
        )
    if company_ids:
        fill_activity(env)


def uninstall_hook(env):
    env.cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(GUARD_TABLE)))
