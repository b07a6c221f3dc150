"""Hong Kong addresses as iAM Smart e-ME sends them → the OIDC ``address`` claim and one line.

Input (domain-facts §1.6, §4.5; the DPO address schema): one of ``ChiPremisesAddress``,
``EngPremisesAddress`` (3D address → block → building → estate → street → district →
region, or a lot), ``FreeFormatAddress`` (``AddressLine1..3``, ``LanguageCode``) or, for
postal addresses, ``PostBoxAddress``. ``Region`` is ``HK`` (Hong Kong Island), ``KLN`` or
``NT``; ``DcDistrict`` codes are not expanded (their code list was not retrieved) and the
``Sub-district`` name is used as the locality instead.

- ``oidc_address`` → OIDC Core §5.1.1 ``{"formatted", "street_address", "locality",
  "region", "country": "HK"}``; empty members are left out.
- ``address_line`` → one line: Chinese order (big to small, no separators,
  ``香港九龍觀塘翠屏道15號…12樓C室``) for Chinese addresses, English order (small to big,
  comma-separated) for English ones. Both take ``prefer: zh | en`` for records holding both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mappings.errors import ValueFormatError
from mappings.transforms import transform

_REGION_ZH = {"HK": "香港島", "KLN": "九龍", "NT": "新界"}
_REGION_EN = {"HK": "HONG KONG ISLAND", "KLN": "KOWLOON", "NT": "NEW TERRITORIES"}
_LINE_PREFIX_ZH = {"HK": "香港", "KLN": "香港九龍", "NT": "香港新界"}
_LINE_SUFFIX_EN = {
    "HK": "HONG KONG",
    "KLN": "KOWLOON, HONG KONG",
    "NT": "NEW TERRITORIES, HONG KONG",
}


@dataclass(frozen=True, slots=True)
class Parts:
    """An address reduced to the pieces every output needs."""

    street: str
    """Everything below the locality, as one line in the address's own language."""
    locality: str
    region_code: str
    chinese: bool
    free: bool = False


def _get(node: Any, *path: str) -> str:
    for key in path:
        if not isinstance(node, Mapping):
            return ""
        node = node.get(key)
    return str(node).strip() if node is not None else ""


def _floor_zh(floor: str) -> str:
    return "地下" if floor.upper() == "G" else f"{floor}樓" if floor else ""


def _floor_en(floor: str) -> str:
    return "G/F" if floor.upper() == "G" else f"{floor}/F" if floor else ""


def _join_en(*pieces: str) -> str:
    return ", ".join(piece for piece in pieces if piece)


def _chinese_premises(a: Mapping[str, Any]) -> Parts:
    unit = _get(a, "Chi3dAddress", "ChiUnit", "UnitNo")
    unit += _get(a, "Chi3dAddress", "ChiUnit", "UnitDescriptor") if unit else ""
    block = _get(a, "ChiBlock", "BlockNo")
    block += _get(a, "ChiBlock", "BlockDescriptor") if block else ""
    number = _get(a, "ChiStreet", "BuildingNoFrom")
    lot = _get(a, "ChiLot", "ChiStructureLot", "LotNo")
    street = "".join(
        (
            _get(a, "ChiStreet", "StreetName"),
            f"{number}號" if number else "",
            f"地段第{lot}號" if lot else "",
            _get(a, "ChiEstate", "EstateName"),
            _get(a, "ChiEstate", "ChiPhase", "PhaseName"),
            _get(a, "BuildingName"),
            block,
            _floor_zh(_get(a, "Chi3dAddress", "ChiFloor", "Floor")),
            unit,
        )
    )
    return Parts(street, _get(a, "ChiDistrict", "Sub-district"), _get(a, "Region"), True)


def _english_premises(a: Mapping[str, Any]) -> Parts:
    unit = " ".join(
        p
        for p in (
            _get(a, "Eng3dAddress", "EngUnit", "UnitDescriptor"),
            _get(a, "Eng3dAddress", "EngUnit", "UnitNo"),
        )
        if p
    )
    block = " ".join(
        p for p in (_get(a, "EngBlock", "BlockDescriptor"), _get(a, "EngBlock", "BlockNo")) if p
    )
    estate = " ".join(
        p
        for p in (_get(a, "EngEstate", "EstateName"), _get(a, "EngEstate", "EngPhase", "PhaseName"))
        if p
    )
    street = " ".join(
        p for p in (_get(a, "EngStreet", "BuildingNoFrom"), _get(a, "EngStreet", "StreetName")) if p
    )
    lot_node = (
        (a.get("EngLot") or {}).get("EngStructureLot")
        if isinstance(a.get("EngLot"), Mapping)
        else None
    )
    lot = ""
    if isinstance(lot_node, Mapping) and _get(lot_node, "LotNo"):
        lot = f"{_get(lot_node, 'LotType') or 'LOT'} {_get(lot_node, 'LotNo')}"
        if _get(lot_node, "DdNo"):
            lot += f" IN {_get(lot_node, 'DdType') or 'DD'} {_get(lot_node, 'DdNo')}"
    line = _join_en(
        unit,
        _floor_en(_get(a, "Eng3dAddress", "EngFloor", "Floor")),
        block,
        _get(a, "BuildingName"),
        estate,
        street,
        lot,
    )
    return Parts(line, _get(a, "EngDistrict", "Sub-district"), _get(a, "Region"), False)


def _free_format(a: Mapping[str, Any]) -> Parts:
    lines = [_get(a, key) for key in ("AddressLine1", "AddressLine2", "AddressLine3")]
    chinese = _get(a, "LanguageCode").lower().startswith("zh")
    text = ("" if chinese else ", ").join(line for line in lines if line)
    return Parts(text, "", "", chinese, free=True)


def _post_box(a: Mapping[str, Any]) -> Parts:
    if isinstance(a.get("ChiPostBox"), Mapping):
        box = a["ChiPostBox"]
        number = _get(box, "PoBoxNo")
        return Parts(
            f"郵政信箱{number}號", _get(box, "PostOffice"), _get(box, "PostOfficeRegion"), True
        )
    box = a.get("EngPostBox")
    if not isinstance(box, Mapping):
        raise ValueFormatError("malformed_address")
    return Parts(
        f"P.O. BOX {_get(box, 'PoBoxNo')}",
        _get(box, "PostOffice"),
        _get(box, "PostOfficeRegion"),
        False,
    )


_READERS: dict[str, Callable[[Mapping[str, Any]], Parts]] = {
    "ChiPremisesAddress": _chinese_premises,
    "EngPremisesAddress": _english_premises,
    "FreeFormatAddress": _free_format,
    "PostBoxAddress": _post_box,
}
_ORDER = {
    "zh": ("ChiPremisesAddress", "EngPremisesAddress", "FreeFormatAddress", "PostBoxAddress"),
    "en": ("EngPremisesAddress", "ChiPremisesAddress", "FreeFormatAddress", "PostBoxAddress"),
}


def address_parts(value: Any, prefer: Literal["zh", "en"] = "zh") -> Parts:
    """Read an iAM Smart address object; ValueFormatError if it holds no known form."""
    if not isinstance(value, Mapping) or prefer not in _ORDER:
        raise ValueFormatError("malformed_address")
    for key in _ORDER[prefer]:
        node = value.get(key)
        if isinstance(node, Mapping):
            parts = _READERS[key](node)
            if parts.street or parts.locality:
                return parts
    raise ValueFormatError("malformed_address")


def one_line(parts: Parts) -> str:
    """The whole address on one line, in its own language's order."""
    if parts.free:
        return parts.street
    if parts.chinese:
        return _LINE_PREFIX_ZH.get(parts.region_code, "香港") + parts.locality + parts.street
    return _join_en(
        parts.street, parts.locality, _LINE_SUFFIX_EN.get(parts.region_code, "HONG KONG")
    )


@transform("address_line")
def address_line(value: Any, prefer: Literal["zh", "en"] = "zh") -> str:
    """A one-line address (Chinese order for Chinese addresses), e.g. the GD ``address``."""
    return one_line(address_parts(value, prefer))


@transform("oidc_address")
def oidc_address(value: Any, prefer: Literal["zh", "en"] = "zh") -> dict[str, str]:
    """The OIDC ``address`` claim (OIDC Core §5.1.1), country ``"HK"``."""
    parts = address_parts(value, prefer)
    region_names = _REGION_ZH if parts.chinese else _REGION_EN
    claim = {
        "formatted": one_line(parts),
        "street_address": parts.street,
        "locality": parts.locality,
        "region": region_names.get(parts.region_code, parts.region_code),
        "country": "HK",
    }
    return {key: val for key, val in claim.items() if val}
