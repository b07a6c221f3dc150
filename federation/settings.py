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
        description="The durable Redis: redis://, rediss:// or unix:// (one server), "
        "redis+sentinel://[:pw@]host:port,…/service[/db] (Sentinel), "
        "redis+cluster://[:pw@]host:port,… (Cluster); rediss+… for TLS. Unset with "
        "--embedded-redis to start one.",
    )
    redis_sentinel_password: SecretStr | None = Field(
        None, description="Password of the Sentinel processes (Redis's own is in the URL)."
    )
    redis_wait_replicas: int = Field(
        0,
        ge=0,
        le=16,
        description="Durable writes (consents, receipts, audit, codes, tokens) are "
        "acknowledged only after WAIT confirms this many replicas; 0: no WAIT.",
    )
    redis_wait_timeout_ms: int = Field(
        500,
        ge=10,
        le=10000,
        description="How long WAIT may take before the request fails with 503, ms.",
    )
    shutdown_grace: int = Field(
        30,
        ge=1,
        le=600,
        description="On SIGTERM, how long in-flight requests may take to finish before the "
        "worker exits, seconds (uvicorn's graceful shutdown).",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token that GET /metrics (Prometheus) requires; unset: no "
        "/metrics endpoint at all.",
    )
    ephemeral_redis_url: str | None = Field(
        None,
        description="A second, non-durable Redis for journey state, rate-limit counters "
        "and caches (same URL schemes); unset: the durable Redis.",
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
    initial_access_token_quota: int = Field(
        50,
        ge=0,
        description="Registrations IDBRIDGE_INITIAL_ACCESS_TOKEN allows in all (it is one "
        "onboarding's token; issue one per onboarding with `idbridge clients onboard`).",
    )
    registration_per_hour: int = Field(
        20, ge=1, description="Requests to /register one address (IPv6: prefix) may make per hour."
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
    journey_prelogin_ttl: int = Field(
        300,
        ge=30,
        le=7200,
        description="Lifetime of a journey that has not reached the upstream login callback "
        "yet (an anonymous visitor's), seconds; IDBRIDGE_JOURNEY_TTL applies after it.",
    )
    session_ttl: int = Field(
        1800,
        ge=0,
        le=86400,
        description="Lifetime of the bridge session (prompt=none, max_age, id_token_hint), "
        "seconds; 0 disables single sign-on.",
    )
    allow_development_config: bool = Field(
        False,
        description="Start with an https issuer although simulator-only settings, a shipped "
        "demo key or a non-https upstream are configured (a warning on every start); "
        "never in production (federation/production.py).",
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
    rate_limit_ipv6_prefix: int = Field(
        64,
        ge=32,
        le=128,
        description="IPv6 callers are counted by this prefix (per-address rate limits and "
        "live journeys): /64 is one subscriber; 128 counts every address apart.",
    )
    journeys_per_address: int = Field(
        100,
        ge=1,
        description="Most journeys one address (IPv6: one prefix) may have open before the "
        "upstream login callback; beyond it /authorize answers 429 (the rate_limited page).",
    )
    rate_limit_per_ip: int = Field(
        600,
        ge=1,
        description="Requests per window one client address may make to each group of "
        "people's pages and unauthenticated APIs (default: 60/s per group). Loopback load "
        "tests may need more.",
    )

    max_requests_in_flight: int = Field(
        1024,
        ge=1,
        description="Admission control: requests one worker handles at once; beyond it a "
        "clean 503 with Retry-After (docs/operations.md, Limits and overload).",
    )
    redis_pool_size: int | None = Field(
        None,
        ge=1,
        description="Redis connections per worker (a blocking pool); default: an eighth "
        "of max_requests_in_flight, between 16 and 256.",
    )
    redis_pool_timeout: float = Field(
        2.0,
        gt=0,
        le=30,
        description="Seconds a request waits for a free Redis connection before it is a 503.",
    )
    redis_command_timeout: float = Field(
        1.5,
        gt=0,
        le=60,
        description="Seconds one Redis command may take (longer than the audit chain's WAIT) "
        "before the request is a 503: a paused Redis does not hang every request.",
    )
    slow_client_timeout: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Seconds a client may take to send a request's head, and again its body "
        "(idbridge serve); a slower one is disconnected.",
    )

    def pool_size(self) -> int:
        """The Redis pool of one worker, sized from its concurrency."""
        return self.redis_pool_size or max(16, min(256, self.max_requests_in_flight // 8))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process from the environment."""
    return Settings()
