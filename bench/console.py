"""Operator console latency with 100,000 consent records: dashboard and search, p50/p99,
as a ratio to ``/healthz`` measured in the same run (issue 10: the dashboard answers in
≤ 200 ms with 100,000 records stored).

Usage: .venv/bin/python bench/console.py [--records N] [--requests R]

Starts a private redis-server, stores N records the way the store does (the store's own
writes: record hash, subject/client/all/expiry indexes), counts them into the dashboard's
counters as the lifecycle would (spread over 90 Hong Kong days, three relying parties),
serves the real console with uvicorn on loopback, signs in through its form (password +
TOTP) and times R sequential requests of each page with one keep-alive client.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import threading
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import uvicorn

from consent.capture import ConsentChoices, ConsentNotice, ReleaseItem, capture
from consent.operator.api import router
from consent.operator.console import install_console
from consent.operator.roles import Role
from consent.operator.stats import hk_day
from consent.records import Localized, Purpose
from consent.services import build_consent_services
from federation.app import create_base_app
from federation.pages import Pages
from federation.settings import Settings
from federation.storage.client import connect
from federation.storage.keys import Keys
from federation.storage.runtime import RedisServer

PII_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
DIGEST_KEY = bytes(32)
PASSWORD = "bench password long enough"
CLIENTS = ("gd-social-security", "gd-tax-bureau", "gd-health-portal")
TARGET_MS = 200.0


class _NoRevoker:
    async def revoke_for(self, subject: str, client_id: str, *, reason: str) -> None:
        return None


def _text(en: str) -> Localized:
    return Localized.model_validate({"zh-HK": en, "zh-CN": en, "en": en})


def _notice(client_id: str) -> ConsentNotice:
    return ConsentNotice(
        client_id=client_id,
        client_name=_text(f"{client_id} e-service"),
        contact="dpo@example.cn",
        purposes=[Purpose(id="account-registration", description=_text("open an account"))],
        processing_method=_text("stored"),
        retention=_text("3 years"),
        rights=_text("write to the DPO"),
        policy_url="https://example.cn/privacy",
        notice_version="2024-01",
        remember_seconds=86400 * 60,
    )


async def seed(redis_url: str, count: int) -> str:
    """Store ``count`` records and their counters; return the admin's TOTP secret."""
    redis = connect(redis_url)
    services = build_consent_services(
        redis, pii_key=PII_KEY, revoker=_NoRevoker(), issuer="http://127.0.0.1"
    )
    items = [ReleaseItem(name="name", value="CHAN, Tai Man", essential=True)]
    notices = {c: _notice(c) for c in CLIENTS}
    now = int(time.time())
    batch = 1000
    for start in range(0, count, batch):
        pipe = redis.pipeline(transaction=False)
        counters: dict[tuple[str, str], int] = {}
        for n in range(start, min(start + batch, count)):
            client = CLIENTS[n % 3]
            given = now - (n * 90 * 86400) // count
            record = capture(
                f"sub-{n:07d}",
                notices[client],
                items,
                ConsentChoices(cross_boundary=True, kept_optional=frozenset(), language="en"),
                digest_key=DIGEST_KEY,
                now=given,
            ).record
            for write in services.store._record_writes(record, None):  # the store's writes
                if write.command == "HSET":
                    fields = dict(zip(write.args[::2], write.args[1::2], strict=True))
                    pipe.hset(write.key, mapping=fields)  # type: ignore[arg-type]
                elif write.command == "ZADD":
                    pipe.zadd(write.key, {str(write.args[1]): float(write.args[0])})
                else:
                    pipe.set(write.key, str(write.args[0]))
            key = (hk_day(given), client)
            counters[key] = counters.get(key, 0) + 1
        for (day, client), value in counters.items():
            pipe.hincrby(Keys.stats_day("consents", day), f"given|{client}", value)
            pipe.hincrby(Keys.stats_day("logins", day), f"success|{client}", value)
            pipe.sadd(Keys.STATS_CLIENTS, client)
        await pipe.execute()
    uri = await services.accounts.add("bench-admin", PASSWORD, Role.ADMIN)
    await redis.aclose()
    return parse_qs(urlparse(uri).query)["secret"][0]


def serve(redis_url: str) -> tuple[uvicorn.Server, str]:
    settings = Settings(redis_url=redis_url, pii_key=PII_KEY.hex())
    app = create_base_app(settings)
    app.state.pages = Pages(settings, csrf_secret=b"bench")
    app.include_router(router)
    install_console(app)

    async def start(app: object) -> None:
        app.state.consent = build_consent_services(  # type: ignore[attr-defined]
            app.state.redis,  # type: ignore[attr-defined]
            pii_key=PII_KEY,
            revoker=_NoRevoker(),
            issuer="http://127.0.0.1",
        )

    app.state.start_hooks.append(start)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://localhost:{port}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with RedisServer(durable=False) as redis_server:
        began = time.perf_counter()
        secret = asyncio.run(seed(redis_server.url, args.records))
        print(f"seeded {args.records:,} records in {time.perf_counter() - began:.1f} s")
        server, base = serve(redis_server.url)
        try:
            run(base, secret, args.requests)
        finally:
            server.should_exit = True


def run(base: str, secret: str, requests: int) -> None:
    import re

    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/operator/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        # the cookies are Secure; httpx sends those over https only: pass them by hand
        pre = re.search(r"idb_operator_pre=([^;]+)", page.headers["set-cookie"]).group(1)  # type: ignore[union-attr]
        response = client.post(
            "/operator/login",
            data={
                "csrf_token": token,
                "username": "bench-admin",
                "password": PASSWORD,
                "totp": pyotp.TOTP(secret).at(time.time()),
            },
            cookies={"idb_operator_pre": pre},
        )
        assert response.status_code == 303, response.text
        session = re.search(r"idb_operator=([^;]+)", response.headers["set-cookie"]).group(1)  # type: ignore[union-attr]
        cookies = {"idb_operator": session}
        paths = {
            "/healthz": "/healthz",
            "dashboard 30 days": "/operator/dashboard?lang=en",
            "dashboard 90 days, one RP": "/operator/dashboard?days=90&client_id=gd-tax-bureau",
            "chart: consents 90 days": "/operator/dashboard/chart/consents.svg?days=90",
            "chart: logins 90 days": "/operator/dashboard/chart/logins.svg?days=90",
            "chart: expiring 30 days": "/operator/dashboard/chart/expiring.svg",
            "search newest 25": "/operator/consents?go=1",
            "search by RP + status": "/operator/consents?client_id=gd-tax-bureau&status=active",
            "search by subject": "/operator/consents?subject=sub-0050000",
        }
        timings: dict[str, list[float]] = {}
        for _ in range(3):  # warm-up
            for path in paths.values():
                client.get(path, cookies=cookies)
        for _ in range(requests):  # interleaved, so that a noisy neighbour hits every page alike
            for name, path in paths.items():
                start = time.perf_counter()
                reply = client.get(path, cookies=cookies)
                timings.setdefault(name, []).append((time.perf_counter() - start) * 1000)
                assert reply.status_code == 200, (path, reply.status_code)
    health = statistics.median(timings["/healthz"])
    print(f"{'page':32} {'p50 ms':>8} {'p99 ms':>8} {'p50 / healthz':>14}")
    for name, values in timings.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(f"{name:32} {p50:8.1f} {p99:8.1f} {p50 / health:13.1f}x")
    worst = max(percentile(timings[n], 99) for n in timings if n.startswith("dashboard"))
    verdict = "within" if worst <= TARGET_MS else "OVER"
    print(f"dashboard page p99 {worst:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")
    charts = [n for n in timings if n.startswith("chart")]
    whole = percentile(timings["dashboard 30 days"], 50) + sum(
        percentile(timings[n], 50) for n in charts
    )
    print(f"page + its three charts, one after another (p50s summed): {whole:.1f} ms")
    uncached = render_uncached()
    print(
        f"a chart whose figures changed (pygal render, no cache), 90 days x 3 series: "
        f"p50 {percentile(uncached, 50):.1f} ms, p99 {percentile(uncached, 99):.1f} ms"
    )


def render_uncached(rounds: int = 20) -> list[float]:
    """pygal's own cost when the figures changed since the last view (cache missed)."""
    from consent.operator.console.charts import bar_chart_svg

    labels = tuple(f"2026-{(i // 30) + 9:02d}-{i % 30 + 1:02d}" for i in range(90))
    out = []
    for n in range(rounds):
        series = {name: [(i * n + k) % 9 for i in range(90)] for k, name in enumerate("abc")}
        start = time.perf_counter()
        bar_chart_svg(f"bench {n}", labels, series)
        out.append((time.perf_counter() - start) * 1000)
    return out


if __name__ == "__main__":
    main()
