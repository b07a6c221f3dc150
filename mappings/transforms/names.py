"""English names as iAM Smart sends them: ``{"UnstructuredName": "CHAN, Tai Man"}``.

The HKID romanisation is ``SURNAME, Given Names`` (domain-facts §1.6, §2.5): the part before
the first comma is the family name, the rest the given names. A name without a comma is a
family name only (single-name holders). ``full_name`` gives the HKID display order,
``"CHAN Tai Man"``, for the OIDC ``name`` claim (OIDC Core §5.1).
"""

from __future__ import annotations

from typing import Any

from mappings.errors import ValueFormatError
from mappings.transforms import transform


def _text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("UnstructuredName")
    if not isinstance(value, str) or not value.strip():
        raise ValueFormatError("malformed_english_name")
    return " ".join(value.split())


def parse_english_name(value: Any) -> tuple[str, str]:
    """``"CHAN, Tai Man"`` (or the iAM Smart object) → ``("CHAN", "Tai Man")``."""
    text = _text(value)
    family, _, given = text.partition(",")
    family, given = family.strip(), given.strip()
    if not family:
        raise ValueFormatError("malformed_english_name")
    return family, given


def unstructured_name(family: str, given: str) -> str:
    """Inverse of :func:`parse_english_name`: ``("CHAN", "Tai Man")`` → ``"CHAN, Tai Man"``."""
    return f"{family}, {given}" if given else family


@transform("english_name")
def english_name(value: Any) -> str:
    """The whole name as written, ``"CHAN, Tai Man"``."""
    return _text(value)


@transform("family_name")
def family_name(value: Any) -> str:
    """The family name, ``"CHAN"``."""
    return parse_english_name(value)[0]


@transform("given_name")
def given_name(value: Any) -> str | None:
    """The given names, ``"Tai Man"``; no value for single-name holders."""
    return parse_english_name(value)[1] or None


@transform("full_name")
def full_name(value: Any) -> str:
    """The display form, family name first as on the HKID: ``"CHAN Tai Man"``."""
    family, given = parse_english_name(value)
    return f"{family} {given}" if given else family
