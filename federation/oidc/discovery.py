"""OpenID Connect Discovery 1.0 §3 provider metadata, plus RFC 8414 / RFC 9126 / RFC 9207
members, so that RPs find everything from ``/.well-known/openid-configuration``."""

from __future__ import annotations

from typing import Any

from federation.oidc.authorize import UI_LOCALES
from federation.oidc.clients import SCOPES
from federation.oidc.provider import ENDPOINTS, OidcProvider

CLAIMS = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "sid",
    "at_hash",
    "name",
    "given_name",
    "family_name",
    "birthdate",
    "gender",
    "locale",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "address",
)


def metadata(provider: OidcProvider) -> dict[str, Any]:
    """The discovery document."""
    algs = [alg for alg in ("SM2SM3", "ES256", "RS256") if alg in provider.signer.algorithms()]
    doc: dict[str, Any] = {"issuer": provider.issuer}
    doc.update({name: provider.issuer + path for name, path in ENDPOINTS.items()})
    if not provider.initial_access_token:
        doc.pop("registration_endpoint")
    doc.update(
        scopes_supported=list(SCOPES),
        response_types_supported=["code"],
        response_modes_supported=["query"],
        grant_types_supported=["authorization_code", "refresh_token"],
        subject_types_supported=["pairwise", "public"],
        id_token_signing_alg_values_supported=algs,
        userinfo_signing_alg_values_supported=[],
        token_endpoint_auth_methods_supported=[
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        token_endpoint_auth_signing_alg_values_supported=[
            a for a in ("SM2SM3", "ES256") if a in algs
        ],
        revocation_endpoint_auth_methods_supported=[
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        introspection_endpoint_auth_methods_supported=[
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        code_challenge_methods_supported=["S256"],
        claims_supported=list(CLAIMS),
        claims_parameter_supported=True,
        request_parameter_supported=False,
        request_uri_parameter_supported=False,
        require_request_uri_registration=True,
        require_pushed_authorization_requests=(
            provider.config.require_pushed_authorization_requests
        ),
        authorization_response_iss_parameter_supported=True,
        backchannel_logout_supported=True,
        backchannel_logout_session_supported=True,
        frontchannel_logout_supported=False,
        ui_locales_supported=list(UI_LOCALES),
        claims_locales_supported=list(UI_LOCALES),
        prompt_values_supported=["none", "login", "consent", "select_account"],
    )
    return doc
