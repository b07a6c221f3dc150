"""pyoidc (``oic``) and idpyoidc as stock relying parties with dynamic registration: each
discovers the bridge, loads the ``jwks_uri`` keys (pyoidc refused the old mixed set:
"Unknown curve SM2"), registers with RFC 7591 §2.2 language-tagged texts and logs a
person in through the whole journey."""

from __future__ import annotations

from tests.federation.journey.harness import Person
from tests.interop.harness import (
    INITIAL_ACCESS_TOKEN,
    TEXTS,
    Bridge,
    log_in,
    texts,
)
from tests.interop.idpyoidc_rp import begin, finish, rp_handler
from tests.interop.pyoidc_rp import PyoidcRelyingParty

REDIRECT = "http://127.0.0.1:9/pyoidc/cb"


async def test_pyoidc_registers_and_logs_a_person_in(interop_bridge: Bridge) -> None:
    rp = PyoidcRelyingParty(interop_bridge.url, REDIRECT, INITIAL_ACCESS_TOKEN)
    registered = rp.register(TEXTS, alg="RS256")
    assert registered["client_name"] == "Interop test service"
    assert registered["purposes#zh-HK"] == TEXTS["purposes#zh-HK"]
    assert registered["id_token_signed_response_alg"] == "RS256"
    url, state, verifier = rp.authorization_url()
    person = Person(interop_bridge, "chan-tai-man")
    try:
        callback = await log_in(person, url, stop_at=REDIRECT)
    finally:
        await person.aclose()
    claims, userinfo = rp.callback(callback, state, verifier)
    assert claims["iss"] == interop_bridge.url and claims["aud"] == [registered["client_id"]]
    assert userinfo["sub"] == claims["sub"] and userinfo["name"]


async def test_idpyoidc_registers_and_logs_a_person_in(interop_bridge: Bridge) -> None:
    redirect = "http://127.0.0.1:9/idpyoidc/cb"
    handler = rp_handler(interop_bridge.url, redirect)
    url = begin(handler, texts("idpyoidc"), INITIAL_ACCESS_TOKEN)
    client = handler.issuer2rp[interop_bridge.url]
    registered = client.get_context().registration_response
    assert registered["purposes#en"] == TEXTS["purposes#en"]
    assert registered["id_token_signed_response_alg"] == "RS256"
    person = Person(interop_bridge, "chan-tai-man")
    try:
        callback = await log_in(person, url, stop_at=redirect)
    finally:
        await person.aclose()
    result = finish(handler, interop_bridge.url, callback)
    assert "error" not in result, result
    claims = result["id_token"]
    assert claims["iss"] == interop_bridge.url and claims["aud"] == [registered["client_id"]]
    assert result["userinfo"]["sub"] == claims["sub"] and result["userinfo"]["name"]
