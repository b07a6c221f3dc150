"""The console's actions and figures, in-process on the real app and real Redis: search
filters (purpose, receipt id, Hong Kong dates, oldest first, paging), withdrawal needing a
reason, four-eyes offboarding (the requester cannot approve; both steps audited), bounded
exports that say when cut short, dashboard figures from counters (not from the records),
the audit view and "verify the chain now" naming the first bad entry, and account changes
audited exactly as the CLI's."""

from __future__ import annotations

import json
import time

import pytest
import redis.asyncio as aioredis

from consent.operator import service as operator_service
from consent.operator.roles import Role
from consent.records import Status
from consent.services import ConsentServices
from federation.storage.keys import Keys
from tests.consent.factories import grant
from tests.consent.operator.console_support import SignIn, csrf_of
from tests.consent.revokers import RecordingRevoker


async def _entries(redis: aioredis.Redis, action: str) -> list[dict[str, str]]:
    rows = await redis.xrange(Keys.AUDIT_STREAM)
    return [fields for _id, fields in rows if fields["action"] == action]


async def _form(client, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    page = await client.get("/operator/dashboard")
    return await client.post(path, data={**data, "csrf_token": csrf_of(page.text)})


async def test_search_filters_sorting_and_paging(
    sign_in: SignIn, services: ConsentServices
) -> None:
    now = int(time.time())
    made = []
    for n in range(5):
        captured = grant(
            f"sub-{n}",
            now=now - n * 86400,
            purposes=("tax-filing",) if n == 2 else ("account-registration",),
        )
        await services.lifecycle.grant(captured)
        made.append(captured.record)
    client = await sign_in(Role.VIEWER)
    newest = (await client.get("/operator/consents?go=1&size=25&lang=en")).text
    assert [r.id for r in made if r.id in newest] == [r.id for r in made]
    assert newest.index(made[0].id) < newest.index(made[4].id)
    oldest = (await client.get("/operator/consents?go=1&sort=oldest&lang=en")).text
    assert oldest.index(made[4].id) < oldest.index(made[0].id)
    purpose = (await client.get("/operator/consents?purpose=tax-filing&lang=en")).text
    assert made[2].id in purpose and made[1].id not in purpose
    receipt = (await client.get(f"/operator/consents?receipt={made[3].id}&lang=en")).text
    assert made[3].id in receipt and made[2].id not in receipt
    from datetime import datetime
    from zoneinfo import ZoneInfo

    day = datetime.fromtimestamp(made[1].given_at, ZoneInfo("Asia/Hong_Kong")).date().isoformat()
    dated = (await client.get(f"/operator/consents?from={day}&to={day}&lang=en")).text
    assert made[1].id in dated and made[0].id not in dated and made[2].id not in dated
    first = await client.get("/operator/consents?go=1&size=25&lang=en")
    assert "Next page" not in first.text
    bad = await client.get("/operator/consents?from=not-a-date&lang=en")
    assert bad.status_code == 400 and "Check what you entered" in bad.text


async def test_oldest_first_pages_through_everything_once(services: ConsentServices) -> None:
    from consent.store import ConsentQuery

    now = int(time.time())
    for n in range(7):
        await services.store.save(grant(f"sub-{n}", now=now - (n // 2)).record)
    seen: list[str] = []
    cursor = None
    while True:
        page = await services.store.search(ConsentQuery(oldest_first=True), cursor, 2)
        seen += [r.id for r in page.items]
        given = [r.given_at for r in page.items]
        assert given == sorted(given)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 7


async def test_withdraw_needs_a_reason_and_confirmation(
    sign_in: SignIn, services: ConsentServices, revoker: RecordingRevoker
) -> None:
    record = grant().record
    await services.store.save(record)
    client = await sign_in(Role.OFFICER)
    path = f"/operator/consents/{record.id}/withdraw?lang=en"
    no_reason = await _form(client, path, {"reason": " ", "confirm": "yes"})
    assert no_reason.status_code == 400 and "at least 3 characters" in no_reason.text
    unconfirmed = await _form(client, path, {"reason": "ticket 12"})
    assert unconfirmed.status_code == 400 and "Tick the box" in unconfirmed.text
    assert (await services.store.get(record.id)).status is Status.ACTIVE and revoker.calls == []
    done = await _form(client, path, {"reason": "ticket 12", "confirm": "yes"})
    assert done.status_code == 303
    stored = await services.store.get(record.id)
    assert stored.status is Status.REVOKED and stored.revoke_reason == "ticket 12"
    assert stored.revoked_by == "operator:officer-op"
    assert revoker.calls == [(record.subject, record.client_id, "consent revoked by an operator")]
    again = await _form(client, path, {"reason": "ticket 12", "confirm": "yes"})
    assert again.status_code == 409


async def test_four_eyes_offboarding(
    sign_in: SignIn, services: ConsentServices, redis: aioredis.Redis, revoker: RecordingRevoker
) -> None:
    records = [grant(f"sub-{n}", "gd-closing").record for n in range(3)]
    kept = grant("sub-9", "gd-staying").record
    for record in [*records, kept]:
        await services.store.save(record)
    asker = await sign_in(Role.OFFICER, "a")
    made = await _form(
        asker,
        "/operator/offboarding?lang=en",
        {"client_id": "gd-closing", "reason": "contract ended", "confirm": "yes"},
    )
    assert made.status_code == 303
    request_path = made.headers["location"].split("?")[0]
    page = (await asker.get(request_path + "?lang=en")).text
    assert 'value="approve"' not in page and "another operator" in page
    refused = await _form(asker, request_path + "?lang=en", {"decision": "approve"})
    assert refused.status_code == 403 and "Someone else must decide" in refused.text
    assert all([(await services.store.get(r.id)).status is Status.ACTIVE for r in records])
    denied = await _entries(redis, "operator.denied")
    assert denied and json.loads(denied[-1]["objects"])["permission"] == "consents:offboard"
    approver = await sign_in(Role.ADMIN, "b")
    assert 'value="approve"' in (await approver.get(request_path)).text
    approved = await _form(approver, request_path, {"decision": "approve"})
    assert approved.status_code == 303
    assert all([(await services.store.get(r.id)).status is Status.REVOKED for r in records])
    assert (await services.store.get(kept.id)).status is Status.ACTIVE
    assert sorted(c[0] for c in revoker.calls) == sorted(r.subject for r in records)
    [asked] = await _entries(redis, "operator.offboarding_requested")
    [decided] = await _entries(redis, "operator.offboarding_approved")
    assert asked["actor"] == "operator:officer-a" and decided["actor"] == "operator:admin-b"
    twice = await _form(approver, request_path, {"decision": "reject"})
    assert twice.status_code == 409


async def test_export_is_audited_bounded_and_says_when_cut_short(
    sign_in: SignIn,
    services: ConsentServices,
    redis: aioredis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(3):
        await services.store.save(grant(f"sub-{n}").record)
    client = await sign_in(Role.AUDITOR)
    full = await client.get("/operator/export?format=csv&client_id=gd-social-security")
    assert full.headers["x-export-truncated"] == "false"
    assert 'filename="consents.csv"' in full.headers["content-disposition"]
    assert len(full.text.strip().splitlines()) == 4
    monkeypatch.setattr(operator_service, "EXPORT_LIMIT", 2)
    cut = await client.get("/operator/export?format=jsonl")
    assert cut.headers["x-export-truncated"] == "true"
    assert 'filename="consents-partial.jsonl"' in cut.headers["content-disposition"]
    lines = cut.text.strip().splitlines()
    assert json.loads(lines[0])["meta"] == {
        **json.loads(lines[0])["meta"],
        "truncated": True,
        "count": 2,
    }
    assert len(lines) == 3
    exported = await _entries(redis, "operator.exported")
    assert [json.loads(e["objects"])["truncated"] for e in exported] == ["false", "true"]
    assert (await client.get("/operator/export?format=xml")).status_code == 400


async def test_dashboard_figures_come_from_counters_not_records(
    sign_in: SignIn, services: ConsentServices, redis: aioredis.Redis
) -> None:
    given = [grant(f"sub-{n}", "gd-a", remember_seconds=86400 * 5) for n in range(3)]
    for captured in given:
        await services.lifecycle.grant(captured)
    await services.lifecycle.revoke_by_operator(given[0].record.id, operator="x", reason="test")
    superseding = grant("sub-1", "gd-a", version="2024-02", remember_seconds=86400 * 5)
    await services.lifecycle.grant(superseding)  # sub-1's first consent expires (superseded)
    await services.lifecycle.expire_due(now=int(time.time()) + 86400 * 6)
    await services.counters.login("gd-a", "upstream:D40003")
    client = await sign_in(Role.VIEWER)
    board = (await client.get("/operator/dashboard?lang=en&client_id=gd-a")).text
    assert "<code>gd-a</code></th><td>4</td><td>1</td><td>3</td>" in board.replace("\n", "")
    assert "iAM Smart error D40003" in board
    assert "0 active consents expire in the next 30 days" in board  # all ended
    await services.lifecycle.grant(grant("sub-7", "gd-a", remember_seconds=86400 * 10))
    await services.lifecycle.grant(grant("sub-8", "gd-b", remember_seconds=86400 * 10))
    soon = (await client.get("/operator/dashboard?lang=en&client_id=gd-a")).text
    assert "1 active consents expire in the next 30 days" in soon
    assert board.count('src="/operator/dashboard/chart/') == 3
    chart = await client.get("/operator/dashboard/chart/consents.svg?client_id=gd-a&lang=en")
    assert chart.headers["content-type"] == "image/svg+xml"
    assert b"<svg" in chart.content and b"<script" not in chart.content
    assert chart.headers["content-security-policy"].startswith("default-src 'none'")
    assert (await client.get("/operator/dashboard/chart/other.svg")).status_code == 404
    # remove every record and index: the figures stay (they never came from the records)
    for key in [k async for k in redis.scan_iter(f"{Keys.consent('')}*")]:
        await redis.delete(key)
    await redis.delete(Keys.CONSENTS_ALL)
    again = (await client.get("/operator/dashboard?lang=en&client_id=gd-a")).text
    assert "<code>gd-a</code></th><td>5</td><td>1</td><td>3</td>" in again.replace("\n", "")
    assert (await client.get("/operator/dashboard?days=7")).status_code == 200  # falls back to 30


async def test_audit_view_filters_and_verify_names_the_first_bad_entry(
    sign_in: SignIn, services: ConsentServices, redis: aioredis.Redis
) -> None:
    for n in range(3):
        await services.lifecycle.grant(grant(f"sub-{n}"))
    client = await sign_in(Role.AUDITOR)
    granted = (await client.get("/operator/audit?action=consent.granted&lang=en")).text
    assert (
        granted.count("<td>consent.granted</td>") == 3 and "<td>operator.login</td>" not in granted
    )
    by_actor = (await client.get("/operator/audit?actor=operator:auditor-op&lang=en")).text
    assert "<td>operator.login</td>" in by_actor and "<td>consent.granted</td>" not in by_actor
    ok = await _form(client, "/operator/audit/verify?lang=en", {})
    assert "The chain is intact" in ok.text
    rows = await redis.xrange(Keys.AUDIT_STREAM, count=3)
    await redis.xdel(Keys.AUDIT_STREAM, rows[1][0])  # remove entry seq 2
    bad = await _form(client, "/operator/audit/verify?lang=en", {})
    assert "The chain is broken" in bad.text and "entry seq=2" in bad.text
    board = (await client.get("/operator/dashboard?lang=en")).text
    assert "Problem found:" in board and "entry seq=2" in board


async def test_accounts_are_changed_and_audited_as_the_cli_does(
    sign_in: SignIn, services: ConsentServices, redis: aioredis.Redis
) -> None:
    admin = await sign_in(Role.ADMIN)
    added = await _form(
        admin,
        "/operator/accounts?lang=en",
        {"username": "new-op", "role": "auditor", "password": "p" * 12},
    )
    assert added.status_code == 200 and "data:image/svg+xml;base64," in added.text
    assert (await services.accounts.get("new-op")).role is Role.AUDITOR  # type: ignore[union-attr]
    short = await _form(
        admin,
        "/operator/accounts?lang=en",
        {"username": "two-op", "role": "viewer", "password": "short"},
    )
    assert short.status_code == 400 and await services.accounts.get("two-op") is None
    for change in ("disable", "enable", "reset-totp"):
        response = await _form(admin, f"/operator/accounts/new-op/{change}?lang=en", {})
        assert response.status_code in (200, 303)
    assert (await services.accounts.get("new-op")).enabled  # type: ignore[union-attr]
    changes = [
        json.loads(e["objects"]) | {"actor": e["actor"]}
        for e in await _entries(redis, "operator.account_changed")
    ]
    assert changes == [
        {"operator": "new-op", "change": "added", "role": "auditor", "actor": "operator:admin-op"},
        {"operator": "new-op", "change": "disabled", "actor": "operator:admin-op"},
        {"operator": "new-op", "change": "enabled", "actor": "operator:admin-op"},
        {"operator": "new-op", "change": "totp_reset", "actor": "operator:admin-op"},
    ]
    own = await _form(admin, "/operator/accounts/admin-op/disable?lang=en", {})
    assert own.status_code == 403 and (await services.accounts.get("admin-op")).enabled  # type: ignore[union-attr]


async def test_the_api_and_the_console_share_the_four_eyes_rule(
    sign_in: SignIn,
    services: ConsentServices,
    client,
    login_as,  # type: ignore[no-untyped-def]
) -> None:
    record = grant("sub-1", "gd-closing").record
    await services.store.save(record)
    asker_headers = await login_as(Role.OFFICER)  # officer-op through the API
    made = await client.post(
        "/operator/api/offboarding",
        json={"client_id": "gd-closing", "reason": "contract ended"},
        headers=asker_headers,
    )
    assert made.status_code == 200 and made.json()["state"] == "pending"
    request_id = made.json()["id"]
    own = await client.post(
        f"/operator/api/offboarding/{request_id}/approve", headers=asker_headers
    )
    assert own.status_code == 403 and own.json()["error"] == "four_eyes"
    approver = await sign_in(Role.ADMIN, "b")  # a different operator, in the console
    page = (await approver.get("/operator/offboarding?lang=en")).text
    assert request_id in page and "Waiting for approval" in page
    done = await _form(approver, f"/operator/offboarding/{request_id}", {"decision": "approve"})
    assert done.status_code == 303
    assert (await services.store.get(record.id)).status is Status.REVOKED
    again = await client.post(
        f"/operator/api/offboarding/{request_id}/reject", headers=asker_headers
    )
    assert again.status_code == 403  # still the requester
