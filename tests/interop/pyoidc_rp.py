"""A relying party on pyoidc (PyPI ``oic`` 1.7), unmodified, with dynamic registration (the
code that docs/integrators.md shows): discovery and the ``jwks_uri`` keys, RFC 7591
registration with the language-tagged texts, PKCE, the code flow, userinfo."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from oic import rndstr
from oic.oauth2.message import SINGLE_OPTIONAL_STRING, MessageTuple
from oic.oic import Client
from oic.oic.message import (
    AuthorizationResponse,
    OIDCMessageFactory,
    RegistrationRequest,
    RegistrationResponse,
)
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

TEXT_MEMBERS = [
    f"{name}#{lang}"
    for name in ("client_name", "purposes", "processing_method", "retention", "rights_procedure")
    for lang in ("zh-HK", "zh-CN", "en")
]


class BridgeRegistrationRequest(RegistrationRequest):
    """pyoidc sends only the metadata its message class declares: the bridge's
    ``purposes``/``processing_method`` and every language-tagged member are declared here
    (pyoidc's extension point for metadata it does not know)."""

    c_param: ClassVar[dict[str, Any]] = {
        **RegistrationRequest.c_param,
        "purposes": SINGLE_OPTIONAL_STRING,
        "processing_method": SINGLE_OPTIONAL_STRING,
        **dict.fromkeys(TEXT_MEMBERS, SINGLE_OPTIONAL_STRING),
    }


class BridgeMessageFactory(OIDCMessageFactory):
    registration_endpoint = MessageTuple(BridgeRegistrationRequest, RegistrationResponse)


class InitialAccessToken(requests.auth.AuthBase):
    """RFC 7591 §3 initial access token as a plain bearer token. pyoidc's own
    ``register(registration_token=…)`` base64-encodes a token that is not a JWT
    (CZ-NIC/pyoidc#822, open), which no RFC asks for; its ``request_args`` take a
    requests ``auth`` instead (pyoidc#432)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class PyoidcRelyingParty:
    """Discover, register, send the person to the bridge, redeem the code."""

    def __init__(self, issuer: str, redirect_uri: str, initial_access_token: str) -> None:
        self.redirect_uri = redirect_uri
        self.client = Client(
            client_authn_method=CLIENT_AUTHN_METHOD, message_factory=BridgeMessageFactory
        )
        self.client.provider_config(issuer)  # discovery + the keys of jwks_uri
        self.initial_access_token = initial_access_token

    def register(self, texts: dict[str, str], alg: str = "RS256") -> dict[str, Any]:
        """RFC 7591 registration; ``texts`` are the §2.2 language-tagged members."""
        self.client.request_args["auth"] = InitialAccessToken(self.initial_access_token)
        try:
            response = self.client.register(
                self.client.provider_info["registration_endpoint"],
                redirect_uris=[self.redirect_uri],
                id_token_signed_response_alg=alg,
                token_endpoint_auth_method="client_secret_basic",
                **texts,
            )
        finally:
            del self.client.request_args["auth"]
        return response.to_dict()

    def authorization_url(self) -> tuple[str, str, str]:
        """(URL to send the browser to, state, PKCE code verifier)."""
        state, nonce = rndstr(32), rndstr(32)
        challenge, verifier = self.client.add_code_challenge()
        request = self.client.construct_AuthorizationRequest(
            request_args={
                "client_id": self.client.client_id,
                "response_type": "code",
                "scope": ["openid", "profile"],
                "redirect_uri": self.redirect_uri,
                "state": state,
                "nonce": nonce,
                **challenge,
            }
        )
        return request.request(self.client.authorization_endpoint), state, verifier

    def callback(self, url: str, state: str, verifier: str) -> tuple[dict, dict]:
        """(ID token claims, userinfo) for the authorization response at ``url``."""
        response = self.client.parse_response(
            AuthorizationResponse, info=urlsplit(url).query, sformat="urlencoded"
        )
        if response["state"] != state or response.get("iss") != self.client.issuer:
            raise ValueError("not the response to our request")
        tokens = self.client.do_access_token_request(
            state=state,
            request_args={
                "code": response["code"],
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
            },
            authn_method="client_secret_basic",
        )
        userinfo = self.client.do_user_info_request(state=state)
        return tokens["id_token"].to_dict(), userinfo.to_dict()
