import math

from odoo.exceptions import UserError

# PostgreSQL's integer columns hold at most 2**31 - 1
MAX_INTEGER = 2**31 - 1


def whole_number(env, vals, fname, label, maximum=MAX_INTEGER):
    """Turn ``vals[fname]`` into an int, or refuse it with a clear message:
    text that is no number, ``nan``, ``inf``, fractions and numbers beyond
    ``maximum`` (in absolute value) are refused."""
    if fname not in vals:
        return
    value = vals[fname]
    if isinstance(value, bool):
        value = int(value)
    try:
        number = float(str(value).strip())
    except ValueError:
        number = None
    if number is None or not math.isfinite(number) or number != int(number):
        raise UserError(
            env._(
                "%(field)s must be a whole number of points (got %(value)s).",
                field=label,
                value=value,
            )
        )
    if abs(number) > maximum:
        raise UserError(
            env._(
                "%(field)s cannot be more than %(maximum)s (got %(value)s).",
                field=label,
                maximum=maximum,
                value=value,
            )
        )
    vals[fname] = int(number)
