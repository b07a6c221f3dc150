"""Issue 19 defects through the real journey (iAM Smart simulator, consent page, tokens):
essential and voluntary ``acr`` (OP-claims-acr=1, OIDC Core §5.5.1.1), honest
``email_verified``/``phone_number_verified``, the public-subject note on the consent page,
and the pages for a missing or unverifiable return address."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client

from federation.crypto.jose import decode_jwt
from tests.federation.journey.harness import (
    RP_BYE,
    RP_REDIRECT,
    Person,
    authorize_url,
    consent,
    exchange,
    finish,
)
from tests.flows.conformance_bridge import OpenBridge, open_bridge
from tests.flows.test_journey_failures import back_link

__all__ = ["open_bridge"]

PLUS, PLAIN = "chan-tai-man", "wong-siu-ming"  # userType sign / default
HTML = {"Accept": "text/html", "Accept-Language": "en"}


def client_for(registered: dict[str, Any], scope: str = "openid profile email phone") -> Any:
    return AsyncOAuth2Client(
        registered["client_id"],
        client_secret=registered["client_secret"],
        redirect_uri=RP_REDIRECT,
        scope=scope,
        code_challenge_method="S256",
    )


async def log_in(
    ob: OpenBridge, client: Any, persona: str, **extra: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A whole login; (token response, verified ID token claims with the RS256 default)."""
    url, state, _, verifier = await authorize_url(ob.bridge, client, **extra)
    person = Person(ob.bridge, persona)
    try:
        page = await person.sign_in(url)
        if "/journey/consent" in str(page.url):
            page = await consent(person, page)
            answer = await finish(person, page)
        else:
            answer = await finish(person, page)
    finally:
        await person.aclose()
    assert answer["state"] == state, answer
    token = await exchange(ob.bridge, client, answer, verifier)
    _, claims = decode_jwt(token["id_token"], ob.bridge.jwks, algorithms=["RS256"])
    return token, claims


def essential_acr(*values: str) -> str:
    spec: dict[str, Any] = {"essential": True}
    if len(values) == 1:
        spec["value"] = values[0]
    else:
        spec["values"] = list(values)
    return json.dumps({"id_token": {"acr": spec}})


@pytest.mark.parametrize(
    ("persona", "extra", "expected"),
    [
        (PLUS, {"claims": essential_acr("iamsmart")}, "iamsmart"),  # OP-claims-acr=1
        (PLUS, {"claims": essential_acr("iamsmart_plus", "iamsmart")}, "iamsmart_plus"),
        (PLAIN, {"claims": essential_acr("iamsmart_plus", "iamsmart")}, "iamsmart"),
        (PLUS, {"acr_values": "iamsmart"}, "iamsmart"),  # voluntary, same rule
        (PLAIN, {"acr_values": "iamsmart_plus"}, "iamsmart"),  # voluntary: the truth
        (PLUS, {}, "iamsmart_plus"),  # nothing asked: the person's own level
    ],
)
async def test_the_answered_acr_is_one_of_those_requested(
    open_bridge: OpenBridge, persona: str, extra: dict[str, str], expected: str
) -> None:
    client = client_for(open_bridge.register())
    _, claims = await log_in(open_bridge, client, persona, **extra)
    assert claims["acr"] == expected


async def test_essential_iamsmart_plus_with_a_plain_person_fails(
    open_bridge: OpenBridge,
) -> None:
    client = client_for(open_bridge.register())
    url, state, _, _ = await authorize_url(
        open_bridge.bridge, client, claims=essential_acr("iamsmart_plus")
    )
    person = Person(open_bridge.bridge, PLAIN)
    person.http.headers["Accept-Language"] = "en"
    try:
        page = await person.sign_in(url)
    finally:
        await person.aclose()
    assert page.status_code == 403, page.text[:300]
    assert "This service needs iAM Smart+" in page.text
    answer = back_link(page.text)
    assert answer["error"] == "unmet_authentication_requirements"
    assert answer["state"] == state


async def test_email_and_phone_come_with_honest_verified_flags(
    open_bridge: OpenBridge,
) -> None:
    client = client_for(open_bridge.register())
    token, _ = await log_in(open_bridge, client, PLUS)
    info = httpx.get(
        open_bridge.url + "/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ).json()
    assert info["email"] == "taiman.chan@example.hk" and info["email_verified"] is False
    assert info["phone_number"].startswith("+852") and info["phone_number_verified"] is False


async def test_consent_page_says_a_public_identifier_is_shared(
    open_bridge: OpenBridge,
) -> None:
    public = client_for(open_bridge.register(subject_type="public"))
    pairwise = client_for(open_bridge.register())
    notes = []
    for client in (public, pairwise):
        url, *_ = await authorize_url(open_bridge.bridge, client)
        person = Person(open_bridge.bridge, PLAIN)
        person.http.headers["Accept-Language"] = "en"
        try:
            page = await person.sign_in(url)
        finally:
            await person.aclose()
        assert "/journey/consent" in str(page.url)
        notes.append('id="shared-identifier"' in page.text)
    assert notes == [True, False]


async def test_missing_redirect_uri_is_said_so(open_bridge: OpenBridge) -> None:
    registered = open_bridge.register()
    params = {
        "client_id": registered["client_id"],
        "response_type": "code",
        "scope": "openid",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    page = httpx.get(open_bridge.url + "/authorize", params=params, headers=HTML)
    assert page.status_code == 400
    assert "did not say where to send you back" in page.text
    assert "has not registered" not in page.text
    unregistered = httpx.get(
        open_bridge.url + "/authorize",
        params={**params, "redirect_uri": "https://evil.example/cb"},
        headers=HTML,
    )
    assert "has not registered" in unregistered.text


async def test_logout_return_address_without_hint_or_client_is_unverifiable(
    open_bridge: OpenBridge,
) -> None:
    page = httpx.get(
        open_bridge.url + "/logout", params={"post_logout_redirect_uri": RP_BYE}, headers=HTML
    )
    assert page.status_code == 400
    assert "We could not check where to send you" in page.text
    assert "has not registered" not in page.text
    zh = httpx.get(
        open_bridge.url + "/logout",
        params={"post_logout_redirect_uri": RP_BYE},
        headers={**HTML, "Accept-Language": "zh-HK"},
    )
    assert "我們未能核實要把你送往哪裏" in zh.text


# --- response_mode=form_post (OAuth 2.0 Form Post Response Mode) -------------------------
def posted_fields(html: str) -> tuple[str, dict[str, str]]:
    """(form action, hidden fields) of the form-post page."""
    import re

    action = re.search(r'<form method="post" action="([^"]+)" data-autosubmit>', html)
    assert action is not None, html[:500]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    return action.group(1).replace("&amp;", "&"), fields


async def test_form_post_delivers_the_code_in_a_self_posting_page(
    open_bridge: OpenBridge,
) -> None:
    client = client_for(open_bridge.register())
    url, state, _, verifier = await authorize_url(
        open_bridge.bridge, client, response_mode="form_post"
    )
    person = Person(open_bridge.bridge, PLUS)
    try:
        page = await consent(person, await person.sign_in(url))
        done = await person.http.get(open_bridge.url + "/journey/finish")
    finally:
        await person.aclose()
    assert done.status_code == 200 and done.headers["cache-control"] == "no-store"
    action, fields = posted_fields(done.text)
    assert action == RP_REDIRECT and fields["state"] == state
    assert fields["iss"] == open_bridge.url and "code" in fields
    assert "code=" not in done.text.split("<form", 1)[0]  # never in a URL
    csp = done.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    scripts = [tag for tag in done.text.split("<script")[1:]]
    assert scripts and all(tag.lstrip().startswith("src=") for tag in scripts)  # no inline code
    assert 'type="submit"' in done.text  # the visible Continue button (no JavaScript)
    token = await exchange(open_bridge.bridge, client, fields, verifier)
    assert "id_token" in token
    assert page.status_code == 200


async def test_form_post_also_carries_errors(open_bridge: OpenBridge) -> None:
    registered = open_bridge.register()
    params = {
        "client_id": registered["client_id"],
        "redirect_uri": RP_REDIRECT,
        "response_type": "code",
        "response_mode": "form_post",
        "scope": "profile",  # no openid: invalid_scope
        "state": "st-form",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    page = httpx.get(open_bridge.url + "/authorize", params=params, headers=HTML)
    assert page.status_code == 200
    action, fields = posted_fields(page.text)
    assert action == RP_REDIRECT
    assert fields["error"] == "invalid_scope" and fields["state"] == "st-form"


# --- signed UserInfo (OIDC Core §5.3.2) --------------------------------------------------
@pytest.mark.parametrize("alg", ["SM2SM3", "ES256", "RS256"])
async def test_signed_userinfo(open_bridge: OpenBridge, alg: str) -> None:
    registered = open_bridge.register(userinfo_signed_response_alg=alg)
    assert registered["userinfo_signed_response_alg"] == alg
    token, id_claims = await log_in(open_bridge, client_for(registered), PLUS)
    response = httpx.get(
        open_bridge.url + "/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwt")
    header, claims = decode_jwt(response.text, open_bridge.bridge.jwks, algorithms=[alg])
    assert header["alg"] == alg
    assert claims["iss"] == open_bridge.url and claims["aud"] == registered["client_id"]
    assert claims["sub"] == id_claims["sub"] and claims["email_verified"] is False


async def test_discovery_lists_form_post(open_bridge: OpenBridge) -> None:
    doc = httpx.get(open_bridge.url + "/.well-known/openid-configuration").json()
    assert doc["response_modes_supported"] == ["query", "form_post"]
    assert doc["subject_types_supported"] == ["pairwise", "public"]  # the operator allows it


# --- request objects through the journey (RFC 9101) ------------------------------------
async def test_signed_request_object_by_reference_through_the_journey(
    open_bridge: OpenBridge,
) -> None:
    import time

    from federation.crypto.jose import encode_jwt
    from federation.crypto.keyset import ManagedKey

    key = ManagedKey.generate("ES256")
    request_uri = open_bridge.docs.url + "/ro/" + key.kid[:12] + ".jwt"
    registered = open_bridge.register(
        jwks={"keys": [key.public_jwk]},
        request_uris=[request_uri],
        require_signed_request_object=True,
    )
    client = client_for(registered)
    url, _, _, verifier = await authorize_url(open_bridge.bridge, client)
    query = dict(httpx.QueryParams(url.split("?", 1)[1]))
    now = int(time.time())
    claims = {
        **query,
        "iss": registered["client_id"],
        "aud": open_bridge.url,
        "iat": now,
        "exp": now + 300,
        "state": "state-in-the-object",
        "claims": {"id_token": {"acr": {"essential": True, "value": "iamsmart"}}},
    }
    open_bridge.docs.put(
        "/ro/" + key.kid[:12] + ".jwt", encode_jwt(claims, key), "application/oauth-authz-req+jwt"
    )
    outer = httpx.QueryParams(
        {
            "client_id": registered["client_id"],
            "response_type": "code",
            "scope": "openid",
            "request_uri": request_uri,
        }
    )
    person = Person(open_bridge.bridge, PLUS)
    try:
        page = await person.sign_in(open_bridge.url + "/authorize?" + str(outer))
        answer = await finish(person, await consent(person, page))
    finally:
        await person.aclose()
    assert answer["state"] == "state-in-the-object"  # the object's parameters won
    token = await exchange(open_bridge.bridge, client, answer, verifier)
    _, id_claims = decode_jwt(token["id_token"], open_bridge.bridge.jwks, algorithms=["RS256"])
    assert id_claims["acr"] == "iamsmart" and id_claims["nonce"] == query["nonce"]
    plain = httpx.get(url, follow_redirects=False)  # the same request without an object
    assert plain.status_code in (302, 303)
    assert "error=invalid_request" in plain.headers["location"]
