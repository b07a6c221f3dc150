"""Runtime settings from ``IDBRIDGE_*`` environment variables (pydantic-settings).

Every field is documented; ``deploy/idbridge.env.example`` shows them all with comments.
Secrets are ``SecretStr`` so that they never print. Imports nothing of ours.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """The bridge's configuration. Environment variables are ``IDBRIDGE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="IDBRIDGE_", extra="ignore")

    issuer: str = Field(
        "http://127.0.0.1:8000",
        description="Public base URL of the bridge; the OIDC `iss` and the base of every endpoint.",
    )
    redis_url: str | None = Field(
        None,
        description="redis://, rediss:// or unix:// URL. Unset with --embedded-redis to start one.",
    )
    log_level: str = Field("INFO", description="Python log level for the JSON logs.")
    data_dir: Path = Field(
        Path("var"), description="Where keys and generated secrets live when not given."
    )
    signing_keys: list[Path] = Field(
        default_factory=list,
        description="PEM (PKCS#8) private keys for ID tokens and receipts; the first is current.",
    )
    pii_key: SecretStr | None = Field(
        None, description="Hex SM4 key (32 hex chars) for PII at rest (SM4-GCM)."
    )
    pairwise_salt: SecretStr | None = Field(
        None, description="Secret salt for pairwise subjects (HMAC-SM3)."
    )
    initial_access_token: SecretStr | None = Field(
        None, description="Bearer token required by dynamic client registration (RFC 7591)."
    )
    trust_proxy_headers: bool = Field(
        False, description="Honour X-Forwarded-* from a TLS-terminating proxy."
    )
    connectors_file: Path | None = Field(
        None,
        description="YAML of upstream connectors (deploy/connectors.yaml.example); unset: the "
        "iAM Smart connector from IDBRIDGE_IAMSMART_* variables, if they are set.",
    )
    default_mapping_profile: str = Field(
        "oidc-standard",
        description="Mapping profile (name or path) for clients whose mapping_profile is "
        "'default'.",
    )
    journey_ttl: int = Field(
        1200, ge=60, le=7200, description="Lifetime of one login journey in Redis, seconds."
    )
    session_ttl: int = Field(
        1800,
        ge=0,
        le=86400,
        description="Lifetime of the bridge session (prompt=none, max_age, id_token_hint), "
        "seconds; 0 disables single sign-on.",
    )
    csrf_secret: SecretStr | None = Field(
        None,
        description="Key for CSRF tokens (any string, ≥ 32 chars); unset: derived from the "
        "pairwise salt, so every worker agrees.",
    )
    operator_file: Path | None = Field(
        None,
        description="YAML naming the bridge operator (the Hong Kong data user), its address, "
        "privacy officer and how to make a data access or correction request "
        "(deploy/operator.yaml.example); `idbridge serve` refuses to start without it.",
    )
    support_email: str | None = Field(None, description="Support e-mail shown on every page.")
    support_phone: str | None = Field(None, description="Support phone shown on every page.")
    support_url: str | None = Field(None, description="Support/help page URL shown on every page.")
    consent_manage_url: str = Field(
        "/consents", description="Where people list and withdraw their consents (linked)."
    )
    operator_idle_seconds: int = Field(
        900,
        ge=60,
        le=7200,
        description="Operator console: sign out after this long without a request, seconds.",
    )
    operator_absolute_seconds: int = Field(
        8 * 3600,
        ge=300,
        le=86400,
        description="Operator console: sign out this long after signing in, seconds.",
    )
    audit_log_shards: int = Field(
        0,
        ge=0,
        le=1024,
        description="Shards of the consent transparency log (consent/translog.py); 0 keeps "
        "the single audit chain.",
    )
    audit_heads_file: str | None = Field(
        None,
        description="Append-only file (fsynced) of signed tree heads, outside Redis; "
        "required with audit_log_shards.",
    )
    audit_head_every: int = Field(
        100, ge=1, description="Sign a tree head after this many log entries at most."
    )
    audit_head_seconds: float = Field(
        300.0, gt=0, description="Sign a tree head after this many seconds at most."
    )
    audit_witnesses: str = Field(
        "", description="Comma-separated base URLs of witnesses (idbridge audit witness)."
    )
    rate_limit_enabled: bool = Field(
        True, description="Rate limits in Redis (federation/ratelimit.py); false turns them off."
    )
    rate_limit_window: int = Field(
        10, ge=1, le=3600, description="Length of one fixed rate-limit window, seconds."
    )
    rate_limit_per_client: int = Field(
        20000,
        ge=1,
        description="Requests per window one client_id may make to /token, /introspect, "
        "/revoke and /par together (default: 2,000/s).",
    )
    rate_limit_per_ip: int = Field(
        600,
        ge=1,
        description="Requests per window one client address may make to each group of "
        "people's pages and unauthenticated APIs (default: 60/s per group). Loopback load "
        "tests may need more.",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process from the environment."""
    return Settings()
