"""Validators: checks on the value *as it will be sent*, registered by name.

Each validator takes the value and returns ``None``, or raises
:class:`mappings.errors.ValueFormatError` with the reason code (which is also the message
key suffix, :mod:`mappings.messages`). Profiles list them under ``validate:``; they run
after the claim's transforms.

- ``hkid``: ``A123456(3)``, check digit per domain-facts §4.1.
- ``home_return_permit``: ``^[HM]\\d{8}(\\d{2})?$`` (§4.2).
- ``residence_permit``: the 18-character 港澳居民居住证 number, 810000/820000 + birth date +
  sequence + ISO 7064 MOD 11-2 check character (§4.3).
- ``date``: an ISO 8601 calendar date ``YYYY-MM-DD``.
- ``e164``: ``+`` and 7–15 digits, no leading zero (ITU-T E.164).
- ``email``: one ``@``, no spaces (a sanity check, not RFC 5322).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from mappings.errors import ValueFormatError

Validator = Callable[[Any], None]
VALIDATORS: dict[str, Validator] = {}

# Every pattern is matched with ``fullmatch`` (``$`` would let a trailing newline through)
# and compiled with ``re.ASCII`` (``\d`` would otherwise accept any Unicode digit, e.g. "٣").
_HKID = re.compile(r"([A-Z]{1,2})(\d{6})\(([0-9A])\)", re.ASCII)
_HOME_RETURN_PERMIT = re.compile(r"[HM]\d{8}(\d{2})?", re.ASCII)
_RESIDENCE_PERMIT = re.compile(r"(810000|820000)(\d{8})\d{3}[0-9X]", re.ASCII)
_E164 = re.compile(r"\+[1-9]\d{6,14}", re.ASCII)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_MOD11_2_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def validator(name: str) -> Callable[[Validator], Validator]:
    """Register ``fn`` as the validator ``name``."""

    def register(fn: Validator) -> Validator:
        VALIDATORS[name] = fn
        return fn

    return register


def hkid_check_digit(prefix: str) -> str:
    """The check digit for an HKID without it, e.g. ``"A123456"`` → ``"3"``.

    Letters count A=10 … Z=35, a missing first letter 36 (a space); weights 9..2 over the
    8 positions; ``(11 − sum mod 11) mod 11`` with 10 written ``A`` (domain-facts §4.1).
    """
    letters, digits = prefix[:-6], prefix[-6:]
    if not (
        1 <= len(letters) <= 2
        and prefix.isascii()
        and letters.isalpha()
        and letters.isupper()
        and digits.isdigit()
    ):
        raise ValueFormatError("malformed_hkid")
    values = [36] * (2 - len(letters)) + [ord(c) - ord("A") + 10 for c in letters]
    values += [int(d) for d in digits]
    total = sum(weight * v for weight, v in zip(range(9, 1, -1), values, strict=True))
    check = (11 - total % 11) % 11
    return "A" if check == 10 else str(check)


def mod11_2_check(body: str) -> str:
    """ISO 7064 MOD 11-2 check character over 17 digits (GB 11643-1999), 10 → ``X``."""
    total = sum(int(d) * w for d, w in zip(body, _MOD11_2_WEIGHTS, strict=True))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


@validator("hkid")
def validate_hkid(value: Any) -> None:
    """``A123456(3)`` with the right check digit."""
    match = _HKID.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueFormatError("malformed_hkid")
    if hkid_check_digit(match.group(1) + match.group(2)) != match.group(3):
        raise ValueFormatError("hkid_check_digit")


def is_valid_hkid(value: str) -> bool:
    """``True`` when ``value`` (``A123456(3)``) is well formed with the right check digit."""
    try:
        validate_hkid(value)
    except ValueFormatError:
        return False
    return True


@validator("home_return_permit")
def validate_home_return_permit(value: Any) -> None:
    """回鄉證: ``H`` or ``M`` and 8 digits, optionally 2 more (renewal count)."""
    if not isinstance(value, str) or not _HOME_RETURN_PERMIT.fullmatch(value):
        raise ValueFormatError("home_return_permit")


@validator("residence_permit")
def validate_residence_permit(value: Any) -> None:
    """港澳居民居住證: 810000/820000, a real birth date, sequence, MOD 11-2 check."""
    match = _RESIDENCE_PERMIT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueFormatError("residence_permit")
    born = match.group(2)
    try:
        date(int(born[:4]), int(born[4:6]), int(born[6:]))
    except ValueError:
        raise ValueFormatError("residence_permit") from None
    if mod11_2_check(value[:17]) != value[17]:
        raise ValueFormatError("residence_permit")


@validator("date")
def validate_date(value: Any) -> None:
    """An ISO 8601 calendar date, ``YYYY-MM-DD``."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueFormatError("malformed_date")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueFormatError("malformed_date") from None


@validator("e164")
def validate_e164(value: Any) -> None:
    """An E.164 number: ``+`` then 7–15 digits, the first not 0."""
    if not isinstance(value, str) or not _E164.fullmatch(value):
        raise ValueFormatError("malformed_phone")


@validator("email")
def validate_email(value: Any) -> None:
    """Something shaped like an e-mail address."""
    if not isinstance(value, str) or not _EMAIL.fullmatch(value):
        raise ValueFormatError("malformed_email")
