"""Simulator pages in process: languages, accessibility basics, auto-approve."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient

from connectors.iamsmart.simulator.app import create_app
from connectors.iamsmart.simulator.config import SimulatorSettings

from .conftest import CLIENT_ID, Receiver, write_clients

RECEIVER = Receiver(url="http://127.0.0.1:9")


def app_client(tmp_path: Path, keypair: tuple[Path, Path], **settings: object) -> TestClient:
    clients = write_clients(tmp_path, RECEIVER, keypair[1])
    return TestClient(create_app(clients, settings=SimulatorSettings(**settings)))


def qr_params(**extra: str) -> dict[str, str]:
    return {
        "clientID": CLIENT_ID,
        "responseType": "code",
        "source": "PC_Browser",
        "redirectURI": RECEIVER.callback,
        "scope": "eidapi_auth",
        "state": "st",
        **extra,
    }


@pytest.mark.parametrize(
    ("lang", "text", "html_lang"),
    [
        ("zh-HK", "使用「智方便」登入", "zh-Hant-HK"),
        ("zh-CN", "使用「智方便」登录", "zh-Hans-CN"),
        ("en-US", "Sign in with iAM Smart", 'lang="en"'),
    ],
)
def test_qr_page_languages(tmp_path: Path, keypair, lang: str, text: str, html_lang: str) -> None:  # type: ignore[no-untyped-def]
    page = app_client(tmp_path, keypair).get("/api/v1/auth/getQR", params=qr_params(lang=lang))
    assert page.status_code == 200 and text in page.text and html_lang in page.text
    assert '<label for="persona">' in page.text and "<script" not in page.text
    assert "img-src 'self' data:" in page.headers["content-security-policy"]


def test_auto_approve_skips_pages(tmp_path: Path, keypair) -> None:  # type: ignore[no-untyped-def]
    client = app_client(tmp_path, keypair, auto_approve=True)
    r = client.get(
        "/api/v1/auth/getQR", params=qr_params(sim_persona="ho-kwan"), follow_redirects=False
    )
    assert r.status_code == 303
    params = dict(parse_qsl(urlsplit(r.headers["location"]).query))
    assert params["state"] == "st" and len(params["code"]) > 20
    # without a persona the pages are shown even in auto-approve mode
    assert client.get("/api/v1/auth/getQR", params=qr_params()).status_code == 200


def test_expired_login_page_is_a_trilingual_error(tmp_path: Path, keypair) -> None:  # type: ignore[no-untyped-def]
    r = app_client(tmp_path, keypair).get("/sim/app/login/nope?lang=en-US")
    assert r.status_code == 400 and "D40003" in r.text and "繁" in r.text and "简" in r.text


@pytest.mark.parametrize("path", ["//evil.example/x", "/%2F%2Fevil.example/x", "/sim/app/login/x"])
def test_language_links_never_leave_the_simulator(tmp_path: Path, keypair, path: str) -> None:  # type: ignore[no-untyped-def]
    page = app_client(tmp_path, keypair).get(path)
    links = re.findall(r'<a href="([^"]*)" lang=', page.text)
    assert len(links) == 3, page.text
    assert all(link.startswith("?") and "lang=" in link for link in links), links
