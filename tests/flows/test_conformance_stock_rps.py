"""Stock relying-party libraries against the whole bridge, registered dynamically without
naming any algorithm (OIDC Registration §2 defaults): pyoidc (``oic``) and idpyoidc
discover the provider, register, send a person through iAM Smart and the consent page,
redeem the code and verify the ID token with their own code — nothing of ours on the RP
side. pyoidc also authenticates with ``private_key_jwt`` using a key set it publishes at
a ``jwks_uri``."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.federation.journey.harness import RP_REDIRECT, Person, consent
from tests.flows.conformance_bridge import INITIAL_TOKEN, METADATA, OpenBridge, open_bridge

__all__ = ["open_bridge"]

PERSONA = "chan-tai-man"
EXTRA = {k: v for k, v in METADATA.items() if k not in ("redirect_uris", "scope", "client_name")}
"""The bridge's consent texts (RFC 7591 §2 extensions); nothing about algorithms."""


async def browse(ob: OpenBridge, url: str) -> dict[str, str]:
    """The person: sign in, consent, continue; the authorization response's query."""
    person = Person(ob.bridge, PERSONA)
    try:
        page = await person.sign_in(url)
        if "/journey/consent" in str(page.url):
            page = await consent(person, page)
            page = await person.go(ob.url + "/journey/finish")
        location = page.headers["location"]
    finally:
        await person.aclose()
    assert location.startswith(RP_REDIRECT), location
    return dict(parse_qsl(urlsplit(location).query))


# --- pyoidc ----------------------------------------------------------------------------
def pyoidc_client(ob: OpenBridge, **registration: Any) -> Any:
    """pyoidc's Client: discovery, then its own registration request with the bridge's
    consent texts added (``register()`` drops metadata pyoidc does not know)."""
    from oic import rndstr
    from oic.oic import Client
    from oic.utils.authn.client import CLIENT_AUTHN_METHOD

    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    client.base_url = "http://127.0.0.1:9/"  # the RP's own base (pyoidc derives request_uris)
    client.provider_config(ob.url)
    request = client.create_registration_request(
        redirect_uris=[RP_REDIRECT], client_name=f"pyoidc RP {rndstr(8)}", **registration
    )
    for name, value in EXTRA.items():
        request[name] = value
    response = client.http_request(
        client.provider_info["registration_endpoint"],
        "POST",
        data=request.to_json(),
        headers={"content-type": "application/json", "Authorization": f"Bearer {INITIAL_TOKEN}"},
    )
    client.handle_registration_info(response)
    return client


async def pyoidc_login(ob: OpenBridge, client: Any, authn_method: str, **token_args: Any) -> Any:
    from oic import rndstr
    from oic.oic.message import AuthorizationResponse

    state, nonce = rndstr(), rndstr()
    pkce, verifier = client.add_code_challenge()
    request = client.construct_AuthorizationRequest(
        request_args={
            "client_id": client.client_id,
            "response_type": "code",
            "scope": ["openid", "email"],
            "state": state,
            "nonce": nonce,
            "redirect_uri": RP_REDIRECT,
            **pkce,
        }
    )
    answer = await browse(ob, request.request(client.authorization_endpoint))
    parsed = client.parse_response(AuthorizationResponse, info=json.dumps(answer), sformat="json")
    assert parsed["state"] == state
    tokens = client.do_access_token_request(
        state=state,
        request_args={"code": parsed["code"], "code_verifier": verifier},
        authn_method=authn_method,
        **token_args,
    )
    assert "error" not in tokens, tokens.to_dict()
    id_token = tokens["id_token"]  # verified by pyoidc against the provider's JWKS
    assert id_token["iss"] == ob.url and id_token["aud"] == [client.client_id]
    assert id_token["nonce"] == nonce
    return tokens


async def test_pyoidc_registers_without_an_alg_and_verifies_the_id_token(
    open_bridge: OpenBridge,
) -> None:
    client = pyoidc_client(open_bridge)
    assert client.registration_response["id_token_signed_response_alg"] == "RS256"
    tokens = await pyoidc_login(open_bridge, client, "client_secret_basic")
    assert tokens["id_token"].jws_header["alg"] == "RS256"
    info = client.do_user_info_request(method="GET", token=tokens["access_token"])
    assert info["sub"] == tokens["id_token"]["sub"] and info["email_verified"] is False


async def test_pyoidc_private_key_jwt_with_keys_at_a_jwks_uri(
    open_bridge: OpenBridge, tmp_path: Path
) -> None:
    from oic.utils.authn.client import assertion_jwt
    from oic.utils.keyio import build_keyjar

    # a key file path that does not exist yet: pyoidc generates the key there (not in cwd)
    spec = {"type": "RSA", "use": ["sig"], "key": str(tmp_path / "rp-sig.key")}
    _, keyjar, _ = build_keyjar([spec])
    public = keyjar.export_jwks()  # the RP's own key set, public parts
    jwks_uri = open_bridge.docs.put("/pyoidc/jwks.json", json.dumps(public))
    client = pyoidc_client(
        open_bridge, token_endpoint_auth_method="private_key_jwt", jwks_uri=jwks_uri
    )
    client.keyjar.issuer_keys[""] = keyjar.issuer_keys[""]
    # pyoidc's own assertion, but with aud = the issuer: its default audience, the token
    # endpoint URL, is refused by design (OIDF private_key_jwt audience advisory, 2025;
    # draft-ietf-oauth-rfc7523bis), and so is its default 600 s lifetime (300 s at most)
    keys = client.keyjar.get_signing_key("RSA", "")
    assertion = assertion_jwt(client, keys, open_bridge.url, "RS256", lifetime=60)
    await pyoidc_login(open_bridge, client, "private_key_jwt", client_assertion=assertion)
    assert open_bridge.docs.hits["/pyoidc/jwks.json"] >= 1


# --- idpyoidc --------------------------------------------------------------------------
async def test_idpyoidc_registers_without_an_alg_and_verifies_the_id_token(
    open_bridge: OpenBridge,
) -> None:
    from idpyoidc.client.oauth2.stand_alone_client import StandAloneClient

    config = {
        "issuer": open_bridge.url,
        "redirect_uris": [RP_REDIRECT],
        "client_name": "idpyoidc RP " + secrets.token_hex(4),
        "response_types_supported": ["code"],
        "scopes_supported": ["openid", "email"],
        "add_ons": {
            "pkce": {
                "function": "idpyoidc.client.oauth2.add_on.pkce.add_support",
                "kwargs": {"code_challenge_length": 64, "code_challenge_method": "S256"},
            }
        },
    }
    client = StandAloneClient(config=config, client_type="oidc")
    client.do_provider_info()
    service = client.get_service("registration")
    request = service.get_request_parameters(request_args={"redirect_uris": [RP_REDIRECT], **EXTRA})
    request.setdefault("headers", {})["Authorization"] = f"Bearer {INITIAL_TOKEN}"
    registered = client.service_request(service, response_body_type="json", **request)
    assert "error" not in registered, registered.to_dict()
    assert registered["id_token_signed_response_alg"] == "RS256"
    url = client.init_authorization(req_args={"scope": "openid email"})
    answer = await browse(open_bridge, url)
    result = client.finalize(answer)
    assert "error" not in result, result
    id_token = result["id_token"]  # verified by idpyoidc against the provider's JWKS
    assert id_token["iss"] == open_bridge.url
    assert id_token["aud"] == [registered["client_id"]]
    assert result["userinfo"]["sub"] == id_token["sub"]
