"""Small general transforms: code tables, prefixes, flags and constants."""

from __future__ import annotations

from typing import Any

from mappings.errors import ValueFormatError
from mappings.transforms import Context, transform

_OIDC_GENDER = {"M": "male", "F": "female"}
_GBT_2261_1 = {"M": "1", "F": "2"}
"""GB/T 2261.1-2003: 1 男性, 2 女性 (domain-facts §2.4)."""
_EIDAS_GENDER = {"M": "Male", "F": "Female"}


def _code(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueFormatError("unknown_code")
    return value.strip().upper()


@transform("gender_oidc")
def gender_oidc(value: Any) -> str:
    """iAM Smart ``M``/``F`` → OIDC ``gender`` ``male``/``female`` (OIDC Core §5.1)."""
    try:
        return _OIDC_GENDER[_code(value)]
    except KeyError:
        raise ValueFormatError("unknown_code") from None


@transform("gender_gbt")
def gender_gbt(value: Any) -> str:
    """iAM Smart ``M``/``F`` → GB/T 2261.1 ``"1"``/``"2"`` (Guangdong ``sex``)."""
    try:
        return _GBT_2261_1[_code(value)]
    except KeyError:
        raise ValueFormatError("unknown_code") from None


@transform("gender_eidas")
def gender_eidas(value: Any) -> str:
    """iAM Smart ``M``/``F`` → eIDAS ``Gender`` ``Male``/``Female``."""
    try:
        return _EIDAS_GENDER[_code(value)]
    except KeyError:
        raise ValueFormatError("unknown_code") from None


@transform("code_table")
def code_table(value: Any, table: str, *, ctx: Context) -> str:
    """Look ``value`` up in the profile's code table ``table``."""
    try:
        return ctx.code_tables[table][str(value)]
    except KeyError:
        raise ValueFormatError("unknown_code") from None


@transform("source_code")
def source_code(value: Any, table: str, *, ctx: Context) -> str:
    """The code for *which attribute* supplied the value (e.g. ``home_return_permit`` → 516)."""
    try:
        return ctx.code_tables[table][ctx.source]
    except KeyError:
        raise ValueFormatError("unknown_code") from None


@transform("prefix")
def prefix(value: Any, text: str) -> str:
    """``text`` + the value, e.g. ``HK/CN-GD/`` + subject for the eIDAS PersonIdentifier."""
    return f"{text}{value}"


@transform("flag")
def flag(value: Any) -> bool:
    """iAM Smart ``"Y"``/``"N"`` (or a JSON boolean) → ``True``/``False``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().upper() in ("Y", "N"):
        return value.strip().upper() == "Y"
    raise ValueFormatError("unknown_code")


@transform("trim")
def trim(value: Any) -> str:
    """Strip surrounding white space from a text value (e-mail addresses stay as given)."""
    if not isinstance(value, str):
        raise ValueFormatError("not_text")
    return value.strip()


@transform("constant")
def constant(value: Any, to: bool | str | int) -> bool | str | int:
    """The fixed value ``to`` wherever the source is present, e.g. ``email_verified: false``
    beside an e-mail address that iAM Smart does not say it verified."""
    del value
    return to
