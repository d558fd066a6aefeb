# Shared by bin/run-tests and bin/run-demo: find Odoo 18 and a PostgreSQL server.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"

die() {
    echo "ERROR: $*" >&2
    exit 1
}

find_odoo() {
    # Sets ODOO_CMD (an array) and ODOO_ADDONS (Odoo's own addons folders).
    local version
    version=$("$PYTHON" -c 'import odoo.release as r; print(r.version_info[0])' 2>/dev/null) \
        || die "Odoo is not importable by '$PYTHON'. Install Odoo 18.0 Community (source tree on PYTHONPATH, or its package) and its requirements first; see README.md."
    [ "$version" = "18" ] || die "Odoo $version found, this addon needs Odoo 18.0."
    local root
    root=$("$PYTHON" -c 'import os, odoo; print(os.path.dirname(os.path.dirname(os.path.abspath(odoo.__file__))))')
    if [ -n "${ODOO_BIN:-}" ]; then
        ODOO_CMD=("$PYTHON" "$ODOO_BIN")
    elif [ -f "$root/odoo-bin" ]; then
        ODOO_CMD=("$PYTHON" "$root/odoo-bin")
    else
        ODOO_CMD=("$PYTHON" -m odoo)
    fi
    ODOO_ADDONS=""
    local dir
    for dir in "$root/addons" "$root/odoo/addons"; do
        if [ -d "$dir/base" ] || [ -d "$dir/sale" ]; then
            ODOO_ADDONS="${ODOO_ADDONS:+$ODOO_ADDONS,}$dir"
        fi
    done
    [ -n "$ODOO_ADDONS" ] || die "cannot find Odoo's addons folder under $root."
    [ -d "$root/odoo/addons/sale_management" ] || [ -d "$root/addons/sale_management" ] \
        || die "Odoo's sale_management addon is missing under $root."
    ADDONS_PATH="$ODOO_ADDONS,$REPO_ROOT"
}

ensure_odoo_addons() {
    # The OCA addons repeat_customer depends on (requirements-odoo-addons.txt)
    # come from PyPI; their wheels need --no-deps with Odoo run from a source
    # tree. Installs them when one is missing.
    if ! "$PYTHON" -c 'import odoo.addons.partner_contact_birthdate, odoo.addons.partner_contact_personal_information_page, odoo.addons.partner_contact_gender, odoo.addons.report_xlsx' 2>/dev/null; then
        echo "Installing the OCA addons of requirements-odoo-addons.txt (pip --no-deps)..."
        "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps \
            -r "$REPO_ROOT/requirements-odoo-addons.txt" \
            || die "cannot install the OCA addons: $PYTHON -m pip install --no-deps -r requirements-odoo-addons.txt"
    fi
}

ensure_postgres() {
    # Starts the local PostgreSQL cluster if none answers, and makes sure the
    # current user has a superuser role (Odoo refuses to run as 'postgres').
    command -v psql >/dev/null 2>&1 || die "PostgreSQL client tools (psql) are not installed."
    if ! pg_isready -q 2>/dev/null; then
        command -v pg_ctlcluster >/dev/null 2>&1 \
            || die "no PostgreSQL server answers and pg_ctlcluster is missing: install PostgreSQL (apt-get install postgresql) or start your server."
        local cluster
        cluster=$(pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1" "$2}')
        if [ -z "$cluster" ]; then
            local version
            version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
            [ -n "$version" ] || die "no PostgreSQL server installed: apt-get install postgresql."
            pg_createcluster "$version" main >/dev/null || die "cannot create a PostgreSQL cluster."
            cluster="$version main"
        fi
        # shellcheck disable=SC2086
        pg_ctlcluster $cluster start || die "cannot start PostgreSQL cluster $cluster."
        for _ in $(seq 1 30); do
            pg_isready -q && break
            sleep 1
        done
        pg_isready -q || die "PostgreSQL did not start."
    fi
    local me
    me=$(id -un)
    if ! psql -d postgres -Atc 'select 1' >/dev/null 2>&1; then
        if [ "$(id -u)" = "0" ]; then
            su postgres -c "createuser --superuser '$me'" \
                || die "cannot create the PostgreSQL role '$me'."
        elif command -v sudo >/dev/null 2>&1; then
            sudo -u postgres createuser --superuser "$me" \
                || die "cannot create the PostgreSQL role '$me'."
        else
            die "PostgreSQL has no role for '$me': run 'createuser --superuser $me' as postgres."
        fi
    fi
}

demo_state() {
    # The state of the demo database $1: "missing"; "ready" when its creation
    # finished (bin/run-demo marks it last); "incomplete" when it exists
    # without the mark: a creation interrupted (Ctrl+C, a crash), whose
    # database must not be served.
    local db="$1"
    if ! psql -d postgres -Atc "select 1 from pg_database where datname = '$db'" | grep -q 1; then
        echo missing
    elif psql -d "$db" -Atc "select 1 from ir_config_parameter where key = 'repeat_customer.demo_ready'" 2>/dev/null | grep -q 1; then
        echo ready
    else
        echo incomplete
    fi
}

demo_progress() {
    # Odoo's log while the demo database is made, as a few progress lines:
    # the apps installed (n/N) and the demo data's steps; warnings and
    # errors pass through.
    awk '
        /odoo\.modules\.loading: Loading module / {
            match($0, /Loading module [^ ]+ \([0-9]+\/[0-9]+\)/)
            if (RSTART) {
                split(substr($0, RSTART + 15, RLENGTH - 15), part, " ")
                gsub(/[()]/, "", part[2])
                split(part[2], count, "/")
                # every tenth app, and the last (the addon)
                if (count[1] % 10 == 0 || count[1] == count[2]) {
                    printf "  installing apps: %s %s\n", part[2], part[1]
                    fflush()
                }
            }
            next
        }
        /repeat_customer demo: / {
            sub(/.*repeat_customer demo: /, "  demo data: ")
            print
            fflush()
            next
        }
        / (WARNING|ERROR|CRITICAL) / || /^Traceback/ || /^  File / || /Error/ { print; fflush() }
    '
}
