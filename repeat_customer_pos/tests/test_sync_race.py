import threading
from uuid import uuid4

import psycopg2.errors

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from ..models.pos_order import GUARD_TABLE


@tagged("post_install", "-at_install")
class TestSyncRace(TransactionCase):
    """Two syncs of one till order at the same moment, each in its own
    transaction as two HTTP requests would be: the second waits for the
    first and, once the first has committed, fails with a serialisation
    failure, on which Odoo retries the request (and the retry finds the
    order, see ``test_till.test_session_synced_twice``)."""

    def tearDown(self):
        with self.registry.cursor() as cr:
            cr.execute(
                SQL(
                    "DELETE FROM %s WHERE uuid LIKE 'race-%%'",
                    SQL.identifier(GUARD_TABLE),
                )
            )
            cr.commit()  # pylint: disable=invalid-commit
        super().tearDown()

    def _race(self, commit_first):
        uuid = f"race-{uuid4()}"
        outcome = {}
        started = threading.Event()
        cr_a = self.registry.cursor()
        try:
            api.Environment(cr_a, SUPERUSER_ID, {})["pos.order"]._loyalty_claim_uuids(
                [uuid]
            )

            def second_sync():
                with self.registry.cursor() as cr_b:
                    # the request's snapshot is taken at its first query
                    cr_b.execute("SELECT 1")
                    started.set()
                    env_b = api.Environment(cr_b, SUPERUSER_ID, {})
                    try:
                        env_b["pos.order"]._loyalty_claim_uuids([uuid])
                        outcome["b"] = "claimed"
                    except psycopg2.errors.SerializationFailure:
                        outcome["b"] = "retry"
                        cr_b.rollback()

            thread = threading.Thread(target=second_sync)
            thread.start()
            started.wait(10)
            thread.join(timeout=2)
            self.assertTrue(thread.is_alive(), "the second sync waits for the first")
            if commit_first:
                cr_a.commit()  # pylint: disable=invalid-commit
            else:
                cr_a.rollback()
            thread.join(timeout=30)
            self.assertFalse(thread.is_alive())
        finally:
            cr_a.close()
        return outcome["b"]

    def test_second_sync_retries_after_the_first_commits(self):
        self.assertEqual(self._race(commit_first=True), "retry")

    def test_second_sync_goes_on_when_the_first_fails(self):
        self.assertEqual(self._race(commit_first=False), "claimed")
