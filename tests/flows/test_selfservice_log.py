"""With the transparency log on, a person's receipt names its leaf and tree head, and the
proof downloaded from /consents verifies with the reference verifier in docs/ (issue 15)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.iamsmart.simulator.app import create_app as create_simulator
from connectors.iamsmart.simulator.config import SimulatorSettings
from consent.signing import JwksVerifier
from consent.tree_heads import STH_TYP, read_lines
from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import (
    Bridge,
    Person,
    RelyingParty,
    ServerThread,
    bridge_env,
    build_with_env,
    rp_app,
    write_sim_clients,
)
from tests.federation.selfservice.helpers import consent_at, consent_ids, open_self_service

VERIFIER = Path(__file__).parents[2] / "docs" / "verify_consent_log.py"


@pytest.fixture(scope="module")
def log_bridge(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bridge]:
    """The harness's bridge with IDBRIDGE_AUDIT_LOG_SHARDS=4 (a head after every entry)."""
    folder = tmp_path_factory.mktemp("log-bridge")
    port, sim_port = free_port(), free_port()
    rp = RelyingParty()
    sim_url = f"http://127.0.0.1:{sim_port}"
    callback = f"http://127.0.0.1:{port}/upstream/iamsmart/callback"
    simulator = create_simulator(
        write_sim_clients(folder, [callback]),
        settings=SimulatorSettings(conformance=True),
        public_url=sim_url,
    )
    with ServerThread(rp_app(rp)) as rp_server:
        rp.url = rp_server.url
        env = bridge_env(folder, redis_server.url, port, sim_url, rp)
        env.update(
            IDBRIDGE_AUDIT_LOG_SHARDS="4",
            IDBRIDGE_AUDIT_HEADS_FILE=str(folder / "heads.jsonl"),
            IDBRIDGE_AUDIT_HEAD_EVERY="1",
        )
        app, settings = build_with_env(env)
        with (
            ServerThread(simulator, sim_port, lifespan=True),
            ServerThread(app, port, lifespan=True) as srv,
        ):
            jwks = httpx.get(f"{srv.url}/jwks/sm2").json()
            yield Bridge(srv.url, sim_url, settings, rp, redis_server.url, env, jwks)


async def test_the_proof_from_consents_verifies_offline(
    log_bridge: Bridge, redis: object, tmp_path: Path
) -> None:
    person = Person(log_bridge, "cheung-kai-ming")
    try:
        await consent_at(log_bridge, person, "rp-sm2")
        page = await open_self_service(log_bridge, person)
        (consent_id,) = consent_ids(page.text)
        assert f"/consents/{consent_id}/proof.json" in page.text
        body = (
            await person.http.get(f"{log_bridge.url}/consents/{consent_id}/receipt.json")
        ).json()
        proof = await person.http.get(f"{log_bridge.url}/consents/{consent_id}/proof.json")
        missing = await person.http.get(f"{log_bridge.url}/consents/cns_{'x' * 20}/proof.json")
    finally:
        await person.aclose()
    where = body["receipt"]["auditLog"]
    assert where["sth"] and where["leafIndex"] >= 0 and 0 <= where["shard"] < 4
    assert JwksVerifier(log_bridge.jwks).verify_jws(body["jws"])["auditLog"] == where
    assert proof.status_code == 200 and "attachment" in proof.headers["content-disposition"]
    assert proof.json()["leafIndex"] == where["leafIndex"]
    assert missing.status_code == 404 and "<html" in missing.text.lower()
    (tmp_path / "proof.json").write_text(proof.text)
    (tmp_path / "jwks.json").write_text(json.dumps(log_bridge.jwks))
    done = subprocess.run(
        [sys.executable, str(VERIFIER), "inclusion", "proof.json", "jwks.json"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.startswith("OK"), done.stdout + done.stderr
    heads = [r["sth"] for r in read_lines(Path(log_bridge.env["IDBRIDGE_AUDIT_HEADS_FILE"]))]
    assert proof.json()["sth"] in heads
    assert JwksVerifier(log_bridge.jwks).verify_jws(heads[-1], typ=STH_TYP)["n"] == len(heads)
