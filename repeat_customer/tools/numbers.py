"""Numbers users type: finite, and within what the programme can work with."""

import math

from odoo.exceptions import ValidationError


def pg_array(values):
    """A PostgreSQL array literal of numbers for ``%s::int[]`` or
    ``%s::float8[]``: the server parses it in one go, far faster than the
    ARRAY[...] expression a Python list of 100 000 numbers becomes."""
    return "{" + ",".join("NULL" if v is None else repr(v) for v in values) + "}"


def in_bounds(value, low, high):
    """Whether ``value`` is a finite number from ``low`` to ``high``."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )


def refuse_non_finite(records, vals):
    """Refuse ``nan`` and ``inf`` in the float and monetary fields of
    ``vals`` with a clear ``ValidationError``, before Odoo's rounding fails
    on them with a raw ``OverflowError`` or ``ValueError``."""
    for fname, value in vals.items():
        field = records._fields.get(fname)
        if field is None or field.type not in ("float", "monetary"):
            continue
        if isinstance(value, bool) or value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise ValidationError(
                records.env._(
                    "%(field)s must be a number (got %(value)s).",
                    field=field.get_description(records.env)["string"],
                    value=value,
                )
            )
