"""The consent domain wired together: one object the app factory builds at start-up and
puts on ``app.state.consent`` for the operator API (and the journey and self-service).

Keys: ``IDBRIDGE_PII_KEY`` (16 bytes, hex) seals person-supplied values directly (SM4-GCM,
AAD = record id, DESIGN §8); two further keys are derived from it with HMAC-SM3 and
distinct labels, one for the attribute value digests in consent records and one (first
16 bytes) for sealing operators' TOTP secrets, so no key serves two purposes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from consent.audit import AuditChain
from consent.lifecycle import ConsentLifecycle, GrantRevoker
from consent.operator.accounts import OperatorAccounts
from consent.operator.sessions import OperatorSessions
from consent.operator.stats import ActivityCounters
from consent.redis_store import RedisConsentStore
from consent.signing import JwsSigner, JwsVerifier
from consent.translog import TransparencyLog
from consent.tree_heads import TreeHeads
from federation.crypto.sm3 import hmac_sm3

_DIGEST_LABEL = b"idbridge/consent/value-digest/v1"
_TOTP_LABEL = b"idbridge/operator/totp-seal/v1"


class KeyConfigError(ValueError):
    """The PII key is missing or not 32 hex characters."""


def pii_key_from_hex(value: str | None) -> bytes:
    """Parse ``IDBRIDGE_PII_KEY``."""
    try:
        key = bytes.fromhex(value or "")
    except ValueError as exc:
        raise KeyConfigError("IDBRIDGE_PII_KEY must be 32 hex characters") from exc
    if len(key) != 16:
        raise KeyConfigError("IDBRIDGE_PII_KEY must be 32 hex characters (an SM4 key)")
    return key


def digest_key(pii_key: bytes) -> bytes:
    """Key for the HMAC-SM3 digests of released values."""
    return hmac_sm3(pii_key, _DIGEST_LABEL)


def operator_seal_key(pii_key: bytes) -> bytes:
    """SM4 key sealing operators' TOTP secrets."""
    return hmac_sm3(pii_key, _TOTP_LABEL)[:16]


@dataclass(frozen=True, slots=True)
class ConsentServices:
    """Everything the consent routes need."""

    chain: AuditChain
    store: RedisConsentStore
    lifecycle: ConsentLifecycle
    accounts: OperatorAccounts
    sessions: OperatorSessions
    signer: JwsSigner | None
    verifier: JwsVerifier | None
    issuer: str
    counters: ActivityCounters


def build_consent_services(
    redis: aioredis.Redis,
    *,
    pii_key: bytes,
    revoker: GrantRevoker,
    issuer: str,
    signer: JwsSigner | None = None,
    verifier: JwsVerifier | None = None,
    checkpoint_every: int = 100,
    checkpoint_seconds: float = 300.0,
    log_shards: int = 0,
    heads_file: str | None = None,
    witnesses: tuple[str, ...] = (),
) -> ConsentServices:
    """Wire the chain, store, lifecycle and operator accounts on one Redis client. With
    ``log_shards`` > 0 and a signer, events go to the transparency log (issue 15), its
    tree heads to ``heads_file`` and ``witnesses`` every ``checkpoint_every`` entries or
    ``checkpoint_seconds`` seconds."""
    log = None
    if log_shards > 0:
        if signer is None or not heads_file:
            raise ValueError("the transparency log needs a signer and a heads file")
        log = TransparencyLog(redis, shards=log_shards)
        TreeHeads(
            log,
            signer,
            Path(heads_file),
            every=checkpoint_every,
            seconds=checkpoint_seconds,
            witnesses=witnesses,
        )
    chain = AuditChain(
        redis,
        signer,
        checkpoint_every=checkpoint_every,
        checkpoint_seconds=checkpoint_seconds,
        log=log,
    )
    store = RedisConsentStore(redis, chain, pii_key=pii_key)
    accounts = OperatorAccounts(redis, operator_seal_key(pii_key))
    counters = ActivityCounters(redis)
    lifecycle = ConsentLifecycle(
        store, revoker, chain, digest_key=digest_key(pii_key), observer=counters
    )
    return ConsentServices(
        chain=chain,
        store=store,
        lifecycle=lifecycle,
        counters=counters,
        accounts=accounts,
        sessions=OperatorSessions(redis, accounts),
        signer=signer,
        verifier=verifier,
        issuer=issuer,
    )
