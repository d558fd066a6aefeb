"""Installing right after a data migration: the fresh-load case.

Times installing ``repeat_customer`` on an order history bulk-loaded by SQL
just before (PostgreSQL has no planner statistics of it yet), against the
same history once analysed, then the first nightly run after each install.
Autovacuum is switched off on the loaded tables, so that it cannot analyse
them between the load and the install as it might on a real server a minute
later: the fresh case is the worst case, every time.

Usage, from the root of the repository::

    python3 "$ODOO_BIN" -d fresh_base -i sale_management,sale_loyalty,account,portal \\
        --without-demo=all --stop-after-init --addons-path="$ODOO_ADDONS"
    python3 bench/fresh_load.py --base fresh_base --customers 23570 --orders 69659

``--base`` is a database with the addons ``repeat_customer`` depends on and
without ``repeat_customer``; it is copied, never changed. The copies are
dropped at the end unless ``--keep``.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import odoo

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
HISTORY_TABLES = ["res_partner", "sale_order", "account_move"]

NIGHTLY = """
import sys, time
import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
odoo.tools.config.parse_config(["-d", sys.argv[1], "--addons-path", sys.argv[2],
                                "--log-level", "warn"])
registry = Registry(sys.argv[1])
started = time.perf_counter()
calls = 0
while True:
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        state = env["customer.membership"]._cron_compute_customers()
        calls += 1
    if not state:
        break
print(round(time.perf_counter() - started, 2), calls)
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="database to copy")
    parser.add_argument("--customers", type=int, default=23570)
    parser.add_argument("--orders", type=int, default=69659)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--addons-path",
        default=",".join(
            [os.path.join(os.path.dirname(odoo.__file__), "addons"), REPO]
        ),
        help="Odoo addons path (default: Odoo's addons and this repository)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the copies")
    parser.add_argument("--json", metavar="FILE", help="also write the figures here")
    return parser.parse_args(argv)


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, **kwargs)


def psql(db, sql):
    run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql])


def odoo_bin():
    root = os.path.dirname(os.path.dirname(os.path.abspath(odoo.__file__)))
    path = os.environ.get("ODOO_BIN") or os.path.join(root, "odoo-bin")
    return (
        [sys.executable, path]
        if os.path.exists(path)
        else [sys.executable, "-m", "odoo"]
    )


def copy_db(source, target):
    run(["dropdb", "--if-exists", target])
    run(["createdb", "-T", source, target])


def statistics_state(db):
    """How many of the history tables have planner statistics."""
    out = subprocess.run(
        [
            "psql",
            "-At",
            "-d",
            db,
            "-c",
            "SELECT count(*) FILTER (WHERE s.n_mod_since_analyze < c.reltuples),"
            " count(*) FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid"
            f" WHERE c.relname IN ({', '.join(repr(t) for t in HISTORY_TABLES)})",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    fresh, total = out.split("|")
    return f"{fresh}/{total} tables with statistics"


def install_and_nightly(db, args):
    started = time.perf_counter()
    run(
        [
            *odoo_bin(),
            "-d",
            db,
            "-i",
            "repeat_customer",
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
            f"--addons-path={args.addons_path}",
        ],
        stdout=subprocess.DEVNULL,
    )
    install_s = time.perf_counter() - started
    out = run(
        [sys.executable, "-c", NIGHTLY, db, args.addons_path],
        capture_output=True,
        text=True,
    ).stdout.split()
    return round(install_s, 2), float(out[0]), int(out[1])


def main(argv=None):
    args = parse_args(argv)
    loaded = f"{args.base}_loaded"
    copy_db(args.base, loaded)
    for table in HISTORY_TABLES:
        psql(loaded, f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
    started = time.perf_counter()
    run(
        [
            sys.executable,
            os.path.join(HERE, "generate.py"),
            "--db",
            loaded,
            "--customers",
            str(args.customers),
            "--orders",
            str(args.orders),
            "--seed",
            str(args.seed),
            "--before-install",
        ],
        stdout=subprocess.DEVNULL,
    )
    print(f"history loaded by SQL in {time.perf_counter() - started:.1f} s")
    figures = {"customers": args.customers, "orders": args.orders}
    for case in ("fresh", "analysed"):
        db = f"{args.base}_{case}"
        copy_db(loaded, db)
        if case == "analysed":
            psql(db, "ANALYZE")
        state = statistics_state(db)
        install_s, nightly_s, calls = install_and_nightly(db, args)
        figures[case] = {
            "statistics_before_install": state,
            "install_s": install_s,
            "first_nightly_s": nightly_s,
            "nightly_calls": calls,
        }
        print(
            f"{case:>9}: {state}; install {install_s:.1f} s, first nightly "
            f"{nightly_s:.1f} s ({calls} cron calls)"
        )
        if not args.keep:
            run(["dropdb", db])
    if not args.keep:
        run(["dropdb", loaded])
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
