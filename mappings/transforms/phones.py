"""Phones: iAM Smart ``{CountryCode, NationalDestinationCode, SubscriberNumber}`` → E.164.

E.164 (ITU-T E.164 §6): ``+`` country code, national destination code, subscriber number,
at most 15 digits in all. Hong Kong has no area codes, so ``NationalDestinationCode`` is
usually empty (domain-facts §4.4). :func:`split_e164` is the inverse, using the fact that
ITU country codes are prefix-free: 1 and 7 are one digit, a fixed list two, the rest three.
``gd_phone`` gives the Guangdong platform's ``telephonenumber``: a mainland (+86) number as
its 11 national digits, which is how the platform stores them; any other number in E.164.
"""

from __future__ import annotations

import re
from typing import Any

from mappings.errors import ValueFormatError
from mappings.transforms import transform

_E164 = re.compile(r"\+[1-9]\d{6,14}", re.ASCII)  # fullmatch: no trailing newline
_TWO_DIGIT_CODES = frozenset(
    (
        "20",
        "27",
        "30",
        "31",
        "32",
        "33",
        "34",
        "36",
        "39",
        "40",
        "41",
        "43",
        "44",
        "45",
        "46",
        "47",
        "48",
        "49",
        "51",
        "52",
        "53",
        "54",
        "55",
        "56",
        "57",
        "58",
        "60",
        "61",
        "62",
        "63",
        "64",
        "65",
        "66",
        "81",
        "82",
        "84",
        "86",
        "90",
        "91",
        "92",
        "93",
        "94",
        "95",
        "98",
    )
)


def _digits(value: Any, field: str) -> str:
    text = "" if value is None else str(value).strip()
    text = text.removeprefix("+") if field == "CountryCode" else text
    text = text.replace(" ", "").replace("-", "")
    if text and not (text.isascii() and text.isdigit()):
        raise ValueFormatError("malformed_phone")
    return text


def e164(value: Any) -> str:
    """The iAM Smart phone object → ``"+85291234567"``; ValueFormatError if not E.164."""
    if not isinstance(value, dict):
        raise ValueFormatError("malformed_phone")
    number = "+" + "".join(
        _digits(value.get(key), key)
        for key in ("CountryCode", "NationalDestinationCode", "SubscriberNumber")
    )
    if (
        not value.get("CountryCode")
        or not value.get("SubscriberNumber")
        or not _E164.fullmatch(number)
    ):
        raise ValueFormatError("malformed_phone")
    return number


def country_code_of(number: str) -> str:
    """The ITU country code at the start of an E.164 ``number`` (``"+852…"`` → ``"852"``)."""
    digits = number.removeprefix("+")
    if digits[:1] in ("1", "7"):
        return digits[:1]
    if digits[:2] in _TWO_DIGIT_CODES:
        return digits[:2]
    return digits[:3]


def split_e164(number: str) -> dict[str, str]:
    """Inverse of :func:`e164` (the national destination code stays in the subscriber part)."""
    if not _E164.fullmatch(number):
        raise ValueFormatError("malformed_phone")
    code = country_code_of(number)
    return {
        "CountryCode": code,
        "NationalDestinationCode": "",
        "SubscriberNumber": number[1 + len(code) :],
    }


@transform("phone_e164")
def phone_e164(value: Any) -> str:
    """iAM Smart phone → E.164 (OIDC ``phone_number``, OIDC Core §5.1)."""
    return e164(value)


@transform("gd_phone")
def gd_phone(value: Any) -> str:
    """iAM Smart phone → Guangdong ``telephonenumber``: +86 numbers national, others E.164."""
    number = e164(value)
    if number.startswith("+86"):
        return number[3:]
    return number
