"""Settings of the OpenID Provider (``IDBRIDGE_*`` environment variables).

Kept beside the protocol code rather than in :mod:`federation.settings` so that the
provider's knobs are documented where they are used; every field has a default that meets
DESIGN §8 (codes ≤ 60 s, PAR request URIs 60 s).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class OidcConfig(BaseSettings):
    """The provider's configuration. Environment variables are ``IDBRIDGE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="IDBRIDGE_", extra="ignore")

    clients_file: Path | None = Field(
        None, description="YAML file of static clients (see deploy/clients.yaml.example)."
    )
    client_secret_key: SecretStr | None = Field(
        None,
        description="Hex server key (≥ 32 bytes) for HMAC-SM3 client secret digests. "
        "Unset: generated once into <data_dir>/client-secret.key.",
    )
    code_ttl: int = Field(60, ge=5, le=60, description="Authorization code lifetime, seconds.")
    par_ttl: int = Field(60, ge=5, le=600, description="PAR request_uri lifetime, seconds.")
    access_token_ttl: int = Field(600, ge=30, description="Access token lifetime, seconds.")
    refresh_token_ttl: int = Field(
        30 * 24 * 3600, ge=60, description="Refresh token (and token family) lifetime, seconds."
    )
    id_token_ttl: int = Field(600, ge=30, description="ID token lifetime, seconds.")
    require_pushed_authorization_requests: bool = Field(
        False, description="Require PAR for every client (RFC 9126 §5)."
    )
    backchannel_timeout: float = Field(
        5.0, gt=0, le=30, description="Timeout of one back-channel logout POST, seconds."
    )
    backchannel_allow_private_networks: bool = Field(
        False,
        description="Send back-channel logout tokens to loopback, private, link-local and "
        "other non-public addresses (checked at send time). Only for the demo and tests, "
        "whose relying parties listen on 127.0.0.1.",
    )
    registration_max_consent_remember_seconds: int = Field(
        180 * 24 * 3600,
        ge=0,
        description="Longest consent_remember_seconds a dynamically registered client gets "
        "(a larger value is lowered to this), seconds.",
    )
    registration_public_subjects: bool = Field(
        False,
        description="Let dynamically registered clients ask for subject_type public (the "
        "same sub at every service that also gets public subjects; the consent page says "
        "so). Off: dynamic clients get pairwise subjects and discovery lists only pairwise.",
    )
    client_fetch_timeout: float = Field(
        5.0,
        gt=0,
        le=30,
        description="Timeout of one fetch of a client's jwks_uri or request_uri, seconds.",
    )
    client_fetch_max_bytes: int = Field(
        65536, ge=1024, le=1048576, description="Largest jwks_uri or request_uri document."
    )
    client_fetch_allow_private_networks: bool = Field(
        False,
        description="Fetch jwks_uri and request_uri documents from loopback, private and "
        "other non-public addresses. Only for the demo and tests.",
    )
    jwks_cache_min_seconds: int = Field(
        60, ge=0, description="Shortest time a fetched client key set is cached, seconds."
    )
    jwks_cache_max_seconds: int = Field(
        86400, ge=1, description="Longest time a fetched client key set is cached, seconds."
    )
    jwks_refetch_interval_seconds: int = Field(
        60,
        ge=1,
        description="Least time between two re-fetches of a client's jwks_uri on an "
        "unknown kid (a storm of unknown kids causes one fetch per interval), seconds.",
    )
