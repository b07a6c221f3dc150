"""TLS of the outgoing HTTP client (``federation.outbound``, aiohttp) against a real TLS
server on 127.0.0.1 with a certificate made here (trusted with the CA configured or named
by ``SSL_CERT_FILE``; refused without it, on a host name or IP mismatch, below TLS 1.2, or
when the handshake stalls), and the proxy taken from the environment only for the URLs it
names."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import pytest

from connectors.base import UpstreamUnavailable
from connectors.iamsmart.cek import CekCache
from connectors.iamsmart.client import IAMSmartClient
from federation.outbound import (
    ConnectFailed,
    HttpClient,
    TlsFailed,
    proxied,
    proxy_for,
)

from .conftest import Receiver, make_config
from .raw_http import make_tls, ok, raw_server

pytestmark = pytest.mark.timeout(30)


# --- TLS ---------------------------------------------------------------------------------
async def test_tls_with_the_configured_ca(tmp_path: Path) -> None:
    tls = make_tls(tmp_path)
    async with raw_server(tls=tls.server) as server:
        pool = HttpClient(connect_timeout=2, read_timeout=1, ca_file=tls.ca_file)
        for host in ("localhost", "127.0.0.1", "localhost"):
            url = f"https://{host}:{server.port}/x"
            assert (await pool.post(url, b"{}", {})).json() == {"code": "D00000"}
        await pool.aclose()
    assert server.connections == 2  # one per origin, kept alive
    assert tls.sni_seen == ["localhost", None]  # SNI carries names, never IP addresses


async def test_tls_trusts_the_ca_named_by_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``ca_file`` the system store is used, and OpenSSL lets ``SSL_CERT_FILE``
    replace it: how an operator trusts a private CA without a code change."""
    tls = make_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))
    async with raw_server(tls=tls.server) as server:
        pool = HttpClient(connect_timeout=2, read_timeout=1)
        assert (await pool.post(server.url, b"{}", {})).status_code == 200
        await pool.aclose()


@pytest.mark.parametrize(
    ("names", "ips", "host", "message"),
    [
        (("localhost",), ("127.0.0.1",), "localhost", "unable to get local issuer"),
        (("other.example",), (), "localhost", "Hostname mismatch"),
        (("localhost",), (), "127.0.0.1", "IP address mismatch"),
    ],
    ids=["untrusted-ca", "name-mismatch", "ip-mismatch"],
)
async def test_tls_verification_failures_are_tls_failures(
    tmp_path: Path, names: tuple[str, ...], ips: tuple[str, ...], host: str, message: str
) -> None:
    tls = make_tls(tmp_path, names=names, ips=ips)
    async with raw_server(tls=tls.server) as server:
        ca = None if message.startswith("unable") else tls.ca_file  # the system store
        pool = HttpClient(connect_timeout=2, read_timeout=1, ca_file=ca)
        with pytest.raises(TlsFailed, match=message):
            await pool.post(f"https://{host}:{server.port}/x", b"{}", {})
        await pool.aclose()
    assert server.requests == []


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
async def test_tls_below_1_2_is_refused(tmp_path: Path) -> None:
    tls = make_tls(tmp_path, max_version=ssl.TLSVersion.TLSv1_1)
    async with raw_server(tls=tls.server) as server:
        pool = HttpClient(connect_timeout=2, read_timeout=1, ca_file=tls.ca_file)
        with pytest.raises(TlsFailed):
            await pool.post(f"https://localhost:{server.port}/x", b"{}", {})
        await pool.aclose()
    assert server.requests == []


async def test_a_tls_handshake_that_never_ends_is_a_connect_timeout(tmp_path: Path) -> None:
    tls = make_tls(tmp_path)
    async with raw_server() as server:  # plain TCP: it never answers the ClientHello
        pool = HttpClient(connect_timeout=0.3, read_timeout=5, ca_file=tls.ca_file)
        started = time.monotonic()
        with pytest.raises(ConnectFailed, match="in time"):
            await pool.post(f"https://localhost:{server.port}/x", b"{}", {})
        assert time.monotonic() - started < 1.0
        await pool.aclose()


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
def test_only_verifying_tls_contexts_are_accepted() -> None:
    lax = ssl.create_default_context()
    lax.check_hostname = False
    lax.verify_mode = ssl.CERT_NONE
    old = ssl.create_default_context()
    old.minimum_version = ssl.TLSVersion.TLSv1
    for context in (lax, old):
        with pytest.raises(ValueError, match="verify"):
            HttpClient(connect_timeout=1, read_timeout=1, ssl_context=context)


# --- a proxy only when the environment names one for the URL ---------------------------
async def test_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert not proxied("https://apigw-isit.staging-eid.gov.hk")
    monkeypatch.setenv("https_proxy", "http://proxy.internal:3128")
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    assert proxied("https://apigw-isit.staging-eid.gov.hk")
    assert not proxied("http://127.0.0.1:8001")
    assert proxy_for("https://a.hk") == "http://proxy.internal:3128"
    monkeypatch.setenv("http_proxy", "http://proxy.internal:3128")
    with pytest.raises(ValueError, match="loopback"):  # the proxy changes nothing of that
        await HttpClient(connect_timeout=1, read_timeout=1).post("http://a.hk/x", b"", {})


# --- the connector's TLS settings --------------------------------------------------------
async def test_the_connector_trusts_its_configured_ca_and_never_retries_a_tls_failure(
    tmp_path: Path, keypair: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """``ca_file`` in the connector's config reaches the pool; a handshake that fails on
    the certificate is reported at once (a retry cannot heal it)."""
    tls = make_tls(tmp_path)
    async with raw_server(tls=tls.server) as server:
        server.answer = lambda _: ok(b'{"code":"D00000","content":{"secretKey":"k","expiresIn":9}}')
        url = f"https://localhost:{server.port}"
        trusting = make_config(url, Receiver(url=url), keypair[0], ca_file=tls.ca_file)
        client = IAMSmartClient(trusting, cek=CekCache(trusting))
        assert (await client.fetch_cek())[0] == "k"
        await client.aclose()
        assert len(server.requests) == 1

        untrusting = make_config(url, Receiver(url=url), keypair[0], retry_attempts=3)
        client = IAMSmartClient(untrusting, cek=CekCache(untrusting))
        caplog.clear()
        with pytest.raises(UpstreamUnavailable, match="TLS") as failure:
            await client.fetch_cek()
        await client.aclose()
        assert isinstance(failure.value.__cause__, TlsFailed)
        attempts = [r for r in caplog.records if r.getMessage() == "iAM Smart call failed"]
        assert len(attempts) == 1  # with 3 attempts allowed
        assert len(server.requests) == 1
