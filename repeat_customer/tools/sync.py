"""Make the rows of a batch of members in a table the rows they should have,
writing only the differences."""

from odoo.tools import SQL

from .numbers import pg_array


def replace_member_rows(cr, table, source, columns, membership_ids, key="rank"):
    """Make the rows of ``table`` of the members ``membership_ids`` those of
    the table ``source`` (``columns`` named alike in both; ``key`` with the
    member identifies a row, e.g. its rank).

    Only what differs is written: the batch's current rows are copied into a
    temporary table, both sides compared with ``EXCEPT ALL`` (hashed, NULLs
    equal), then the rows that changed or went are deleted by id and the new
    or changed ones inserted. A weekly pass that changes little so writes
    little, and the plans never depend on the statistics of ``table``, which
    are stale while a first computation fills it. Returns the number of rows
    deleted and inserted."""
    names = ("membership_id", *columns)
    cols = SQL(", ").join(SQL.identifier(c) for c in names)
    cr.execute(
        SQL(
            """
            DROP TABLE IF EXISTS sync_old, sync_gone, sync_added;
            CREATE TEMP TABLE sync_old ON COMMIT DROP AS
            SELECT id, %(cols)s FROM %(table)s
             WHERE membership_id = ANY(%(ids)s::int[]);
            CREATE TEMP TABLE sync_gone ON COMMIT DROP AS
            SELECT o.id FROM sync_old o
              JOIN (SELECT %(cols)s FROM sync_old
                    EXCEPT ALL
                    SELECT %(cols)s FROM %(source)s) d
                ON d.membership_id = o.membership_id AND d.%(key)s = o.%(key)s;
            CREATE TEMP TABLE sync_added ON COMMIT DROP AS
            SELECT %(cols)s FROM %(source)s
            EXCEPT ALL
            SELECT %(cols)s FROM sync_old;
            DELETE FROM %(table)s
             WHERE id = ANY(ARRAY(SELECT id FROM sync_gone ORDER BY id));
            INSERT INTO %(table)s (%(cols)s)
            SELECT %(cols)s FROM sync_added ORDER BY membership_id, %(key)s;
            """,
            table=SQL.identifier(table),
            source=SQL.identifier(source),
            ids=pg_array(membership_ids),
            cols=cols,
            key=SQL.identifier(key),
        )
    )
    cr.execute("SELECT (SELECT count(*) FROM sync_gone), count(*) FROM sync_added")
    gone, added = cr.fetchone()
    cr.execute("DROP TABLE sync_old, sync_gone, sync_added")
    return gone, added
