"""Dynamic client registration (RFC 7591), behind an initial access token (§3,
``IDBRIDGE_INITIAL_ACCESS_TOKEN``); disabled when none is configured.

Metadata follow RFC 7591 §2 and OIDC Registration §2, with the bridge's consent texts as
extensions: ``purposes`` and ``processing_method`` are objects with ``zh-HK``, ``zh-CN`` and
``en`` members; ``client_name`` may be one string or language-tagged (``client_name#zh-HK``,
§2.2). The secret (256 bits) is returned once and stored only as an HMAC-SM3 digest.
Clients are persisted in Redis (``Keys.client``, durable). No RFC 7592 management API.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError

from federation.oidc.clients import LANGUAGES, Client
from federation.oidc.errors import OAuthError, bearer_error
from federation.oidc.provider import OidcProvider

_SERVER_SET = {
    "client_id",
    "client_secret",
    "client_secret_digest",
    "client_secret_env",
    "client_id_issued_at",
    "client_secret_expires_at",
}


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


def _texts(metadata: dict[str, Any], name: str) -> Any:
    tagged = {
        lang: metadata.pop(f"{name}#{lang}") for lang in LANGUAGES if f"{name}#{lang}" in metadata
    }
    value = metadata.get(name)
    if isinstance(value, str):
        return {lang: tagged.get(lang, value) for lang in LANGUAGES}
    return value if value is not None else (tagged or None)


async def register_client(
    provider: OidcProvider, redis: aioredis.Redis, metadata: Any
) -> dict[str, Any]:
    """Validate ``metadata``, persist a new client and return the §3.2.1 response."""
    if not isinstance(metadata, dict):
        raise OAuthError("invalid_client_metadata", "the body must be a JSON object")
    metadata = {k: v for k, v in metadata.items() if k not in _SERVER_SET}
    for name in ("client_name", "purposes", "processing_method"):
        metadata[name] = _texts(metadata, name)
    for unsupported in ("jwks_uri", "sector_identifier_uri", "request_uris"):
        if unsupported in metadata:
            raise OAuthError("invalid_client_metadata", f"{unsupported} is not supported")
    if isinstance(metadata.get("scope"), str):
        metadata["scopes"] = metadata.pop("scope").split()
    metadata.pop("response_types", None)
    client_id = "dyn-" + secrets.token_urlsafe(16)
    secret = None
    if metadata.get("token_endpoint_auth_method", "client_secret_basic") != "private_key_jwt":
        secret = provider.secrets.generate()
        metadata["client_secret_digest"] = provider.secrets.digest(secret)
    try:
        client = Client.model_validate({**metadata, "client_id": client_id})
    except ValidationError as exc:
        fields = sorted({str(err["loc"][0]) for err in exc.errors() if err.get("loc")})
        error = (
            "invalid_redirect_uri"
            if fields and set(fields) <= {"redirect_uris"}
            else "invalid_client_metadata"
        )
        raise OAuthError(error, "invalid metadata: " + ", ".join(fields)) from exc
    await provider.clients.register(redis, client)
    response = client.public_metadata()
    response.update(client_id_issued_at=provider.clock(), response_types=["code"])
    if secret:
        response.update(client_secret=secret, client_secret_expires_at=0)
    return response
