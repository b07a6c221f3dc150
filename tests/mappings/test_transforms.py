"""Transforms: round trips (names, dates, phones), addresses, Chinese script conversion."""

from __future__ import annotations

from datetime import date

import opencc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.errors import ValueFormatError
from mappings.transforms import Context, compile_step
from mappings.transforms.addresses import address_line, oidc_address
from mappings.transforms.chinese import to_simplified
from mappings.transforms.dates import age_over, iso_date, parse_yyyymmdd, to_yyyymmdd
from mappings.transforms.identifiers import hkid, mask_id
from mappings.transforms.names import (
    family_name,
    full_name,
    given_name,
    parse_english_name,
    unstructured_name,
)
from mappings.transforms.phones import e164, split_e164
from tests.mappings.conftest import PERSONAS

name_part = st.from_regex(r"[A-Z][a-z]{0,7}", fullmatch=True)
surname = st.from_regex(r"[A-Z]{1,10}(-[A-Z]{2,8})?", fullmatch=True)
given_names = st.lists(name_part, min_size=0, max_size=3).map(" ".join)


@given(surname, given_names)
def test_english_name_round_trip(family: str, given: str) -> None:
    text = unstructured_name(family, given)
    assert parse_english_name({"UnstructuredName": text}) == (family, given)
    assert full_name(text) == (f"{family} {given}" if given else family)


def test_english_name_examples() -> None:
    value = {"UnstructuredName": "CHAN, Tai Man"}
    assert (family_name(value), given_name(value), full_name(value)) == (
        "CHAN",
        "Tai Man",
        "CHAN Tai Man",
    )
    assert given_name("MOHAMMED") is None
    with pytest.raises(ValueFormatError):
        family_name({"UnstructuredName": ", Tai Man"})


@given(st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)))
def test_date_round_trip(day: date) -> None:
    compact = day.strftime("%Y%m%d")
    assert iso_date(compact) == day.isoformat()
    assert to_yyyymmdd(iso_date(compact)) == compact
    assert iso_date(int(compact)) == day.isoformat()


@pytest.mark.parametrize("bad", ["19780230", "1978-04-12", "780412", "", None, True])
def test_bad_dates(bad: object) -> None:
    with pytest.raises(ValueFormatError):
        parse_yyyymmdd(bad)


def test_age_over_uses_the_injected_clock() -> None:
    born = "20080229"

    def ctx(day: date) -> Context:
        return Context(today=day)

    assert age_over(born, 18, ctx=ctx(date(2026, 2, 28))) is False
    assert age_over(born, 18, ctx=ctx(date(2026, 3, 1))) is True
    assert age_over("20080301", 18, ctx=ctx(date(2026, 3, 1))) is True
    assert age_over("20080302", 18, ctx=ctx(date(2026, 3, 1))) is False


country_codes = st.sampled_from(["852", "853", "86", "44", "1", "7", "61", "971", "880"])


@given(
    country_codes,
    st.from_regex(r"[0-9]{0,2}", fullmatch=True),
    st.from_regex(r"[1-9][0-9]{5,8}", fullmatch=True),
)
def test_phone_round_trip(code: str, ndc: str, subscriber: str) -> None:
    phone = {"CountryCode": code, "NationalDestinationCode": ndc, "SubscriberNumber": subscriber}
    number = e164(phone)
    assert number == f"+{code}{ndc}{subscriber}"
    parts = split_e164(number)
    assert parts["CountryCode"] == code
    assert e164(parts) == number


def test_phone_rejects_non_digits_and_empty() -> None:
    for bad in (
        {"CountryCode": "852", "SubscriberNumber": "9123abcd"},
        {"CountryCode": "", "SubscriberNumber": "91234567"},
        {"CountryCode": "852"},
        "+85291234567",
    ):
        with pytest.raises(ValueFormatError):
            e164(bad)


def test_hkid_format_and_mask() -> None:
    assert hkid({"Identification": "A123456", "CheckDigit": "3"}) == "A123456(3)"
    assert hkid({"Identification": "XA204718", "CheckDigit": "4"}) == "XA204718(4)"
    assert mask_id("A123456(3)") == "A12****(*)"
    assert mask_id("XA204718(4)") == "XA20****(*)"


def test_addresses() -> None:
    chinese = {
        "ChiPremisesAddress": {
            "Chi3dAddress": {
                "ChiFloor": {"Floor": "12"},
                "ChiUnit": {"UnitDescriptor": "室", "UnitNo": "C"},
            },
            "ChiBlock": {"BlockDescriptor": "座", "BlockNo": "3"},
            "BuildingName": "翠雅樓",
            "ChiEstate": {"EstateName": "翠屏邨"},
            "ChiStreet": {"StreetName": "翠屏道", "BuildingNoFrom": "15"},
            "ChiDistrict": {"DcDistrict": "KTD", "Sub-district": "觀塘"},
            "Region": "KLN",
        }
    }
    assert address_line(chinese) == "香港九龍觀塘翠屏道15號翠屏邨翠雅樓3座12樓C室"
    assert oidc_address(chinese) == {
        "formatted": "香港九龍觀塘翠屏道15號翠屏邨翠雅樓3座12樓C室",
        "street_address": "翠屏道15號翠屏邨翠雅樓3座12樓C室",
        "locality": "觀塘",
        "region": "九龍",
        "country": "HK",
    }
    free = {
        "FreeFormatAddress": {
            "AddressLine1": "FLAT 8, 3/F",
            "AddressLine2": "",
            "LanguageCode": "en",
        }
    }
    assert oidc_address(free) == {
        "formatted": "FLAT 8, 3/F",
        "street_address": "FLAT 8, 3/F",
        "country": "HK",
    }
    box = {
        "PostBoxAddress": {
            "EngPostBox": {"PostOfficeRegion": "HK", "PostOffice": "GPO", "PoBoxNo": "1"}
        }
    }
    assert address_line(box) == "P.O. BOX 1, GPO, HONG KONG"
    for bad in ({}, {"Unknown": {}}, "somewhere", {"FreeFormatAddress": {}}):
        with pytest.raises(ValueFormatError):
            address_line(bad)


def test_hk2s_handles_hong_kong_variants_that_t2s_leaves() -> None:
    assert opencc.OpenCC("t2s").convert("衞") == "衞"
    assert to_simplified("衞") == "卫"
    assert to_simplified("陳大文") == "陈大文"


TRADITIONAL_ONLY_IN_PERSONA_NAMES = set("陳黃張葉吳詠凱峯啓")
CONVERTERS = [opencc.OpenCC(config) for config in ("t2s", "hk2s", "tw2s")]


@pytest.mark.parametrize(
    "persona", [p for p in PERSONAS if "chName" in p["profile"]], ids=lambda p: p["id"]
)
def test_simplified_persona_names_hold_no_traditional_only_character(persona: dict) -> None:
    simplified = to_simplified(persona["profile"]["chName"]["ChineseName"])
    for converter in CONVERTERS:  # idempotent: nothing left that any variant would simplify
        assert converter.convert(simplified) == simplified
    assert not TRADITIONAL_ONLY_IN_PERSONA_NAMES & set(simplified)


def test_compile_step_checks_names_and_arguments() -> None:
    with pytest.raises(ValueError, match="unknown transform"):
        compile_step("nope", {})
    with pytest.raises(ValueError, match="needs argument"):
        compile_step("age_over", {})
    with pytest.raises(ValueError, match="unexpected keyword"):
        compile_step("iso_date", {"years": 1})
    step = compile_step("age_over", {"years": 18})
    assert step("20000101", Context(today=date(2026, 1, 1))) is True


def test_phone_and_hkid_transforms_accept_only_ascii_digits() -> None:
    with pytest.raises(ValueFormatError):
        split_e164("+85291234567\n")
    with pytest.raises(ValueFormatError):
        split_e164("+852\u0669\u0661\u0662\u0663\u0664\u0665\u0666\u0667")
    with pytest.raises(ValueFormatError):
        hkid({"Identification": "A\u0661\u0662\u0663\u0664\u0665\u0666", "CheckDigit": "3"})
