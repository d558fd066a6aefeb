from odoo.exceptions import UserError


def whole_number(env, vals, fname, label):
    """Turn ``vals[fname]`` into an int, or refuse it with a clear message."""
    if fname not in vals:
        return
    value = vals[fname]
    if isinstance(value, bool):
        value = int(value)
    try:
        number = float(str(value).strip())
    except ValueError:
        number = None
    if number is None or number != int(number):
        raise UserError(
            env._(
                "%(field)s must be a whole number of points (got %(value)s).",
                field=label,
                value=value,
            )
        )
    vals[fname] = int(number)
