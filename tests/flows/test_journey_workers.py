"""Two real uvicorn processes (``federation.app:create_app``) behind one Redis: every step
of a login lands on the other process than the step before — authorize, the iAM Smart
callbacks, the consent page, its form, the code, the token and /userinfo — and it works,
because all journey state lives in Redis and keys come from the shared data directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from connectors.iamsmart.simulator.app import create_app as create_simulator
from connectors.iamsmart.simulator.config import SimulatorSettings
from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import (
    DESKTOP,
    RP_REDIRECT,
    RelyingParty,
    ServerThread,
    authorize_url,
    bridge_env,
    form_fields,
    query,
    rp_client,
    secret_of,
    write_sim_clients,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workers(redis_server: RedisServer, tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    ports = [free_port(), free_port()]
    sim_port = free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    callback = f"http://127.0.0.1:{ports[0]}/upstream/iamsmart/callback"
    simulator = create_simulator(
        write_sim_clients(tmp_path, [callback]),
        settings=SimulatorSettings(conformance=True),  # the published API (issue 23)
        public_url=sim_url,
    )
    rp = RelyingParty(url="http://127.0.0.1:9")
    env = {**os.environ, **bridge_env(tmp_path, redis_server.url, ports[0], sim_url, rp)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "federation.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        with ServerThread(simulator, sim_port, lifespan=True):
            deadline = time.monotonic() + 60
            for url in urls:
                while True:
                    try:
                        if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    assert time.monotonic() < deadline, "worker did not start"
                    time.sleep(0.1)
            yield urls, sim_url
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)


async def test_login_steps_alternate_between_two_processes(
    workers: tuple[list[str], str],
) -> None:
    (a, b), sim_url = workers
    turn = [0]

    def next_worker(url: str) -> str:
        """Send each bridge-bound request to the other process than the last one."""
        turn[0] += 1
        target = (a, b)[turn[0] % 2]
        return re.sub(r"^http://127\.0\.0\.1:\d+", target, url) if url.startswith((a, b)) else url

    browser = httpx.AsyncClient(headers={"User-Agent": DESKTOP}, timeout=20)
    seen: set[str] = set()

    async def go(url: str, **kwargs: object) -> httpx.Response:
        while True:
            url = next_worker(url)
            seen.update(u for u in (a, b) if url.startswith(u))
            method = "POST" if "data" in kwargs else "GET"
            response = await browser.request(method, url, **kwargs)  # type: ignore[arg-type]
            kwargs = {}
            if not response.is_redirect:
                return response
            url = urljoin(str(response.url), response.headers["location"])
            if url.startswith(RP_REDIRECT):
                return response

    class Issuer:
        url = a

    client = rp_client(Issuer, "rp-sm2")  # type: ignore[arg-type]
    auth_url, state, _, verifier = await authorize_url(Issuer, client)  # type: ignore[arg-type]
    try:
        page = await go(auth_url)
        login = re.search(r'action="(/sim/app/login/[^"]+)"', page.text)
        assert login is not None
        page = await go(
            sim_url + login.group(1).replace("&amp;", "&"),
            data={
                "persona": "tsang-chi-chuen",
                "action": "approve",
                "csrf": form_fields(page.text)["csrf"],
            },
        )
        while "/sim/app/requests/" in str(page.url):
            fields = re.findall(r'name="field" value="([A-Za-z]+)" checked', page.text)
            form = {"action": "approve", "field": fields, "csrf": form_fields(page.text)["csrf"]}
            page = await go(str(page.url), data=form)
            if "/sim/app/requests/" in str(page.url) and 'role="status"' in page.text:
                page = await go(a + "/journey/continue")  # approved "on the phone"
        assert page.status_code == 200 and "cross_boundary" in page.text
        token = form_fields(page.text)["csrf_token"]
        done = await go(
            a + "/journey/consent",
            data={"csrf_token": token, "decision": "agree", "cross_boundary": "yes"},
        )
        assert done.status_code == 200
        answer = query((await go(a + "/journey/finish")).headers["location"])
    finally:
        await browser.aclose()
    assert seen == {a, b} and answer["state"] == state
    redeemed = httpx.post(
        b + "/token",
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": RP_REDIRECT,
            "code_verifier": verifier,
        },
        auth=("rp-sm2", secret_of("rp-sm2")),
    ).json()
    info = httpx.get(
        a + "/userinfo", headers={"Authorization": f"Bearer {redeemed['access_token']}"}
    )
    assert info.status_code == 200 and info.json()["sub"]
    assert httpx.get(a + "/jwks").json() == httpx.get(b + "/jwks").json()
