"""App factory: health endpoints, request ids, security headers, errors without traces."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from federation.app import create_app, create_base_app
from federation.journey.record import JOURNEY_COOKIE
from federation.logs import JsonFormatter, redact
from federation.oidc.session import SESSION_COOKIE, new_session_secret
from federation.settings import Settings
from federation.storage.runtime import RedisServer


def test_healthz_and_readyz(redis_server: RedisServer) -> None:
    app = create_base_app(Settings(redis_url=redis_server.url, issuer="http://127.0.0.1:8000"))
    with TestClient(app) as client:
        live = client.get("/healthz")
        assert live.status_code == 200 and live.json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["redis"] == "up"
        assert ready.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in ready.headers["content-security-policy"]
        assert len(ready.headers["x-request-id"]) >= 8


def test_readyz_reports_redis_down() -> None:
    server = RedisServer(durable=False).start()
    app = create_base_app(Settings(redis_url=server.url))
    with TestClient(app) as client:
        server.stop()
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["redis"] == "down"


def test_request_id_is_echoed_when_well_formed(redis_server: RedisServer) -> None:
    app = create_base_app(Settings(redis_url=redis_server.url))
    with TestClient(app) as client:
        ok = client.get("/healthz", headers={"X-Request-ID": "abcdef0123456789"})
        assert ok.headers["x-request-id"] == "abcdef0123456789"
        bad = client.get("/healthz", headers={"X-Request-ID": "<script>"})
        assert bad.headers["x-request-id"] != "<script>"


def test_unknown_route_is_json_error(redis_server: RedisServer) -> None:
    app = create_base_app(Settings(redis_url=redis_server.url))
    with TestClient(app) as client:
        resp = client.get("/no/such/thing")
        assert resp.status_code == 404
        body = resp.json()
        assert body["error"] == "not_found" and body["reference"]


def test_https_issuer_adds_hsts(redis_server: RedisServer) -> None:
    app = create_base_app(Settings(redis_url=redis_server.url, issuer="https://bridge.example.hk"))
    with TestClient(app) as client:
        assert "max-age" in client.get("/healthz").headers["strict-transport-security"]


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("user A123456(3) logged in", "A123456"),
        ("permit H12345678 given", "H12345678"),
        ("mail chan.taiman@example.hk", "chan.taiman"),
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("phone 85291234567", "91234567"),
        ("Authorization: Basic cnAtMTpzM2NyM3Q=", "cnAtMTpzM2NyM3Q"),
        ("GET /oauth2/access_token?client_id=rp&client_secret=s3cr3t&code=c0de", "s3cr3t"),
        ("GET /oauth2/access_token?client_id=rp&client_secret=s3cr3t&code=c0de", "c0de"),
        ("GET /oauth2/tokeninfo?access_token=at-123", "at-123"),
        ("GET /cb?code=c0de&state=st4te-value", "st4te-value"),
        ("POST /token grant_type=refresh_token&refresh_token=rt-9", "rt-9"),
        ("/logout?id_token_hint=eyJhbGc.x.y&post_logout_redirect_uri=z", "eyJhbGc"),
    ],
)
def test_logs_mask_pii(text: str, leak: str) -> None:
    assert leak not in redact(text)
    record = logging.LogRecord("t", logging.INFO, __file__, 1, text, None, None)
    line = json.loads(JsonFormatter().format(record))
    assert leak not in line["msg"] and line["level"] == "info" and "request_id" in line


def test_logs_keep_what_is_not_a_secret() -> None:
    """Only the values of secret parameters are masked: names, other parameters and words
    that merely end in a secret parameter's name stay readable."""
    text = "GET /authorize?client_id=rp-1&encode=x&code=c0de&scope=openid"
    assert redact(text) == "GET /authorize?client_id=rp-1&encode=x&code=[redacted]&scope=openid"


def test_whole_bridge_is_wired(redis_server: RedisServer, tmp_path: Path) -> None:
    """create_app mounts OIDC, the journey, the operator API and static files, and builds
    the journey (consent services, checker) when Redis is up; no connector configured means
    logins end in temporarily_unavailable, never a 500."""
    settings = Settings(redis_url=redis_server.url, data_dir=tmp_path, issuer="http://testserver")
    app = create_app(settings)
    with TestClient(app) as client:
        assert app.state.journey.connector is None
        assert type(app.state.oidc.consent_checker).__name__ == "StoreConsentChecker"
        assert client.get("/.well-known/openid-configuration").status_code == 200
        assert client.post("/token", data={"grant_type": "x"}).status_code in (400, 401)
        assert client.post("/operator/api/login", json={}).status_code in (400, 401, 422)
        assert client.get("/static/idbridge.css").status_code == 200
        callback = client.get("/upstream/iamsmart/callback", headers={"Accept": "text/html"})
        assert callback.status_code == 404 and "<html" in callback.text
        page = client.get("/journey/consent", headers={"Accept": "text/html"})
        assert page.status_code == 400 and "<html" in page.text
    assert (tmp_path / "oidc-keys" / "SM2SM3.pem").is_file() and (tmp_path / "pii.key").is_file()


def test_unhandled_errors_are_a_page_for_people_and_json_for_apis(
    redis_server: RedisServer,
) -> None:
    app = create_base_app(Settings(redis_url=redis_server.url))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/boom", headers={"Accept": "text/html", "Accept-Language": "en"})
        assert page.status_code == 500 and "<html" in page.text and "a bug" not in page.text
        api = client.get("/boom")
        assert api.status_code == 500 and api.json()["error"] == "server_error"
        missing = client.get("/nothing", headers={"Accept": "text/html"})
        assert missing.status_code == 404 and "<html" in missing.text


def test_a_storage_outage_is_a_page_on_the_pages_and_json_on_the_apis(tmp_path: Path) -> None:
    """Redis down: /authorize and /logout (people) get the 503 page, /userinfo JSON — never
    a 500."""
    server = RedisServer(durable=False).start()
    settings = Settings(redis_url=server.url, data_dir=tmp_path, issuer="http://testserver")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        server.stop()
        html = {"Accept": "text/html", "Accept-Language": "en"}
        client.cookies.set(SESSION_COOKIE, new_session_secret())  # records to look up
        client.cookies.set(JOURNEY_COOKIE, new_session_secret())
        client.cookies.set("idb_self", new_session_secret())
        for path in (
            "/authorize?client_id=x&response_type=code",
            "/logout",
            "/journey/consent",  # the journey's own routes
            "/consents",
        ):
            page = client.get(path, headers=html)
            assert page.status_code == 503, path
            assert page.headers["content-type"].startswith("text/html") and "<html" in page.text
        api = client.get("/userinfo", headers={"Authorization": "Bearer an-access-token"})
        assert api.status_code == 503
        assert api.json()["error"] == "temporarily_unavailable"
