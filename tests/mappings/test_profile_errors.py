"""A bad profile fails at load with the file, the line and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings import ProfileError, load_profile
from mappings.loader import PROFILES_DIR

GOOD_HEAD = """\
name: test
protocol: oidc
claims:
  family_name:
    from: name_en
    transform: family_name
    scopes: [profile]
    labels: {zh-HK: 姓, zh-CN: 姓, en: Family name}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> ProfileError:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert err.value.file == str(path)
    assert str(err.value).startswith(f"{path}:")
    return err.value


def test_the_good_head_loads(tmp_path: Path) -> None:
    assert load_profile(write(tmp_path, GOOD_HEAD)).claims.keys() == {"family_name"}


def test_not_yaml(tmp_path: Path) -> None:
    err = load_error(tmp_path, GOOD_HEAD + "  given_name: [oops\n")
    assert err.line == 10
    assert "not valid YAML" in err.reason


def test_unknown_field(tmp_path: Path) -> None:
    err = load_error(tmp_path, GOOD_HEAD + "    colour: blue\n")
    assert err.line == 9
    assert "colour" in err.reason and "Extra inputs are not permitted" in err.reason


def test_unknown_transform(tmp_path: Path) -> None:
    text = GOOD_HEAD.replace("transform: family_name", "transform: [family_name, to_klingon]")
    err = load_error(tmp_path, text)
    assert err.line == 6
    assert "unknown transform 'to_klingon'" in err.reason


def test_unknown_validator(tmp_path: Path) -> None:
    err = load_error(tmp_path, GOOD_HEAD + "    validate: [hkid, shoe_size]\n")
    assert err.line == 9
    assert "unknown validator 'shoe_size'" in err.reason


def test_unknown_source_attribute(tmp_path: Path) -> None:
    err = load_error(tmp_path, GOOD_HEAD.replace("from: name_en", "from: nickname"))
    assert err.line == 5
    assert "unknown source attribute 'nickname'" in err.reason


def test_bad_transform_arguments(tmp_path: Path) -> None:
    text = GOOD_HEAD.replace("transform: family_name", "transform: {age_over: {yrs: 18}}")
    err = load_error(tmp_path, text)
    assert err.line == 6
    assert "age_over" in err.reason


def test_missing_label_language(tmp_path: Path) -> None:
    err = load_error(tmp_path, GOOD_HEAD.replace("zh-CN: 姓, ", ""))
    assert err.line == 8
    assert "zh-CN" in err.reason


def test_policy_names_an_unknown_claim(tmp_path: Path) -> None:
    err = load_error(tmp_path, GOOD_HEAD + "policy:\n  essential: [family_name, shoe]\n")
    assert err.line == 10
    assert "no claim named 'shoe'" in err.reason


def test_unknown_code_table(tmp_path: Path) -> None:
    text = GOOD_HEAD.replace("transform: family_name", "transform: {code_table: {table: sexes}}")
    err = load_error(tmp_path, text)
    assert err.line == 6
    assert "no code table named 'sexes'" in err.reason


def test_duplicate_key(tmp_path: Path) -> None:
    err = load_error(tmp_path, GOOD_HEAD + "    scopes: [email]\n")
    assert err.line == 9
    assert "duplicate key 'scopes'" in err.reason


def test_saml_claim_needs_a_name(tmp_path: Path) -> None:
    err = load_error(tmp_path, GOOD_HEAD.replace("protocol: oidc", "protocol: saml"))
    assert err.line == 4
    assert "saml.name" in err.reason


def test_verifiable_without_verification(tmp_path: Path) -> None:
    err = load_error(tmp_path, GOOD_HEAD + "    verifiable: true\n")
    assert err.line == 9


def test_not_a_mapping_and_unknown_names(tmp_path: Path) -> None:
    assert load_error(tmp_path, "- just\n- a list\n").line == 1
    with pytest.raises(ProfileError, match="no shipped profile"):
        load_profile("no-such-profile")
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "absent.yaml")


def test_the_commented_example_loads() -> None:
    profile = load_profile(PROFILES_DIR / "profile.yaml.example")
    assert profile.claims
