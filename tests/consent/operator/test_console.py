"""The operator console's sign-in, session, CSRF and role checks, in-process on the real
app factory and real Redis (``console_support``): cookie flags, the shared login limiter,
idle and absolute timeouts, CSRF refused on every form, and every role against every
screen and form (a forbidden one is the 403 page, audited; its button is not shown)."""

from __future__ import annotations

import time

import httpx
import pyotp
import pytest
import redis.asyncio as aioredis

from consent.operator.console import auth
from consent.operator.roles import Role
from consent.operator.sessions import LOGIN_LIMIT_PER_USER_ADDRESS
from consent.records import Status
from consent.services import ConsentServices
from federation.storage.keys import Keys
from tests.consent.factories import grant
from tests.consent.operator.conftest import PASSWORD, secret_of
from tests.consent.operator.console_support import NewClient, SignIn, csrf_of


async def _last_entry(redis: aioredis.Redis) -> dict[str, str]:
    """The newest audit entry that is not a checkpoint."""
    rows = await redis.xrevrange(Keys.AUDIT_STREAM, count=5)
    return next(fields for _id, fields in rows if fields["action"] != "audit.checkpoint")


async def test_sign_in_sets_a_strict_secure_cookie_and_sign_out_ends_it(
    services: ConsentServices, browser: NewClient, redis: aioredis.Redis
) -> None:
    uri = await services.accounts.add("viewer-op", PASSWORD, Role.VIEWER)
    client = await browser()
    page = await client.get("/operator/login")
    assert page.status_code == 200 and "csrf_token" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    form = {
        "csrf_token": csrf_of(page.text),
        "username": "viewer-op",
        "password": PASSWORD,
        "totp": pyotp.TOTP(secret_of(uri)).at(time.time()),
    }
    response = await client.post("/operator/login", data=form)
    assert response.status_code == 303
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie")
    lowered = cookie.lower()
    assert cookie.startswith(f"{auth.SESSION_COOKIE}=")
    for flag in ("secure", "httponly", "samesite=strict", "path=/operator"):
        assert flag in lowered, cookie
    assert "max-age" not in lowered
    assert (await _last_entry(redis))["action"] == "operator.login"
    dashboard = await client.get("/operator/dashboard")
    assert dashboard.status_code == 200
    out = await client.post("/operator/logout", data={"csrf_token": csrf_of(dashboard.text)})
    assert out.status_code == 303 and "/operator/login" in out.headers["location"]
    assert (await _last_entry(redis))["action"] == "operator.logout"
    assert (await client.get("/operator/dashboard")).status_code == 303


async def test_wrong_code_is_a_401_page_and_the_limit_is_the_apis(
    services: ConsentServices, browser: NewClient, redis: aioredis.Redis
) -> None:
    await services.accounts.add("viewer-op", PASSWORD, Role.VIEWER)
    client = await browser()
    statuses = []
    for _ in range(LOGIN_LIMIT_PER_USER_ADDRESS + 1):
        page = await client.get("/operator/login")
        form = {"csrf_token": csrf_of(page.text), "username": "viewer-op", "password": "x" * 12}
        response = await client.post("/operator/login", data={**form, "totp": "000000"})
        statuses.append(response.status_code)
    assert statuses[:LOGIN_LIMIT_PER_USER_ADDRESS] == [401] * LOGIN_LIMIT_PER_USER_ADDRESS
    assert statuses[-1] == 429
    assert "Too many sign-in attempts" in response.text or "嘗試次數過多" in response.text
    # the API shares the window: the same username is throttled there too
    transport = httpx.ASGITransport(app=client._transport.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as api:
        body = {"username": "viewer-op", "password": PASSWORD, "totp": "123456"}
        assert (await api.post("/operator/api/login", json=body)).status_code == 429


async def test_idle_and_absolute_timeouts(
    sign_in: SignIn, redis: aioredis.Redis, services: ConsentServices
) -> None:
    client = await sign_in(Role.VIEWER)
    [key] = [k async for k in redis.scan_iter(Keys.operator_session("*"))]
    await redis.expire(key, 5)
    assert (await client.get("/operator/dashboard")).status_code == 200
    assert await redis.ttl(key) > auth.IDLE_SECONDS - 5  # each request restarts the idle clock
    await redis.hset(key, "issued_at", str(int(time.time()) - auth.ABSOLUTE_SECONDS - 1))
    response = await client.get("/operator/dashboard")
    assert response.status_code == 303 and "/operator/login" in response.headers["location"]
    assert not await redis.exists(key)


async def test_every_form_refuses_a_post_without_its_csrf_token(
    sign_in: SignIn, services: ConsentServices, browser: NewClient
) -> None:
    record = grant().record
    await services.store.save(record)
    anonymous = await browser()
    await anonymous.get("/operator/login")
    refused = await anonymous.post(
        "/operator/login", data={"username": "x", "password": "y", "totp": "1"}
    )
    assert refused.status_code == 403 and "表格已失效" in refused.text  # zh-HK by default
    admin = await sign_in(Role.ADMIN)
    other = await sign_in(Role.OFFICER)
    page = await other.get("/operator/dashboard")
    foreign_token = csrf_of(page.text)  # valid, but bound to another session
    forms = {
        f"/operator/consents/{record.id}/withdraw": {"reason": "ticket 9", "confirm": "yes"},
        "/operator/offboarding": {
            "client_id": record.client_id,
            "reason": "ends",
            "confirm": "yes",
        },
        "/operator/audit/verify": {},
        "/operator/accounts": {"username": "new-op", "role": "viewer", "password": "p" * 12},
        "/operator/accounts/officer-op/disable": {},
        "/operator/logout": {},
    }
    for path, data in forms.items():
        for token in (None, "v1.9999999999.forged", foreign_token):
            body = dict(data, **({"csrf_token": token} if token else {}))
            response = await admin.post(path, data=body)
            assert response.status_code == 403, (path, token)
    assert (await services.store.get(record.id)).status is Status.ACTIVE
    assert await services.accounts.get("new-op") is None
    assert (await services.accounts.get("officer-op")).enabled  # type: ignore[union-attr]
    assert (await admin.get("/operator/dashboard")).status_code == 200  # still signed in


SCREENS: dict[str, str] = {
    "dashboard": "/operator/dashboard",
    "search": "/operator/consents?go=1",
    "detail": "/operator/consents/{id}",
    "receipt": "/operator/consents/{id}/receipt.jws",
    "withdraw": "/operator/consents/{id}/withdraw",
    "export": "/operator/export?format=csv",
    "offboarding": "/operator/offboarding",
    "audit": "/operator/audit",
    "accounts": "/operator/accounts",
    "account": "/operator/accounts/viewer-other/disable",
}
FORMS: dict[str, tuple[str, dict[str, str]]] = {
    "withdraw": ("/operator/consents/{id}/withdraw", {"reason": "ticket 7", "confirm": "yes"}),
    "offboarding": (
        "/operator/offboarding",
        {"client_id": "gd-x", "reason": "ends", "confirm": "yes"},
    ),
    "verify": ("/operator/audit/verify", {}),
    "add_account": (
        "/operator/accounts",
        {"username": "new-op", "role": "viewer", "password": "p" * 12},
    ),
    "disable": ("/operator/accounts/viewer-other/disable", {}),
}
ALLOWED: dict[Role, set[str]] = {
    Role.VIEWER: {"dashboard", "search", "detail", "receipt"},
    Role.OFFICER: {"dashboard", "search", "detail", "receipt", "withdraw", "offboarding"},
    Role.AUDITOR: {"dashboard", "search", "detail", "receipt", "export", "audit", "verify"},
    Role.ADMIN: set(SCREENS) | set(FORMS),
}
"""The role table of docs/consent.md, spelled out here independently of the code."""
BUTTONS = {"withdraw": "Withdraw this consent", "export": "export-links"}


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_against_every_screen_and_form(
    role: Role, sign_in: SignIn, services: ConsentServices, redis: aioredis.Redis
) -> None:
    record = grant().record
    await services.store.save(record)
    await services.accounts.add("viewer-other", PASSWORD, Role.VIEWER)
    client = await sign_in(role)
    for name, path in SCREENS.items():
        url = path.format(id=record.id)
        response = await client.get(url + ("&" if "?" in url else "?") + "lang=en")
        if name in ALLOWED[role]:
            assert response.status_code == 200, (role, name, response.text[:300])
        else:
            assert response.status_code == 403, (role, name)
            assert "Not allowed" in response.text and record.subject not in response.text
            entry = await _last_entry(redis)
            assert (
                entry["action"] == "operator.denied"
                and entry["actor"] == f"operator:{role.value}-op"
            )
    detail = (await client.get(f"/operator/consents/{record.id}?lang=en")).text
    assert (BUTTONS["withdraw"] in detail) == ("withdraw" in ALLOWED[role])
    search = (await client.get("/operator/consents?go=1&lang=en")).text
    assert (BUTTONS["export"] in search) == ("export" in ALLOWED[role])
    nav = (await client.get("/operator/dashboard?lang=en")).text
    assert ('href="/operator/accounts' in nav) == ("accounts" in ALLOWED[role])
    assert ('href="/operator/audit' in nav) == ("audit" in ALLOWED[role])
    assert ('href="/operator/offboarding' in nav) == ("offboarding" in ALLOWED[role])
    for name, (path, data) in FORMS.items():
        page = await client.get("/operator/dashboard")
        response = await client.post(
            path.format(id=record.id), data={**data, "csrf_token": csrf_of(page.text)}
        )
        if name in ALLOWED[role]:
            assert response.status_code in (200, 303), (role, name, response.text[:300])
        else:
            assert response.status_code == 403, (role, name)
    expected = Status.REVOKED if "withdraw" in ALLOWED[role] else Status.ACTIVE
    assert (await services.store.get(record.id)).status is expected


def test_the_three_catalogues_have_the_same_keys() -> None:
    from consent.operator.console.render import console_catalogues

    keys = {loc: set(c.messages) for loc, c in console_catalogues().items()}
    assert keys["zh-HK"] == keys["zh-CN"] == keys["en"]
    assert all(console_catalogues()[loc].text("layout.console_name") for loc in keys)
