"""Stock relying-party libraries against the whole bridge (issue 13): the journey harness's
bridge over real HTTP (real Redis, the iAM Smart simulator, ``create_app``) with dynamic
registration on, and a person whose browser follows the login to any RP.

Nothing here patches a library: each test drives the library's public API as an integrator
would, and only the person's side (the simulator's "app", the consent page) is the test's.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from connectors.iamsmart.simulator.app import create_app as create_simulator
from connectors.iamsmart.simulator.config import SimulatorSettings
from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import (
    RP_BYE,
    RP_REDIRECT,
    Bridge,
    Person,
    RelyingParty,
    ServerThread,
    bridge_env,
    build_with_env,
    consent,
    rp_app,
    secret_of,
    write_sim_clients,
)

NODE_DIR = Path(__file__).with_name("node")
INITIAL_ACCESS_TOKEN = "interop-initial-access-token-0123456789abcdef"
TEXTS = {
    # RFC 7591 §2.2 language-tagged members, as any generic client can send them
    "client_name": "Interop test service",
    "client_name#zh-HK": "互通測試服務",
    "client_name#zh-CN": "互通测试服务",
    "purposes#zh-HK": "辦理網上申請",
    "purposes#zh-CN": "办理网上申请",
    "purposes#en": "Handling your online application",
    "processing_method#zh-HK": "電子處理",
    "processing_method#zh-CN": "电子处理",
    "processing_method#en": "Electronic processing",
    "retention#zh-HK": "保存兩年，其後刪除",
    "retention#zh-CN": "保存两年，其后删除",
    "retention#en": "Kept for two years, then deleted",
    "rights_procedure#zh-HK": "電郵至個人信息專員，註明同意編號",
    "rights_procedure#zh-CN": "发送电子邮件至个人信息专员，注明同意编号",
    "rights_procedure#en": "Email the personal information officer quoting your consent reference",
    "contacts": ["dpo@rp.example.cn"],
}

__all__ = ["RP_BYE", "RP_REDIRECT", "Bridge", "secret_of"]

_REGISTERED = itertools.count(1)


def texts(label: str) -> dict[str, str]:
    """:data:`TEXTS` with the names marked ``label``: no two clients may have confusable
    names (``federation.oidc.client_names``), and the bridge lives for the whole session."""
    return {
        **TEXTS,
        **{k: f"{v} {label}" for k, v in TEXTS.items() if k.startswith("client_name")},
    }


@pytest.fixture(scope="session")
def interop_bridge(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bridge]:
    """Simulator, back-channel recorder and bridge on loopback, registration enabled."""
    folder = tmp_path_factory.mktemp("interop-bridge")
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
        env["IDBRIDGE_INITIAL_ACCESS_TOKEN"] = INITIAL_ACCESS_TOKEN
        app, settings = build_with_env(env)
        with (
            ServerThread(simulator, sim_port, lifespan=True),
            ServerThread(app, port, lifespan=True) as srv,
        ):
            yield Bridge(srv.url, sim_url, settings, rp, redis_server.url, env)


def register(bridge: Bridge, **metadata: Any) -> dict[str, Any]:
    """Register a client over plain HTTP (RFC 7591), the language-tagged texts included."""
    body = {**texts(f"#{next(_REGISTERED)}"), **metadata}
    response = httpx.post(
        bridge.url + "/register",
        json=body,
        headers={"Authorization": f"Bearer {INITIAL_ACCESS_TOKEN}"},
        timeout=20,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def log_in(person: Person, start_url: str, stop_at: str = RP_REDIRECT) -> str:
    """The person, from the RP's first URL (its login route or the authorization URL),
    through iAM Smart (approve everything) and the consent page (agree, cross-boundary
    box ticked), back to the RP. Returns the URL the bridge sent the browser to
    (``stop_at`` …) without following it, or the RP's page URL if ``stop_at`` is empty."""
    page = await person.sign_in(start_url)
    if page.is_redirect:  # a remembered consent: straight back to the RP's redirect URI
        return urljoin(str(page.url), page.headers["location"])
    if str(page.url).endswith("/journey/consent"):
        page = await consent(person, page)
    if "/journey/finish" not in page.text:  # already followed to the RP's own page
        return str(page.url)
    response = await person.http.get(person.bridge.url + "/journey/finish")
    while response.is_redirect:
        target = urljoin(str(response.url), response.headers["location"])
        if stop_at and target.startswith(stop_at):
            return target
        response = await person.http.get(target)
    person.page = response
    return str(response.url)


def node(script: str, *args: Any, timeout: int = 60) -> dict[str, Any]:
    """Run one of the Node scripts in tests/interop/node (installed by
    scripts/node-deps.sh: ``npm ci``) and parse the JSON it prints."""
    binary = shutil.which("node")
    assert binary, "node is needed for the stock npm relying parties (apt-get install nodejs)"
    assert (NODE_DIR / "node_modules" / "openid-client").is_dir(), "run scripts/node-deps.sh"
    argv = [binary, script, *(a if isinstance(a, str) else json.dumps(a) for a in args)]
    proc = subprocess.run(
        argv, cwd=NODE_DIR, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)
