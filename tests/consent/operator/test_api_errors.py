"""Bad input to the operator API gets a JSON error with an OAuth-style code, never a 5xx."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pyotp
import pytest
from fastapi import FastAPI

from consent.audit import Action, parse_entry
from consent.operator.roles import Role
from consent.operator.sessions import LOGIN_WINDOW_SECONDS
from consent.services import ConsentServices
from federation.storage.keys import Keys
from tests.consent.factories import grant
from tests.consent.operator.conftest import PASSWORD, LoginAs, secret_of


def _assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code
    assert body["error_description"]
    assert "Traceback" not in response.text


@pytest.fixture
async def clear_of_a_login_window_edge() -> None:
    """Login limits count in fixed windows (``LOGIN_WINDOW_SECONDS``): a test that fills
    one must not straddle two. Starts at least 20 s before the next edge."""
    into = time.time() % LOGIN_WINDOW_SECONDS
    if into > LOGIN_WINDOW_SECONDS - 20:
        await asyncio.sleep(LOGIN_WINDOW_SECONDS - into + 0.05)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/operator/api/consents/not-an-id", None, 400, "invalid_request"),
        ("GET", "/operator/api/consents?limit=0", None, 400, "invalid_request"),
        ("GET", "/operator/api/consents?limit=abc", None, 400, "invalid_request"),
        ("GET", "/operator/api/consents?status=bogus", None, 400, "invalid_request"),
        ("GET", "/operator/api/consents?given_from=yesterday", None, 400, "invalid_request"),
        ("GET", "/operator/api/consents?cursor=%00%01garbage", None, 400, "invalid_request"),
        ("GET", "/operator/api/consents?subject=" + "x" * 500, None, 400, "invalid_request"),
        ("GET", "/operator/api/consents?given_to=%ff%fe%00", None, 400, "invalid_request"),
        ("GET", "/operator/api/export?format=xml", None, 400, "invalid_request"),
        ("POST", "/operator/api/consents/cns_aaaaaaaaaaaaaaaaaaaaaaaa/revoke", {}, 400,
         "invalid_request"),
        ("POST", "/operator/api/consents/cns_aaaaaaaaaaaaaaaaaaaaaaaa/revoke", {"reason": "  "},
         400, "invalid_request"),
        ("POST", "/operator/api/consents/cns_aaaaaaaaaaaaaaaaaaaaaaaa/revoke",
         {"reason": "ok reason"}, 404, "not_found"),
        ("GET", "/operator/api/consents/cns_aaaaaaaaaaaaaaaaaaaaaaaa", None, 404, "not_found"),
    ],
)  # fmt: skip
async def test_bad_requests_get_json_errors(
    method: str,
    path: str,
    body: dict | None,
    status: int,
    code: str,
    client: httpx.AsyncClient,
    login_as: LoginAs,
) -> None:
    headers = await login_as(Role.ADMIN)
    response = await client.request(method, path, json=body, headers=headers)
    _assert_error(response, status, code)


async def test_malformed_json_body(client: httpx.AsyncClient, login_as: LoginAs) -> None:
    headers = {**await login_as(Role.ADMIN), "Content-Type": "application/json"}
    response = await client.post(
        "/operator/api/consents/cns_aaaaaaaaaaaaaaaaaaaaaaaa/revoke",
        content=b"{not json",
        headers=headers,
    )
    _assert_error(response, 400, "invalid_request")


async def test_revoking_twice_is_a_conflict(
    client: httpx.AsyncClient, login_as: LoginAs, services: ConsentServices
) -> None:
    record = grant().record
    await services.store.save(record)
    headers = await login_as(Role.OFFICER)
    path = f"/operator/api/consents/{record.id}/revoke"
    assert (await client.post(path, json={"reason": "first"}, headers=headers)).status_code == 200
    _assert_error(
        await client.post(path, json={"reason": "again"}, headers=headers),
        409,
        "consent_not_active",
    )


@pytest.mark.parametrize(
    "body",
    [
        {"username": "admin-op", "password": "wrong password!!", "totp": "000000"},
        {"username": "nobody-here", "password": PASSWORD, "totp": "123456"},
    ],
)
async def test_wrong_credentials(
    body: dict, client: httpx.AsyncClient, services: ConsentServices
) -> None:
    await services.accounts.add("admin-op", PASSWORD, Role.ADMIN)
    _assert_error(await client.post("/operator/api/login", json=body), 401, "invalid_grant")


async def test_login_needs_the_right_totp_and_rejects_replay(
    client: httpx.AsyncClient, services: ConsentServices
) -> None:
    uri = await services.accounts.add("alice", PASSWORD, Role.VIEWER)
    totp = pyotp.TOTP(secret_of(uri))
    stale = totp.at(time.time() - 300)
    body = {"username": "alice", "password": PASSWORD, "totp": stale}
    _assert_error(await client.post("/operator/api/login", json=body), 401, "invalid_grant")
    body["totp"] = totp.at(time.time())
    assert (await client.post("/operator/api/login", json=body)).status_code == 200
    _assert_error(await client.post("/operator/api/login", json=body), 401, "invalid_grant")
    body["totp"] = "12345"
    _assert_error(await client.post("/operator/api/login", json=body), 400, "invalid_request")


@pytest.mark.usefixtures("clear_of_a_login_window_edge")
async def test_login_is_rate_limited(client: httpx.AsyncClient, services: ConsentServices) -> None:
    await services.accounts.add("alice", PASSWORD, Role.VIEWER)
    body = {"username": "alice", "password": "not the password", "totp": "000000"}
    codes = [(await client.post("/operator/api/login", json=body)).status_code for _ in range(12)]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]
    _assert_error(await client.post("/operator/api/login", json=body), 429, "slow_down")


async def _throttled_audits(services: ConsentServices) -> int:
    rows = await services.chain.redis.xrange(Keys.AUDIT_STREAM)
    entries = [parse_entry(stream_id, fields) for stream_id, fields in rows]
    return sum(
        1
        for e in entries
        if e["action"] == Action.OPERATOR_LOGIN_FAILED.value
        and "throttled" in json.dumps(e["objects"])
    )


@pytest.mark.usefixtures("clear_of_a_login_window_edge")
async def test_throttled_logins_are_audited_once_per_window(
    client: httpx.AsyncClient, services: ConsentServices
) -> None:
    await services.accounts.add("alice", PASSWORD, Role.VIEWER)
    body = {"username": "alice", "password": "not the password", "totp": "000000"}
    codes = [(await client.post("/operator/api/login", json=body)).status_code for _ in range(25)]
    assert codes.count(429) == 15
    assert await _throttled_audits(services) == 1


async def test_token_and_export_responses_are_not_cached(
    client: httpx.AsyncClient, services: ConsentServices, login_as: LoginAs
) -> None:
    uri = await services.accounts.add("alice", PASSWORD, Role.VIEWER)
    code = pyotp.TOTP(secret_of(uri)).at(time.time())
    body = {"username": "alice", "password": PASSWORD, "totp": code}
    login = await client.post("/operator/api/login", json=body)
    assert login.status_code == 200
    assert login.headers["cache-control"] == "no-store"
    assert login.headers["pragma"] == "no-cache"
    headers = await login_as(Role.AUDITOR)
    for fmt in ("json", "csv"):
        export = await client.get("/operator/api/export", params={"format": fmt}, headers=headers)
        assert export.status_code == 200, export.text
        assert export.headers["cache-control"] == "no-store"
        assert export.headers["pragma"] == "no-cache"


NASTY = ["", " ", "\x00", "%", "'; DROP", "9" * 40, "-1", "1e309", "2024-13-45", "é中文",
         "../../etc", "cns_" + "a" * 80, "null", "[]", "{}", "\ufffe"]  # fmt: skip
FIELDS = ["subject", "client_id", "status", "given_from", "given_to", "cursor", "limit"]


async def test_hostile_search_parameters_never_5xx(
    client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    headers = await login_as(Role.ADMIN)
    for i, field in enumerate(FIELDS):
        for j, value in enumerate(NASTY):
            params = {field: value, FIELDS[(i + j) % len(FIELDS)]: NASTY[(i * j) % len(NASTY)]}
            response = await client.get("/operator/api/consents", params=params, headers=headers)
            assert response.status_code in (200, 400), (params, response.text)
            if response.status_code == 400:
                assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ["/operator/api/consents", "/operator/api/export"])
async def test_dates_without_a_zone_are_utc_and_extreme_dates_never_5xx(
    path: str, client: httpx.AsyncClient, login_as: LoginAs, services: ConsentServices
) -> None:
    record = grant(now=1_700_000_000).record  # 2023-11-14T22:13:20Z
    await services.store.save(record)
    headers = await login_as(Role.ADMIN)

    async def found(**params: str) -> list[str]:
        response = await client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        items = response.json().get("items") if path.endswith("consents") else None
        return [r["id"] for r in (items if items is not None else response.json()["records"])]

    assert await found(given_from="2023-11-14T22:13:20") == [record.id]
    assert await found(given_to="2023-11-14T22:13:19") == []
    for value in ("0001-01-01T00:00:00", "0001-01-01", "9999-12-31T23:59:59"):
        for name in ("given_from", "given_to"):
            response = await client.get(path, params={name: value}, headers=headers)
            assert response.status_code in (200, 400), (name, value, response.text)


async def test_a_failed_login_names_only_an_existing_account_in_the_audit_chain(
    client: httpx.AsyncClient, services: ConsentServices
) -> None:
    await services.accounts.add("alice", PASSWORD, Role.VIEWER)
    typed = "correcthorsebatterystaple"  # a password typed into the username field
    for username in ("alice", typed):
        body = {"username": username, "password": "not the password", "totp": "000000"}
        _assert_error(await client.post("/operator/api/login", json=body), 401, "invalid_grant")
    rows = await services.chain.redis.xrange(Keys.AUDIT_STREAM)
    entries = [parse_entry(stream_id, fields) for stream_id, fields in rows]
    assert [(e["actor"], e["action"]) for e in entries if e["action"] != Action.CHECKPOINT] == [
        ("operator:alice", Action.OPERATOR_LOGIN_FAILED.value),
        ("anonymous", Action.OPERATOR_LOGIN_FAILED.value),
    ]
    assert typed not in str(rows)


@pytest.mark.usefixtures("clear_of_a_login_window_edge")
async def test_behind_a_trusted_proxy_each_address_has_its_own_login_limit(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """With ``trust_proxy_headers`` the per-address limit counts the proxy's last
    ``X-Forwarded-For`` hop, as every other limit does: one noisy address does not lock
    the other operators out."""
    app.state.settings = app.state.settings.model_copy(update={"trust_proxy_headers": True})
    body = {"username": "nobody", "password": "x", "totp": "000000"}
    noisy = {"X-Forwarded-For": "198.51.100.7"}
    codes = [
        (
            await client.post(
                f"/operator/api/login?n={i}", json={**body, "username": f"u{i}"}, headers=noisy
            )
        ).status_code
        for i in range(31)
    ]
    assert codes[-1] == 429  # the address limit (30 per window)
    other = await client.post(
        "/operator/api/login", json=body, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert other.status_code == 401


@pytest.mark.usefixtures("clear_of_a_login_window_edge")
async def test_bad_passwords_from_elsewhere_never_lock_the_real_operator_out(
    app: FastAPI, client: httpx.AsyncClient, services: ConsentServices
) -> None:
    """Issue 16 item 4: 11 bad passwords for a username within the window used to make the
    right password and a fresh code get 429, for good if repeated. The refusal is now per
    username *and* address; failures from every address only slow the account down."""
    app.state.settings = app.state.settings.model_copy(update={"trust_proxy_headers": True})
    services.sessions.delay_base, services.sessions.delay_max = 0.02, 0.2  # quick, same shape
    uri = await services.accounts.add("alice", PASSWORD, Role.ADMIN)
    wrong = {"username": "alice", "password": "not the password", "totp": "000000"}
    attacker = [{"X-Forwarded-For": f"198.51.100.{n}"} for n in range(1, 3)]
    codes = [
        (await client.post("/operator/api/login", json=wrong, headers=attacker[0])).status_code
        for _ in range(11)
    ]
    assert codes == [401] * 10 + [429]  # that address is refused for alice …
    for headers in attacker[1:]:  # … and more failures from another address: 20 in all
        for _ in range(10):
            response = await client.post("/operator/api/login", json=wrong, headers=headers)
            assert response.status_code == 401
    right = {"username": "alice", "password": PASSWORD, "totp": pyotp.TOTP(secret_of(uri)).now()}
    started = time.monotonic()
    login = await client.post(
        "/operator/api/login", json=right, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    waited = time.monotonic() - started
    assert login.status_code == 200, login.text  # the real operator signs in …
    assert login.json()["access_token"]
    assert 0.2 <= waited < 5  # … slowed by the growing delay (capped), never refused


def test_the_delay_grows_with_failures_and_is_capped(services: ConsentServices) -> None:
    sessions = services.sessions
    delays = [sessions.delay_for(n) for n in range(0, 20)]
    assert delays[:10] == [0.0] * 10  # the first ten failures cost nothing
    assert delays[10:14] == [0.5, 1.0, 2.0, 4.0]
    assert max(delays) == sessions.delay_max == 8.0
    assert sessions.delay_for(10**6) == 8.0


@pytest.mark.parametrize("value", ["2030", "1700000000", "1.7e9", "-5", "2030-01"])
async def test_date_filters_take_iso_8601_only(
    value: str, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """A bare number is not read as Unix seconds (issue 20: ``given_to=2030`` gave 200)."""
    headers = await login_as(Role.ADMIN)
    for name in ("given_from", "given_to"):
        response = await client.get("/operator/api/consents", params={name: value}, headers=headers)
        _assert_error(response, 400, "invalid_request")
        assert name in response.json()["error_description"]
    for good in ("2030-01-01", "2030-01-01T08:00:00+08:00", "2030-01-01T00:00:00Z"):
        response = await client.get(
            "/operator/api/consents", params={"given_to": good}, headers=headers
        )
        assert response.status_code == 200, (good, response.text)


async def _chunks(total: int, size: int = 64 * 1024):  # type: ignore[no-untyped-def]
    sent = 0
    while sent < total:
        yield b" " * size
        sent += size


@pytest.mark.parametrize(
    "path", ["/operator/api/login", "/operator/api/consents/cns_aaaaaaaaaaaaaaaaaaaaaaaa/revoke"]
)
async def test_a_chunked_body_over_the_cap_is_413(
    path: str, client: httpx.AsyncClient, login_as: LoginAs
) -> None:
    """No Content-Length, more than 1 MiB: 413 like a declared one (it was 400 at login)."""
    headers = {**await login_as(Role.ADMIN), "Content-Type": "application/json"}
    response = await client.post(path, content=_chunks(2 * 1024 * 1024), headers=headers)
    _assert_error(response, 413, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        b'{"username": "a", "password": "b", "totp": "123456", "username": "admin-op"}',
        b'{"username": "\\ud800", "password": "b", "totp": "123456"}',
        b'{"username": ' * 3000 + b"1" + b"}" * 3000,
        b'{"username": "a", "password": "b", "totp": NaN}',
    ],
)
async def test_login_bodies_are_read_as_untrusted_json(
    body: bytes, client: httpx.AsyncClient
) -> None:
    """Duplicate names, lone surrogates, deep nesting, NaN: 400, never read by pydantic."""
    response = await client.post(
        "/operator/api/login", content=body, headers={"Content-Type": "application/json"}
    )
    _assert_error(response, 400, "invalid_request")
