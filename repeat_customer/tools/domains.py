import ast

import psycopg2

from odoo.exceptions import AccessError, ValidationError


def is_domain(value):
    """Whether ``value`` has the shape of a domain: a list of operators and
    (field, operator, value) conditions."""
    return isinstance(value, list) and all(
        item in ("&", "|", "!")
        or (
            isinstance(item, list | tuple)
            and len(item) == 3
            and (isinstance(item[0], str) or item[0] in (0, 1))
            and isinstance(item[1], str)
        )
        for item in value
    )


def parse_members_filter(env, text, owner):
    """The members filter ``text`` of the record named ``owner`` (a coupon
    batch, a campaign) as a domain on ``customer.membership``, checked by
    searching it in ``env``: a filter on a field the user may not read is
    refused (``AccessError``), a malformed one is a ``ValidationError``."""
    text = text or "[]"
    try:
        domain = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        domain = None
    if not is_domain(domain):
        raise ValidationError(
            env._(
                "The members filter of %(batch)s is not a valid filter: it "
                "must be a list of conditions such as "
                "[('tier_id.name', '=', 'Gold')] (got %(filter)s).",
                batch=owner,
                filter=text[:200],
            )
        )
    try:
        with env.cr.savepoint():
            env["customer.membership"].search_count(domain, limit=1)
    except AccessError:
        raise
    except (
        ValueError,
        TypeError,
        KeyError,
        AssertionError,
        psycopg2.Error,
    ) as error:
        raise ValidationError(
            env._(
                "The members filter of %(batch)s is not a valid filter: %(error)s",
                batch=owner,
                error=error,
            )
        ) from error
    return domain
