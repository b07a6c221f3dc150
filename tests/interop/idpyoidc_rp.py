"""A relying party on idpyoidc 5, unmodified, with dynamic registration (the code that
docs/integrators.md shows): ``RPHandler`` discovers the bridge and loads the ``jwks_uri``
keys, registers (the initial access token as a bearer header: idpyoidc's
``bearer_header`` method takes the ``access_token`` request argument), sends the person
with PKCE, and ``finalize`` redeems the code, checks the ID token and fetches userinfo."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptojwt.key_jar import KeyJar
from idpyoidc.client.defaults import DEFAULT_OIDC_SERVICES
from idpyoidc.client.rp_handler import RPHandler


def rp_handler(issuer: str, redirect_uri: str) -> RPHandler:
    """The RP's configuration for the bridge: code flow, PKCE S256, RS256 ID tokens."""
    services = {
        **DEFAULT_OIDC_SERVICES,
        "registration": {
            "class": "idpyoidc.client.oidc.registration.Registration",
            "kwargs": {"default_authn_method": "bearer_header"},  # RFC 7591 §3
        },
    }
    config = {
        "client_type": "oidc",
        "issuer": issuer,
        "redirect_uris": [redirect_uri],
        "preference": {
            "response_types": ["code"],
            "scopes_supported": ["openid", "profile"],  # the scope it asks for
            "token_endpoint_auth_method": "client_secret_basic",
            "id_token_signed_response_alg": "RS256",
            "subject_types_supported": ["pairwise"],  # the bridge's rule for dynamic clients
            # idpyoidc asks for signed userinfo and request objects unless told not to, even
            # where discovery lists no userinfo_signing_alg_values_supported and says
            # request_parameter_supported: false
            "userinfo_signing_alg_values_supported": [],
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "request_object_signing_alg_values_supported": [],
        },
        "services": services,
        "add_ons": {
            "pkce": {
                "function": "idpyoidc.client.oauth2.add_on.pkce.add_support",
                "kwargs": {"code_challenge_length": 64, "code_challenge_method": "S256"},
            }
        },
    }
    # no keys of its own (client_secret_basic): an empty key jar publishes no jwks_uri
    return RPHandler(base_url=redirect_uri, client_configs={"idbridge": config}, keyjar=KeyJar())


def begin(handler: RPHandler, texts: dict[str, str], initial_access_token: str) -> str:
    """Discover, register (``texts``: the RFC 7591 §2.2 language-tagged members) and
    return the authorization URL to send the browser to."""
    client = handler.init_client("idbridge")
    issuer = client.do_provider_info()
    client.do_client_registration(request_args={**texts, "access_token": initial_access_token})
    handler.issuer2rp[issuer] = client
    return client.init_authorization()


def finish(handler: RPHandler, issuer: str, callback: str) -> dict[str, Any]:
    """Redeem the authorization response at ``callback``: tokens, ID token, userinfo."""
    response = dict(parse_qsl(urlsplit(callback).query))
    return handler.issuer2rp[issuer].finalize(response)
