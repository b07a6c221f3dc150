"""Fixtures: the simulator and a tiny relying-party receiver, both served by real uvicorn
on loopback ports (threads), a fresh RSA encipherment key pair, and connectors wired to them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.iamsmart.config import IAMSmartConfig
from connectors.iamsmart.connector import IAMSmartConnector
from connectors.iamsmart.simulator.app import Simulator, create_app
from connectors.iamsmart.simulator.config import SimulatorSettings

CLIENT_ID = "test-rp"
CLIENT_SECRET = "test-secret-0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """uvicorn serving an ASGI app on a loopback port in a thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.time() + 10
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Receiver:
    """The RP side: stores every result callback body POSTed to it."""

    url: str = ""
    bodies: list[bytes] = field(default_factory=list)

    @property
    def callback(self) -> str:
        return f"{self.url}/callback"


@pytest.fixture(scope="session")
def keypair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    folder = tmp_path_factory.mktemp("keys")
    private = folder / "kek.pem"
    public = folder / "kek.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    app = FastAPI()

    @app.post("/callback")
    async def result(request: Request) -> JSONResponse:
        rec.bodies.append(await request.body())
        return JSONResponse({"code": "D00000"})

    with ServerThread(app) as server:
        rec.url = server.url
        yield rec


def write_clients(folder: Path, receiver: Receiver, public_key: Path, **extra: Any) -> Path:
    client = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [receiver.callback],
        "allowed_scopes": ["eidapi_auth", "eidapi_profiles", "eidapi_formFilling"],
        "encipherment_key_file": str(public_key),
        **extra,
    }
    path = folder / "clients.yaml"
    path.write_text(yaml.safe_dump({"clients": [client]}), encoding="utf-8")
    return path


@dataclass
class RunningSim:
    url: str
    sim: Simulator


@pytest.fixture(scope="session")
def simulator(
    tmp_path_factory: pytest.TempPathFactory, receiver: Receiver, keypair: tuple[Path, Path]
) -> Iterator[RunningSim]:
    clients = write_clients(tmp_path_factory.mktemp("sim"), receiver, keypair[1])
    port = free_port()
    app = create_app(clients, settings=SimulatorSettings(), public_url=f"http://127.0.0.1:{port}")
    with ServerThread(app, port) as server:
        yield RunningSim(server.url, app.state.sim)


def make_config(
    sim_url: str, receiver: Receiver, private_key: Path, **extra: Any
) -> IAMSmartConfig:
    return IAMSmartConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        api_base_url=sim_url,
        redirect_uri=receiver.callback,
        encipherment_key_file=private_key,
        approval_url_template=sim_url + "/sim/app/requests/{ticket_id}?lang={lang}",
        retry_backoff_seconds=0.01,
        **extra,
    )


@pytest.fixture
async def connector(
    simulator: RunningSim, receiver: Receiver, keypair: tuple[Path, Path]
) -> AsyncIterator[IAMSmartConnector]:
    conn = IAMSmartConnector(make_config(simulator.url, receiver, keypair[0]))
    try:
        yield conn
    finally:
        await conn.aclose()
