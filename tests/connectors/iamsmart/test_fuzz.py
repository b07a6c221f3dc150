"""Hypothesis: arbitrary bodies, headers and query strings never make the simulator answer
5xx (in process, through the ASGI interface; exceptions are raised, not hidden)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.iamsmart.signing import signature
from connectors.iamsmart.simulator.app import create_app

from .conftest import CLIENT_ID, CLIENT_SECRET, Receiver, write_clients

PATHS = [
    "/api/v1/auth/getToken",
    "/api/v1/security/getKey",
    "/api/v1/account/auth/profile/initiateRequest",
    "/api/v1/account/auth/eme/initiateRequest",
    "/sim/app/login/x",
    "/sim/app/requests/x",
]
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, keypair: tuple[Path, Path]) -> TestClient:
    receiver = Receiver(url="http://127.0.0.1:9")
    clients = write_clients(tmp_path_factory.mktemp("fuzz"), receiver, keypair[1])
    return TestClient(create_app(clients), raise_server_exceptions=True)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(PATHS),
    body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
    headers=st.dictionaries(
        st.sampled_from(
            ["clientID", "signatureMethod", "timestamp", "nonce", "signature", "Content-Type"]
        ),
        header_text,
    ),
)
def test_random_posts_never_5xx(client: TestClient, path: str, body: bytes, headers: dict) -> None:
    response = client.post(path, content=body, headers=headers)
    assert response.status_code < 500


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.text(max_size=200), timestamp=st.text("0123456789", min_size=1, max_size=20))
def test_correctly_signed_garbage_never_5xx(client: TestClient, body: str, timestamp: str) -> None:
    headers = {
        "clientID": CLIENT_ID,
        "signatureMethod": "HmacSHA256",
        "timestamp": timestamp,
        "nonce": "n" + timestamp[:30],
        "signature": signature(CLIENT_ID, CLIENT_SECRET, timestamp, "n" + timestamp[:30], body),
    }
    for path in PATHS[:4]:
        response = client.post(path, content=body.encode(), headers=headers)
        assert response.status_code < 500
        assert response.json()["code"].startswith("D")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "clientID",
                "responseType",
                "source",
                "redirectURI",
                "scope",
                "lang",
                "state",
                "brokerPage",
                "sim_persona",
            ]
        ),
        st.text(max_size=80),
    )
)
def test_random_get_qr_never_5xx(client: TestClient, params: dict) -> None:
    params.setdefault("clientID", CLIENT_ID)
    response = client.get("/api/v1/auth/getQR", params=params, follow_redirects=False)
    assert response.status_code < 500
