"""Dates: iAM Smart ``birthDate`` ``"YYYYMMDD"`` → ISO 8601 ``"YYYY-MM-DD"``, and ages.

Some public clients parse ``birthDate`` as an integer (domain-facts §1.6), so an ``int`` is
accepted too. ``age_over`` answers "is the person at least N years old today?" against the
injected clock (:attr:`mappings.transforms.Context.today`, Hong Kong time), with a 29 February
birthday reached on 1 March in common years.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from mappings.errors import ValueFormatError
from mappings.transforms import Context, transform


def parse_yyyymmdd(value: Any) -> date:
    """``"19780412"`` (or ``19780412``) → ``date(1978, 4, 12)``; ValueFormatError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"{value:08d}"
    if not isinstance(value, str) or len(value) != 8 or not value.isascii() or not value.isdigit():
        raise ValueFormatError("malformed_date")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise ValueFormatError("malformed_date") from None


def to_yyyymmdd(iso: str) -> str:
    """Inverse of :func:`iso_date`: ``"1978-04-12"`` → ``"19780412"``."""
    try:
        return date.fromisoformat(iso).strftime("%Y%m%d")
    except (TypeError, ValueError):
        raise ValueFormatError("malformed_date") from None


@transform("iso_date")
def iso_date(value: Any) -> str:
    """``"19780412"`` → ``"1978-04-12"`` (OIDC ``birthdate``, eIDAS ``DateOfBirth``)."""
    return parse_yyyymmdd(value).isoformat()


@transform("compact_date")
def compact_date(value: Any) -> str:
    """A date as ``"19780412"`` (checked), for RPs that use the iAM Smart form."""
    return parse_yyyymmdd(value).strftime("%Y%m%d")


def years_between(born: date, today: date) -> int:
    """Completed years of age on ``today``."""
    had_birthday = (today.month, today.day) >= (born.month, born.day)
    return today.year - born.year - (0 if had_birthday else 1)


@transform("age_over")
def age_over(value: Any, years: int, *, ctx: Context) -> bool:
    """``True`` when the person born on ``value`` is at least ``years`` old on ``ctx.today``."""
    if isinstance(years, bool) or not isinstance(years, int) or not 0 < years < 150:
        raise ValueFormatError("bad_age_threshold")
    return years_between(parse_yyyymmdd(value), ctx.today) >= years
