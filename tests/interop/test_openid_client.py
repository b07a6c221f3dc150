"""panva's openid-client 6 (npm), unmodified, as the relying party of the whole journey for
an ES256 and an RS256 client: discovery (OIDC and RFC 8414), PKCE, the RFC 9207 ``iss``
check, the ID token verified against ``jwks_uri``, userinfo, a refused and a good refresh,
introspection, revocation and RP-initiated logout (tests/interop/node/rp.mjs)."""

from __future__ import annotations

import pytest

from tests.federation.journey.harness import CLIENTS, RP_BYE, Person
from tests.interop.harness import RP_REDIRECT, Bridge, log_in, node, secret_of


@pytest.mark.parametrize("client_id", ["rp-es256", "rp-rs256"])
async def test_openid_client_logs_a_person_in_and_out(
    interop_bridge: Bridge, client_id: str
) -> None:
    args = {
        "issuer": interop_bridge.url,
        "client_id": client_id,
        "client_secret": secret_of(client_id),
        "auth": CLIENTS[client_id]["auth"],
        "alg": CLIENTS[client_id]["alg"],
        "redirect_uri": RP_REDIRECT,
        "post_logout": RP_BYE,
    }
    started = node("rp.mjs", "start", args)
    person = Person(interop_bridge, "chan-tai-man")
    try:
        callback = await log_in(person, started["url"])
        result = node("rp.mjs", "finish", {**args, **started, "callback": callback})
        assert result["iss_refused"] == "OAUTH_INVALID_RESPONSE"  # RFC 9207, before /token
        assert result["header_alg"] == CLIENTS[client_id]["alg"]
        claims = result["claims"]
        assert claims["iss"] == interop_bridge.url and claims["aud"] == client_id
        assert claims["nonce"] == started["nonce"]
        assert result["userinfo"]["sub"] == claims["sub"]
        assert result["userinfo"]["name"]
        assert result["wider_refused"] == "invalid_scope"
        assert result["refreshed_claims"]["sub"] == claims["sub"]  # the token survived
        assert result["introspected"]["active"] is True
        assert result["introspected"]["client_id"] == client_id
        assert result["after_revocation"] == {"active": False}
        assert result["oauth2_issuer"] == interop_bridge.url
        # the person's browser goes to the end-session URL openid-client built
        bye = await person.http.get(result["end_session_url"])
        assert bye.status_code == 302, bye.text[:300]
        assert bye.headers["location"] == RP_BYE + "?state=bye"
    finally:
        await person.aclose()
