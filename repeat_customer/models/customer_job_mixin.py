import functools
import json
import logging
from contextlib import contextmanager

from odoo import api, models
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL

_logger = logging.getLogger(__name__)


def retry_on_conflict(method):
    """Decorate a job's cron method (one batch per call) so that a batch
    that meets a concurrent transaction (a serialization failure, a
    deadlock, a lock not available: the shop confirming an order of a member
    of the batch) is undone and done again in a new transaction, as Odoo
    retries an HTTP request, instead of failing the run.

    The cron framework does not retry: a call that raises before it reports
    progress fails the run, and a daily job is then put off until the next
    day. Here the batch runs in a savepoint; on a conflict the savepoint is
    rolled back, nothing of the batch is kept (its saved position neither),
    and the call reports work left, so the framework commits and calls again
    at once, in a new transaction that sees the other one's changes. Return
    ``True`` then (work left), for callers that loop while there is."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            with self.env.cr.savepoint():
                return method(self, *args, **kwargs)
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as exc:
            _logger.info(
                "repeat_customer: %s.%s met a concurrent update (%s): the batch "
                "is done again in a new transaction",
                self._name,
                method.__name__,
                exc.pgcode,
            )
            self.env.invalidate_all()
            self.env["ir.cron"]._notify_progress(done=1, remaining=1)
            return True

    return wrapper


# a table's planner statistics are refreshed before a job reads it when it
# was never analysed, or when more rows changed since its last ANALYZE than
# this share of its rows (plus a margin, so a day of new orders never does)
STALE_SHARE = 0.2
STALE_MARGIN = 1000


class CustomerJobMixin(models.AbstractModel):
    """What every batched job of the programme shares: a batch size of its
    own (a system parameter, ``repeat_customer.<job>_batch_size``), the
    state that lets a run resume where it stopped, and the progress it
    reports to the cron framework, which commits after each call and calls
    again while work remains."""

    _name = "customer.job.mixin"
    _description = "Loyalty Batch Job"

    @api.model
    def _job_batch_size(self, param, default):
        """The batch size of a job: the system parameter ``param`` when it
        holds a whole number (at least 1), else ``default``."""
        value = self.env["ir.config_parameter"].sudo().get_param(param)
        try:
            size = int(value) if value else default
        except ValueError:
            size = default
        return max(size, 1)

    @api.model
    def _job_state(self, param):
        """The saved position of a job that runs over several calls (a dict,
        empty when no run is under way)."""
        raw = self.env["ir.config_parameter"].sudo().get_param(param)
        try:
            state = json.loads(raw) if raw else {}
        except ValueError:
            state = {}
        return state if isinstance(state, dict) else {}

    @api.model
    def _job_save_state(self, param, state):
        self.env["ir.config_parameter"].sudo().set_param(
            param, json.dumps(state) if state else ""
        )

    @api.model
    def _job_progress(self, done, remaining):
        """Report one call's work; ``remaining > 0`` has the cron called again
        at once."""
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)

    @api.model
    def _job_analyze(self, tables):
        """ANALYZE those of ``tables`` whose planner statistics are missing or
        stale, or that have columns without statistics (added by an install
        since the last ANALYZE): after a bulk load or a data migration done just before
        (autovacuum may not have run yet), or after this transaction changed
        many of their rows (an install enrolling every customer), which
        autovacuum cannot see before it commits. Without statistics the
        planner takes a big table for a small one and may choose plans that
        rescan it for every row of another. Return the tables analysed.
        """
        self.env.cr.execute(
            SQL(
                """
                SELECT c.relname, c.reltuples, s.n_mod_since_analyze,
                       COALESCE(x.n_tup_ins + x.n_tup_upd + x.n_tup_del, 0),
                       txid_current(),
                       -- columns added since the last ANALYZE (an install
                       -- adding its own) have no statistics at all
                       EXISTS (
                           SELECT 1 FROM pg_attribute a
                            WHERE a.attrelid = c.oid AND a.attnum > 0
                              AND NOT a.attisdropped AND a.attstattarget <> 0
                              AND NOT EXISTS (
                                  SELECT 1 FROM pg_stats st
                                   WHERE st.schemaname = current_schema()
                                     AND st.tablename = c.relname
                                     AND st.attname = a.attname))
                  FROM pg_class c
                  JOIN pg_stat_user_tables s ON s.relid = c.oid
                  LEFT JOIN pg_stat_xact_user_tables x ON x.relid = c.oid
                 WHERE c.relname = ANY(%s) AND c.relkind = 'r'
                   AND c.relnamespace = current_schema()::regnamespace
                 ORDER BY c.relname
                """,
                list(tables),
            )
        )
        # what this transaction changed in a table before analysing it
        done = self.env.cr.cache.setdefault("repeat_customer.analyzed", {})
        stale = []
        for table, rows, committed, changed, txid, unknown in self.env.cr.fetchall():
            if (txid, table) in done:
                changes = changed - done[txid, table]
                unknown = False
            else:
                changes = committed + changed
            if (
                rows < 0
                or (unknown and rows > 0)
                or changes > STALE_SHARE * max(rows, 0) + STALE_MARGIN
            ):
                _logger.info(
                    "repeat_customer: ANALYZE %s (%s rows changed)", table, changes
                )
                self.env.cr.execute(SQL("ANALYZE %s", SQL.identifier(table)))
                done[txid, table] = changed
                stale.append(table)
        return stale

    @contextmanager
    def _job_setwise_plans(self):
        """Within the block, PostgreSQL plans joins as hash or merge joins,
        never as nested loops: for statements that read whole tables, whose
        right plan does not depend on estimates that may be wrong."""
        self.env.cr.execute("SET LOCAL enable_nestloop TO off")
        # no reset after an error: the transaction (or the savepoint that
        # encloses the block, which undoes the SET) is rolled back anyway,
        # and a statement in an aborted transaction would hide the error
        yield
        self.env.cr.execute("SET LOCAL enable_nestloop TO DEFAULT")
