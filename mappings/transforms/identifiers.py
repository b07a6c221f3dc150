"""Identity document numbers: the HKID as iAM Smart sends it, and display masking.

iAM Smart returns ``idNo`` as ``{"Identification": "A123456", "CheckDigit": "3"}`` with the
check digit apart (domain-facts §1.6, §4.1); ``hkid`` joins them as printed on the card,
``"A123456(3)"``. The ``hkid`` validator checks the digit. ``mask_id`` gives the display form
shown on the consent page (first letter(s) and two digits; the rest hidden).
"""

from __future__ import annotations

import re
from typing import Any

from mappings.errors import ValueFormatError
from mappings.transforms import transform

_HKID_PARTS = re.compile(r"([A-Z]{1,2}\d{6})\(?([0-9A])\)?", re.ASCII)  # used with fullmatch


def hkid_parts(value: Any) -> tuple[str, str]:
    """``{"Identification", "CheckDigit"}`` or ``"A123456(3)"`` → ``("A123456", "3")``."""
    if isinstance(value, dict):
        ident = str(value.get("Identification") or "").strip().upper()
        check = str(value.get("CheckDigit") or "").strip().upper().strip("()")
        text = f"{ident}({check})"
    elif isinstance(value, str):
        text = value.strip().upper().replace(" ", "")
    else:
        raise ValueFormatError("malformed_hkid")
    match = _HKID_PARTS.fullmatch(text)
    if match is None:
        raise ValueFormatError("malformed_hkid")
    return match.group(1), match.group(2)


@transform("hkid")
def hkid(value: Any) -> str:
    """The HKID as printed: ``"A123456(3)"``."""
    ident, check = hkid_parts(value)
    return f"{ident}({check})"


@transform("upper")
def upper(value: Any) -> str:
    """Trim, remove inner spaces and upper-case a typed document number (``h1234 5678``)."""
    if not isinstance(value, str):
        raise ValueFormatError("not_text")
    return "".join(value.split()).upper()


def mask_id(value: str) -> str:
    """Display form of an ID number: letters and the first two digits kept, the rest ``*``.

    ``"A123456(3)"`` → ``"A12****(*)"``; ``"H12345678"`` → ``"H12*******"``.
    """
    out: list[str] = []
    shown = 0
    leading = True
    for char in value:
        if leading and char.isalpha():
            out.append(char)
            continue
        leading = False
        if char.isalnum():
            out.append(char if shown < 2 else "*")
            shown += 1
        else:
            out.append(char)
    return "".join(out)
