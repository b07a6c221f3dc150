"""``Grant.narrowed``: an access token refreshed with a narrower scope (RFC 6749 §6) sees
only the claims of the scopes it keeps, from a real mapping release; the grant itself
(what its refresh token stands for) is unchanged."""

from __future__ import annotations

from dataclasses import replace

from federation.oidc.models import Grant
from mappings import ReleaseRequest, load_profile
from tests.mappings.conftest import PERSONAS, SALT, TODAY, identity_of

OIDC = load_profile("oidc-standard")
VERIFIED = {
    "userinfo": {
        "verified_claims": {
            "verification": {"trust_framework": None},
            "claims": {"given_name": None, "birthdate": None},
        }
    }
}


def grant(scopes: list[str], claims: dict | None = None) -> Grant:
    request = ReleaseRequest("rp-1", scopes, claims, "rp.gd.example", "pairwise", "zh-HK")
    release = OIDC.release(identity_of(PERSONAS[0]), request, salt=SALT, today=TODAY)
    return Grant(
        subject=release.subject,
        scopes=tuple(scopes),
        auth_time=0,
        id_token_claims={k: v for k, v in release.id_token_claims.items() if k != "sub"},
        userinfo_claims={k: v for k, v in release.userinfo_claims.items() if k != "sub"},
        claim_scopes=release.claim_scopes,
    )


def test_a_narrower_scope_drops_the_claims_of_the_scopes_left_out() -> None:
    full = grant(["openid", "profile", "email", "phone"])
    assert {"name", "email"} <= set(full.userinfo_claims)
    narrowed = full.narrowed(["openid", "email"])
    assert narrowed.scopes == ("openid", "email")
    assert set(narrowed.userinfo_claims) == {"email", "email_verified"} & set(full.userinfo_claims)
    assert "email" in narrowed.userinfo_claims
    assert full.narrowed(["openid"]).userinfo_claims == {}
    assert full.narrowed(list(full.scopes)) is full  # the same scope: the same grant
    assert Grant.from_dict(full.to_dict()) == full  # the scopes travel with the grant


def test_verified_claims_are_narrowed_inside() -> None:
    full = grant(["openid", "profile"], VERIFIED)
    inner = full.userinfo_claims["verified_claims"]["claims"]
    assert set(inner) == {"given_name", "birthdate"}
    assert "verified_claims" not in full.narrowed(["openid"]).userinfo_claims


def test_claims_bound_to_no_scope_stay() -> None:
    full = replace(grant(["openid", "email"]), claim_scopes={})
    assert full.narrowed(["openid"]).userinfo_claims == full.userinfo_claims
