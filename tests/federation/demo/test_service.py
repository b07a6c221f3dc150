"""The demo e-service end to end against the real OpenID Provider (in process, real
Redis), with a stand-in login journey that grants at once through the OIDC seam: the RP's
authlib flow, its own SM2SM3 verification, the pages, denial, replayed callbacks, a
mix-up (wrong ``iss``), RP-initiated and back-channel logout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from federation.crypto.keyset import KeySet
from federation.demo.app import create_app as create_service
from federation.demo.settings import DEMO_CLIENT_SECRET, DemoServiceSettings
from federation.oidc.authorize import error_redirect
from federation.oidc.clients import ClientRegistry, ClientSecrets, load_static_clients
from federation.oidc.config import OidcConfig
from federation.oidc.logout import send_backchannel_logout
from federation.oidc.models import AuthorizationRequest, Grant
from federation.oidc.provider import OidcProvider
from federation.oidc.router import install
from federation.oidc.seam import issue_authorization_code
from federation.oidc.session import create_session
from federation.oidc.signing import KeySetSigner, load_or_create_keyset
from tests.asgi_poster import AsgiPoster

ISSUER = "https://bridge.test"
SERVICE = "http://127.0.0.1:8002"
CLIENTS = Path(__file__).resolve().parents[3] / "deploy" / "demo" / "clients.yaml"
CLAIMS = {"cn": "陈大文", "sex": "1", "mail": "chan.taiman@example.hk"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeySet:
    return load_or_create_keyset([], tmp_path_factory.mktemp("demo-keys"))


@pytest.fixture
def provider(keys: KeySet, monkeypatch: pytest.MonkeyPatch) -> OidcProvider:
    monkeypatch.setenv("IDBRIDGE_DEMO_CLIENT_SECRET", DEMO_CLIENT_SECRET)
    return OidcProvider(
        issuer=ISSUER,
        # the demo e-service's back-channel endpoint is on 127.0.0.1
        config=OidcConfig(clients_file=CLIENTS, backchannel_allow_private_networks=True),
        clients=ClientRegistry(load_static_clients(CLIENTS)),
        secrets=ClientSecrets(bytes.fromhex("22" * 32)),
        signer=KeySetSigner(keys),
        pairwise_salt=b"demo-test-pairwise-salt-0123",
    )


async def granting_journey(request: Request, authz: AuthorizationRequest) -> Response:
    """Stand-in journey: the person agrees at once (or declines when told to)."""
    provider: OidcProvider = request.app.state.oidc
    redis: aioredis.Redis = request.app.state.redis
    if request.app.state.decline:
        return RedirectResponse(error_redirect(authz, "access_denied", "the person declined"), 302)
    sid = await create_session(redis, "person-1", provider.clock(), 600, acr="iamsmart")
    grant = Grant(
        subject="pairwise-subject-of-person-1",
        bridge_subject="person-1",
        scopes=authz.scopes,
        auth_time=provider.clock(),
        id_token_claims=CLAIMS,
        userinfo_claims=CLAIMS,
        acr="iamsmart",
        sid=sid,
    )
    url = await issue_authorization_code(redis, authz, grant, provider=provider)
    return RedirectResponse(url, 302)


@pytest.fixture
def bridge(provider: OidcProvider, redis: aioredis.Redis) -> FastAPI:
    app = FastAPI()
    app.state.redis = redis
    app.state.decline = False
    install(app, provider, journey=granting_journey)
    return app


@pytest.fixture
async def service(bridge: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    settings = DemoServiceSettings(issuer=ISSUER, public_url=SERVICE)
    app = create_service(settings, transport=httpx2.ASGITransport(app=bridge))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SERVICE) as c:
        c.app = app  # type: ignore[attr-defined]
        yield c


async def through_bridge(bridge: FastAPI, url: str) -> str:
    """Follow the e-service's redirect into the bridge; return where the bridge sends back."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bridge)) as browser:
        answer = await browser.get(url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


async def sign_in(service: httpx.AsyncClient, bridge: FastAPI, lang: str = "en") -> str:
    start = await service.get("/login", params={"lang": lang})
    assert start.status_code == 303
    back = await through_bridge(bridge, start.headers["location"])
    assert back.startswith(f"{SERVICE}/callback?")
    done = await service.get(back)
    assert done.status_code == 303 and done.headers["location"].startswith("/me")
    return back


async def test_login_request_has_pkce_state_nonce_and_locale(
    service: httpx.AsyncClient,
) -> None:
    start = await service.get("/login", params={"lang": "zh-HK"})
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    assert start.headers["location"].startswith(f"{ISSUER}/authorize?")
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] and query["nonce"] and query["ui_locales"] == "zh-HK"
    assert query["redirect_uri"] == f"{SERVICE}/callback"
    assert query["scope"] == "openid profile email phone address"


async def test_full_flow_shows_verified_sm2_token_and_claims(
    service: httpx.AsyncClient, bridge: FastAPI
) -> None:
    await sign_in(service, bridge)
    page = await service.get("/me", params={"lang": "en"})
    assert page.status_code == 200
    html = page.text
    assert "陈大文" in html and "chan.taiman@example.hk" in html
    assert "&#34;alg&#34;: &#34;SM2SM3&#34;" in html
    for check in ("signature", "iss", "aud", "exp", "iat", "nonce", "at_hash"):
        assert f'data-check="{check}"' in html
    assert "left half of SM3" in html
    assert "What the UserInfo endpoint returned" in html


async def test_the_page_speaks_each_language(service: httpx.AsyncClient, bridge: FastAPI) -> None:
    await sign_in(service, bridge, "zh-CN")
    assert "已登录" in (await service.get("/me", params={"lang": "zh-CN"})).text
    assert "已登入" in (await service.get("/me", params={"lang": "zh-HK"})).text
    assert "You are signed in" in (await service.get("/me", params={"lang": "en"})).text
    home = await service.get("/", headers={"accept-language": "en"})
    assert home.status_code == 303  # signed in: home sends to /me


async def test_decline_shows_access_denied(service: httpx.AsyncClient, bridge: FastAPI) -> None:
    bridge.state.decline = True
    start = await service.get("/login", params={"lang": "zh-CN"})
    back = await through_bridge(bridge, start.headers["location"])
    page = await service.get(back)
    assert page.status_code == 200
    assert 'data-error="access_denied"' in page.text
    assert "您已拒绝登录" in page.text
    assert (await service.get("/me")).status_code == 303  # not signed in


async def test_a_replayed_callback_is_refused(service: httpx.AsyncClient, bridge: FastAPI) -> None:
    back = await sign_in(service, bridge)
    again = await service.get(back)
    assert again.status_code == 400 and "expired" in again.text


async def test_a_callback_from_another_issuer_is_rejected(
    service: httpx.AsyncClient, bridge: FastAPI
) -> None:
    start = await service.get("/login", params={"lang": "en"})
    back = await through_bridge(bridge, start.headers["location"])
    mixed = back.replace("iss=https%3A%2F%2Fbridge.test", "iss=https%3A%2F%2Fevil.test")
    assert mixed != back
    page = await service.get(mixed)
    assert page.status_code == 400 and 'data-error="rejected"' in page.text
    assert '"iss" check failed' in page.text.replace("&#34;", '"')


async def test_callback_without_login_cookie_is_refused(
    service: httpx.AsyncClient, bridge: FastAPI
) -> None:
    start = await service.get("/login", params={"lang": "en"})
    back = await through_bridge(bridge, start.headers["location"])
    service.cookies.clear()
    assert (await service.get(back)).status_code == 400


async def test_rp_initiated_logout_goes_to_the_bridge_and_back(
    service: httpx.AsyncClient, bridge: FastAPI
) -> None:
    await sign_in(service, bridge)
    out = await service.get("/logout", params={"lang": "en"})
    assert out.status_code == 303 and out.headers["location"].startswith(f"{ISSUER}/logout?")
    assert "id_token_hint=" in out.headers["location"]
    back = await through_bridge(bridge, out.headers["location"])
    assert back.startswith(f"{SERVICE}/logged-out?state=")
    page = await service.get(back)
    assert "You are signed out" in page.text
    assert (await service.get("/me")).status_code == 303


async def test_backchannel_logout_ends_the_session(
    service: httpx.AsyncClient, bridge: FastAPI, provider: OidcProvider
) -> None:
    await sign_in(service, bridge)
    assert (await service.get("/me")).status_code == 200
    page = await service.get("/me")
    sid = page.text.split("&#34;sid&#34;: &#34;")[1].split("&#34;")[0]
    client = provider.clients.static["gd-demo-eservice"]
    poster = AsgiPoster(client=service)
    sent = await send_backchannel_logout(provider, client, sub=None, sid=sid, http=poster)
    assert sent is True
    assert (await service.get("/me")).status_code == 303


async def test_bad_logout_tokens_get_400_json(service: httpx.AsyncClient) -> None:
    missing = await service.post("/backchannel-logout", data={})
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    forged = await service.post("/backchannel-logout", data={"logout_token": "a.b.c"})
    assert forged.status_code == 400 and "signature" in forged.json()["error_description"]


@pytest.mark.parametrize("path", ["/nope", "/callback?state=x&code=y", "/callback"])
async def test_bad_requests_get_a_trilingual_page_never_5xx(
    service: httpx.AsyncClient, path: str
) -> None:
    answer = await service.get(path, headers={"accept-language": "zh-HK"})
    assert 400 <= answer.status_code < 500
    assert answer.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-Hant-HK"' in answer.text and "Traceback" not in answer.text
