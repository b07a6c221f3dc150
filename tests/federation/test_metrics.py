"""``GET /metrics`` (issue 11): only with the configured bearer token; after real logins
(two relying parties, a token exchange each, a logout with a back-channel notice) and
``idbridge audit verify``, every family is present and the ones those actions touch moved.
No label value is a person's, a token or an address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from federation.app import create_base_app
from federation.settings import Settings
from federation.storage.runtime import RedisServer, free_port
from tests.consent.conftest import run_cli
from tests.federation.journey.harness import (
    Bridge,
    Person,
    RelyingParty,
    ServerThread,
    authorize_url,
    bridge_env,
    build_with_env,
    consent,
    exchange,
    finish,
    rp_app,
    rp_client,
    write_sim_clients,
)

TOKEN = "metrics-token-0123456789abcdef"
FAMILIES = (
    "idbridge_logins",
    "idbridge_journey_step_seconds",
    "idbridge_http_request_seconds",
    "idbridge_upstream_call_seconds",
    "idbridge_upstream_errors",
    "idbridge_consent_events",
    "idbridge_tokens_issued",
    "idbridge_backchannel_logout",
    "idbridge_rate_limit_refusals",
    "idbridge_redis_command_seconds",
    "idbridge_redis_errors",
    "idbridge_audit_verify_ok",
    "idbridge_audit_verify_timestamp_seconds",
    "idbridge_audit_head_seq",
)


@pytest.fixture(scope="module")
def metered(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bridge]:
    from connectors.iamsmart.simulator.app import create_app as create_simulator
    from connectors.iamsmart.simulator.config import SimulatorSettings

    folder = tmp_path_factory.mktemp("metered")
    port, sim_port = free_port(), free_port()
    rp = RelyingParty()
    sim_url = f"http://127.0.0.1:{sim_port}"
    callback = f"http://127.0.0.1:{port}/upstream/iamsmart/callback"
    simulator = create_simulator(
        write_sim_clients(folder, [callback]), settings=SimulatorSettings(), public_url=sim_url
    )
    with ServerThread(rp_app(rp)) as rp_server:
        rp.url = rp_server.url
        env = bridge_env(folder, redis_server.url, port, sim_url, rp)
        env["IDBRIDGE_METRICS_TOKEN"] = TOKEN
        app, settings = build_with_env(env)
        with (
            ServerThread(simulator, sim_port, lifespan=True),
            ServerThread(app, port, lifespan=True) as srv,
        ):
            jwks = httpx.get(f"{srv.url}/jwks").json()
            jwks["keys"] += httpx.get(f"{srv.url}/jwks/sm2").json()["keys"]
            yield Bridge(srv.url, sim_url, settings, rp, redis_server.url, env, jwks)


def scrape(bridge: Bridge) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    answer = httpx.get(bridge.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/plain")
    out: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for family in text_string_to_metric_families(answer.text):
        samples = out.setdefault(family.name, {})
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def total(metrics: dict, family: str, suffix: str = "", **labels: str) -> float:
    found = 0.0
    for (name, sample_labels), value in metrics.get(family, {}).items():
        if suffix and not name.endswith(suffix):
            continue
        if all(dict(sample_labels).get(k) == v for k, v in labels.items()):
            found += value
    return found


async def _login(bridge: Bridge, person: Person, client_id: str) -> dict[str, str]:
    client = rp_client(bridge, client_id)
    url, _, _, verifier = await authorize_url(bridge, client)
    page = await person.go(url)
    if "/sim/app/login/" in page.text:
        page = await person.sign_in(url)
    assert str(page.url).endswith("/journey/consent"), str(page.url)
    answer = await finish(person, await consent(person, page))
    return await exchange(bridge, client, answer, verifier)


def test_metrics_need_the_token(metered: Bridge) -> None:
    assert httpx.get(metered.url + "/metrics").status_code == 401
    wrong = httpx.get(metered.url + "/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "idbridge_" not in wrong.text


def test_no_token_configured_no_endpoint(redis_server: RedisServer) -> None:
    app = create_base_app(Settings(redis_url=redis_server.url))
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 404
        assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


async def test_every_family_after_a_login(
    metered: Bridge, redis: aioredis.Redis, tmp_path: Path
) -> None:
    """``redis`` (the fixture) starts from an empty database: no consent remembered."""
    before = scrape(metered)
    person = Person(metered, "chow-mei-ling")
    try:
        first = await _login(metered, person, "rp-es256")
        await _login(metered, person, "rp-sm2")  # same session, a second RP
        out = await person.http.get(
            metered.url + "/logout", params={"id_token_hint": first["id_token"]}
        )
        assert out.status_code == 200
    finally:
        await person.aclose()
    verify = run_cli("audit", "verify", "--redis-url", metered.redis_url, "--skip-signatures")
    assert verify.returncode == 0, verify.stderr
    after = scrape(metered)

    missing = [f for f in FAMILIES if f not in after]
    assert missing == []

    def moved(family: str, suffix: str = "", **labels: str) -> float:
        return total(after, family, suffix, **labels) - total(before, family, suffix, **labels)

    assert moved("idbridge_logins", outcome="success", upstream_error="none") == 2
    for step in ("authorize", "upstream_callback", "consent", "finish", "token"):
        assert moved("idbridge_journey_step_seconds", "_count", step=step) >= 1, step
    assert moved("idbridge_http_request_seconds", "_count", route="/token", status="2xx") == 2
    assert moved("idbridge_upstream_call_seconds", "_count", connector="iamsmart") >= 2
    assert moved("idbridge_consent_events", event="granted") == 2
    assert moved("idbridge_tokens_issued", grant_type="authorization_code") == 2
    assert moved("idbridge_backchannel_logout", result="ok") == 1
    assert moved("idbridge_redis_command_seconds", "_count", store="durable") > 10
    assert moved("idbridge_redis_command_seconds", "_count", command="EVALSHA") > 0
    assert total(after, "idbridge_audit_verify_ok") == 1
    assert total(after, "idbridge_audit_verify_timestamp_seconds") > 1.7e9
    assert total(after, "idbridge_audit_head_seq") >= 2

    labels = {v for samples in after.values() for (_, pairs) in samples for _, v in pairs}
    person_values = ("chow", "mei", "@", "127.0.0.1", first["access_token"][:12])
    assert not [v for v in labels for p in person_values if p.lower() in v.lower()]
    assert not [v for v in labels if v.startswith("/upstream/iamsmart")]  # templates only


def test_two_workers_report_as_one(tmp_path: Path) -> None:
    """``idbridge serve --workers 2``: whichever worker answers the scrape, it counts the
    requests both served (multiprocess mode)."""
    import os
    import subprocess
    import sys
    import time

    port = free_port()
    env = {
        **os.environ,
        "IDBRIDGE_METRICS_TOKEN": TOKEN,
        "IDBRIDGE_DATA_DIR": str(tmp_path / "data"),
        "IDBRIDGE_LOG_LEVEL": "WARNING",
        # serve refuses to start without the operator (the HK data user) of the notice
        "IDBRIDGE_OPERATOR_FILE": str(Path(__file__).parents[2] / "deploy/operator.yaml.example"),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    idbridge = Path(sys.executable).parent / "idbridge"
    command = [str(idbridge), "serve", "--workers", "2", "--port", str(port), "--embedded-redis"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        hits = 60
        for _ in range(hits):  # new connections: the kernel spreads them over both workers
            assert httpx.get(base + "/healthz").status_code == 200
        seen = set()
        for _ in range(6):
            text = httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
            families = {f.name: f for f in text_string_to_metric_families(text)}
            count = sum(
                s.value
                for s in families["idbridge_http_request_seconds"].samples
                if s.name.endswith("_count") and s.labels["route"] == "/healthz"
            )
            seen.add(count)
        assert seen == {hits + 1}, seen  # the readiness poll's successful GET, then ours
    finally:
        proc.terminate()
        proc.wait(timeout=30)
