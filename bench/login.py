"""Benchmark: full brokered logins per second and code→token exchanges per second.

Run by hand (not a timed test), loopback only, bounded by count and time::

    .venv/bin/python bench/login.py                  # 1 and 2 bridge workers
    .venv/bin/python bench/login.py --workers 2 --seconds 15 --concurrency 24
    .venv/bin/python bench/login.py --workers 2 --topology single,sentinel --ephemeral-redis

What runs: :class:`federation.demo.stack.DemoStack` — a durable embedded Redis (AOF,
fsync always), the iAM Smart simulator with ``--auto-approve`` (the persona is named by its
simulator-only ``sim_persona`` parameter) and the bridge with 1 or 2 uvicorn workers, all on
this machine's cores together with this load generator (``bench/loadgen.py``: asyncio
HTTP/1.1 keep-alive, far cheaper than httpx).

One **full brokered login** = the browser's and the RP's requests: ``/authorize`` →
simulator ``getQR`` (auto-approved) → bridge callback (``getToken`` server to server,
profile request) → simulator approval page (result POSTed to the bridge, encrypted) →
bridge callback → [consent page → POST agree → continue] → code → ``POST /token``.
*First-time consent* is forced with ``prompt=consent`` (the page is shown, posted and a new
consent record stored durably, as for a first login); *remembered consent* reuses personas
whose consent is stored, so the page is skipped. A person logs in once at a time, so the
simulator gets ``--people`` test people (default 48): the 14 shipped personas, then copies
of them with their own id and HKID (valid check digit) — else at most 14 logins could be
in flight whatever ``--concurrency`` says.

**code→token**: codes are minted in this process through the OIDC seam
(:func:`federation.oidc.seam.issue_authorization_code`) against the same Redis before the
clock starts, so the timed load is only ``POST /token`` (client_secret_basic, PKCE, SM2SM3
ID token).

**baseline**: ``GET /healthz`` on the same bridge with the same load generator.

Printed per run: completed/errors, rate, p50/p99 latency (whole login, and per bridge
step), the bridge workers' CPU ms per operation (utime+stime deltas from /proc), the
simulator's and Redis's CPU, the load generator's own CPU, RSS per worker, and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import html
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import (
    Client,
    Stats,
    children,
    cmdline,
    cpu_seconds,
    percentile,
    report,
    rss_mb,
    self_cpu,
)
from bench.topologies import Topology, TopologyUnavailable, topology
from federation.demo.settings import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from federation.demo.stack import DemoStack, free_port_block
from mappings.validators import hkid_check_digit

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120"
SCOPE = "openid profile email phone address"
PERSONAS = Path(__file__).resolve().parents[1] / "connectors/iamsmart/simulator/personas.yaml"
BASIC = "Basic " + base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
FORM = "application/x-www-form-urlencoded"
RATE_LIMITS = {
    "IDBRIDGE_RATE_LIMIT_PER_IP": "10000000",
    "IDBRIDGE_RATE_LIMIT_PER_CLIENT": "10000000",
    "IDBRIDGE_JOURNEYS_PER_ADDRESS": "10000000",
}
"""All load comes from one loopback address: the limits stay on (their Redis cost is
measured) but so high that they never refuse."""
_ACTION = re.compile(r'<form method="post" action="([^"]+)" class="consent-form">')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_RELEASE = re.compile(r'name="release" value="([^"]+)"')
_BUTTON = re.compile(r'<a class="button" href="([^"]+)"')


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Browser:
    """One login as a desktop browser plus the RP's token request."""

    def __init__(self, http: Client, stack: DemoStack, stats: Stats) -> None:
        self.http, self.stats = http, stats
        self.issuer = stack.ports.issuer
        self.sim = stack.ports.simulator_url
        self.redirect_uri = stack.ports.service_url + "/callback"

    async def _bridge(
        self, step: str, method: str, url: str, cookies: dict[str, str], body: bytes = b""
    ) -> object:
        headers = {"User-Agent": UA, "Accept": "text/html"}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if body:
            headers["Content-Type"] = FORM
        start = time.perf_counter()
        response = await self.http.request(method, url, headers=headers, body=body)
        self.stats.steps[step].append(time.perf_counter() - start)
        for value in response.headers.get("set-cookie", []):
            name, _, rest = value.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
        return response

    async def login(self, persona: str, prompt: str | None) -> None:
        verifier, challenge = pkce()
        params = {
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": SCOPE,
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "ui_locales": "zh-HK",
        }
        if prompt:
            params["prompt"] = prompt
        cookies: dict[str, str] = {}
        url, method, body, step = (
            f"{self.issuer}/authorize?{urlencode(params)}",
            "GET",
            b"",
            "authorize",
        )
        for _ in range(16):
            if url.startswith(self.issuer):
                response = await self._bridge(step, method, url, cookies, body)
            else:
                response = await self.http.request("GET", url, headers={"User-Agent": UA})
            method, body = "GET", b""
            if response.status in (302, 303, 307):
                location = urljoin(url, response.header("location") or "")
                if location.startswith(self.redirect_uri):
                    query = parse_qs(urlsplit(location).query)
                    if "code" not in query:
                        raise RuntimeError("rp-error:" + query.get("error", ["?"])[0])
                    return await self.token(query["code"][0], verifier)
                if location.startswith(f"{self.sim}/api/v1/auth/getQR"):
                    location += "&sim_persona=" + persona
                url, step = location, self._step(location)
                continue
            if response.status != 200 or not url.startswith(self.issuer):
                raise RuntimeError(f"http-{response.status}:{urlsplit(url).path[:40]}")
            page = response.body.decode()
            action = _ACTION.search(page)
            if action:
                self.stats.consent_pages += 1
                form = [
                    ("csrf_token", html.unescape(_CSRF.search(page).group(1))),
                    ("decision", "agree"),
                    ("cross_boundary", "yes"),
                ]
                form += [("release", html.unescape(v)) for v in _RELEASE.findall(page)]
                url = urljoin(url, html.unescape(action.group(1)))
                method, body, step = "POST", urlencode(form).encode(), "consent-post"
                continue
            button = _BUTTON.search(page)
            if not button:
                raise RuntimeError("stuck:" + urlsplit(url).path[:40])
            url, step = urljoin(url, html.unescape(button.group(1))), "continue"
        raise RuntimeError("too-many-hops")

    @staticmethod
    def _step(url: str) -> str:
        path = urlsplit(url).path
        if "/upstream/" in path:
            return "attr-return" if "ticketID=" in url else "login-callback"
        return path.strip("/").split("/")[0] or "other"

    async def token(self, code: str, verifier: str) -> None:
        body = urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
            }
        ).encode()
        start = time.perf_counter()
        response = await self.http.request(
            "POST",
            f"{self.issuer}/token",
            headers={"Authorization": BASIC, "Content-Type": FORM},
            body=body,
        )
        self.stats.steps["token"].append(time.perf_counter() - start)
        if response.status != 200 or b'"id_token"' not in response.body:
            raise RuntimeError(
                f"token-{response.status}:{response.body[:80].decode(errors='replace')}"
            )


async def drive(
    op, count: int, seconds: float, concurrency: int, rate: float | None, stats: Stats
) -> float:
    """Run ``op(i)`` up to ``count`` times within ``seconds`` with ``concurrency`` users
    (closed loop), or paced at ``rate`` per second (open loop); return the wall time."""
    issued = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def user() -> None:
        nonlocal issued
        while issued < count and time.perf_counter() < deadline:
            index = issued
            issued += 1
            if rate:
                delay = start + index / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            began = time.perf_counter()
            try:
                await op(index)
            except Exception as exc:  # counted, never hidden
                stats.errors[str(exc)[:60] or type(exc).__name__] += 1
                continue
            stats.ops.append(time.perf_counter() - began)

    await asyncio.gather(*(user() for _ in range(concurrency)))
    return time.perf_counter() - start


def bridge_workers(stack: DemoStack) -> list[int]:
    root = stack.processes["bridge"].pid
    spawned = [p for p in children(root) if "spawn_main" in cmdline(p)]
    spawned = [p for p in spawned if "resource_tracker" not in cmdline(p)]
    return spawned or [root]


class Meter:
    """CPU deltas of the bridge workers, simulator, Redis and this process."""

    def __init__(self, stack: DemoStack, redis_pids: list[int] | None = None) -> None:
        assert stack.redis is not None and stack.redis.pid is not None
        self.pids = {
            "bridge": bridge_workers(stack),
            "simulator": [stack.processes["simulator"].pid],
            "redis": [stack.redis.pid, *(redis_pids or [])],
        }
        self.start = self._now()

    def _now(self) -> dict[str, float]:
        values = {name: sum(cpu_seconds(p) for p in pids) for name, pids in self.pids.items()}
        values["loadgen"] = self_cpu()
        return values

    def delta(self) -> dict[str, float]:
        end = self._now()
        return {name: end[name] - self.start[name] for name in end}

    def rss(self) -> list[float]:
        return [rss_mb(p) for p in self.pids["bridge"]]


def start_py_spy(
    directory: str | None, label: str, meter: Meter, seconds: float
) -> list[subprocess.Popen[bytes]]:
    """With ``--py-spy DIR``: sample the bridge workers and the simulator during a run
    (collapsed stacks, ``DIR/<run>-<process>-<pid>.txt``; py-spy pauses them to sample)."""
    if not directory:
        return []
    spy = Path(sys.executable).with_name("py-spy")
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    run = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:40]
    spies = []
    for name in ("bridge", "simulator"):
        for pid in meter.pids[name]:
            argv = [str(spy), "record", "--pid", str(pid), "--rate", "250", "--format", "raw"]
            argv += ["--duration", str(max(1, int(seconds) - 1))]
            argv += ["--output", str(out / f"{run}-{name}-{pid}.txt")]
            spies.append(
                subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
    return spies


async def mint_codes(stack: DemoStack, count: int, url: str | None = None) -> tuple[list[str], str]:
    """``count`` authorization codes through the OIDC seam, and their PKCE verifier."""
    from federation.oidc.clients import load_static_clients
    from federation.oidc.models import AuthorizationRequest, Grant
    from federation.oidc.seam import issue_authorization_code
    from federation.storage.client import connect

    assert stack.redis is not None
    client = load_static_clients(stack.data_dir / "config" / "clients.yaml")[DEMO_CLIENT_ID]
    verifier, challenge = pkce()
    authz = AuthorizationRequest(
        client=client,
        redirect_uri=client.redirect_uris[0],
        scopes=("openid", "profile"),
        state="s",
        nonce="n",
        code_challenge=challenge,
        issuer=stack.ports.issuer,
    )
    grant = Grant(
        subject="bench-pairwise-subject",
        scopes=("openid", "profile"),
        auth_time=int(time.time()),
        bridge_subject="bench-person",
        id_token_claims={"cn": "陈大文", "sex": "1"},
        userinfo_claims={"cn": "陈大文", "sex": "1"},
        acr="iamsmart",
    )
    redis = connect(url or stack.redis.url)
    codes: list[str] = []
    for first in range(0, count, 50):
        urls = await asyncio.gather(
            *(
                issue_authorization_code(redis, authz, grant)
                for _ in range(first, min(count, first + 50))
            )
        )
        codes += [parse_qs(urlsplit(u).query)["code"][0] for u in urls]
    await redis.aclose()
    return codes, verifier


def write_people(count: int, directory: Path) -> Path:
    """A personas file of ``count`` test people: the shipped ones, then copies with a
    suffixed id and a different HKID (same letters, digits + n, check digit recomputed)."""
    shipped = yaml.safe_load(PERSONAS.read_text("utf-8"))["personas"]
    people = []
    for n in range(count):
        person = yaml.safe_load(yaml.safe_dump(shipped[n % len(shipped)]))  # a deep copy
        copy = n // len(shipped)
        if copy:
            person["id"] = f"{person['id']}-{copy}"
            person["label"] = f"{person['label']} (copy {copy})"
            id_no = person["profile"]["idNo"]
            letters, digits = id_no["Identification"][:-6], id_no["Identification"][-6:]
            new = letters + f"{(int(digits) + 7919 * copy) % 1_000_000:06d}"
            id_no["Identification"], id_no["CheckDigit"] = new, hkid_check_digit(new)
        people.append(person)
    path = directory / "bench-personas.yaml"
    path.write_text(yaml.safe_dump({"personas": people}, allow_unicode=True), "utf-8")
    return path


async def bench_stack(
    stack: DemoStack, args: argparse.Namespace, where: Topology | None = None
) -> dict[str, tuple[float, float]]:
    """Run the chosen runs; ``{label: (operations/s, bridge CPU ms per operation)}``."""
    http = Client()
    browser_stats = Stats()
    browser = Browser(http, stack, browser_stats)
    assert stack.personas_file is not None
    names = [p["id"] for p in yaml.safe_load(stack.personas_file.read_text("utf-8"))["personas"]]
    personas = []
    for name in names:  # warm-up, and a stored consent for every persona that can log in
        try:
            await browser.login(name, None)
            personas.append(name)
        except Exception as exc:
            print(f"  (persona {name} skipped: {exc})")
    seconds, conc = args.seconds, args.concurrency
    results: dict[str, float] = {}
    bridge_ms: dict[str, float] = {}  # bridge CPU ms per operation, per run
    step_p99: dict[str, dict[str, float]] = {}

    async def measure(
        label: str,
        op,
        count: int,
        rate: float | None = None,
        steps: bool = True,
        concurrency: int = conc,
    ) -> float:
        stats = Stats()
        browser.stats = stats
        meter = Meter(stack, where.pids if where else None)
        spies = start_py_spy(args.py_spy, label, meter, seconds)
        wall = await drive(op, count, seconds, concurrency, rate, stats)
        for spy in spies:
            spy.wait()
        cpu = meter.delta()
        results[label] = report(label, stats, wall, cpu, meter.rss(), steps)
        if stats.ops:
            bridge_ms[label] = cpu["bridge"] * 1000 / len(stats.ops)
        step_p99[label] = {k: percentile(v, 99) * 1000 for k, v in stats.steps.items()}
        return results[label]

    async def healthz(_: int) -> None:
        response = await http.request("GET", f"{stack.ports.issuer}/healthz")
        if response.status != 200:
            raise RuntimeError(f"healthz-{response.status}")

    runs = set(args.runs.split(","))
    if "baseline" in runs:
        await measure("baseline GET /healthz", healthz, 10**9, steps=False, concurrency=32)
    if "tokens" in runs:
        codes, verifier = await mint_codes(stack, args.tokens, where.url if where else None)

        async def exchange(i: int) -> None:
            await browser.token(codes[i], verifier)

        await measure("code→token exchanges", exchange, len(codes), concurrency=32)

    free: asyncio.Queue[str] = asyncio.Queue()
    for name in personas:
        free.put_nowait(name)

    async def as_someone(prompt: str | None) -> None:
        # one login per person at a time: a person's new consent replaces the one a
        # concurrent login of the same person is about to use (its code then fails)
        name = await free.get()
        try:
            await browser.login(name, prompt)
        finally:
            free.put_nowait(name)

    async def first_time(i: int) -> None:
        await as_someone("consent")

    async def remembered(i: int) -> None:
        before = browser.stats.consent_pages
        await as_someone(None)
        if browser.stats.consent_pages != before:
            raise RuntimeError("consent page shown for a remembered consent")

    if "first" in runs:
        await measure("full logins, first-time consent (prompt=consent)", first_time, args.logins)
    if "remembered" in runs or "paced" in runs:
        best = await measure("full logins, remembered consent", remembered, args.logins)
    if "paced" in runs:
        await measure(
            f"full logins, remembered consent, paced at half ({best / 2:.0f}/s)",
            remembered,
            args.logins,
            rate=best / 2,
        )
    figures = {label: (rate, bridge_ms.get(label, 0.0)) for label, rate in results.items()}
    base = results.get("baseline GET /healthz")
    if not base:
        http.close()
        return figures
    print(
        "  ratios to the /healthz baseline: "
        + ", ".join(
            f"{label.split(',')[0] if 'paced' not in label else 'paced'} {rate / base:.3f}"
            for label, rate in results.items()
            if rate and "baseline" not in label
        )
    )
    summary(results, bridge_ms, step_p99)
    http.close()
    return figures


def summary(
    results: dict[str, float], bridge_ms: dict[str, float], step_p99: dict[str, dict[str, float]]
) -> None:
    """The issue-12 figures of this one run: ratios to ``/healthz`` measured alongside."""
    base_label = "baseline GET /healthz"
    base_rate, base_cpu = results.get(base_label), bridge_ms.get(base_label)
    print("  summary (one run, ratios to /healthz of the same run):")
    for label in results:
        remembered = label.startswith("full logins, remembered consent") and "paced" not in label
        if remembered and base_cpu and label in bridge_ms:
            print(
                f"    bridge CPU per remembered login {bridge_ms[label]:.2f} ms = "
                f"{bridge_ms[label] / base_cpu:.0f}x /healthz CPU ({base_cpu:.3f} ms; "
                "target <= 40x)"
            )
        if label.startswith("code→token") and base_rate:
            print(
                f"    code→token {results[label]:,.0f}/s = {results[label] / base_rate:.3f}x "
                f"/healthz/s ({base_rate:,.0f}/s; target >= 0.25)"
            )
        if "paced" in label and step_p99.get(label):
            worst = max(step_p99[label].values())
            print(
                "    bridge steps p99 at half load: "
                + "; ".join(f"{k} {v:.1f} ms" for k, v in step_p99[label].items())
                + f" (worst {worst:.1f} ms; target < 50 ms)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2", help="bridge worker counts, e.g. 1,2")
    parser.add_argument("--seconds", type=float, default=10.0, help="time bound per run")
    parser.add_argument("--concurrency", type=int, default=16, help="virtual users for logins")
    parser.add_argument(
        "--people", type=int, default=48, help="distinct test people (one login each at a time)"
    )
    parser.add_argument("--logins", type=int, default=3000, help="count bound per login run")
    parser.add_argument("--tokens", type=int, default=12000, help="codes minted per token run")
    parser.add_argument(
        "--runs",
        default="baseline,tokens,first,remembered,paced",
        help="which runs, comma-separated (paced implies remembered)",
    )
    parser.add_argument(
        "--sim-reorder-ms",
        type=int,
        default=0,
        help="the simulator's --timestamp-reorder-ms (0 = strict, the published rule)",
    )
    parser.add_argument(
        "--topology",
        default="single",
        help="Redis topologies, comma-separated: single, sentinel, cluster (bench/topologies.py)",
    )
    parser.add_argument(
        "--ephemeral-redis",
        action="store_true",
        help="also run each topology with a second, non-durable Redis for journeys, "
        "counters and caches (IDBRIDGE_EPHEMERAL_REDIS_URL)",
    )
    parser.add_argument(
        "--py-spy",
        metavar="DIR",
        help="sample the bridge workers and the simulator with py-spy during each run",
    )
    args = parser.parse_args()
    # the simulator child inherits this (idbridge iamsmart-sim --timestamp-reorder-ms)
    os.environ["IDBRIDGE_SIM_TIMESTAMP_REORDER_MS"] = str(args.sim_reorder_ms)
    order = (
        "strict timestamp order (published rule)"
        if not args.sim_reorder_ms
        else f"--timestamp-reorder-ms {args.sim_reorder_ms} (load-test window)"
    )
    rows: list[tuple[str, int, str, float, float]] = []
    variants = [False, True] if args.ephemeral_redis else [False]
    for workers in [int(w) for w in args.workers.split(",")]:
        for name in args.topology.split(","):
            for ephemeral in variants:
                where_label = name + (" + ephemeral Redis" if ephemeral else "")
                print(
                    f"\n== {where_label}: bridge with {workers} worker(s), durable Redis (AOF "
                    f"fsync always), simulator --auto-approve with {order}, rate limits on but "
                    f"never reached, load generator: asyncio HTTP/1.1, {args.concurrency} "
                    f"users, {args.people} people =="
                )
                try:
                    with topology(name, ephemeral) as where:
                        people = write_people(
                            args.people, Path(tempfile.mkdtemp(prefix="idbridge-bench-"))
                        )
                        with DemoStack(
                            port=free_port_block(),
                            bridge_workers=workers,
                            auto_approve=True,
                            with_service=False,
                            log_level="ERROR",
                            extra_env={**RATE_LIMITS, **where.env},
                            personas_file=people,
                        ) as stack:
                            runs = asyncio.run(bench_stack(stack, args, where))
                except TopologyUnavailable as exc:
                    print(f"  skipped: {exc}")
                    continue
                for label, (rate, cpu) in runs.items():
                    rows.append((where_label, workers, label, rate, cpu))
    print("\n== summary: logins/s and bridge CPU per login ==")
    for where_label, workers, label, rate, cpu in rows:
        print(
            f"  {where_label:<28} {workers} worker(s)  {label:<52} {rate:>8,.0f}/s  {cpu:6.2f} ms"
        )


if __name__ == "__main__":
    main()
