"""The discovery document (OIDC Discovery 1.0 §3): what it promises matches what the
provider does — acr values the journey issues, client authentication at every endpoint,
the claims the shipped OIDC mapping profiles can release, nothing unsupported."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from federation.identity import Assurance

PROFILES = Path(__file__).resolve().parents[3] / "mappings" / "profiles"


async def _doc(http: httpx.AsyncClient) -> dict:
    response = await http.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    return response.json()


async def test_no_unsupported_promises(http: httpx.AsyncClient) -> None:
    doc = await _doc(http)
    assert doc["require_request_uri_registration"] is True  # registered request_uris only
    assert doc["userinfo_signing_alg_values_supported"] == ["SM2SM3", "ES256", "RS256"]
    assert doc["request_uri_parameter_supported"] is True
    assert doc["request_parameter_supported"] is True
    assert doc["request_object_signing_alg_values_supported"] == [
        "SM2SM3",
        "ES256",
        "RS256",
        "PS256",
        "none",
    ]
    assert "request_object_encryption_alg_values_supported" not in doc  # not offered


async def test_acr_values_are_the_assurance_levels(http: httpx.AsyncClient) -> None:
    doc = await _doc(http)
    assert doc["acr_values_supported"] == ["iamsmart", "iamsmart_plus"]
    assert set(doc["acr_values_supported"]) == {a.value for a in Assurance}


async def test_client_authentication_at_every_endpoint(http: httpx.AsyncClient) -> None:
    doc = await _doc(http)
    for endpoint in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        methods = doc[f"{endpoint}_auth_methods_supported"]
        assert methods == ["client_secret_basic", "client_secret_post", "private_key_jwt"]
        algs = doc[f"{endpoint}_auth_signing_alg_values_supported"]
        assert algs == ["SM2SM3", "ES256", "RS256", "PS256"]  # never none, never HMAC


async def test_claims_supported_covers_the_shipped_oidc_profiles(http: httpx.AsyncClient) -> None:
    doc = await _doc(http)
    released = set()
    for path in PROFILES.glob("*.yaml"):
        profile = yaml.safe_load(path.read_text(encoding="utf-8"))
        if profile["protocol"] == "oidc":
            released |= {name.split("#")[0] for name in profile["claims"]}
    assert {"cn", "idcardnumber", "idcardtype", "name", "birthdate"} <= released
    assert released <= set(doc["claims_supported"])
    assert {"sub", "iss", "acr", "sid"} <= set(doc["claims_supported"])
    assert len(doc["claims_supported"]) == len(set(doc["claims_supported"]))
