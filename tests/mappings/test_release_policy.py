"""Release policy: only what was asked for, the claims parameter, verified_claims, subjects."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from federation.identity import Attr, IdentityRecord
from mappings import (
    ClaimsRequestError,
    MappingError,
    ReleaseRequest,
    load_profile,
    parse_claims_request,
)
from mappings.loader import PROFILES_DIR
from tests.mappings.conftest import PERSONAS, SALT, TODAY, identity_of

OIDC = load_profile("oidc-standard")
GD = load_profile("guangdong-tyrz")
EIDAS = load_profile("saml-eidas-like")


def req(scopes: list[str], claims: dict | None = None, **kw: object) -> ReleaseRequest:
    base = ReleaseRequest("rp-1", scopes, claims, "rp.gd.example", "pairwise", "zh-HK")
    return replace(base, **kw)  # type: ignore[arg-type]


def test_openid_alone_releases_only_the_subject(chan: IdentityRecord) -> None:
    release = OIDC.release(chan, req(["openid"]), salt=SALT, today=TODAY)
    assert release.items == []
    assert release.userinfo_claims == {"sub": release.subject}
    assert release.id_token_claims == {"sub": release.subject}
    assert set(release.dropped) == set(chan.attributes)


def test_a_scope_releases_its_claims_and_nothing_else(chan: IdentityRecord) -> None:
    release = OIDC.release(chan, req(["openid", "email"]), salt=SALT, today=TODAY)
    assert release.userinfo_claims == {
        "sub": release.subject,
        "email": "taiman.chan@example.hk",
        "email_verified": False,  # e-ME carries no verification flag: said honestly
    }
    assert release.id_token_claims == {"sub": release.subject}  # OIDC Core §5.4: UserInfo
    assert OIDC.required_attributes(req(["openid", "email"])) == {Attr.EMAIL}


def test_unknown_scopes_and_claims_are_ignored(chan: IdentityRecord) -> None:
    claims = {"userinfo": {"favourite_colour": {"essential": True}}}
    release = OIDC.release(chan, req(["openid", "wallet"], claims), salt=SALT)
    assert release.items == []


def test_claims_parameter_places_and_flags_claims(chan: IdentityRecord) -> None:
    claims = parse_claims_request(
        '{"id_token": {"birthdate": {"essential": true}, "gender": null},'
        ' "userinfo": {"email": {"essential": false}}}'
    )
    release = OIDC.release(chan, req(["openid"], claims), salt=SALT)
    assert release.id_token_claims == {
        "sub": release.subject,
        "birthdate": "1978-04-12",
        "gender": "male",
    }
    assert release.userinfo_claims == {"sub": release.subject, "email": "taiman.chan@example.hk"}
    essential = {item.claim: item.essential for item in release.items}
    assert essential == {"birthdate": True, "gender": False, "email": False}


def test_policy_essential_and_placement(chan: IdentityRecord) -> None:
    release = GD.release(
        chan, req(["openid", "all"]), salt=SALT, supplied={"home_return_permit": "H12345678"}
    )
    essential = {item.claim for item in release.items if item.essential}
    assert essential == {"cn", "idcardtype", "idcardnumber"}
    assert release.id_token_claims["idcardtype"] == "516"
    assert release.userinfo_claims["cn"] == "陈大文"
    idcard = next(item for item in release.items if item.claim == "idcardnumber")
    assert idcard.display == "H12******" and idcard.value == "H12345678"


def test_client_overrides_restrict_what_is_allowed(tmp_path: Path, chan: IdentityRecord) -> None:
    example = load_profile(PROFILES_DIR / "profile.yaml.example")
    request = req(["openid", "profile", "phone"], client_id="gd-eservice-demo")
    release = example.release(chan, request, salt=SALT)
    assert {item.claim for item in release.items} == {"family_name", "birthdate"}
    assert release.id_token_claims["family_name"] == "CHAN"  # this client: id_token too
    other = example.release(chan, replace(request, client_id="someone-else"), salt=SALT)
    assert {i.claim for i in other.items} > {"family_name", "birthdate", "phone_number"}


def test_verified_claims(chan: IdentityRecord) -> None:
    claims = {
        "userinfo": {
            "verified_claims": {
                "verification": {"trust_framework": None},
                "claims": {"given_name": None, "birthdate": {"essential": True}, "email": None},
            }
        }
    }
    release = OIDC.release(chan, req(["openid"], claims), salt=SALT)
    verified = release.userinfo_claims["verified_claims"]
    assert verified["claims"] == {"given_name": "Tai Man", "birthdate": "1978-04-12"}  # no email
    assert verified["verification"]["trust_framework"] == "hk_iamsmart"
    assert verified["verification"]["assurance_level"] == "iamsmart_plus"
    assert verified["verification"]["evidence"][0]["type"] == "electronic_record"
    assert "given_name" not in release.userinfo_claims  # only inside verified_claims
    keys = {item.claim: item.essential for item in release.items}
    assert keys == {"verified_claims.given_name": False, "verified_claims.birthdate": True}


def test_unverified_chinese_name_is_not_a_verified_claim() -> None:
    lee = identity_of(next(p for p in PERSONAS if p["id"] == "lee-ka-fung"))
    claims = {"userinfo": {"verified_claims": {"claims": {"name#zh-Hant-HK": None}}}}
    release = OIDC.release(lee, req(["openid", "profile"], claims), salt=SALT)
    assert "verified_claims" not in release.userinfo_claims
    assert release.userinfo_claims["name#zh-Hant-HK"] == "李嘉峯"  # plain claim still there
    assert release.missing == ["verified_claims.name#zh-Hant-HK"]


def test_verified_claims_refused_by_policy(chan: IdentityRecord) -> None:
    claims = {"userinfo": {"verified_claims": {"claims": {"cn": None}}}}
    release = GD.release(chan, req(["openid"], claims), salt=SALT)
    assert release.items == [] and "verified_claims" not in release.userinfo_claims


def test_pairwise_subjects(chan: IdentityRecord) -> None:
    one = OIDC.release(chan, req(["openid"]), salt=SALT).subject
    again = OIDC.release(chan, req(["openid"], client_id="rp-2"), salt=SALT).subject
    other_sector = OIDC.release(chan, req(["openid"], sector_identifier="x.example"), salt=SALT)
    other_salt = OIDC.release(chan, req(["openid"]), salt=b"another-salt-of-32-bytes-length!")
    other_person = OIDC.release(identity_of(PERSONAS[1]), req(["openid"]), salt=SALT)
    assert one == again  # same sector, another client: same sub
    assert len({one, other_sector.subject, other_salt.subject, other_person.subject}) == 4
    assert len(one) == 43 and chan.subject not in one
    public = OIDC.release(chan, req(["openid"], subject_type="public"), salt=SALT).subject
    public_elsewhere = OIDC.release(
        chan, req(["openid"], subject_type="public", sector_identifier="x.example"), salt=SALT
    ).subject
    assert public == public_elsewhere != one
    with pytest.raises(ValueError):
        OIDC.release(chan, req(["openid"], sector_identifier=""), salt=SALT)
    with pytest.raises(ValueError):
        OIDC.release(chan, req(["openid"]), salt=b"short")


def test_user_supplied_and_required_attributes(chan: IdentityRecord) -> None:
    request = req(["openid", "gd_identity"])
    (field,) = GD.user_supplied(request)
    assert field.attribute == "home_return_permit" and field.essential
    assert field.claims == ("idcardtype", "idcardnumber")
    assert set(field.labels) == {"zh-HK", "zh-CN", "en"}
    assert field.validate(" h1234 5678 ") == "H12345678"
    with pytest.raises(MappingError) as err:
        field.validate("X999")
    assert err.value.reason == "home_return_permit" and "X999" not in str(err.value)
    assert GD.required_attributes(request) == set()
    assert GD.user_supplied(req(["openid", "email"])) == []
    missing = GD.release(chan, request, salt=SALT)  # the person has not typed it yet
    assert missing.missing == ["idcardtype", "idcardnumber"]


def test_bad_upstream_value_is_a_typed_error_without_the_value(chan: IdentityRecord) -> None:
    bad = chan.with_attributes({"hkid": {"Identification": "A123456", "CheckDigit": "4"}})
    with pytest.raises(MappingError) as err:
        OIDC.release(bad, req(["openid", "hk_identity"]), salt=SALT)
    assert (err.value.attribute, err.value.claim, err.value.reason) == (
        "hkid",
        "hkid",
        "hkid_check_digit",
    )
    assert err.value.message_key == "mapping.error.hkid_check_digit"
    assert "A123456" not in str(err.value)
    assert set(err.value.messages()) == {"zh-HK", "zh-CN", "en"}


def test_without_switches_off_optional_items_only(chan: IdentityRecord) -> None:
    claims = {"userinfo": {"email": None, "birthdate": {"essential": True}}}
    release = OIDC.release(chan, req(["openid"], claims), salt=SALT)
    assert release.optional_claims == ["email"]
    slimmer = release.without(["email"])
    assert "email" not in slimmer.userinfo_claims and slimmer.userinfo_claims["birthdate"]
    with pytest.raises(ValueError, match="essential"):
        release.without(["birthdate"])
    with pytest.raises(ValueError, match="not in this release"):
        release.without(["phone_number"])


def test_saml_attributes_requested_by_uri(chan: IdentityRecord) -> None:
    uri = "http://eidas.europa.eu/attributes/naturalperson/Gender"
    request = req([], {"attributes": {uri: {"essential": True}, "CurrentFamilyName": None}})
    release = EIDAS.release(chan, request, salt=SALT)
    assert [(a["friendly_name"], a["values"]) for a in release.saml_attributes] == [
        ("FamilyName", ["CHAN"]),
        ("Gender", ["Male"]),
    ]
    assert release.id_token_claims == {} and release.userinfo_claims == {}
    assert [i.essential for i in release.items] == [False, True]


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        '{"userinfo": []}',
        '{"id_token": {"x": 1}}',
        '{"userinfo": {"x": {"essential": "yes"}}}',
        '{"userinfo": {"verified_claims": {}}}',
    ],
)
def test_malformed_claims_parameter(raw: str) -> None:
    with pytest.raises(ClaimsRequestError):
        parse_claims_request(raw)


def test_dropped_attributes_are_logged_by_name_only(
    chan: IdentityRecord, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="idbridge.mappings"):
        release = GD.release(chan, req(["openid", "profile"]), salt=SALT)
    assert "hkid" in release.dropped
    record = next(r for r in caplog.records if r.name == "idbridge.mappings")
    logged = record.getMessage() + str(record.fields)  # type: ignore[attr-defined]
    assert "hkid" in logged and "A123456" not in logged and "19780412" not in logged


def test_each_item_carries_the_scopes_that_select_it(chan: IdentityRecord) -> None:
    release = OIDC.release(chan, req(["openid", "profile", "email"]), salt=SALT, today=TODAY)
    scopes = release.claim_scopes
    assert scopes["name"] == ("profile",)
    assert scopes["email"] == ("email",)
    assert set(scopes) == {item.name for item in release.items}
