"""``idbridge operator add|disable|enable|reset-totp|list`` on a real Redis, and the
accounts it makes actually log in (argon2id password + TOTP from the printed URI)."""

from __future__ import annotations

import os
import re
import subprocess
import time

import pyotp
import redis.asyncio as aioredis

from consent.audit import parse_entry
from consent.audit_verify import verify_chain
from consent.operator.accounts import OperatorAccounts
from consent.services import operator_seal_key
from federation.storage.keys import Keys
from federation.storage.runtime import RedisServer
from tests.consent.conftest import IDBRIDGE, run_cli
from tests.consent.factories import PII_KEY
from tests.consent.operator.conftest import PASSWORD, secret_of

URI = re.compile(r"^otpauth://totp/\S+$", re.M)


def _cli(server: RedisServer, *args: str, stdin: str | None = None):
    env = {"IDBRIDGE_REDIS_URL": server.url, "IDBRIDGE_PII_KEY": PII_KEY.hex()}
    if stdin is None:
        return run_cli("operator", *args, env=env)
    return subprocess.run(
        [str(IDBRIDGE), "operator", *args], input=stdin, capture_output=True, text=True,
        env={**os.environ, **env}, timeout=60, check=False,
    )  # fmt: skip


async def test_add_list_disable_reset(redis: aioredis.Redis, redis_server: RedisServer) -> None:
    added = _cli(
        redis_server, "add", "alice", "--role", "officer", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert added.returncode == 0, added.stderr
    uri = URI.search(added.stdout).group(0)
    accounts = OperatorAccounts(redis, operator_seal_key(PII_KEY))
    totp = pyotp.TOTP(secret_of(uri))
    assert await accounts.authenticate("alice", PASSWORD, totp.at(time.time()))
    stored = await redis.hgetall(Keys.operator("alice"))
    assert stored["password"].startswith("$argon2id$")
    assert secret_of(uri) not in str(stored)

    listed = _cli(redis_server, "list")
    assert listed.stdout.strip() == "alice\tofficer\tenabled"

    assert _cli(redis_server, "disable", "alice").returncode == 0
    assert _cli(redis_server, "list").stdout.strip() == "alice\tofficer\tdisabled"
    assert await accounts.authenticate("alice", PASSWORD, totp.at(time.time() + 30)) is None
    assert _cli(redis_server, "enable", "alice").returncode == 0

    reset = _cli(redis_server, "reset-totp", "alice")
    assert reset.returncode == 0
    new_totp = pyotp.TOTP(secret_of(URI.search(reset.stdout).group(0)))
    assert new_totp.secret != totp.secret
    assert await accounts.authenticate("alice", PASSWORD, new_totp.at(time.time()))


async def test_bad_input_is_a_clear_error(redis: aioredis.Redis, redis_server: RedisServer) -> None:
    short = _cli(
        redis_server, "add", "bob", "--role", "viewer", "--password-stdin", stdin="short\n"
    )
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    role = _cli(redis_server, "add", "bob", "--role", "root", "--password-stdin", stdin=PASSWORD)
    assert role.returncode == 2 and "root" in role.stderr
    assert _cli(redis_server, "disable", "nobody").returncode == 1
    _cli(redis_server, "add", "bob", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    again = _cli(redis_server, "add", "bob", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    assert again.returncode == 1 and "exists" in again.stderr
    bad_key = run_cli("operator", "list", "--redis-url", redis_server.url, "--pii-key", "zz")
    assert bad_key.returncode == 2 and "32 hex" in bad_key.stderr


async def test_account_changes_are_audited_and_the_chain_verifies(
    redis: aioredis.Redis, redis_server: RedisServer
) -> None:
    add = ("add", "carol", "--role", "auditor", "--password-stdin")
    assert _cli(redis_server, *add, stdin=PASSWORD + "\n").returncode == 0
    for command in ("disable", "enable", "reset-totp"):
        assert _cli(redis_server, command, "carol").returncode == 0
    assert _cli(redis_server, "disable", "nobody").returncode == 1  # nothing changed
    assert _cli(redis_server, "list").returncode == 0  # reading is not a change
    rows = await redis.xrange(Keys.AUDIT_STREAM)
    entries = [parse_entry(stream_id, fields) for stream_id, fields in rows]
    assert [e["action"] for e in entries] == ["operator.account_changed"] * 4
    assert [e["objects"] for e in entries] == [
        {"operator": "carol", "change": "added", "role": "auditor"},
        {"operator": "carol", "change": "disabled"},
        {"operator": "carol", "change": "enabled"},
        {"operator": "carol", "change": "totp_reset"},
    ]
    assert all(e["actor"].startswith("cli:") for e in entries)
    assert PASSWORD not in str(rows)
    report = await verify_chain(redis, None)
    assert report.ok and report.entries == 4
