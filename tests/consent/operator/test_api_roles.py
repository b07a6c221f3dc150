"""Each role can do exactly what it may; unauthenticated and wrong-role calls get 401/403
and no data; every call is audited."""

from __future__ import annotations

import httpx
import pytest
import redis.asyncio as aioredis

from consent.operator import service as operator_service
from consent.operator.roles import Permission, Role
from consent.records import Status
from consent.services import ConsentServices
from federation.storage.keys import Keys
from tests.consent.factories import grant
from tests.consent.operator.conftest import LoginAs
from tests.consent.revokers import RecordingRevoker

CALLS: dict[Permission, tuple[str, str, dict | None]] = {
    Permission.SEARCH: ("GET", "/operator/api/consents?client_id=gd-social-security", None),
    Permission.VIEW: ("GET", "/operator/api/consents/{id}", None),
    Permission.REVOKE: ("POST", "/operator/api/consents/{id}/revoke", {"reason": "ticket 7"}),
    Permission.EXPORT: ("GET", "/operator/api/export?format=csv", None),
    Permission.AUDIT_STATUS: ("GET", "/operator/api/audit/status", None),
    Permission.AUDIT_READ: ("GET", "/operator/api/audit/events?action=consent.granted", None),
    Permission.OFFBOARD: (
        "POST",
        "/operator/api/offboarding",
        {"client_id": "gd-social-security", "reason": "contract ended"},
    ),
    Permission.DASHBOARD: ("GET", "/operator/api/dashboard?days=90", None),
}
"""Every permission the API enforces (account management is the console's only)."""
AUDITED: dict[Permission, str] = {
    Permission.SEARCH: "operator.searched",
    Permission.VIEW: "operator.viewed",
    Permission.REVOKE: "consent.revoked",
    Permission.EXPORT: "operator.exported",
    Permission.AUDIT_STATUS: "operator.audit_status",
    Permission.AUDIT_READ: "operator.audit_read",
    Permission.OFFBOARD: "operator.offboarding_requested",
    Permission.DASHBOARD: "operator.login",  # aggregate figures: viewing them is not audited
}
ERROR_KEYS = {"error", "error_description", "reference"}

# The table in docs/consent.md, spelled out here independently of consent.operator.roles.
S, V, R, E, A = (Permission.SEARCH, Permission.VIEW, Permission.REVOKE, Permission.EXPORT,
                 Permission.AUDIT_STATUS)  # fmt: skip
AR, OB, D, ACC = (Permission.AUDIT_READ, Permission.OFFBOARD, Permission.DASHBOARD,
                 Permission.ACCOUNTS)  # fmt: skip
EXPECTED: dict[Role, set[Permission]] = {
    Role.VIEWER: {D, S, V},
    Role.OFFICER: {D, S, V, R, OB},
    Role.AUDITOR: {D, S, V, E, A, AR},
    Role.ADMIN: {D, S, V, R, E, A, AR, OB, ACC},
}


async def _last_entry(redis: aioredis.Redis) -> dict[str, str]:
    rows = await redis.xrevrange(Keys.AUDIT_STREAM, count=1)
    return rows[0][1]


async def _call(client: httpx.AsyncClient, permission: Permission, consent_id: str, headers: dict):
    method, path, body = CALLS[permission]
    return await client.request(method, path.format(id=consent_id), json=body, headers=headers)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(CALLS))
async def test_role_matrix(
    role: Role,
    permission: Permission,
    client: httpx.AsyncClient,
    services: ConsentServices,
    login_as: LoginAs,
    redis: aioredis.Redis,
    revoker: RecordingRevoker,
) -> None:
    record = grant().record
    await services.store.save(record)
    headers = await login_as(role)
    response = await _call(client, permission, record.id, headers)
    entry = await _last_entry(redis)
    assert entry["actor"] == f"operator:{role.value}-op"
    if permission in EXPECTED[role]:
        assert response.status_code == 200, response.text
        assert entry["action"] == AUDITED[permission]
    else:
        assert response.status_code == 403, response.text
        assert set(response.json()) == ERROR_KEYS
        assert response.json()["error"] == "insufficient_scope"
        assert record.id not in response.text
        assert entry["action"] == "operator.denied"
        assert (await services.store.get(record.id)).status is Status.ACTIVE
        assert revoker.calls == []


async def test_what_each_allowed_call_returns(
    client: httpx.AsyncClient,
    services: ConsentServices,
    login_as: LoginAs,
    revoker: RecordingRevoker,
) -> None:
    records = [grant(f"sub-{i}", now=1_700_000_000 + i).record for i in range(3)]
    for record in records:
        await services.store.save(record)
    headers = await login_as(Role.ADMIN)
    found = (await _call(client, Permission.SEARCH, "", headers)).json()
    assert [r["id"] for r in found["items"]] == [r.id for r in reversed(records)]
    detail = (await _call(client, Permission.VIEW, records[0].id, headers)).json()
    assert detail["record"]["id"] == records[0].id
    assert [e["action"] for e in detail["events"]] == ["consent.granted"]
    revoked = (await _call(client, Permission.REVOKE, records[0].id, headers)).json()
    assert (revoked["status"], revoked["revoked_by"]) == ("revoked", "operator:admin-op")
    assert revoker.calls == [("sub-0", "gd-social-security", "consent revoked by an operator")]
    csv = await _call(client, Permission.EXPORT, "", headers)
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("id,subject,client_id,status") and len(lines) == 4
    as_json = await client.get("/operator/api/export?format=json&status=revoked", headers=headers)
    assert [r["id"] for r in as_json.json()["records"]] == [records[0].id]
    status = (await _call(client, Permission.AUDIT_STATUS, "", headers)).json()
    assert status["ok"] is True and status["signatures_checked"] is True
    assert status["entries"] >= 8


@pytest.mark.parametrize("permission", list(CALLS))
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YWxpY2U6eA=="}],
    ids=["none", "unknown", "basic"],
)
async def test_unauthenticated_calls_get_401_and_no_data(
    permission: Permission, headers: dict, client: httpx.AsyncClient, services: ConsentServices
) -> None:
    record = grant().record
    await services.store.save(record)
    response = await _call(client, permission, record.id, headers)
    assert response.status_code == 401
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert (await services.store.get(record.id)).status is Status.ACTIVE


async def test_logout_disable_and_expiry_end_access(
    client: httpx.AsyncClient, services: ConsentServices, login_as: LoginAs, redis: aioredis.Redis
) -> None:
    headers = await login_as(Role.VIEWER)
    ok = await _call(client, Permission.SEARCH, "", headers)
    assert ok.status_code == 200
    assert (await client.post("/operator/api/logout", headers=headers)).status_code == 204
    assert (await _call(client, Permission.SEARCH, "", headers)).status_code == 401

    headers = await login_as(Role.OFFICER)
    await services.accounts.set_enabled("officer-op", False)
    assert (await _call(client, Permission.SEARCH, "", headers)).status_code == 401

    headers = await login_as(Role.AUDITOR)
    async for key in redis.scan_iter(match=Keys.operator_session("*")):
        await redis.delete(key)  # what the TTL does after 15 minutes
    assert (await _call(client, Permission.SEARCH, "", headers)).status_code == 401


async def test_openapi_documents_the_operator_api(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    for path in (
        "/operator/api/login",
        "/operator/api/consents",
        "/operator/api/consents/{consent_id}",
        "/operator/api/consents/{consent_id}/revoke",
        "/operator/api/export",
        "/operator/api/audit/status",
    ):
        assert path in paths, path
    search = paths["/operator/api/consents"]["get"]
    assert search["tags"] == ["operator"]
    assert search["responses"]["403"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorResponse"
    )
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    assert {"ConsentPage", "ConsentDetail", "AuditStatus", "TokenResponse"} <= set(
        doc["components"]["schemas"]
    )


async def test_sessions_from_before_a_disable_or_totp_reset_stay_dead(
    client: httpx.AsyncClient, services: ConsentServices, login_as: LoginAs
) -> None:
    headers = await login_as(Role.OFFICER)
    await services.accounts.set_enabled("officer-op", False)
    await services.accounts.set_enabled("officer-op", True)
    assert (await _call(client, Permission.SEARCH, "", headers)).status_code == 401

    headers = await login_as(Role.VIEWER)
    assert (await _call(client, Permission.SEARCH, "", headers)).status_code == 200
    await services.accounts.reset_totp("viewer-op")
    assert (await _call(client, Permission.SEARCH, "", headers)).status_code == 401


async def test_an_export_says_when_it_was_cut_short(
    client: httpx.AsyncClient,
    services: ConsentServices,
    login_as: LoginAs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(3):
        await services.store.save(grant(f"sub-{i}", now=1_700_000_000 + i).record)
    headers = await login_as(Role.ADMIN)
    whole = await client.get("/operator/api/export?format=json", headers=headers)
    assert whole.headers["x-export-truncated"] == "false"
    assert whole.json()["meta"]["truncated"] is False and len(whole.json()["records"]) == 3
    monkeypatch.setattr(operator_service, "EXPORT_LIMIT", 2)
    cut = await client.get("/operator/api/export?format=csv", headers=headers)
    assert cut.headers["x-export-truncated"] == "true"
    assert len(cut.text.strip().splitlines()) == 3  # the header and two records
    monkeypatch.setattr(operator_service, "EXPORT_LIMIT", 10_000)
    monkeypatch.setattr(operator_service, "EXPORT_PAGE_BUDGET", 0)
    unread = await client.get("/operator/api/export?format=json", headers=headers)
    assert unread.headers["x-export-truncated"] == "true" and unread.json()["records"] == []
