"""Load and fault harness: a real multi-process Odoo server hammered over
JSON-RPC and the portal while the addon's jobs run and its workers are killed.

Usage::

    python3 bench/load.py --db rc_load --members 10000 --seconds 120 --clients 16

What it does:

1. Prepares the database when it does not exist (or with ``--fresh``):
   installs ``repeat_customer`` without demo data, fills it with
   ``generate.py`` (``--members`` customers, six orders each on average),
   enrols them, gives them points (some pending, some already past their
   validity), a tier ladder, rewards with a small daily stock, coupon
   programmes, salespeople who each own a share of the customers, managers
   and portal users.
2. Starts ``odoo-bin`` on the loopback interface with ``--workers=4
   --max-cron-threads=2 --limit-time-real=120`` (as in production).
3. Runs ``--clients`` concurrent clients for ``--seconds``: salespeople over
   JSON-RPC (quotations, confirmations, points redeemed on quotations,
   rewards with a small stock, coupons applied, cancellations and
   reconfirmations), managers (credit notes, coupon batches, adjustments)
   and portal customers through the portal's HTTP form with its CSRF token
   (redemptions, and the same form submitted twice). Meanwhile it triggers
   the addon's jobs again and again (the nightly figures as full passes) and
   injects faults: ``kill -9`` of an HTTP worker and of a cron worker running
   a job, and ``pg_terminate_backend`` of a job's connection.
4. Ends with the ledger integrity check (run over JSON-RPC by a manager) and
   prints requests and errors by kind, median and p95 latency per call, the
   jobs completed, the faults and every invariant. Exits 1 when an invariant
   does not hold or the server had an error no fault explains.
"""

import argparse
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import datetime

import psutil
import psycopg2
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PASSWORD_SUFFIX = "-load"
# errors a client may meet that are not bugs: refused business operations
# (not enough points, stock given out, coupon used) and concurrency errors
# Odoo gave up retrying
USER_ERRORS = ("odoo.exceptions.UserError", "odoo.exceptions.ValidationError")
CONCURRENCY_ERRORS = (
    "psycopg2.errors.SerializationFailure",
    "psycopg2.errors.LockNotAvailable",
    "psycopg2.errors.DeadlockDetected",
    "odoo.exceptions.ConcurrencyError",
)
ACCESS_ERROR = "odoo.exceptions.AccessError"
# log lines that a fault the harness injected explains
FAULT_PATTERNS = re.compile(
    r"terminating connection due to administrator command"
    r"|server closed the connection unexpectedly"
    r"|terminated abnormally"
    r"|connection already closed"
    r"|could not receive data from server"
    r"|SSL SYSCALL error"
    r"|InterfaceError"
    r"|OperationalError"
    r"|Worker \(\d+\)|WorkerHTTP|WorkerCron"
    r"|Broken pipe|Connection reset"
)
# logged by odoo.sql_db before Odoo retries the request (or the job's call)
RETRIED = re.compile(
    r"could not serialize access|deadlock detected|could not obtain lock"
)
LOG_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (\d+) (\w+) (\S+) (\S+): (.*)$"
)
JOB_START = re.compile(r"Job '(.+)' \((\d+)\) starting")
JOB_DONE = re.compile(r"Job '(.+)' \((\d+)\) done in ([\d.]+)s")
JOB_COMPLETED = re.compile(r"Job '(.+)' \((\d+)\) completed")
NIGHTLY = "Loyalty: compute customer statistics, RFM and churn"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="rc_load", help="database (default rc_load)")
    parser.add_argument(
        "--members", type=int, default=10000, help="customers of a new database"
    )
    parser.add_argument("--seconds", type=float, default=120.0, help="run length")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--port", type=int, default=8079, help="HTTP port")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--fresh", action="store_true", help="drop and prepare the database again"
    )
    parser.add_argument(
        "--no-faults", action="store_true", help="run without injecting faults"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--logfile", default=None, help="server log (default: /tmp/<db>-server.log)"
    )
    args = parser.parse_args(argv)
    if args.clients < 4:
        parser.error("--clients must be at least 4 (salespeople, manager, portal)")
    return args


def odoo_root():
    import odoo  # noqa: PLC0415 - only the harness's parent process needs it

    return os.path.dirname(os.path.dirname(os.path.abspath(odoo.__file__)))


def addons_path():
    return f"{os.path.join(odoo_root(), 'odoo', 'addons')},{REPO}"


def odoo_cmd(*args):
    return [sys.executable, os.path.join(odoo_root(), "odoo-bin"), *args]


@contextmanager
def pg(dbname, autocommit=True):
    conn = psycopg2.connect(dbname=dbname)
    conn.autocommit = autocommit
    try:
        yield conn
    finally:
        conn.close()


def db_exists(name):
    with pg("postgres") as conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return bool(cr.fetchone())


# ----------------------------------------------------------------------
# 1. The database
# ----------------------------------------------------------------------
def prepare(args):
    if db_exists(args.db) and not args.fresh:
        print(f"database {args.db}: kept (use --fresh to prepare it again)")
        return
    started = time.perf_counter()
    with pg("postgres") as conn, conn.cursor() as cr:
        cr.execute(f'DROP DATABASE IF EXISTS "{args.db}"')
    print(f"database {args.db}: installing repeat_customer...", flush=True)
    subprocess.run(
        odoo_cmd(
            "-d",
            args.db,
            "--addons-path",
            addons_path(),
            "-i",
            "repeat_customer",
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
        ),
        check=True,
    )
    subprocess.run(
        [
            sys.executable,
            os.path.join(HERE, "generate.py"),
            "--db",
            args.db,
            "--customers",
            str(args.members),
            "--orders",
            str(args.members * 6),
            "--seed",
            str(args.seed),
        ],
        check=True,
    )
    setup_actors(args)
    print(f"database {args.db}: ready in {time.perf_counter() - started:.0f} s")


def setup_actors(args):
    """Programme, points, rewards and users, through the addon's own API."""
    sys.path.insert(0, HERE)
    from _common import OdooBench  # noqa: PLC0415

    bench = OdooBench(
        argparse.Namespace(
            db=args.db,
            addons_path=addons_path(),
            log_level="warn",
            company_id=None,
        ),
        "customer.membership",
        "repeat_customer is not installed",
    )
    rng = random.Random(args.seed)
    with bench.registry.cursor() as cr:
        from odoo import SUPERUSER_ID, Command, api, fields  # noqa: PLC0415

        env = api.Environment(cr, SUPERUSER_ID, {})
        company = bench.company(env)
        if not company.chart_template:
            env["account.chart.template"].try_loading(
                "generic_coa", company=company, install_demo=False
            )
        company.write(
            {
                "loyalty_points_enabled": True,
                "loyalty_points_per_unit": 1.0,
                "loyalty_points_release": "confirm",
                "loyalty_points_pending_days": 0,
                "loyalty_points_expiry_policy": "months",
                "loyalty_points_expiry_months": 12,
                "loyalty_point_value": 0.01,
                "loyalty_points_max_redeem_percent": 50.0,
            }
        )
        env["customer.membership"]._compute_company(company)
        cr.commit()
        members = env["customer.membership"].search([("company_id", "=", company.id)])
        today = company._loyalty_today()
        lines = []
        for member in members:
            lines.append(
                {
                    "membership_id": member.id,
                    "kind": "adjust",
                    "points": rng.randint(200, 3000),
                    "reason": "opening balance",
                    "expiry_date": fields.Date.add(today, days=300),
                }
            )
            roll = rng.random()
            if roll < 0.10:
                # past its validity: the expiry job has work
                lines.append(
                    {
                        "membership_id": member.id,
                        "kind": "adjust",
                        "points": rng.randint(10, 200),
                        "reason": "old points",
                        "expiry_date": fields.Date.subtract(today, days=1),
                    }
                )
            elif roll < 0.20:
                # pending, available today: the release job has work
                lines.append(
                    {
                        "membership_id": member.id,
                        "kind": "earn",
                        "points": rng.randint(10, 300),
                        "state": "pending",
                        "release_rule": "confirm",
                        "available_date": today,
                        "expiry_date": fields.Date.add(today, days=365),
                    }
                )
        env["customer.point.entry"]._post(lines)
        tiers = env["customer.tier"].create(
            [
                {
                    "name": name,
                    "sequence": seq,
                    "threshold": threshold,
                    "company_id": company.id,
                }
                for seq, (name, threshold) in enumerate(
                    [("Silver", 1500), ("Gold", 5000), ("Platinum", 15000)], 1
                )
            ]
        )
        from odoo.addons.repeat_customer.tools.coupons import (  # noqa: PLC0415
            coupon_program_vals,
        )

        programs = env["loyalty.program"].create(
            [
                coupon_program_vals(company, "Load voucher 5", 5.0),
                coupon_program_vals(company, "Load batch voucher 3", 3.0),
            ]
        )
        env["customer.reward"].create(
            [
                {
                    "name": "5 off voucher, small stock",
                    "company_id": company.id,
                    "points_cost": 150,
                    "reward_type": "coupon",
                    "program_id": programs[0].id,
                    "coupon_validity_days": 30,
                    "limit_qty": 25,
                    "limit_period": "day",
                },
                {
                    "name": "8 off this order",
                    "company_id": company.id,
                    "points_cost": 100,
                    "reward_type": "discount",
                    "discount_amount": 8.0,
                },
            ]
        )
        env["product.product"].create(
            {
                "name": "Load tea",
                "default_code": "LOAD-TEA",
                "list_price": 50.0,
                "type": "consu",
                "invoice_policy": "order",
                "taxes_id": [Command.clear()],
            }
        )
        sales_group = env.ref("sales_team.group_sale_salesman")
        users = []
        for index in range(args.clients):
            users.append(
                {
                    "name": f"Load salesperson {index}",
                    "login": f"load.sales{index}",
                    "email": f"load.sales{index}@example.com",
                    "password": f"load.sales{index}{PASSWORD_SUFFIX}",
                    "company_id": company.id,
                    "company_ids": [Command.set(company.ids)],
                    "groups_id": [
                        Command.set(
                            [
                                env.ref("base.group_user").id,
                                sales_group.id,
                                env.ref("repeat_customer.group_user").id,
                            ]
                        )
                    ],
                }
            )
        for index in range(3):
            users.append(
                {
                    "name": f"Load manager {index}",
                    "login": f"load.manager{index}",
                    "email": f"load.manager{index}@example.com",
                    "password": f"load.manager{index}{PASSWORD_SUFFIX}",
                    "company_id": company.id,
                    "company_ids": [Command.set(company.ids)],
                    "groups_id": [
                        Command.set(
                            [
                                env.ref("base.group_user").id,
                                env.ref("sales_team.group_sale_manager").id,
                                env.ref("account.group_account_invoice").id,
                                env.ref("repeat_customer.group_manager").id,
                            ]
                        )
                    ],
                }
            )
        created = env["res.users"].with_context(no_reset_password=True).create(users)
        salespeople = created[: args.clients]
        # each salesperson owns a share of the customers
        cr.execute(
            """
            WITH s AS (
                SELECT unnest(%s::int[]) AS user_id,
                       generate_subscripts(%s::int[], 1) - 1 AS n
            ),
            m AS (
                SELECT id, partner_id, row_number() OVER (ORDER BY id) AS r
                  FROM customer_membership WHERE company_id = %s
            ),
            upd AS (
                UPDATE res_partner p SET user_id = s.user_id
                  FROM m JOIN s ON s.n = m.r %% %s
                 WHERE p.id = m.partner_id OR p.commercial_partner_id = m.partner_id
            )
            UPDATE customer_membership cm SET user_id = s.user_id
              FROM m JOIN s ON s.n = m.r %% %s
             WHERE cm.id = m.id
            """,
            [
                salespeople.ids,
                salespeople.ids,
                company.id,
                len(salespeople),
                len(salespeople),
            ],
        )
        # portal customers among the members with the most points
        rich = env["customer.membership"].search(
            [("company_id", "=", company.id), ("partner_id.is_company", "=", False)],
            order="points_balance desc",
            limit=12,
        )
        env["res.users"].with_context(no_reset_password=True).create(
            [
                {
                    "name": member.partner_id.name,
                    "login": f"load.portal{index}",
                    "password": f"load.portal{index}{PASSWORD_SUFFIX}",
                    "partner_id": member.partner_id.id,
                    "company_id": company.id,
                    "company_ids": [Command.set(company.ids)],
                    "groups_id": [Command.set([env.ref("base.group_portal").id])],
                }
                for index, member in enumerate(rich)
            ]
        )
        env["customer.tier"]._apply_tiers(company, members.ids)
        env["ir.config_parameter"].set_param("repeat_customer.load_tiers", tiers.ids)
        cr.commit()
    with pg(args.db) as conn, conn.cursor() as cr:
        cr.execute("VACUUM ANALYZE")


# ----------------------------------------------------------------------
# 2. The server, its log and its workers
# ----------------------------------------------------------------------
class Server:
    def __init__(self, args):
        self.args = args
        self.url = f"http://127.0.0.1:{args.port}"
        self.logfile = args.logfile or f"/tmp/{args.db}-server.log"
        self.proc = None
        self.lock = threading.Lock()
        self.running_jobs = {}  # pid -> (job name, started)
        self.job_intervals = defaultdict(list)  # job name -> [(start, end)]
        self.job_calls = Counter()
        self.jobs_completed = Counter()
        self.errors = []  # (time, pid, level, logger, message, first lines)
        self._stop = threading.Event()

    def start(self):
        open(self.logfile, "w").close()
        env = dict(os.environ)
        self.proc = subprocess.Popen(
            odoo_cmd(
                "-d",
                self.args.db,
                "--addons-path",
                addons_path(),
                f"--db-filter=^{self.args.db}$",
                "--http-interface=127.0.0.1",
                f"--http-port={self.args.port}",
                "--workers=4",
                "--max-cron-threads=2",
                "--limit-time-real=120",
                # a cron worker runs every ready job (each up to 10 calls)
                # before its watchdog is reset: a large database needs more
                # than the HTTP limit, as its production settings would give
                "--limit-time-real-cron=900",
                "--limit-time-cpu=60",
                "--limit-memory-soft=2147483648",
                "--limit-memory-hard=2684354560",
                "--db_maxconn=32",
                "--log-level=info",
                f"--logfile={self.logfile}",
            ),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            # its own process group: stop() ends the workers a killed master
            # or a worker past its graceful shutdown would leave behind
            start_new_session=True,
        )
        threading.Thread(target=self._tail, daemon=True).start()
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.healthy():
                return
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited, see {self.logfile}")
            time.sleep(0.5)
        raise SystemExit(f"the server did not answer, see {self.logfile}")

    def healthy(self):
        try:
            return requests.get(self.url + "/web/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._wait_sessions_closed()
        self._stop.set()

    def _wait_sessions_closed(self, timeout=15):
        """Wait until no server connection to the database is left.

        PostgreSQL ends a killed process's backends when it notices the
        closed socket; a database dropped right after the run must not meet
        them.
        """
        deadline = time.time() + timeout
        with pg("postgres") as conn, conn.cursor() as cr:
            while True:
                cr.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    [self.args.db],
                )
                if not cr.fetchone()[0]:
                    return
                if time.time() > deadline:
                    cr.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = %s AND pid <> pg_backend_pid()",
                        [self.args.db],
                    )
                    return
                time.sleep(0.2)

    def workers(self, kind):
        """Pids of the master's workers of ``kind`` (WorkerHTTP, WorkerCron)."""
        try:
            children = psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return []
        pids = []
        for child in children:
            try:
                if kind in " ".join(child.cmdline()):
                    pids.append(child.pid)
            except psutil.NoSuchProcess:
                continue
        return pids

    def _tail(self):
        with open(self.logfile, encoding="utf-8", errors="replace") as log:
            last = None
            while not self._stop.is_set():
                line = log.readline()
                if not line:
                    time.sleep(0.05)
                    continue
                match = LOG_LINE.match(line.rstrip("\n"))
                if not match:
                    if last is not None and len(last[5]) < 40:
                        last[5].append(line.rstrip("\n"))
                    continue
                stamp, pid, level, _db, logger, message = match.groups()
                when = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
                pid = int(pid)
                last = None
                if level in ("ERROR", "CRITICAL"):
                    last = (when, pid, level, logger, message, [])
                    with self.lock:
                        self.errors.append(last)
                self._job_event(when, pid, message)

    def _job_event(self, when, pid, message):
        with self.lock:
            start = JOB_START.search(message)
            if start:
                self.running_jobs[pid] = (start.group(1), when)
                return
            done = JOB_DONE.search(message)
            if done:
                name, started = self.running_jobs.pop(pid, (done.group(1), when))
                self.job_intervals[name].append((started, when))
                self.job_calls[name] += 1
                return
            completed = JOB_COMPLETED.search(message)
            if completed:
                self.jobs_completed[completed.group(1)] += 1

    def forget_pid(self, pid, when):
        """A killed worker's running job ends at ``when``."""
        with self.lock:
            job = self.running_jobs.pop(pid, None)
            if job:
                self.job_intervals[job[0]].append((job[1], when))


# ----------------------------------------------------------------------
# 3. Clients
# ----------------------------------------------------------------------
class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = defaultdict(list)  # kind -> [(start, seconds, outcome)]
        self.error_samples = defaultdict(list)

    def add(self, kind, start, seconds, outcome, detail=None):
        with self.lock:
            self.calls[kind].append((start, seconds, outcome))
            if detail and len(self.error_samples[outcome]) < 12:
                self.error_samples[outcome].append(f"{kind}: {detail}")


class RpcError(Exception):
    def __init__(self, name, message):
        super().__init__(message)
        self.name = name


class Client:
    """One user talking JSON-RPC (``/jsonrpc``, ``execute_kw``)."""

    def __init__(self, run, login):
        self.run = run
        self.login = login
        self.password = login + PASSWORD_SUFFIX
        self.http = requests.Session()
        self.rng = random.Random(f"{run.args.seed}-{login}")
        self.uid = None

    def _json(self, path, params):
        payload = {"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}
        response = self.http.post(self.run.server.url + path, json=payload, timeout=130)
        if response.status_code >= 500:
            raise RpcError(f"http_{response.status_code}", response.text[:300])
        body = response.json()
        if "error" in body:
            data = body["error"].get("data") or {}
            raise RpcError(data.get("name", "unknown"), data.get("message", ""))
        return body["result"]

    def authenticate(self):
        """Log in once, as the web client does: later calls carry the
        session cookie."""
        started = time.time()
        tick = time.perf_counter()
        try:
            info = self._json(
                "/web/session/authenticate",
                {
                    "db": self.run.args.db,
                    "login": self.login,
                    "password": self.password,
                },
            )
        except (RpcError, requests.RequestException) as exc:
            self.run.record("login", started, time.perf_counter() - tick, "connection")
            raise RpcError("connection", repr(exc)) from exc
        self.run.record("login", started, time.perf_counter() - tick, "ok")
        self.uid = info["uid"]

    def call(self, kind, model, method, *args, **kwargs):
        """``model.method(*args, **kwargs)`` through the web client's
        JSON-RPC route, timed under ``kind``."""
        if self.uid is None:
            self.authenticate()
        started = time.time()
        tick = time.perf_counter()
        try:
            result = self._json(
                f"/web/dataset/call_kw/{model}/{method}",
                {
                    "model": model,
                    "method": method,
                    "args": list(args),
                    "kwargs": kwargs,
                },
            )
        except RpcError as exc:
            self.run.record(
                kind, started, time.perf_counter() - tick, exc.name, str(exc)
            )
            if exc.name == "odoo.http.SessionExpiredException":
                self.uid = None
            raise
        except requests.RequestException as exc:
            self.run.record(
                kind, started, time.perf_counter() - tick, "connection", repr(exc)
            )
            raise RpcError("connection", repr(exc)) from exc
        self.run.record(kind, started, time.perf_counter() - tick, "ok")
        return result

    def think(self):
        # a person at a till or a screen: a second or two between clicks
        time.sleep(self.rng.uniform(0.5, 2.0))

    def loop(self):
        while not self.run.stopping.is_set():
            try:
                self.step()
            except RpcError:
                pass
            except Exception as exc:  # a harness bug: reported, the run fails
                self.run.record(
                    "harness", time.time(), 0.0, "harness_error", traceback.format_exc()
                )
                self.run.harness_errors.append(repr(exc))
            self.think()


class Salesperson(Client):
    def __init__(self, run, login):
        super().__init__(run, login)
        self.confirmed = []
        self.cancelled = []
        self.members = None

    def _members(self):
        if self.uid is None:
            self.authenticate()
        if self.members is None:
            rows = self.call(
                "read_members",
                "customer.membership",
                "search_read",
                [["user_id", "=", self.uid]],
                fields=["partner_id"],
                limit=300,
            )
            self.members = [(r["id"], r["partner_id"][0]) for r in rows]
        return self.members

    def _quotation(self, partner_id):
        lines = [
            [
                0,
                0,
                {
                    "product_id": self.run.product_id,
                    "product_uom_qty": self.rng.randint(1, 3),
                    "price_unit": round(self.rng.uniform(20, 400), 2),
                },
            ]
            for _ in range(self.rng.randint(1, 3))
        ]
        return self.call(
            "order_create",
            "sale.order",
            "create",
            {"partner_id": partner_id, "order_line": lines},
        )

    def _confirm(self, order_id):
        self.call("order_confirm", "sale.order", "action_confirm", [order_id])
        self.confirmed.append(order_id)

    def step(self):
        members = self._members()
        if not members:
            return
        member_id, partner_id = self.rng.choice(members)
        roll = self.rng.random()
        if roll < 0.35:
            order_id = self._quotation(partner_id)
            self._confirm(order_id)
        elif roll < 0.45 and self.confirmed:
            order_id = self.confirmed.pop(self.rng.randrange(len(self.confirmed)))
            invoiced = self.call(
                "read_orders", "sale.order", "read", [order_id], ["invoice_ids"]
            )[0]["invoice_ids"]
            if invoiced:
                # cancelling an invoiced order needs invoicing rights
                return
            self.call(
                "order_cancel",
                "sale.order",
                "action_cancel",
                [order_id],
                context={"disable_cancel_warning": True},
            )
            self.cancelled.append(order_id)
        elif roll < 0.52 and self.cancelled:
            order_id = self.cancelled.pop()
            self.call("order_draft", "sale.order", "action_draft", [order_id])
            self.call("order_reconfirm", "sale.order", "action_confirm", [order_id])
            self.confirmed.append(order_id)
        elif roll < 0.67:
            order_id = self._quotation(partner_id)
            wizard = self.call(
                "redeem_points_wizard",
                "customer.point.redeem.wizard",
                "create",
                {"order_id": order_id, "points": self.rng.randint(10, 400)},
                context={"active_id": order_id, "default_order_id": order_id},
            )
            try:
                self.call(
                    "redeem_points",
                    "customer.point.redeem.wizard",
                    "action_redeem",
                    [wizard],
                )
            finally:
                if self.rng.random() < 0.6:
                    self._confirm(order_id)
        elif roll < 0.80:
            order_id = None
            if self.rng.random() < 0.3:
                order_id = self._quotation(partner_id)
            reward_id = (
                self.run.discount_reward_id if order_id else self.run.stock_reward_id
            )
            vals = {"membership_id": member_id, "reward_id": reward_id}
            if order_id:
                vals["order_id"] = order_id
            wizard = self.call(
                "redeem_reward_wizard", "customer.reward.redeem.wizard", "create", vals
            )
            self.call(
                "redeem_reward",
                "customer.reward.redeem.wizard",
                "action_redeem",
                [wizard],
            )
            if order_id:
                self._confirm(order_id)
        elif roll < 0.92:
            if self.uid is None:
                self.authenticate()
            coupons = self.call(
                "read_coupons",
                "customer.coupon",
                "search_read",
                [["user_id", "=", self.uid], ["state", "=", "issued"]],
                fields=["code", "partner_id"],
                limit=20,
            )
            if not coupons:
                return
            coupon = self.rng.choice(coupons)
            order_id = self._quotation(coupon["partner_id"][0])
            wizard = self.call(
                "apply_coupon_wizard",
                "sale.loyalty.coupon.wizard",
                "create",
                {"order_id": order_id, "coupon_code": coupon["code"]},
                context={"active_id": order_id},
            )
            action = self.call(
                "apply_coupon", "sale.loyalty.coupon.wizard", "action_apply", [wizard]
            )
            context = action.get("context") if isinstance(action, dict) else None
            if context and context.get("default_reward_ids"):
                reward_wizard = self.call(
                    "apply_coupon_reward",
                    "sale.loyalty.reward.wizard",
                    "create",
                    {"selected_reward_id": context["default_reward_ids"][0]},
                    context=context,
                )
                self.call(
                    "apply_coupon_reward",
                    "sale.loyalty.reward.wizard",
                    "action_apply",
                    [reward_wizard],
                    context=context,
                )
            self._confirm(order_id)
        else:
            self.call(
                "read_member",
                "customer.membership",
                "read",
                [member_id],
                ["points_balance", "points_pending", "tier_id", "segment_id"],
            )


class Manager(Client):
    def random_member(self):
        return self.call(
            "read_members",
            "customer.membership",
            "search",
            [],
            offset=self.rng.randrange(self.run.member_count),
            limit=1,
        )

    def step(self):
        roll = self.rng.random()
        if roll < 0.45:
            self.credit_note()
        elif roll < 0.60:
            self.coupon_batch()
        elif roll < 0.85:
            member = self.random_member()
            wizard = self.call(
                "adjust_wizard",
                "customer.point.adjust.wizard",
                "create",
                {
                    "membership_id": member[0],
                    "points": self.rng.choice([-1, 1]) * self.rng.randint(1, 300),
                    "reason": "load test goodwill",
                },
            )
            self.call(
                "adjust", "customer.point.adjust.wizard", "action_apply", [wizard]
            )
        else:
            member = self.random_member()
            wizard = self.call(
                "redeem_reward_wizard",
                "customer.reward.redeem.wizard",
                "create",
                {"membership_id": member[0], "reward_id": self.run.stock_reward_id},
            )
            self.call(
                "redeem_reward",
                "customer.reward.redeem.wizard",
                "action_redeem",
                [wizard],
            )

    def credit_note(self):
        orders = self.call(
            "read_orders",
            "sale.order",
            "search",
            [
                ["state", "=", "sale"],
                ["invoice_status", "=", "to invoice"],
                ["order_line.product_id", "=", self.run.product_id],
            ],
            limit=20,
            order="id desc",
        )
        if not orders:
            return
        order_id = self.rng.choice(orders)
        context = {
            "active_model": "sale.order",
            "active_ids": [order_id],
            "active_id": order_id,
        }
        wizard = self.call(
            "invoice_wizard",
            "sale.advance.payment.inv",
            "create",
            {"advance_payment_method": "delivered"},
            context=context,
        )
        self.call(
            "invoice_create",
            "sale.advance.payment.inv",
            "create_invoices",
            [wizard],
            context=context,
        )
        invoice_ids = self.call(
            "read_orders", "sale.order", "read", [order_id], ["invoice_ids"]
        )[0]["invoice_ids"]
        invoice = self.call(
            "read_invoice",
            "account.move",
            "search",
            [
                ["id", "in", invoice_ids],
                ["move_type", "=", "out_invoice"],
                ["state", "=", "draft"],
            ],
            limit=1,
        )
        if not invoice:
            return
        self.call("invoice_post", "account.move", "action_post", invoice)
        context = {"active_model": "account.move", "active_ids": invoice}
        reversal = self.call(
            "credit_note_wizard",
            "account.move.reversal",
            "create",
            {"reason": "load test return", "journal_id": self.run.sale_journal_id},
            context=context,
        )
        action = self.call(
            "credit_note_create",
            "account.move.reversal",
            "refund_moves",
            [reversal],
            context=context,
        )
        refund = action.get("res_id") if isinstance(action, dict) else None
        if refund:
            self.call("credit_note", "account.move", "action_post", [refund])

    def coupon_batch(self):
        members = self.call(
            "read_members",
            "customer.membership",
            "search",
            [],
            offset=self.rng.randrange(max(self.run.member_count - 30, 1)),
            limit=self.rng.randint(5, 30),
        )
        batch = self.call(
            "coupon_batch_create",
            "customer.coupon.batch",
            "create",
            {
                "name": "Load batch",
                "program_id": self.run.batch_program_id,
                "target": "members",
                "membership_ids": [[6, 0, members]],
                "per_customer_limit": self.rng.randint(1, 2),
            },
        )
        self.call("coupon_batch", "customer.coupon.batch", "action_issue", [batch])
        if self.rng.random() < 0.3:
            # issuing the same batch again gives nothing more
            self.call(
                "coupon_batch_again", "customer.coupon.batch", "action_issue", [batch]
            )


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FORM = re.compile(
    r'<form[^>]*action="/my/loyalty/redeem".*?name="csrf_token" value="([^"]+)"'
    r'.*?name="token" value="([^"]+)".*?name="reward_id" value="(\d+)"',
    re.S,
)


class PortalCustomer(Client):
    """A customer on the portal: logs in through the login form and redeems
    through the redeem form, CSRF token included."""

    def _http(self, kind, method, path, **kwargs):
        started = time.time()
        tick = time.perf_counter()
        try:
            response = self.http.request(
                method, self.run.server.url + path, timeout=130, **kwargs
            )
        except requests.RequestException as exc:
            self.run.record(
                kind, started, time.perf_counter() - tick, "connection", repr(exc)
            )
            raise RpcError("connection", repr(exc)) from exc
        outcome = "ok" if response.status_code < 400 else f"http_{response.status_code}"
        self.run.record(
            kind,
            started,
            time.perf_counter() - tick,
            outcome,
            response.text[:200] if outcome != "ok" else None,
        )
        if outcome != "ok":
            raise RpcError(outcome, response.text[:200])
        return response

    def login_form(self):
        page = self._http("portal_login", "GET", "/web/login")
        token = CSRF.search(page.text)
        self._http(
            "portal_login",
            "POST",
            "/web/login",
            data={
                "login": self.login,
                "password": self.password,
                "csrf_token": token.group(1) if token else "",
                "redirect": "/my/loyalty",
            },
        )
        self.uid = True

    def step(self):
        if self.uid is None:
            self.login_form()
        page = self._http("portal_page", "GET", "/my/loyalty")
        forms = FORM.findall(page.text)
        if "/web/login" in page.url:
            self.uid = None
            return
        if not forms:
            return
        csrf, token, reward_id = self.rng.choice(forms)
        data = {"csrf_token": csrf, "token": token, "reward_id": reward_id}
        self._http("portal_redeem", "POST", "/my/loyalty/redeem", data=data)
        if self.rng.random() < 0.25:
            # the same form submitted again redeems nothing more
            self._http("portal_resubmit", "POST", "/my/loyalty/redeem", data=data)


# ----------------------------------------------------------------------
# 4. Jobs and faults
# ----------------------------------------------------------------------
class Run:
    def __init__(self, args):
        self.args = args
        self.server = Server(args)
        self.stats = Stats()
        self.stopping = threading.Event()
        self.faults = []  # (time, kind, pid, note)
        self.triggers = Counter()
        self.harness_errors = []
        self.lock_samples = 0
        self.lock_waits = {}  # (pid, query start) -> longest wait seen
        self.longest_wait = (0.0, "")
        self.rng = random.Random(args.seed)

    def record(self, *args):
        self.stats.add(*args)

    def load_ids(self):
        with pg(self.args.db) as conn, conn.cursor() as cr:
            cr.execute("SELECT id FROM product_product WHERE default_code = 'LOAD-TEA'")
            self.product_id = cr.fetchone()[0]
            cr.execute("SELECT id, reward_type FROM customer_reward ORDER BY id")
            rewards = cr.fetchall()
            self.stock_reward_id = next(r for r, t in rewards if t == "coupon")
            self.discount_reward_id = next(r for r, t in rewards if t == "discount")
            cr.execute(
                "SELECT id FROM loyalty_program WHERE name->>'en_US' LIKE 'Load batch%'"
            )
            self.batch_program_id = cr.fetchone()[0]
            cr.execute(
                "SELECT id FROM account_journal WHERE type = 'sale' ORDER BY id LIMIT 1"
            )
            self.sale_journal_id = cr.fetchone()[0]
            cr.execute("SELECT count(*) FROM customer_membership")
            self.member_count = cr.fetchone()[0]
            cr.execute(
                """
                SELECT c.id, a.name->>'en_US' FROM ir_cron c
                  JOIN ir_act_server a ON a.id = c.ir_actions_server_id
                 WHERE c.active AND a.model_name LIKE 'customer.%%'
                 ORDER BY c.id
                """
            )
            self.crons = dict(cr.fetchall())

    def trigger(self, cron_id):
        with pg(self.args.db) as conn, conn.cursor() as cr:
            if self.crons[cron_id] == NIGHTLY:
                # a full pass: every member recomputed, the heaviest night
                cr.execute("UPDATE res_company SET loyalty_stats_full_date = NULL")
            cr.execute(
                "INSERT INTO ir_cron_trigger (cron_id, call_at)"
                " VALUES (%s, now() AT TIME ZONE 'UTC')",
                [cron_id],
            )
        with pg("postgres") as conn, conn.cursor() as cr:
            cr.execute("SELECT pg_notify('cron_trigger', %s)", [self.args.db])
        self.triggers[self.crons[cron_id]] += 1

    def lock_monitor(self):
        """Sample the requests waiting for a row lock: how long the longest
        waited, and what held it."""
        with pg(self.args.db) as conn, conn.cursor() as cr:
            while not self.stopping.wait(0.1):
                cr.execute(
                    """
                    SELECT w.pid, w.query_start,
                           extract(epoch FROM now() - w.query_start),
                           left(regexp_replace(b.query, '\\s+', ' ', 'g'), 120)
                      FROM pg_stat_activity w
                      CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS h(pid)
                      JOIN pg_stat_activity b ON b.pid = h.pid
                     WHERE w.datname = current_database()
                       AND w.wait_event_type = 'Lock'
                    """
                )
                for pid, started, waited, holder in cr.fetchall():
                    self.lock_samples += 1
                    episode = (pid, started)
                    self.lock_waits[episode] = max(
                        waited, self.lock_waits.get(episode, 0.0)
                    )
                    if waited > self.longest_wait[0]:
                        self.longest_wait = (waited, holder)

    def scheduler(self):
        nightly = next(i for i, n in self.crons.items() if n == NIGHTLY)
        others = [i for i in self.crons if i != nightly]
        step = 0
        while not self.stopping.wait(2.0):
            step += 1
            if step % 4 == 1:
                self.trigger(nightly)
            self.trigger(self.rng.choice(others))

    def running_job_pid(self, timeout, job=NIGHTLY):
        """A cron worker running ``job`` (after ``timeout`` seconds, or
        when ``job`` is None: any job)."""
        deadline = time.time() + timeout
        while time.time() < deadline + timeout and not self.stopping.is_set():
            wanted = job if time.time() < deadline else None
            with self.server.lock:
                pids = [
                    pid
                    for pid, (name, started) in self.server.running_jobs.items()
                    if time.time() - started > 0.05 and wanted in (None, name)
                ]
            live = set(self.server.workers("WorkerCron"))
            pids = [pid for pid in pids if pid in live]
            if pids:
                return pids[0]
            time.sleep(0.05)
        return None

    def kill_http_worker(self):
        pids = self.server.workers("WorkerHTTP")
        if pids:
            pid = self.rng.choice(pids)
            os.kill(pid, signal.SIGKILL)
            self.faults.append((time.time(), "kill -9 HTTP worker", pid, ""))

    def kill_cron_worker(self):
        nightly = next(i for i, n in self.crons.items() if n == NIGHTLY)
        self.trigger(nightly)
        pid = self.running_job_pid(15)
        if pid:
            job = self.server.running_jobs.get(pid, ("?",))[0]
            os.kill(pid, signal.SIGKILL)
            self.server.forget_pid(pid, time.time())
            self.faults.append((time.time(), "kill -9 cron worker", pid, job))

    def terminate_job_backend(self):
        nightly = next(i for i, n in self.crons.items() if n == NIGHTLY)
        self.trigger(nightly)
        pid = self.running_job_pid(15, job=None)
        if not pid:
            return
        job = self.server.running_jobs.get(pid, ("?",))[0]
        with pg(self.args.db) as conn, conn.cursor() as cr:
            cr.execute(
                """
                SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name = %s
                   AND state <> 'idle'
                """,
                [f"odoo-{pid}"],
            )
            backends = [row[0] for row in cr.fetchall()]
        if backends:
            self.faults.append(
                (time.time(), "pg_terminate_backend of a job", pid, f"{job} {backends}")
            )

    def injector(self):
        plan = [
            (0.25, self.kill_http_worker),
            (0.40, self.kill_cron_worker),
            (0.55, self.terminate_job_backend),
            (0.70, self.kill_http_worker),
            (0.80, self.terminate_job_backend),
        ]
        start = time.time()
        for share, fault in plan:
            if self.stopping.wait(
                max(0.0, start + share * self.args.seconds - time.time())
            ):
                return
            fault()

    def go(self):
        self.load_ids()
        self.server.start()
        try:
            return self._go()
        finally:
            self.server.stop()

    def _go(self):
        args = self.args
        managers = 2 if args.clients >= 12 else 1
        portal = 3 if args.clients >= 12 else 2
        sales = args.clients - managers - portal
        clients = [Salesperson(self, f"load.sales{i}") for i in range(sales)]
        clients += [Manager(self, f"load.manager{i}") for i in range(managers)]
        clients += [PortalCustomer(self, f"load.portal{i}") for i in range(portal)]
        threads = [threading.Thread(target=c.loop, daemon=True) for c in clients]
        threads.append(threading.Thread(target=self.scheduler, daemon=True))
        threads.append(threading.Thread(target=self.lock_monitor, daemon=True))
        if not args.no_faults:
            threads.append(threading.Thread(target=self.injector, daemon=True))
        print(
            f"running {len(clients)} clients ({sales} salespeople, {managers} "
            f"managers, {portal} portal customers) for {args.seconds:g} s "
            f"on {self.server.url}, faults {'off' if args.no_faults else 'on'}",
            flush=True,
        )
        started = self.started = time.time()
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        self.stopping.set()
        for thread in threads:
            thread.join(150)
        elapsed = time.time() - started
        # let the jobs in flight finish, then check
        self._wait_jobs_idle(60)
        recovered = self.server.healthy()
        check = self.integrity_check()
        return self.report(elapsed, recovered, check)

    def _wait_jobs_idle(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.server.lock:
                if not self.server.running_jobs:
                    return
            time.sleep(0.5)

    def integrity_check(self):
        manager = Manager(self, "load.manager0")
        action = manager.call(
            "integrity_check", "customer.integrity.check", "action_run_check"
        )
        check = manager.call(
            "integrity_check",
            "customer.integrity.check",
            "read",
            [action["res_id"]],
            ["finding_count", "state", "duration"],
        )[0]
        findings = manager.call(
            "integrity_check",
            "customer.integrity.finding",
            "search_read",
            [["check_id", "=", action["res_id"]]],
            fields=["rule", "res_model", "res_id", "expected", "found", "detail"],
        )
        return check, findings

    # ------------------------------------------------------------------
    # 5. The report
    # ------------------------------------------------------------------
    def explained(self, error):
        when, pid, _level, _logger, message, lines = error
        text = message + "\n" + "\n".join(lines)
        if RETRIED.search(text):
            return True
        for fault_time, _kind, fault_pid, _note in self.faults:
            if when < fault_time or not FAULT_PATTERNS.search(text):
                continue
            # the faulted process meets its lost connection when it next
            # uses it; others only while the server recovers
            if pid == fault_pid or when - fault_time < 30:
                return True
        return False

    def report(self, elapsed, recovered, check_result):
        check, findings = check_result
        calls = self.stats.calls
        nightly = self.server.job_intervals.get(NIGHTLY, [])

        def during_nightly(start, seconds):
            return any(s <= start + seconds and start <= e for s, e in nightly)

        def pct(values, q):
            if not values:
                return None
            values = sorted(values)
            return values[min(len(values) - 1, round(q * (len(values) - 1)))]

        fault_times = [f[0] for f in self.faults]
        rows = []
        outcomes = Counter()
        unexplained_calls = 0
        for kind in sorted(calls):
            entries = calls[kind]
            ok = [s for _t, s, o in entries if o == "ok"]
            kinds = Counter(o for _t, _s, o in entries)
            for start, _seconds, outcome in entries:
                if outcome in ("ok",) or outcome in USER_ERRORS:
                    continue
                if outcome in CONCURRENCY_ERRORS:
                    continue
                if kind == "order_cancel" and outcome == ACCESS_ERROR:
                    # a manager invoiced the order meanwhile: cancelling it
                    # needs invoicing rights (Odoo's own rule)
                    continue
                if outcome.startswith("connection") or outcome in (
                    "http_502",
                    "http_503",
                ):
                    if any(
                        0 <= start - t < 15 or 0 <= t - start < 130 for t in fault_times
                    ):
                        continue
                unexplained_calls += 1
            outcomes.update(kinds)
            rows.append(
                {
                    "kind": kind,
                    "requests": len(entries),
                    "ok": len(ok),
                    "outcomes": dict(kinds),
                    "median_ms": round(1000 * statistics.median(ok)) if ok else None,
                    "p95_ms": round(1000 * pct(ok, 0.95)) if ok else None,
                }
            )
        confirm_all = [s for t, s, o in calls.get("order_confirm", []) if o == "ok"]
        confirm_nightly = [
            s
            for t, s, o in calls.get("order_confirm", [])
            if o == "ok" and during_nightly(t, s)
        ]
        server_errors = list(self.server.errors)
        unexplained_log = [e for e in server_errors if not self.explained(e)]
        by_rule = Counter(f["rule"] for f in findings)
        total = sum(len(v) for v in calls.values())
        figures = {
            "database": self.args.db,
            "members": self.member_count,
            "clients": self.args.clients,
            "seconds": round(elapsed, 1),
            "requests": total,
            "throughput_rps": round(total / elapsed, 1) if elapsed else None,
            "calls": rows,
            "order_confirm_p95_ms": round(1000 * pct(confirm_all, 0.95))
            if confirm_all
            else None,
            "order_confirm_during_nightly": len(confirm_nightly),
            "order_confirm_p95_during_nightly_ms": (
                round(1000 * pct(confirm_nightly, 0.95)) if confirm_nightly else None
            ),
            "lock_wait_samples": self.lock_samples,
            "requests_seen_waiting": len(self.lock_waits),
            "requests_waiting_over_1s": sum(w > 1.0 for w in self.lock_waits.values()),
            "longest_lock_wait_s": round(self.longest_wait[0], 2),
            "longest_lock_wait_holder": self.longest_wait[1],
            "nightly_calls": len(nightly),
            "nightly_seconds": round(sum(e - s for s, e in nightly), 1),
            "jobs_triggered": dict(self.triggers),
            "job_calls": dict(self.server.job_calls),
            "jobs_completed": dict(self.server.jobs_completed),
            "faults": [
                {
                    "after_s": round(t - self.started, 1),
                    "fault": k,
                    "pid": p,
                    "note": n,
                }
                for t, k, p, n in self.faults
            ],
            "server_recovered": recovered,
            "server_log_errors": len(server_errors),
            "server_log_errors_unexplained": [
                f"{e[1]} {e[3]}: {e[4]} | {' / '.join(e[5][-3:])}"
                for e in unexplained_log
            ][:20],
            "client_errors_unexplained": unexplained_calls,
            "error_samples": dict(self.stats.error_samples),
            "integrity_findings": check["finding_count"],
            "integrity_by_rule": dict(by_rule),
            "integrity_samples": findings[:10],
        }
        self.print_report(figures)
        if self.args.json:
            with open(self.args.json, "w", encoding="utf-8") as out:
                json.dump(figures, out, indent=2, default=str)
        ok = (
            not self.harness_errors
            and check["finding_count"] == 0
            and not unexplained_log
            and not unexplained_calls
            and recovered
        )
        return ok, figures

    def print_report(self, f):
        print()
        print(
            f"{f['requests']} requests in {f['seconds']} s "
            f"({f['throughput_rps']} per second), {f['members']} members, "
            f"{f['clients']} clients"
        )
        header = f"{'call':<24}{'requests':>9}{'ok':>7}{'median ms':>11}{'p95 ms':>9}"
        print(header + "  other outcomes")
        for row in f["calls"]:
            other = {k: v for k, v in row["outcomes"].items() if k != "ok"}
            print(
                f"{row['kind']:<24}{row['requests']:>9}{row['ok']:>7}"
                f"{row['median_ms'] or '-':>11}{row['p95_ms'] or '-':>9}  "
                + ", ".join(
                    f"{k.rsplit('.', 1)[-1]} {v}" for k, v in sorted(other.items())
                )
            )
        print(
            f"order confirmation p95: {f['order_confirm_p95_ms']} ms overall, "
            f"{f['order_confirm_p95_during_nightly_ms']} ms during the nightly job "
            f"({f['order_confirm_during_nightly']} confirmations; the nightly ran "
            f"{f['nightly_calls']} calls, {f['nightly_seconds']} s)"
        )
        print(
            f"requests seen waiting for a row lock (sampled every 0.1 s): "
            f"{f['requests_seen_waiting']}, {f['requests_waiting_over_1s']} of "
            f"them over 1 s; the longest {f['longest_lock_wait_s']} s, behind: "
            f"{f['longest_lock_wait_holder']}"
        )
        print(
            "jobs triggered:",
            ", ".join(f"{k} ×{v}" for k, v in sorted(f["jobs_triggered"].items())),
        )
        for label, key in (
            ("job calls done:", "job_calls"),
            ("jobs completed:", "jobs_completed"),
        ):
            print(
                label,
                ", ".join(
                    f"{k} ×{v}"
                    for k, v in sorted(f[key].items())
                    if k.startswith("Loyalty:")
                ),
            )
        for fault in f["faults"]:
            print(
                f"fault at {fault['after_s']} s: {fault['fault']} "
                f"(pid {fault['pid']}) {fault['note']}"
            )
        print(f"server answered after the faults: {f['server_recovered']}")
        print(
            f"server log errors: {f['server_log_errors']}, unexplained: "
            f"{len(f['server_log_errors_unexplained'])}"
        )
        for line in f["server_log_errors_unexplained"]:
            print("   ", line)
        print(f"client errors no fault explains: {f['client_errors_unexplained']}")
        for outcome, samples in f["error_samples"].items():
            for sample in samples[:2]:
                print(f"    {outcome}: {sample[:160]}")
        print(f"integrity check: {f['integrity_findings']} discrepancies")
        from_rules = f["integrity_by_rule"]
        for rule in RULES:
            count = from_rules.get(rule)
            print(f"    {rule:<22} {count if count else 'holds'}")
        for sample in f["integrity_samples"]:
            print("   ", sample)


RULES = [
    "balance",
    "points_left",
    "points_left_total",
    "negative",
    "order_earned_twice",
    "order_not_reversed",
    "reversed_twice",
    "credit_note_twice",
    "reward_oversold",
    "batch_coupon_twice",
    "coupon_code_twice",
    "coupon_usage",
    "statistics",
    "tier",
]


def main(argv=None):
    args = parse_args(argv)
    prepare(args)
    ok, _figures = Run(args).go()
    print("RESULT:", "every invariant held, no unexplained error" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
