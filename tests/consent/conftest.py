"""Consent fixtures: an audit chain and a Redis consent store on the real ``redis`` fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from consent.audit import AuditChain
from consent.redis_store import RedisConsentStore
from consent.signing import KeySetSigner
from federation.crypto.keyset import KeySet
from tests.consent.factories import PII_KEY

IDBRIDGE = Path(sys.executable).parent / "idbridge"


@pytest.fixture
async def chain(redis: aioredis.Redis) -> AuditChain:
    return AuditChain(redis)


@pytest.fixture
async def redis_store(redis: aioredis.Redis, chain: AuditChain) -> RedisConsentStore:
    return RedisConsentStore(redis, chain, pii_key=PII_KEY)


@pytest.fixture(scope="session")
def keyset() -> KeySet:
    """A real SM2 key set (OpenSSL), one per session."""
    return KeySet.generate(["SM2SM3"])


@pytest.fixture
def signer(keyset: KeySet) -> KeySetSigner:
    return KeySetSigner(keyset)


@pytest.fixture
def jwks_file(keyset: KeySet, tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(keyset.public_jwks()))
    return path


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``idbridge`` entry point in a child process."""
    return subprocess.run(
        [str(IDBRIDGE), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )
