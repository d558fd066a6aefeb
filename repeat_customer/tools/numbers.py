"""Numbers users type: finite, and within what the programme can work with."""

import datetime
import math

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.models import BaseModel
from odoo.tools import formatLang

# PostgreSQL's integer columns hold at most 2**31 - 1
MAX_INT4 = 2**31 - 1
# larger amounts overflow Odoo's rounding of decimal fields (and mean
# nothing: a quadrillion of any currency)
MAX_AMOUNT = 1e15


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


def _bad_value(env, field, value):
    """Why ``value`` cannot go into ``field`` (None: it can)."""
    if value is None or value is False:
        return None
    kind = field.type
    if kind == "integer":
        if isinstance(value, bool):
            return None
        try:
            # text as Odoo reads it into a whole number: digits only
            number = int(value) if isinstance(value, str) else value
        except ValueError:
            return env._("a whole number is expected")
        if not isinstance(number, int | float) or not math.isfinite(number):
            return env._("a whole number is expected")
        if number != int(number):
            return env._("a whole number is expected")
        if abs(number) > MAX_INT4:
            return env._("the number is too large")
        return None
    if kind in ("float", "monetary"):
        if isinstance(value, bool):
            return None
        try:
            number = float(value) if isinstance(value, int | float | str) else math.nan
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            return env._("a number is expected")
        if abs(number) > MAX_AMOUNT:
            return env._("the number is too large")
        return None
    if kind == "many2one":
        if isinstance(value, BaseModel):
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            return env._("a record is expected")
        if not 0 < value <= MAX_INT4:
            return env._("no such record")
        return None
    if kind == "selection":
        if isinstance(value, str) and value in field.get_values(env):
            return None
        return env._("not one of the choices")
    if kind in ("date", "datetime"):
        if isinstance(value, datetime.date):
            return None
        if not isinstance(value, str):
            return env._("a date is expected")
        try:
            (fields.Date if kind == "date" else fields.Datetime).from_string(value)
        except ValueError:
            return env._("a date is expected")
        return None
    if kind in ("char", "text", "html"):
        if not isinstance(value, str):
            return env._("a text is expected")
        return None
    return None


def refuse_bad_values(records, vals):
    """Refuse, with a clear ``ValidationError`` naming the field, values a
    user (or an RPC call) gives that the field cannot hold: text or ``nan``
    in a number, a fraction or a number beyond PostgreSQL's range in a whole
    number, anything but a record id in a link, an unknown choice, a date
    that is none. Odoo would fail on them later with a raw error."""
    for fname, value in vals.items():
        field = records._fields.get(fname)
        if field is None:
            continue
        reason = _bad_value(records.env, field, value)
        if reason:
            raise ValidationError(
                records.env._(
                    "%(field)s: %(reason)s (got %(value)s).",
                    field=field.get_description(records.env)["string"],
                    reason=reason,
                    value=repr(value)[:80],
                )
            )


def one_record(records):
    """A button's ``ensure_one`` that a user understands: called over RPC
    with several ids (or none), it refuses with a ``UserError`` rather than
    the ORM's raw "Expected singleton"."""
    if len(records) != 1:
        raise UserError(
            records.env._(
                "This action works on one %(model)s at a time (got %(count)s).",
                model=records._description,
                count=len(records),
            )
        )
    return records


def format_number(env, value, sign=False):
    """``value`` as the user's language writes a whole number (grouped
    thousands: 1,500 or 1 500), with its sign when ``sign``: the one way the
    addon's messages show points and counts."""
    text = formatLang(env, abs(value) if sign else value, digits=0)
    if sign:
        return ("-" if value < 0 else "+") + text
    return text
