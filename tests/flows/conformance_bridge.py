"""A second whole bridge for the issue 19 conformance flows: the journey harness's bridge
(simulator, RP recorder, ``create_app``, real Redis) with dynamic registration open
(``IDBRIDGE_INITIAL_ACCESS_TOKEN``), public subjects allowed, and client documents
(``jwks_uri``, ``request_uri``) fetchable from loopback, plus a loopback host where test
RPs publish their key sets and request objects."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from connectors.iamsmart.simulator.app import create_app as create_simulator
from connectors.iamsmart.simulator.config import SimulatorSettings
from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import (
    RP_REDIRECT,
    Bridge,
    RelyingParty,
    ServerThread,
    bridge_env,
    build_with_env,
    rp_app,
    write_sim_clients,
)

INITIAL_TOKEN = "conformance-initial-access-token-0123456789"
METADATA: dict[str, Any] = {
    "client_name": "Conformance RP",
    "redirect_uris": [RP_REDIRECT],
    "scope": "openid profile email phone",
    "purposes": {"zh-HK": "辦理業務", "zh-CN": "办理业务", "en": "Handling"},
    "processing_method": {"zh-HK": "電子處理", "zh-CN": "电子处理", "en": "Electronic"},
    "retention": {"zh-HK": "兩年", "zh-CN": "两年", "en": "Two years"},
    "rights_procedure": {"zh-HK": "電郵", "zh-CN": "电邮", "en": "Email us"},
    "contacts": ["dpo@conformance.example.cn"],
}


@dataclass
class Documents:
    """What the RP publishes on its own host: key sets and request objects by path."""

    url: str = ""
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def put(self, path: str, body: bytes | str, media_type: str = "application/json") -> str:
        """Publish ``body`` at ``path``; the absolute URL."""
        data = body.encode() if isinstance(body, str) else body
        self.files[path] = (data, media_type)
        return self.url + path


def documents_app(docs: Documents) -> FastAPI:
    app = FastAPI()

    @app.get("/{path:path}")
    async def serve(path: str) -> Response:
        key = "/" + path
        docs.hits[key] = docs.hits.get(key, 0) + 1
        if key not in docs.files:
            return JSONResponse({"error": "not_found"}, status_code=404)
        body, media_type = docs.files[key]
        return Response(body, media_type=media_type, headers={"Cache-Control": "max-age=300"})

    return app


@dataclass
class OpenBridge:
    """The bridge with registration open, and the RP's document host."""

    bridge: Bridge
    docs: Documents

    @property
    def url(self) -> str:
        return self.bridge.url

    def register(self, **metadata: Any) -> dict[str, Any]:
        """Register a client dynamically (RFC 7591); the registration response."""
        name = {"client_name": f"Conformance RP {secrets.token_hex(4)}"}  # names differ
        response = httpx.post(
            self.url + "/register",
            json={**METADATA, **name, **metadata},
            headers={"Authorization": f"Bearer {INITIAL_TOKEN}"},
        )
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture(scope="session")
def open_bridge(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OpenBridge]:
    folder = tmp_path_factory.mktemp("open-bridge")
    port, sim_port = free_port(), free_port()
    rp = RelyingParty()
    sim_url = f"http://127.0.0.1:{sim_port}"
    callback = f"http://127.0.0.1:{port}/upstream/iamsmart/callback"
    simulator = create_simulator(
        write_sim_clients(folder, [callback]), settings=SimulatorSettings(), public_url=sim_url
    )
    docs = Documents()
    with ServerThread(rp_app(rp)) as rp_server, ServerThread(documents_app(docs)) as doc_server:
        rp.url, docs.url = rp_server.url, doc_server.url
        env = {
            **bridge_env(folder, redis_server.url, port, sim_url, rp),
            "IDBRIDGE_INITIAL_ACCESS_TOKEN": INITIAL_TOKEN,
            "IDBRIDGE_REGISTRATION_PUBLIC_SUBJECTS": "true",
            "IDBRIDGE_CLIENT_FETCH_ALLOW_PRIVATE_NETWORKS": "true",  # the docs host is local
        }
        app, settings = build_with_env(env)
        with (
            ServerThread(simulator, sim_port, lifespan=True),
            ServerThread(app, port, lifespan=True) as srv,
        ):
            jwks = httpx.get(f"{srv.url}/jwks").json()  # IANA key types; SM2 apart
            jwks["keys"] += httpx.get(f"{srv.url}/jwks/sm2").json()["keys"]
            bridge = Bridge(srv.url, sim_url, settings, rp, redis_server.url, env, jwks)
            yield OpenBridge(bridge, docs)
