"""The whole bridge over real HTTP for the journey flow tests: a real redis-server, the
iAM Smart simulator and the bridge (``federation.app.create_app``) each served by uvicorn
on loopback, a small relying-party app that records back-channel logout tokens, a
"browser" (httpx with a cookie jar, redirects followed by hand) and authlib's
``AsyncOAuth2Client`` as the relying party."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
import uvicorn
import yaml
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import FastAPI, Request
from fastapi.responses import Response

from connectors.iamsmart.simulator.app import create_app as create_simulator
from connectors.iamsmart.simulator.config import SimulatorSettings
from federation.app import create_app
from federation.crypto.jose import decode_jwt
from federation.crypto.sm3 import hmac_sm3
from federation.settings import Settings
from federation.storage.runtime import RedisServer, free_port

REPO = Path(__file__).resolve().parents[3]
DEMO_KEYS = REPO / "connectors" / "iamsmart" / "simulator" / "demo"
SIM_CLIENT_ID = "idbridge-flow-tests"
SIM_SECRET = "flow-tests-secret-0123456789abcdef0123456789abcd"
SERVER_KEY = "22" * 32
PII_KEY = "33" * 16
SALT = "flow-tests-pairwise-salt-0123456789"
RP_REDIRECT = "http://127.0.0.1:9/cb"
RP_BYE = "http://127.0.0.1:9/bye"
"""Every test client's registered ``post_logout_redirect_uri``."""
INITIAL_ACCESS_TOKEN = "flow-tests-initial-access-token-0123456789"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"

CLIENTS: dict[str, dict[str, Any]] = {
    "rp-sm2": {"alg": "SM2SM3", "profile": "oidc-standard", "auth": "client_secret_basic"},
    "rp-es256": {"alg": "ES256", "profile": "oidc-standard", "auth": "client_secret_basic"},
    "rp-rs256": {"alg": "RS256", "profile": "oidc-standard", "auth": "client_secret_post"},
    "rp-gd": {"alg": "SM2SM3", "profile": "guangdong-tyrz", "auth": "client_secret_basic"},
}


def secret_of(client_id: str) -> str:
    return f"{client_id}-secret-0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass
class RelyingParty:
    """The RP's own endpoints: it records back-channel logout tokens."""

    url: str = ""
    logout_tokens: list[str] = field(default_factory=list)


def rp_app(rp: RelyingParty) -> FastAPI:
    app = FastAPI()

    @app.post("/backchannel")
    async def backchannel(request: Request) -> Response:
        form = await request.form()
        rp.logout_tokens.append(str(form.get("logout_token", "")))
        return Response(status_code=200)

    return app


def write_clients(folder: Path, rp: RelyingParty) -> Path:
    key = bytes.fromhex(SERVER_KEY)
    entries = []
    for client_id, spec in CLIENTS.items():
        entries.append(
            {
                "client_id": client_id,
                "client_name": {
                    "zh-HK": f"廣東測試服務 {client_id}",
                    "zh-CN": f"广东测试服务 {client_id}",
                    "en": f"Guangdong test service {client_id}",
                },
                "redirect_uris": [RP_REDIRECT],
                "post_logout_redirect_uris": [RP_BYE],
                "token_endpoint_auth_method": spec["auth"],
                "client_secret_digest": hmac_sm3(key, secret_of(client_id).encode()).hex(),
                "id_token_signed_response_alg": spec["alg"],
                "mapping_profile": spec["profile"],
                "purposes": {"zh-HK": "辦理業務", "zh-CN": "办理业务", "en": "Your application"},
                "processing_method": {
                    "zh-HK": "電子處理",
                    "zh-CN": "电子处理",
                    "en": "Electronic processing",
                },
                "retention": {"zh-HK": "保存兩年", "zh-CN": "保存两年", "en": "Kept for two years"},
                "rights_procedure": {
                    "zh-HK": "電郵至個人信息專員",
                    "zh-CN": "发送电子邮件至个人信息专员",
                    "en": "Email the personal information officer",
                },
                "contacts": [f"dpo@{client_id}.example.cn"],
                "contact_address": {
                    "zh-HK": "廣州市示範路1號",
                    "zh-CN": "广州市示范路1号",
                    "en": "1 Example Road, Guangzhou",
                },
                "contact_phone": "+86 20 0000 0000",
                "backchannel_logout_uri": f"{rp.url}/backchannel",
                "consent_remember_seconds": 86400 * 30,
            }
        )
    path = folder / "clients.yaml"
    path.write_text(yaml.safe_dump({"clients": entries}, allow_unicode=True), encoding="utf-8")
    return path


def write_sim_clients(folder: Path, callbacks: list[str]) -> Path:
    path = folder / "sim-clients.yaml"
    entry = {
        "client_id": SIM_CLIENT_ID,
        "client_secret": SIM_SECRET,
        "redirect_uris": callbacks,
        "allowed_scopes": ["eidapi_auth", "eidapi_profiles", "eidapi_formFilling"],
        "encipherment_key_file": str(DEMO_KEYS / "DEMO-ONLY-encipherment-pub.pem"),
    }
    path.write_text(yaml.safe_dump({"clients": [entry]}), encoding="utf-8")
    return path


def write_connectors(folder: Path, sim_url: str, callback: str) -> Path:
    path = folder / "connectors.yaml"
    entry = {
        "type": "iamsmart",
        "client_id": SIM_CLIENT_ID,
        "client_secret": SIM_SECRET,
        "api_base_url": sim_url,
        "redirect_uri": callback,
        "encipherment_key_file": str(DEMO_KEYS / "DEMO-ONLY-encipherment-key.pem"),
        "approval_url_template": sim_url + "/sim/app/requests/{ticket_id}?lang={lang}",
        "retry_backoff_seconds": 0.01,
    }
    path.write_text(yaml.safe_dump({"connectors": [entry]}), encoding="utf-8")
    return path


@dataclass
class Bridge:
    """What the flow tests reach: URLs, the settings, the RP recorder, Redis."""

    url: str
    sim_url: str
    settings: Settings
    rp: RelyingParty
    redis_url: str
    env: dict[str, str]
    jwks: dict[str, Any] = field(default_factory=dict)


def bridge_env(folder: Path, redis_url: str, port: int, sim_url: str, rp: RelyingParty) -> dict:
    issuer = f"http://127.0.0.1:{port}"
    return {
        "IDBRIDGE_ISSUER": issuer,
        "IDBRIDGE_REDIS_URL": redis_url,
        "IDBRIDGE_DATA_DIR": str(folder / "data"),
        "IDBRIDGE_CLIENTS_FILE": str(write_clients(folder, rp)),
        "IDBRIDGE_CLIENT_SECRET_KEY": SERVER_KEY,
        "IDBRIDGE_CONNECTORS_FILE": str(
            write_connectors(folder, sim_url, f"{issuer}/upstream/iamsmart/callback")
        ),
        "IDBRIDGE_PII_KEY": PII_KEY,
        "IDBRIDGE_PAIRWISE_SALT": SALT,
        "IDBRIDGE_SUPPORT_EMAIL": "support@idbridge.test",
        "IDBRIDGE_OPERATOR_FILE": str(OPERATOR_FILE),
        "IDBRIDGE_LOG_LEVEL": "WARNING",
        "IDBRIDGE_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS": "true",  # the RP listens on 127.0.0.1
        "IDBRIDGE_INITIAL_ACCESS_TOKEN": INITIAL_ACCESS_TOKEN,  # dynamic registration on
        "IDBRIDGE_INITIAL_ACCESS_TOKEN_QUOTA": "1000000",  # the whole session registers
        "IDBRIDGE_REGISTRATION_PER_HOUR": "1000000",  # ... from 127.0.0.1
        "IDBRIDGE_JOURNEYS_PER_ADDRESS": "1000000",  # every test's browser is 127.0.0.1
    }


@pytest.fixture(scope="session")
def bridge(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    """Simulator, RP and bridge on loopback for the whole session."""
    folder = tmp_path_factory.mktemp("bridge")
    port, sim_port = free_port(), free_port()
    rp = RelyingParty()
    sim_url = f"http://127.0.0.1:{sim_port}"
    callback = f"http://127.0.0.1:{port}/upstream/iamsmart/callback"
    simulator = create_simulator(
        write_sim_clients(folder, [callback]),
        settings=SimulatorSettings(conformance=True),  # the published API (issue 23)
        public_url=sim_url,
    )
    env = bridge_env(folder, redis_server.url, port, sim_url, rp)
    with ServerThread(rp_app(rp)) as rp_server:
        rp.url = rp_server.url
        env = bridge_env(folder, redis_server.url, port, sim_url, rp)
        app, settings = build_with_env(env)
        with (
            ServerThread(simulator, sim_port, lifespan=True),
            ServerThread(app, port, lifespan=True) as srv,
        ):
            jwks = httpx.get(f"{srv.url}/jwks").json()
            jwks["keys"] += httpx.get(f"{srv.url}/jwks/sm2").json()["keys"]
            yield Bridge(srv.url, sim_url, settings, rp, redis_server.url, env, jwks)


OPERATOR_FILE = Path(__file__).parents[3] / "deploy" / "operator.yaml.example"
"""The bridge operator the journey tests name (the commented example, kept valid so)."""


def build_with_env(env: dict[str, str]) -> tuple[FastAPI, Settings]:
    """``create_app`` configured from ``env`` as a worker would be (settings and the OIDC
    config are read from the environment at build time); the environment is restored
    afterwards so that no other test sees it."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        settings = Settings()
        return create_app(settings), settings
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, digest.rstrip(b"=").decode()


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def rp_client(bridge: Bridge, client_id: str, scope: str = "openid profile email phone") -> Any:
    """authlib's real OAuth2 client as the relying party."""
    return AsyncOAuth2Client(
        client_id,
        client_secret=secret_of(client_id),
        redirect_uri=RP_REDIRECT,
        scope=scope,
        code_challenge_method="S256",
        token_endpoint_auth_method=CLIENTS[client_id]["auth"],
    )


def verify_id_token(bridge: Bridge, token: str, client_id: str) -> dict[str, Any]:
    """Verify an ID token with the bridge's published JWKS and the client's alg only."""
    header, claims = decode_jwt(token, bridge.jwks, algorithms=[CLIENTS[client_id]["alg"]])
    assert header["alg"] == CLIENTS[client_id]["alg"]
    assert claims["iss"] == bridge.url and claims["aud"] == client_id
    return claims


class Person:
    """A browser: a cookie jar, redirects followed by hand, simulator forms posted."""

    def __init__(self, bridge: Bridge, persona: str = "chan-tai-man") -> None:
        self.bridge = bridge
        self.persona = persona
        self.http = httpx.AsyncClient(headers={"User-Agent": DESKTOP}, timeout=20)
        self.page: httpx.Response | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    async def go(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET/POST ``url`` and follow redirects until a page or the RP's redirect URI."""
        method = "POST" if "data" in kwargs else "GET"
        response = await self.http.request(method, url, **kwargs)
        while response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(RP_REDIRECT):
                self.page = response
                return response
            response = await self.http.get(target)
        self.page = response
        return response

    async def sign_in(self, authorize_url: str, action: str = "approve") -> httpx.Response:
        """From the RP's authorization URL through iAM Smart (login and every attribute
        request approved in full) to the bridge's next page (or the RP)."""
        page = await self.go(authorize_url)
        login = re.search(r'action="(/sim/app/login/[^"]+)"', page.text)
        assert login is not None, page.text[:500]
        form = {"persona": self.persona, "action": action, "csrf": form_fields(page.text)["csrf"]}
        page = await self.go(self.bridge.sim_url + login.group(1).replace("&amp;", "&"), data=form)
        return await self.approve_requests(page)

    async def approve_requests(self, page: httpx.Response) -> httpx.Response:
        while page.status_code == 200 and "/sim/app/requests/" in str(page.url):
            fields = re.findall(r'name="field" value="([A-Za-z]+)" checked', page.text)
            form = {"action": "approve", "field": fields, "csrf": form_fields(page.text)["csrf"]}
            page = await self.go(str(page.url), data=form)
            if "/sim/app/requests/" in str(page.url) and 'role="status"' in page.text:
                # conformance mode: approved "on the phone"; back to the waiting browser
                page = await self.go(self.bridge.url + "/journey/continue")
        return page


def form_fields(html: str) -> dict[str, str]:
    """Hidden inputs of a page (the CSRF token)."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def rp_response(response: httpx.Response) -> dict[str, str]:
    """The authorization response the RP got (query of the redirect to its URI)."""
    location = response.headers["location"]
    assert location.startswith(RP_REDIRECT), location
    return query(location)


async def consent(
    person: Person,
    page: httpx.Response,
    *,
    cross_boundary: bool = True,
    keep: list[str] | None = None,
    supplied: dict[str, str] | None = None,
    decision: str = "agree",
    sensitive: bool = True,
) -> httpx.Response:
    """Post the consent form shown on ``page`` (the sensitive-information tick too, when
    the page has one and ``sensitive``)."""
    data: dict[str, Any] = {
        "csrf_token": form_fields(page.text)["csrf_token"],
        "decision": decision,
    }
    if cross_boundary:
        data["cross_boundary"] = "yes"
    if sensitive and 'name="sensitive_consent"' in page.text:
        data["sensitive_consent"] = "yes"
    if keep is None:
        keep = re.findall(r'name="release" value="([^"]+)"', page.text)
    data["release"] = keep
    for name, value in (supplied or {}).items():
        data[f"supplied_{name}"] = value
    return await person.go(person.bridge.url + "/journey/consent", data=data)


async def finish(person: Person, done: httpx.Response) -> dict[str, str]:
    """From the done page, continue to the RP; the authorization response."""
    assert done.status_code == 200 and "/journey/finish" in done.text, done.text[:300]
    return rp_response(await person.go(person.bridge.url + "/journey/finish"))


async def authorize_url(bridge: Bridge, client: Any, **extra: str) -> tuple[str, str, str, str]:
    """(url, state, nonce, verifier) for a fresh authorization request."""
    verifier, _ = pkce()
    state, nonce = secrets.token_urlsafe(8), secrets.token_urlsafe(8)
    url, _ = client.create_authorization_url(
        bridge.url + "/authorize", state=state, nonce=nonce, code_verifier=verifier, **extra
    )
    return url, state, nonce, verifier


async def exchange(bridge: Bridge, client: Any, params: dict[str, str], verifier: str) -> dict:
    """The RP redeems the code (authlib)."""
    response = RP_REDIRECT + "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return dict(
        await client.fetch_token(
            bridge.url + "/token", authorization_response=response, code_verifier=verifier
        )
    )


def audit_actions(entries: list[tuple[str, dict[str, str]]]) -> list[str]:
    """The ``action`` of each audit stream entry (``XRANGE idb:audit``)."""
    return [fields.get("action", "") for _, fields in entries]


class ServerThread:
    """uvicorn serving an ASGI app on a loopback port in a thread (lifespan optional)."""

    def __init__(self, app: Any, port: int | None = None, *, lifespan: bool = False) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on" if lifespan else "off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
