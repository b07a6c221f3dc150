"""authlib 1.9 as a stock relying party of the whole journey: the Starlette integration
logs a person in for a dynamically registered ES256 and RS256 client (joserfc imports the
whole ``jwks_uri`` set), and the revocation finding of issue 13 pinned down."""

from __future__ import annotations

import secrets

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuth2Client

from federation.storage.runtime import free_port
from tests.federation.journey.harness import (
    Person,
    ServerThread,
    authorize_url,
    exchange,
    query,
    rp_client,
)
from tests.interop.harness import Bridge, log_in, register, secret_of
from tests.interop.starlette_rp import relying_party


@pytest.mark.parametrize(
    ("alg", "auth"), [("ES256", "client_secret_basic"), ("RS256", "client_secret_post")]
)
async def test_starlette_integration_logs_a_person_in(
    interop_bridge: Bridge, alg: str, auth: str
) -> None:
    port = free_port()
    registered = register(
        interop_bridge,
        redirect_uris=[f"http://127.0.0.1:{port}/callback"],
        id_token_signed_response_alg=alg,  # named: the registration default is not relied on
        token_endpoint_auth_method=auth,
    )
    assert registered["id_token_signed_response_alg"] == alg
    app = relying_party(
        interop_bridge.url,
        registered["client_id"],
        registered["client_secret"],
        auth,
        secrets.token_hex(16),
    )
    person = Person(interop_bridge, "chan-tai-man")
    try:
        with ServerThread(app, port) as rp:
            landed = await log_in(person, rp.url + "/login", stop_at="")
        assert landed.startswith(rp.url + "/callback")
        page = person.page
        assert page is not None and page.status_code == 200, page.text[:500] if page else ""
        signed_in = page.json()
        claims = signed_in["id_token"]
        assert claims["iss"] == interop_bridge.url and claims["aud"] == registered["client_id"]
        assert signed_in["userinfo"]["sub"] == claims["sub"] and signed_in["userinfo"]["name"]
    finally:
        await person.aclose()


async def test_revocation_uses_authlibs_own_default_method_sync_and_async_alike(
    interop_bridge: Bridge,
) -> None:
    """Issue 13 saw ``AsyncOAuth2Client.revoke_token`` fail for the RS256 client. That
    client registered ``client_secret_post``; authlib's revocation method defaults to
    ``client_secret_basic`` whenever a secret is set (``OAuth2Client.__init__``),
    whatever ``token_endpoint_auth_method`` says, in the sync and the async client alike,
    and the bridge accepts only the method a client registered. Not an async bug and not
    the bridge's: the RP passes ``revocation_endpoint_auth_method`` (docs/integrators.md)."""
    bridge, client_id = interop_bridge, "rp-rs256"
    secret = secret_of(client_id)
    outcomes: dict[str, int] = {}
    for kind in ("async", "sync", "async-configured", "sync-configured"):
        rp = rp_client(bridge, client_id)
        url, _, _, verifier = await authorize_url(bridge, rp)
        person = Person(bridge)
        try:
            tokens = await exchange(bridge, rp, query(await log_in(person, url)), verifier)
        finally:
            await person.aclose()
        options = {"token_endpoint_auth_method": "client_secret_post"}
        if kind.endswith("configured"):
            options["revocation_endpoint_auth_method"] = "client_secret_post"
        revoke = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
        if kind.startswith("async"):
            async with AsyncOAuth2Client(client_id, client_secret=secret, **options) as client:
                response = await client.revoke_token(bridge.url + "/revoke", **revoke)
        else:
            with OAuth2Client(client_id, client_secret=secret, **options) as sync_client:
                response = sync_client.revoke_token(bridge.url + "/revoke", **revoke)
        assert response.request.headers.get("authorization", "").startswith("Basic") == (
            not kind.endswith("configured")
        )
        outcomes[kind] = response.status_code
        still = httpx.get(
            bridge.url + "/userinfo",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert still.status_code == (401 if response.status_code == 200 else 200)
    assert outcomes == {
        "async": 401,
        "sync": 401,
        "async-configured": 200,
        "sync-configured": 200,
    }
