from odoo import api, models
from odoo.tools import SQL

from .customer_purchase import COUNTED_STATES

# one row per till order uuid a sync has claimed: a second sync of the same
# uuid waits for the first and, once it has committed, retries and finds the
# order (see ``_loyalty_claim_uuids``)
GUARD_TABLE = "repeat_customer_pos_sync_guard"
# rows older than this are only history: the order itself answers by then
GUARD_DAYS = 2


class PosOrder(models.Model):
    _inherit = "pos.order"

    def init(self):
        result = super().init()
        self.env.cr.execute(
            SQL(
                """
                CREATE TABLE IF NOT EXISTS %s (
                    uuid varchar PRIMARY KEY,
                    create_date timestamp NOT NULL
                        DEFAULT (now() AT TIME ZONE 'UTC')
                )
                """,
                SQL.identifier(GUARD_TABLE),
            )
        )
        return result

    @api.model
    def sync_from_ui(self, orders):
        """Odoo's sync, made safe against the same order sent twice at once
        (a till that retries while the first request is still running, two
        tabs of one till): Odoo 18 looks the uuid up and creates the order
        when it finds none, so two simultaneous syncs would both create it.
        Then the members of the paid orders get their figures at once, one
        refresh for the whole sync (a till back online sends its backlog in
        one call)."""
        self._loyalty_claim_uuids([order.get("uuid") for order in orders])
        result = super(
            PosOrder, self.with_context(loyalty_defer_refresh=True)
        ).sync_from_ui(orders)
        ids = [values["id"] for values in result.get("pos.order", [])]
        self.browse(ids)._loyalty_refresh()
        return result

    @api.model
    def _loyalty_claim_uuids(self, uuids):
        """Claim the uuids of the orders of a sync for this transaction.

        The INSERT of a uuid another sync has claimed and not committed yet
        waits for it; once that sync has committed, our snapshot cannot see
        its order, and PostgreSQL refuses the INSERT with a serialisation
        failure, on which Odoo retries the whole request in a new
        transaction: the retry finds the order and leaves it as it is."""
        uuids = sorted({uuid for uuid in uuids if uuid})
        if not uuids:
            return
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO %s (uuid) SELECT unnest(%s::varchar[])
                ON CONFLICT (uuid) DO NOTHING
                """,
                SQL.identifier(GUARD_TABLE),
                uuids,
            )
        )

    @api.model
    def _loyalty_forget_claims(self):
        """Drop the claims older than ``GUARD_DAYS`` (the nightly job)."""
        self.env.cr.execute(
            SQL(
                """
                DELETE FROM %s
                 WHERE create_date
                       < (now() AT TIME ZONE 'UTC') - %s * interval '1 day'
                """,
                SQL.identifier(GUARD_TABLE),
                GUARD_DAYS,
            )
        )
        return self.env.cr.rowcount

    @api.model
    def _demo_generate_till(self, seed=2025):
        """Load the till's demo: ``bin/run-demo`` calls it once the addons
        and their demo data are installed (not the addon's demo data: two
        years of till customers would crowd the customers Odoo's own POS
        tests look for out of the till's first partners). Imported here so
        that it never loads in a production database's registry."""
        from ..demo.till_demo import TillDemo  # noqa: PLC0415

        return TillDemo(self.env).generate(seed)

    def action_pos_order_paid(self):
        result = super().action_pos_order_paid()
        if not self.env.context.get("loyalty_defer_refresh"):
            self._loyalty_refresh()
        return result

    def _loyalty_refresh(self):
        """Enrol the customers of the counted orders among these (per the
        company's setting) and refresh their members' figures."""
        counted = self.filtered(lambda order: order.state in COUNTED_STATES)
        if counted:
            self.env["customer.membership"]._refresh_customers(counted, enrol=True)
