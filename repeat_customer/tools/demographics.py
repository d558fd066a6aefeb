"""Age bands of members, in Python and in SQL from one table."""

from odoo.tools import SQL

# (key, label, youngest age, oldest age): the bands a manager groups by
AGE_BANDS = [
    ("under_18", "Under 18", 0, 17),
    ("18_24", "18-24", 18, 24),
    ("25_34", "25-34", 25, 34),
    ("35_44", "35-44", 35, 44),
    ("45_54", "45-54", 45, 54),
    ("55_64", "55-64", 55, 64),
    ("65_plus", "65 and Over", 65, None),
]


def age(birthdate, today):
    """Whole years from ``birthdate`` to ``today`` (None without a birthdate
    or for a birthdate after today)."""
    if not birthdate or birthdate > today:
        return None
    years = today.year - birthdate.year
    if (today.month, today.day) < (birthdate.month, birthdate.day):
        years -= 1
    return years


def age_band(birthdate, today):
    """The key of the band of a person born on ``birthdate``, False when the
    age is unknown."""
    years = age(birthdate, today)
    if years is None:
        return False
    for key, _label, low, high in AGE_BANDS:
        if years >= low and (high is None or years <= high):
            return key
    return False


def age_band_sql(birthdate, today):
    """SQL expression of the band key for the SQL date expressions
    ``birthdate`` and ``today`` (NULL when unknown), as ``age_band`` gives."""
    years = SQL(
        "CASE WHEN %(b)s <= %(t)s THEN extract(year FROM age(%(t)s, %(b)s)) END",
        b=birthdate,
        t=today,
    )
    whens = [
        SQL(
            "WHEN %s >= %s AND %s THEN %s",
            years,
            low,
            SQL("TRUE") if high is None else SQL("%s <= %s", years, high),
            key,
        )
        for key, _label, low, high in AGE_BANDS
    ]
    return SQL("(CASE %s END)", SQL(" ").join(whens))
