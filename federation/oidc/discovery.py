"""OpenID Connect Discovery 1.0 §3 provider metadata, plus RFC 8414 / RFC 9126 / RFC 9207
members, so that RPs find everything from ``/.well-known/openid-configuration``.

Policies the document states: ``subject_types_supported`` lists ``public`` only when
dynamically registered clients may ask for it (``IDBRIDGE_REGISTRATION_PUBLIC_SUBJECTS``),
so that discovery and registration agree; ``id_token_signing_alg_values_supported``
includes RS256, the default of a client that registers without naming an algorithm (OIDC
Registration §2), while static clients default to SM2SM3 (docs/oidc.md)."""

from __future__ import annotations

from functools import cache
from typing import Any

from federation.identity import Assurance
from federation.oidc.authorize import RESPONSE_MODES, UI_LOCALES
from federation.oidc.client_keys import CLIENT_JWS_ALGS
from federation.oidc.clients import SCOPES
from federation.oidc.provider import ENDPOINTS, OidcProvider
from federation.oidc.request_object import SIGNING_ALGS as REQUEST_OBJECT_ALGS
from mappings import load_profile, shipped_profiles

PROTOCOL_CLAIMS = (
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
)
"""Claims of the ID token itself (OIDC Core §2), whatever the mapping profile."""

ACR_VALUES = tuple(a.value for a in Assurance)
"""The ``acr`` values the journey issues: the upstream's assurance (iAM Smart ``userType``)."""

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")


@cache
def profile_claims() -> tuple[str, ...]:
    """Every claim an OIDC mapping profile shipped in ``mappings/profiles`` can release
    (language-tagged forms such as ``name#zh-Hant-HK`` are the claim ``name``)."""
    names: set[str] = set()
    for name in shipped_profiles():
        profile = load_profile(name)
        if profile.protocol == "oidc":
            names.update(claim.partition("#")[0] for claim in profile.claims)
    return tuple(sorted(names))


def metadata(provider: OidcProvider) -> dict[str, Any]:
    """The discovery document."""
    algs = [alg for alg in ("SM2SM3", "ES256", "RS256") if alg in provider.signer.algorithms()]
    doc: dict[str, Any] = {"issuer": provider.issuer}
    doc.update({name: provider.issuer + path for name, path in ENDPOINTS.items()})
    if not provider.initial_access_token:
        doc.pop("registration_endpoint")
    assertion_algs = list(CLIENT_JWS_ALGS)  # verified with the client's keys
    subject_types = (
        ["pairwise", "public"] if provider.config.registration_public_subjects else ["pairwise"]
    )
    doc.update(
        scopes_supported=list(SCOPES),
        response_types_supported=["code"],
        response_modes_supported=list(RESPONSE_MODES),
        grant_types_supported=["authorization_code", "refresh_token"],
        subject_types_supported=subject_types,
        id_token_signing_alg_values_supported=algs,
        userinfo_signing_alg_values_supported=algs,
        acr_values_supported=list(ACR_VALUES),
    )
    for endpoint in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        doc[f"{endpoint}_auth_methods_supported"] = list(AUTH_METHODS)
        doc[f"{endpoint}_auth_signing_alg_values_supported"] = assertion_algs
    doc.update(
        code_challenge_methods_supported=["S256"],
        claims_supported=list(PROTOCOL_CLAIMS) + list(profile_claims()),
        claims_parameter_supported=True,
        request_parameter_supported=True,
        request_uri_parameter_supported=True,
        require_request_uri_registration=True,
        request_object_signing_alg_values_supported=list(REQUEST_OBJECT_ALGS),
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
