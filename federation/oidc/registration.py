"""Dynamic client registration (RFC 7591), behind an initial access token (§3,
``IDBRIDGE_INITIAL_ACCESS_TOKEN``); disabled when none is configured.

Metadata follow RFC 7591 §2 and OIDC Registration §2, with the bridge's consent texts as
extensions. ``client_name``, ``purposes``, ``processing_method``, ``retention``,
``rights_procedure`` (and the optional ``contact_address``) are human-readable
(§2.2): language-tagged members ``purposes#zh-HK``, ``purposes#zh-CN``, ``purposes#en``, an
untagged one being the default for a language not given; the older JSON-object form
(``{"zh-HK": …, "zh-CN": …, "en": …}``) is accepted too. Responses echo them as §2.2
members only (an untagged string in English plus the three tagged ones).
The secret (256 bits) is returned once and stored only as an HMAC-SM3 digest.
Clients are persisted in Redis (``Keys.client``, durable). The response carries the
RFC 7592 ``registration_client_uri`` and ``registration_access_token`` with which the client
reads, updates and deletes its registration (:mod:`federation.oidc.client_config`).

The consent notice must be complete (``docs/consent-notice.md``): a registration lacking
``purposes``, ``processing_method``, ``retention``, ``rights_procedure`` (each in the three
languages) or ``contacts`` is refused with ``invalid_client_metadata`` naming the element.

What a registering client may set is an allow-list (:data:`CLIENT_METADATA`); everything
else is server policy:

- metadata the bridge does not understand is ignored (RFC 7591 §2), and so are the
  bridge's own server-side fields (``mapping_profile``, ``sector_identifier``, secrets);
  a dynamic client always gets ``IDBRIDGE_DEFAULT_MAPPING_PROFILE``;
- standard metadata the bridge understands but cannot honour (``sector_identifier_uri``,
  encrypted responses and request objects) is refused with ``invalid_client_metadata``;
- ``id_token_signed_response_alg`` defaults to RS256 (OIDC Registration §2), not to the
  static clients' SM2SM3: an RP asks for SM2SM3 by naming it;
- pairwise subjects (OIDC Core §8.1) come from the redirect URIs' host, so every redirect
  URI must share one host; ``subject_type: public`` (the same ``sub`` at every RP) is
  offered only when ``IDBRIDGE_REGISTRATION_PUBLIC_SUBJECTS`` is true (discovery then
  lists it; the consent page tells the person);
- ``consent_remember_seconds`` is lowered to
  ``IDBRIDGE_REGISTRATION_MAX_CONSENT_REMEMBER_SECONDS``;
- ``backchannel_logout_uri``, ``logo_uri``, ``jwks_uri``, ``request_uris`` and
  ``post_logout_redirect_uris`` must be https
  (the bridge would otherwise POST to, or send people to, plain-http and loopback
  addresses), unless the issuer itself is plain http on loopback (the demo and the tests).
  ``redirect_uris`` follow the static rule: https, or http on loopback (RFC 8252 §7.3);
- ``jwks`` is a whole public JWK Set (:mod:`federation.oidc.client_keys`); ``jwks_uri``
  is fetched when a key is needed (:mod:`federation.oidc.jwks_cache`);
- a ``client_name`` that equals or is confusable with another client's, in any language
  variant, is refused (:mod:`federation.oidc.client_names`, UTS #39 skeletons).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from pydantic import ValidationError

from federation.oidc.backchannel import forbidden_address
from federation.oidc.client_names import ConfusableName, claim_client_name
from federation.oidc.clients import LANGUAGES, Client
from federation.oidc.errors import OAuthError, bearer_error
from federation.oidc.provider import OidcProvider
from federation.oidc.registration_access import new_registration_token, registration_client_uri
from federation.oidc.request_object import registrable_request_uris

CLIENT_METADATA = frozenset(
    {
        # RFC 7591 §2 (client_uri, tos_uri, policy_uri, software_* are understood, not kept)
        "redirect_uris",
        "token_endpoint_auth_method",
        "grant_types",
        "response_types",
        "client_name",
        "logo_uri",
        "scope",
        "contacts",
        "jwks",
        "jwks_uri",
        # OIDC Registration §2, RFC 9101 §10.5
        "subject_type",
        "id_token_signed_response_alg",
        "token_endpoint_auth_signing_alg",
        "userinfo_signed_response_alg",
        "request_uris",
        "request_object_signing_alg",
        "require_signed_request_object",
        # RP-Initiated Logout §3.1, Back-Channel Logout §2.2, RFC 9126 §6
        "post_logout_redirect_uris",
        "backchannel_logout_uri",
        "backchannel_logout_session_required",
        "require_pushed_authorization_requests",
        # the bridge's consent texts and the (capped) remembered-consent lifetime
        "purposes",
        "processing_method",
        "retention",
        "rights_procedure",
        "contact_address",
        "contact_phone",
        "consent_remember_seconds",
    }
)
"""Metadata a registering client may set; anything else is ignored (RFC 7591 §2)."""

UNSUPPORTED = (
    "sector_identifier_uri",
    "id_token_encrypted_response_alg",
    "userinfo_encrypted_response_alg",
    "request_object_encryption_alg",
)
"""Standard metadata the bridge understands but cannot honour: refused, not ignored, since
the client would otherwise rely on something it does not get."""

_TEXTS = ("client_name", "purposes", "processing_method", "retention", "rights_procedure")
_OPTIONAL_TEXTS = ("contact_address",)
_HTTPS_ONLY = ("backchannel_logout_uri", "logo_uri", "jwks_uri")
DYNAMIC_ID_TOKEN_ALG = "RS256"  # noqa: S105
"""OIDC Registration §2: ``id_token_signed_response_alg`` "The default, if omitted, is
RS256" — every stock RP library relies on it. (Static clients keep the operator's
``SM2SM3`` default; an RP asks for SM2SM3 by naming it.)"""
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_REMEMBER_DEFAULT: int = Client.model_fields["consent_remember_seconds"].default


def check_initial_access_token(provider: OidcProvider, authorization: str | None) -> None:
    """RFC 7591 §3: the request must carry the configured initial access token."""
    expected = provider.initial_access_token
    if not expected:
        raise OAuthError("access_denied", "dynamic registration is disabled", 403)
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        presented.strip().encode(), expected.encode()
    ):
        raise bearer_error("invalid_token", "a valid initial access token is required", 401)


LANGUAGE_TAGS = {
    "zh-hk": "zh-HK",
    "zh-hant-hk": "zh-HK",
    "zh-cn": "zh-CN",
    "zh-hans-cn": "zh-CN",
    "en": "en",
}
"""BCP 47 tags (matched case-insensitively, RFC 5646 §2.1.1) → the consent page's languages."""

ECHO_DEFAULT = "en"
"""The language of the untagged member in responses (the pages' fallback language)."""


def _texts_form(name: str) -> str:
    """How a text is registered, for the error that names a missing one."""
    tags = ", ".join(f"{name}#{lang}" for lang in LANGUAGES)
    return (
        f"{name} is required in {', '.join(LANGUAGES)}: as language-tagged string members "
        f"{tags} (RFC 7591 §2.2; an untagged {name} is the default for a language not given)"
        f', or as one object {{"zh-HK": …, "zh-CN": …, "en": …}}'
    )


def _texts(metadata: dict[str, Any], name: str) -> dict[str, str]:
    """One person-facing text in the three languages, from RFC 7591 §2.2 members
    (``name``, ``name#zh-HK``, …) or the older JSON-object form; tags of other languages
    are ignored. ``invalid_client_metadata`` naming the fields if a language is missing."""
    tagged: dict[str, Any] = {}
    for key in [k for k in metadata if k.partition("#")[0] == name and "#" in k]:
        value = metadata.pop(key)
        lang = LANGUAGE_TAGS.get(key.partition("#")[2].lower())
        if lang is not None:
            tagged[lang] = value
    value = metadata.get(name)
    if isinstance(value, dict):
        merged: dict[str, Any] = {**value, **tagged}
    elif isinstance(value, str) and value:
        merged = {lang: tagged.get(lang, value) for lang in LANGUAGES}
    elif value is None:
        merged = tagged
    else:
        raise OAuthError("invalid_client_metadata", _texts_form(name))
    if any(not isinstance(merged.get(lang), str) or not merged[lang] for lang in LANGUAGES):
        raise OAuthError("invalid_client_metadata", _texts_form(name))
    return merged


def tagged_texts(response: dict[str, Any]) -> dict[str, Any]:
    """``response`` with each person-facing text as RFC 7591 §2.2 members: one untagged
    string (the :data:`ECHO_DEFAULT` language) and ``name#zh-HK``/``#zh-CN``/``#en`` —
    never the JSON-object form, where clients expect a string."""
    for name in (*_TEXTS, *_OPTIONAL_TEXTS):
        texts = response.pop(name, None)
        if isinstance(texts, dict):
            response[name] = texts[ECHO_DEFAULT]
            response.update({f"{name}#{lang}": texts[lang] for lang in LANGUAGES})
    return response


def _client_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """The allow-listed metadata (language-tagged texts folded), unknown names dropped."""
    for unsupported in UNSUPPORTED:
        if metadata.get(unsupported) is not None:
            raise OAuthError("invalid_client_metadata", f"{unsupported} is not supported")
    kept = {k: v for k, v in metadata.items() if k in CLIENT_METADATA or "#" in k}
    for name in _TEXTS:
        kept[name] = _texts(kept, name)
    for name in _OPTIONAL_TEXTS:
        if kept.get(name) is not None or any(k.partition("#")[0] == name for k in kept):
            kept[name] = _texts(kept, name)
    contacts = kept.get("contacts")
    if (
        not isinstance(contacts, list)
        or not contacts
        or not all(isinstance(c, str) and c for c in contacts)
    ):
        raise OAuthError(
            "invalid_client_metadata",
            "contacts is required: the recipient's contact method (PIPL art. 39), "
            "a list of e-mail addresses",
        )
    kept = {k: v for k, v in kept.items() if "#" not in k}
    if isinstance(kept.get("scope"), str):
        kept["scopes"] = kept.pop("scope").split()
    kept.pop("scope", None)
    kept.pop("response_types", None)
    return kept


def _https_required(issuer: str) -> bool:
    """Plain-http URIs are refused unless the issuer itself is plain http on loopback."""
    parts = urlsplit(issuer)
    return not (parts.scheme == "http" and parts.hostname in _LOOPBACK)


def _check_policy(provider: OidcProvider, client: Client) -> None:
    """Server policy for dynamic clients (see the module docstring)."""
    if client.subject_type != "pairwise" and not provider.config.registration_public_subjects:
        raise OAuthError(
            "invalid_client_metadata",
            "subject_type public is not offered to dynamically registered clients "
            "(subject_types_supported lists pairwise only)",
        )
    hosts = {urlsplit(uri).hostname for uri in client.redirect_uris}
    if len(hosts) != 1:
        raise OAuthError(
            "invalid_redirect_uri",
            "redirect_uris must share one host (OIDC Core §8.1; no sector_identifier_uri)",
        )
    if _https_required(provider.issuer):
        uris = [(name, getattr(client, name)) for name in _HTTPS_ONLY]
        uris += [("post_logout_redirect_uris", uri) for uri in client.post_logout_redirect_uris]
        uris += [("request_uris", uri) for uri in client.request_uris]
        for name, uri in uris:
            if uri is not None and (urlsplit(uri).scheme != "https" or _internal(uri)):
                raise OAuthError(
                    "invalid_client_metadata", f"{name} must be https to a public host"
                )


def _internal(uri: str) -> bool:
    """A loopback name, or an IP literal a logout token could not go to either
    (:func:`federation.oidc.backchannel.forbidden_address`). Names are checked again,
    resolved, when something is sent."""
    host = urlsplit(uri).hostname or ""
    if host in _LOOPBACK or host.endswith(".localhost"):
        return True
    try:
        return forbidden_address(ipaddress.ip_address(host))
    except ValueError:
        return False


def configuration_response(
    provider: OidcProvider, client: Client, secret: str | None = None
) -> dict[str, Any]:
    """RFC 7591 §3.2.1 / RFC 7592 §3 client information: the metadata (texts as §2.2
    members, no secret, no server-side field), ``registration_client_uri``, and a new
    ``client_secret`` if any."""
    response = tagged_texts(client.public_metadata())
    response.pop("mapping_profile", None)
    response.update(
        response_types=["code"],
        registration_client_uri=registration_client_uri(provider, client.client_id),
    )
    if secret:
        response.update(client_secret=secret, client_secret_expires_at=0)
    return response


def validated_client(
    provider: OidcProvider,
    metadata: Any,
    client_id: str,
    *,
    server_fields: dict[str, Any] | None = None,
) -> tuple[Client, str | None]:
    """The :class:`Client` that ``metadata`` (a registration or an RFC 7592 update)
    describes, and a new secret when it needs one it does not have in ``server_fields``
    (the stored digests an update keeps)."""
    if not isinstance(metadata, dict):
        raise OAuthError("invalid_client_metadata", "the body must be a JSON object")
    metadata = _client_metadata(metadata)
    if "request_uris" in metadata:
        metadata["request_uris"] = registrable_request_uris(metadata["request_uris"])
    if metadata.get("id_token_signed_response_alg") is None:
        metadata["id_token_signed_response_alg"] = DYNAMIC_ID_TOKEN_ALG
    remember = metadata.get("consent_remember_seconds")
    ceiling = provider.config.registration_max_consent_remember_seconds
    if isinstance(remember, int) and not isinstance(remember, bool):
        metadata["consent_remember_seconds"] = min(remember, ceiling)
    else:
        metadata.setdefault("consent_remember_seconds", min(_REMEMBER_DEFAULT, ceiling))
    kept = dict(server_fields or {})
    secret = None
    if metadata.get("token_endpoint_auth_method", "client_secret_basic") == "private_key_jwt":
        kept.pop("client_secret_digest", None)
    elif not kept.get("client_secret_digest"):
        secret = provider.secrets.generate()
        kept["client_secret_digest"] = provider.secrets.digest(secret)
    try:
        client = Client.model_validate({**metadata, **kept, "client_id": client_id})
    except ValidationError as exc:
        fields = sorted({str(err["loc"][0]) for err in exc.errors() if err.get("loc")})
        error = (
            "invalid_redirect_uri"
            if fields and set(fields) <= {"redirect_uris"}
            else "invalid_client_metadata"
        )
        raise OAuthError(error, "invalid metadata: " + ", ".join(fields or ["jwks"])) from exc
    _check_policy(provider, client)
    return client, secret


async def register_client(
    provider: OidcProvider, redis: aioredis.Redis, metadata: Any
) -> dict[str, Any]:
    """Validate ``metadata``, persist a new client and return the §3.2.1 response, with
    the RFC 7592 ``registration_client_uri`` and ``registration_access_token``."""
    client_id = "dyn-" + secrets.token_urlsafe(16)
    token, token_digest = new_registration_token(provider)
    client, secret = validated_client(
        provider,
        metadata,
        client_id,
        server_fields={"registration_token_digest": token_digest},
    )
    try:
        await claim_client_name(redis, provider.clients.static.values(), client)
    except ConfusableName as exc:
        raise OAuthError("invalid_client_metadata", str(exc)) from exc
    await provider.clients.register(redis, client)
    response = configuration_response(provider, client, secret)
    response.update(client_id_issued_at=provider.clock(), registration_access_token=token)
    return response
