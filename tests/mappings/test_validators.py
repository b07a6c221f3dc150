"""Validators: HKID check digit (against an independent formula), permits, dates, E.164."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.errors import ValueFormatError
from mappings.validators import VALIDATORS, is_valid_hkid, mod11_2_check
from tests.mappings.conftest import PERSONAS


def independent_hkid_ok(letters: str, digits: str, check: str) -> bool:
    """The HKID rule written differently: with the check digit weighted 1 (A = 10), the
    weighted sum over nine positions is 0 mod 11; a single-letter ID counts its letter
    as A=1 … Z=26 with weight 8 (the equivalent form in domain-facts §4.1)."""
    if len(letters) == 1:
        values = [string.ascii_uppercase.index(letters) + 1]
        weights = [8, 7, 6, 5, 4, 3, 2]
    else:
        values = [string.ascii_uppercase.index(c) + 10 for c in letters]
        weights = [9, 8, 7, 6, 5, 4, 3, 2]
    values += [int(d) for d in digits]
    check_value = 10 if check == "A" else int(check)
    return (sum(w * v for w, v in zip(weights, values, strict=True)) + check_value) % 11 == 0


@given(
    letters=st.text(string.ascii_uppercase, min_size=1, max_size=2),
    digits=st.text("0123456789", min_size=6, max_size=6),
    check=st.sampled_from("0123456789A"),
)
def test_hkid_validator_accepts_exactly_the_valid_check_digits(
    letters: str, digits: str, check: str
) -> None:
    assert is_valid_hkid(f"{letters}{digits}({check})") == independent_hkid_ok(
        letters, digits, check
    )


@given(
    letters=st.text(string.ascii_uppercase, min_size=1, max_size=2),
    digits=st.text("0123456789", min_size=6, max_size=6),
)
def test_exactly_one_check_digit_is_valid(letters: str, digits: str) -> None:
    valid = [c for c in "0123456789A" if is_valid_hkid(f"{letters}{digits}({c})")]
    assert len(valid) == 1


def test_known_hkids() -> None:
    assert is_valid_hkid("A123456(3)")  # domain-facts §4.1 example
    assert not is_valid_hkid("A123456(4)")
    for persona in PERSONAS:
        id_no = persona["profile"]["idNo"]
        assert is_valid_hkid(f"{id_no['Identification']}({id_no['CheckDigit']})"), persona["id"]


@pytest.mark.parametrize("bad", ["A123456", "A12345(6)", "ABC123456(3)", "a123456(3)", 123, None])
def test_malformed_hkid(bad: object) -> None:
    with pytest.raises(ValueFormatError) as err:
        VALIDATORS["hkid"](bad)
    assert err.value.reason == "malformed_hkid"


def test_wrong_hkid_check_digit_has_its_own_reason() -> None:
    with pytest.raises(ValueFormatError) as err:
        VALIDATORS["hkid"]("A123456(4)")
    assert err.value.reason == "hkid_check_digit"


@pytest.mark.parametrize("good", ["H12345678", "M12345678", "H1234567801"])
def test_home_return_permit_accepts(good: str) -> None:
    VALIDATORS["home_return_permit"](good)


@pytest.mark.parametrize(
    "bad", ["h12345678", "H1234567", "H123456789", "C12345678", "H12345678 ", "CA1234567", ""]
)
def test_home_return_permit_rejects(bad: str) -> None:
    with pytest.raises(ValueFormatError):
        VALIDATORS["home_return_permit"](bad)


def test_residence_permit() -> None:
    VALIDATORS["residence_permit"]("810000199408230021")  # domain-facts §4.3 example
    body = "82000019991231123"
    VALIDATORS["residence_permit"](body + mod11_2_check(body))
    for bad in (
        "810000199408230022",  # wrong check character
        "830000199201300022",  # Taiwan: not an HK/Macao permit
        "810000199402300021",  # 30 February
        "81000019940823002",  # 17 characters
    ):
        with pytest.raises(ValueFormatError):
            VALIDATORS["residence_permit"](bad)


@given(st.text("0123456789", min_size=11, max_size=11))
def test_mod11_2_check_makes_the_weighted_sum_one(rest: str) -> None:
    body = "810000" + rest
    check = mod11_2_check(body)
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # ISO 7064: W_i = 2^(i-1) mod 11
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    total += 10 if check == "X" else int(check)
    assert total % 11 == 1


def test_date_and_e164() -> None:
    VALIDATORS["date"]("2024-02-29")
    VALIDATORS["e164"]("+85291234567")
    for bad in ("2023-02-29", "20240101", "2024-W01-1", "1/2/2024"):
        with pytest.raises(ValueFormatError):
            VALIDATORS["date"](bad)
    for bad in ("85291234567", "+0852912", "+852", "+85291234567890123", "+852 9123 4567"):
        with pytest.raises(ValueFormatError):
            VALIDATORS["e164"](bad)


@pytest.mark.parametrize(
    ("name", "good"),
    [
        ("hkid", "A123456(3)"),
        ("home_return_permit", "H12345678"),
        ("residence_permit", "810000199408230021"),
        ("date", "2024-02-29"),
        ("e164", "+85291234567"),
        ("email", "chan@example.hk"),
    ],
)
def test_validators_reject_a_trailing_newline(name: str, good: str) -> None:
    VALIDATORS[name](good)
    with pytest.raises(ValueFormatError):
        VALIDATORS[name](good + "\n")


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        ("hkid", "A\u0661\u0662\u0663\u0664\u0665\u0666(3)"),  # Arabic-Indic digits
        ("home_return_permit", "H\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18"),  # fullwidth
        ("e164", "+852\u0669\u0661\u0662\u0663\u0664\u0665\u0666\u0667"),
        (
            "residence_permit",
            "810000\uff11\uff19\uff19\uff14\uff10\uff18\uff12\uff13\uff10\uff10\uff12\uff11",
        ),
    ],
)
def test_validators_accept_only_ascii_digits(name: str, bad: str) -> None:
    with pytest.raises(ValueFormatError):
        VALIDATORS[name](bad)
