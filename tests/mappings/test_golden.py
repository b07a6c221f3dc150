"""Golden files: every shipped profile applied to every simulator persona.

The expected output lives in ``tests/mappings/golden/<profile>/<persona>.json`` and is
reviewed by hand. To regenerate after an intended change::

    IDBRIDGE_UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/mappings/test_golden.py

then read the diff (``git diff tests/mappings/golden``) before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from mappings import ReleaseRequest, load_profile, shipped_profiles
from tests.mappings.conftest import PERSONAS, SALT, TODAY, identity_of, permit_for

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("IDBRIDGE_UPDATE_GOLDEN") == "1"

VERIFIED_REQUEST = {
    "userinfo": {
        "verified_claims": {
            "verification": {"trust_framework": None},
            "claims": {
                "family_name": {"essential": True},
                "given_name": None,
                "birthdate": None,
                "name#zh-Hant-HK": None,
                "hkid": None,
            },
        }
    },
    "id_token": {"birthdate": {"essential": True}},
}


def request_for(profile_name: str) -> ReleaseRequest:
    """Every scope of the profile, and for OIDC profiles a claims parameter too."""
    profile = load_profile(profile_name)
    claims = VERIFIED_REQUEST if profile_name == "oidc-standard" else None
    return ReleaseRequest(
        client_id="golden-client",
        scopes=["openid", *profile.scopes],
        claims_request=claims,
        sector_identifier="eservice.gd.example",
        subject_type="pairwise",
        locale="zh-CN",
    )


def render(profile_name: str, index: int) -> dict[str, Any]:
    profile = load_profile(profile_name)
    request = request_for(profile_name)
    release = profile.release(
        identity_of(PERSONAS[index]),
        request,
        salt=SALT,
        supplied={"home_return_permit": permit_for(index)},
        today=TODAY,
    )
    return {
        "required_attributes": sorted(a.value for a in profile.required_attributes(request)),
        "user_supplied": [f.attribute for f in profile.user_supplied(request)],
        **release.to_dict(),
    }


@pytest.mark.parametrize("profile_name", shipped_profiles())
def test_profile_matches_golden(profile_name: str, persona_index: int) -> None:
    persona_id = PERSONAS[persona_index]["id"]
    path = GOLDEN / profile_name / f"{persona_id}.json"
    actual = render(profile_name, persona_index)
    text = json.dumps(actual, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with IDBRIDGE_UPDATE_GOLDEN=1 and review"
    assert json.loads(path.read_text(encoding="utf-8")) == actual


def test_every_shipped_profile_has_a_golden_per_persona() -> None:
    for profile_name in shipped_profiles():
        names = {p.stem for p in (GOLDEN / profile_name).glob("*.json")}
        assert names == {p["id"] for p in PERSONAS}, profile_name
