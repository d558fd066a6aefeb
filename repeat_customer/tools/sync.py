"""Replace the rows of a batch of members in a table by the rows they
should have."""

from odoo.tools import SQL


def replace_member_rows(cr, table, source, columns, membership_ids):
    """Make the rows of ``table`` of the members ``membership_ids`` those of
    the table ``source`` (``columns`` named alike in both): one DELETE of the
    batch's rows and one INSERT of the new ones."""
    columns = SQL(", ").join(SQL.identifier(c) for c in ("membership_id", *columns))
    cr.execute(
        SQL(
            """
            DELETE FROM %(table)s WHERE membership_id = ANY(%(ids)s::int[]);
            INSERT INTO %(table)s (%(columns)s) SELECT %(columns)s FROM %(source)s;
            """,
            table=SQL.identifier(table),
            source=SQL.identifier(source),
            ids="{" + ",".join(str(i) for i in membership_ids) + "}",
            columns=columns,
        )
    )
