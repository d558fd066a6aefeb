"""What both benchmark scripts share: booting Odoo on the benchmark database,
environments on fresh cursors, VACUUM, the process's memory."""

import os
import resource
import sys
import time
from contextlib import contextmanager

import psycopg2

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.sql_db import connection_info_for


def add_odoo_arguments(parser, repo_dir):
    """The options every benchmark script takes besides ``--db``."""
    parser.add_argument(
        "--company-id", type=int, help="company to benchmark (default: env.company)"
    )
    parser.add_argument(
        "--addons-path",
        default=",".join(
            [os.path.join(os.path.dirname(odoo.__file__), "addons"), repo_dir]
        ),
        help="Odoo addons path (default: Odoo's addons and this repository)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--log-level", default="warn", help="Odoo log level (default: warn)"
    )


def timed(figures, name, func):
    """Run ``func()``, store its wall time in ``figures[name]``, return its
    result."""
    started = time.perf_counter()
    result = func()
    figures[name] = time.perf_counter() - started
    return result


def rss_mb():
    """Peak resident memory of this process so far, in MB (Linux: KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class OdooBench:
    """Loads the registry of ``args.db`` (exits if ``required_model`` is
    missing) and resolves the benchmarked company (``args.company_id`` or
    the superuser's)."""

    def __init__(self, args, required_model, missing_message):
        self.args = args
        odoo.tools.config.parse_config(
            [
                "-d",
                args.db,
                "--addons-path",
                args.addons_path,
                "--log-level",
                args.log_level,
            ]
        )
        started = time.perf_counter()
        self.registry = Registry(args.db)
        self.registry_load_s = time.perf_counter() - started
        self.baseline_mb = rss_mb()
        if required_model not in self.registry:
            sys.exit(missing_message)
        with self.env() as env:
            company = (
                env["res.company"].browse(args.company_id)
                if args.company_id
                else env.company
            )
            self.company_id = company.id
            self.company_name = company.name

    @contextmanager
    def env(self):
        """A superuser environment on a new cursor, rolled back at the end."""
        with self.registry.cursor() as cr:
            try:
                yield api.Environment(cr, SUPERUSER_ID, {})
            finally:
                cr.rollback()

    @contextmanager
    def raw_cursor(self):
        """A plain psycopg2 connection to the database, outside Odoo."""
        _dbname, info = connection_info_for(self.args.db)
        conn = psycopg2.connect(**info)
        try:
            yield conn
        finally:
            conn.close()

    def vacuum_tables(self, tables):
        """VACUUM ANALYZE ``tables`` (outside any transaction)."""
        with self.raw_cursor() as conn:
            conn.autocommit = True
            with conn.cursor() as cr:
                cr.execute(f"VACUUM ANALYZE {', '.join(tables)}")

    def company(self, env):
        return env["res.company"].browse(self.company_id)
