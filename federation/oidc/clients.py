"""Relying-party clients: the metadata model, secrets, and the registry.

Static clients come from a YAML file (``deploy/clients.yaml.example`` documents every
field); dynamically registered ones (RFC 7591, :mod:`federation.oidc.registration`) live in
Redis under :meth:`Keys.client`. Lookups of static clients never touch Redis.

Client secrets (DESIGN §8) are random, ≥ 256 bits, and stored only as HMAC-SM3 digests
under a server key: they are not passwords, so a slow password hash would only cap the token
endpoint. Comparison is constant-time.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import redis.asyncio as aioredis
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from federation.crypto.sm3 import hmac_sm3
from federation.oidc.client_keys import CLIENT_JWS_ALGS, allowed_algorithms, check_public_jwks
from federation.oidc.client_names import ConfusableName, check_distinct
from federation.oidc.files import write_once
from federation.storage.keys import Keys

LANGUAGES = ("zh-HK", "zh-CN", "en")
"""Languages every person-facing client text is given in."""

SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")
"""Scopes the bridge knows (OIDC Core §5.4, §11)."""

AuthMethod = Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]
SigningAlg = Literal["SM2SM3", "ES256", "RS256"]
AssertionAlg = Literal["SM2SM3", "ES256", "RS256", "PS256"]
RequestObjectAlg = Literal["SM2SM3", "ES256", "RS256", "PS256", "none"]


class Texts(BaseModel):
    """One text in the three languages of the consent page."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")

    zh_hk: str = Field(alias="zh-HK", min_length=1, max_length=2000)
    zh_cn: str = Field(alias="zh-CN", min_length=1, max_length=2000)
    en: str = Field(min_length=1, max_length=2000)

    def get(self, lang: str) -> str:
        """The text in ``lang`` (``zh-HK`` | ``zh-CN`` | ``en``), English otherwise."""
        return {"zh-HK": self.zh_hk, "zh-CN": self.zh_cn}.get(lang, self.en)


def _check_uri(uri: str, *, allow_http_loopback: bool = True) -> str:
    parts = urlsplit(uri)
    if parts.fragment or not parts.netloc or parts.scheme not in ("https", "http"):
        raise ValueError(f"not an absolute http(s) URI without fragment: {uri!r}")
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "http" and not (allow_http_loopback and loopback):
        raise ValueError(f"http is allowed only on loopback: {uri!r}")
    return uri


NOTICE_ELEMENTS: dict[str, str] = {
    "purposes": "purpose, PIPL art. 17(1)(ii)",
    "processing_method": "processing method, PIPL art. 17(1)(ii)",
    "rights_procedure": "way and procedure to exercise rights, PIPL arts. 17(1)(iii), 39",
    "retention": "retention period, PIPL art. 17(1)(ii)",
    "contacts": "recipient contact method, PIPL art. 39",
}
"""What every client's consent notice must have (each text in the three languages)."""


class Client(BaseModel):
    """A registered relying party (OIDC Dynamic Client Registration §2 metadata, plus the
    bridge's consent texts). Immutable once loaded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._~-]+$")
    client_name: Texts
    redirect_uris: tuple[str, ...] = Field(min_length=1, max_length=20)
    post_logout_redirect_uris: tuple[str, ...] = ()
    token_endpoint_auth_method: AuthMethod = "client_secret_basic"  # noqa: S105
    client_secret_digest: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="Hex HMAC-SM3 of the secret under the server key.",
    )
    client_secret_env: str | None = Field(
        None, description="Name of an environment variable holding the secret (static only)."
    )
    jwks: dict[str, Any] | None = Field(
        None, description="Public keys (private_key_jwt, request objects): a whole JWK Set."
    )
    jwks_uri: str | None = Field(None, description="Where the client publishes its JWK Set.")
    token_endpoint_auth_signing_alg: AssertionAlg | None = Field(
        None, description="The one assertion alg allowed; unset: any of SM2SM3/ES256/RS256/PS256."
    )
    id_token_signed_response_alg: SigningAlg = "SM2SM3"  # noqa: S105
    userinfo_signed_response_alg: SigningAlg | None = Field(
        None, description="Sign the UserInfo response (application/jwt); unset: plain JSON."
    )
    request_uris: tuple[str, ...] = Field(
        (), max_length=10, description="request_uri values the client may use (RFC 9101)."
    )
    request_object_signing_alg: RequestObjectAlg | None = Field(
        None, description="The one request object alg allowed; unset: any signed one."
    )
    require_signed_request_object: bool = Field(
        False, description="Refuse unsigned (alg none) request objects (RFC 9101 §10.5)."
    )
    registration_token_digest: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="Hex HMAC-SM3 of the RFC 7592 registration access token (dynamic only).",
    )
    mapping_profile: str = "default"
    subject_type: Literal["pairwise", "public"] = "pairwise"
    sector_identifier: str | None = None
    purposes: Texts
    processing_method: Texts
    rights_procedure: Texts
    """How to exercise rights against the RP (PIPL art. 39): where to write, what to quote,
    how long an answer takes. Shown as written."""
    retention: Texts
    """How long the RP keeps the data and what happens after it (PIPL art. 17)."""
    contacts: tuple[str, ...] = Field(min_length=1)
    """E-mail addresses of the RP's personal-information contact (PIPL art. 39)."""
    contact_address: Texts | None = None
    """The RP's postal address for rights requests (optional)."""
    contact_phone: str | None = Field(None, max_length=40)
    logo_uri: str | None = None
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = True
    consent_remember_seconds: int = Field(180 * 24 * 3600, ge=0)
    require_pushed_authorization_requests: bool = False
    scopes: tuple[str, ...] = ("openid", "profile", "email", "phone", "address", "offline_access")
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    verified: bool = Field(
        False,
        description="Static clients only: the operator checked who runs this RP (the consent "
        "page says so). Never settable by registration; ignored for dynamic clients.",
    )
    self_registered: bool = Field(
        False,
        description="Set by the registry on every client it loads from Redis (registered "
        "dynamically, RFC 7591): the consent page says the operator has not vetted it.",
    )

    @model_validator(mode="before")
    @classmethod
    def _notice_complete(cls, data: Any) -> Any:
        """Refuse a client whose consent notice would be incomplete, naming the element."""
        if isinstance(data, dict):
            missing = [name for name in NOTICE_ELEMENTS if not data.get(name)]
            if missing:
                raise ValueError(
                    "consent notice incomplete, missing: "
                    + ", ".join(f"{m} ({NOTICE_ELEMENTS[m]})" for m in missing)
                )
        return data

    @field_validator("redirect_uris", "post_logout_redirect_uris")
    @classmethod
    def _uris(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_uri(uri) for uri in value)

    @field_validator("request_uris")
    @classmethod
    def _request_uris(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for uri in value:
            _check_uri(uri.split("#", 1)[0])
        return value

    @field_validator("logo_uri", "backchannel_logout_uri", "jwks_uri")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        return None if value is None else _check_uri(value)

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - set(SCOPES)
        if unknown or "openid" not in value:
            raise ValueError(f"scopes must include openid and only {SCOPES}")
        return value

    @field_validator("grant_types")
    @classmethod
    def _grants(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "authorization_code" not in value or set(value) - {
            "authorization_code",
            "refresh_token",
        }:
            raise ValueError("grant_types: authorization_code [, refresh_token]")
        return value

    @model_validator(mode="after")
    def _auth(self) -> Client:
        if self.jwks is not None and self.jwks_uri is not None:
            raise ValueError("jwks and jwks_uri must not both be given (RFC 7591 §2)")
        if self.jwks is not None:
            algs = allowed_algorithms(self.token_endpoint_auth_signing_alg)
            check_public_jwks(self.jwks, algs if self.uses_private_key_jwt else CLIENT_JWS_ALGS)
        if self.uses_private_key_jwt:
            if self.jwks is None and self.jwks_uri is None:
                raise ValueError("private_key_jwt needs jwks or jwks_uri")
        elif not (self.client_secret_digest or self.client_secret_env):
            raise ValueError("a secret-based client needs client_secret_digest or _env")
        return self

    @property
    def uses_private_key_jwt(self) -> bool:
        """Whether the client authenticates with ``private_key_jwt``."""
        return self.token_endpoint_auth_method == "private_key_jwt"  # noqa: S105

    @property
    def sector(self) -> str:
        """Sector identifier for pairwise subjects (OIDC Core §8.1): the configured one, or
        the host of the redirect URIs."""
        return self.sector_identifier or (urlsplit(self.redirect_uris[0]).hostname or "")

    def public_metadata(self) -> dict[str, Any]:
        """Registration response metadata (RFC 7591 §3.2.1), without any secret."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        data.pop("client_secret_digest", None)
        data.pop("client_secret_env", None)
        data.pop("verified", None)
        data.pop("self_registered", None)
        data.pop("registration_token_digest", None)
        return data


class ClientSecrets:
    """Generates client secrets and checks them against HMAC-SM3 digests."""

    def __init__(self, server_key: bytes) -> None:
        if len(server_key) < 32:
            raise ValueError("client secret server key must be at least 32 bytes")
        self._key = server_key

    @staticmethod
    def generate() -> str:
        """A new secret: 32 random bytes (256 bits), base64url."""
        return secrets.token_urlsafe(32)

    def digest(self, secret: str) -> str:
        """Hex HMAC-SM3 of ``secret`` under the server key."""
        return hmac_sm3(self._key, secret.encode("utf-8")).hex()

    def check(self, client: Client, presented: str) -> bool:
        """Constant-time check of ``presented`` against the client's secret."""
        if client.client_secret_digest:
            expected = client.client_secret_digest
        elif client.client_secret_env and os.environ.get(client.client_secret_env):
            expected = self.digest(os.environ[client.client_secret_env])
        else:
            return False
        return hmac.compare_digest(self.digest(presented), expected)


def load_hex_secret(configured: str | None, path: Path) -> bytes:
    """A server secret: the configured hex, else 32 random bytes generated once into
    ``path`` (shared by every worker on the host)."""
    if configured:
        return bytes.fromhex(configured)
    write_once(path, secrets.token_hex(32).encode("ascii"))
    return bytes.fromhex(path.read_text().strip())


def load_static_clients(path: Path | None) -> dict[str, Client]:
    """Parse the clients YAML (``clients: [...]``); raise ``ValueError`` on any bad entry."""
    if path is None:
        return {}
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = document.get("clients") or []
    clients: dict[str, Client] = {}
    for index, entry in enumerate(entries):
        try:
            client = Client.model_validate(entry)
        except ValidationError as exc:
            raise ValueError(f"{path}: client #{index}: {exc}") from exc
        if client.client_id in clients:
            raise ValueError(f"{path}: duplicate client_id {client.client_id}")
        try:
            check_distinct(client, clients.values())
        except ConfusableName as exc:
            problem = f"{path}: client #{index} ({client.client_id}): {exc}: {exc.other}"
            raise ValueError(problem) from exc
        clients[client.client_id] = client
    return clients


class ClientRegistry:
    """Looks clients up: static ones from memory, dynamic ones with one Redis GET."""

    def __init__(self, static: dict[str, Client]) -> None:
        self.static = dict(static)

    async def get(self, redis: aioredis.Redis, client_id: str) -> Client | None:
        """The client, or ``None`` when unknown (including malformed ids)."""
        if client_id in self.static:
            return self.static[client_id]
        if not client_id or len(client_id) > 128:
            return None
        raw = await redis.get(Keys.client(client_id))
        if raw is None:
            return None
        stored = json.loads(raw)
        return Client.model_validate({**stored, "verified": False, "self_registered": True})

    async def register(self, redis: aioredis.Redis, client: Client) -> None:
        """Persist a dynamically registered client (durable namespace)."""
        await redis.set(Keys.client(client.client_id), client.model_dump_json(by_alias=True))
