"""Issue 16 items 1-2 over real HTTP: forged or unauthenticated iAM Smart result callbacks
posted to the bridge change nothing, and the journey then completes with the person's
real attributes. Each test fails on the bridge that trusted the callback's own secretKey
and its plaintext txID."""

from __future__ import annotations

import json
import re

import httpx
import redis.asyncio as aioredis

from connectors.iamsmart import crypto
from connectors.iamsmart.signing import PROCESS_CLOCK, signed_headers
from federation.storage.keys import Keys
from tests.federation.journey.harness import (
    DEMO_KEYS,
    SIM_CLIENT_ID,
    SIM_SECRET,
    Bridge,
    Person,
    authorize_url,
    bridge,
    form_fields,
    rp_client,
)

__all__ = ["bridge"]

CALLBACK = "/upstream/iamsmart/callback"
FORGED = {"enName": {"UnstructuredName": "CHAN, TAI MAN FORGED"}, "birthDate": "19000101"}
PUBLIC = crypto.load_public_key((DEMO_KEYS / "DEMO-ONLY-encipherment-pub.pem").read_bytes())


async def _at_approval(bridge: Bridge, person: Person) -> str:
    """Sign in up to the simulator's approval page; the request's ticket id."""
    url, *_ = await authorize_url(bridge, rp_client(bridge, "rp-gd", "openid profile"))
    page = await person.go(url)
    login = re.search(r'action="(/sim/app/login/[^"]+)"', page.text)
    assert login is not None, page.text[:300]
    form = {"persona": person.persona, "action": "approve", "csrf": form_fields(page.text)["csrf"]}
    page = await person.go(bridge.sim_url + login.group(1).replace("&amp;", "&"), data=form)
    found = re.search(r"/sim/app/requests/([^/?]+)", str(page.url))
    assert page.status_code == 200 and found, str(page.url)
    return found.group(1)


async def _journey(redis: aioredis.Redis, ticket: str) -> dict[str, str]:
    journey_id = await redis.get(Keys.upstream_ticket(ticket))
    assert journey_id
    return await redis.hgetall(Keys.journey(journey_id))


async def _binding(redis: aioredis.Redis, ticket: str) -> dict[str, str]:
    business_id = await redis.get(Keys.upstream_cache("iamsmart", f"tkt:{ticket}"))
    assert business_id
    return json.loads(await redis.get(Keys.upstream_cache("iamsmart", f"biz:{business_id}")))


async def _issued_cek(bridge: Bridge) -> bytes:
    """The CEK the simulator issued to the bridge's registration (an insider's view)."""
    headers = signed_headers(SIM_CLIENT_ID, SIM_SECRET, "", clock=PROCESS_CLOCK)
    answer = httpx.post(bridge.sim_url + "/api/v1/security/getKey", content=b"", headers=headers)
    private = crypto.load_private_key((DEMO_KEYS / "DEMO-ONLY-encipherment-key.pem").read_bytes())
    return crypto.unwrap_cek(private, answer.json()["content"]["secretKey"])


def _body(cek: bytes, ticket: str, content: dict, code: str = "D00000") -> dict:
    return {
        "txID": f"<T={ticket}>",
        "code": code,
        "message": "SUCCESS",
        "secretKey": crypto.wrap_cek(PUBLIC, cek),
        "content": crypto.encrypt(cek, json.dumps(content).encode()),
    }


async def _finish_approval(person: Person) -> httpx.Response:
    page = await person.approve_requests(person.page)  # type: ignore[arg-type]
    assert page.status_code == 200 and str(page.url).endswith("/journey/consent"), page.url
    return page


async def test_forged_result_with_a_fresh_key_is_refused(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    person = Person(bridge, "chan-tai-man")
    try:
        ticket = await _at_approval(bridge, person)
        # the attack of issue 16 as reproduced: a fresh key wrapped to the public KEK
        answer = await person.http.post(
            bridge.url + CALLBACK, json=_body(crypto.new_cek(), ticket, FORGED)
        )
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
        journey = await _journey(redis, ticket)
        assert journey["stage"] == "attributes" and "result" not in journey
        # ... even knowing the businessID and state (which never leave the server)
        binding = await _binding(redis, ticket)
        content = {"businessID": binding["business_id"], "state": binding["state"], **FORGED}
        answer = await person.http.post(
            bridge.url + CALLBACK, json=_body(crypto.new_cek(), ticket, content)
        )
        assert answer.status_code == 400
        assert "result" not in await _journey(redis, ticket)
        page = await _finish_approval(person)
    finally:
        await person.aclose()
    assert "FORGED" not in page.text and "19000101" not in page.text


async def test_result_naming_another_journeys_request_is_refused(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    me, other = Person(bridge, "chan-tai-man"), Person(bridge, "wong-siu-ming")
    try:
        mine = await _at_approval(bridge, me)
        theirs = await _at_approval(bridge, other)
        their_binding = await _binding(redis, theirs)
        cek = await _issued_cek(bridge)
        content = {
            "businessID": their_binding["business_id"],
            "state": their_binding["state"],
            **FORGED,
        }
        answer = await me.http.post(bridge.url + CALLBACK, json=_body(cek, mine, content))
        assert answer.status_code == 400
        for ticket in (mine, theirs):
            journey = await _journey(redis, ticket)
            assert journey["stage"] == "attributes" and "result" not in journey
        page = await _finish_approval(me)
        assert "FORGED" not in page.text
    finally:
        await me.aclose()
        await other.aclose()


async def test_unauthenticated_error_result_changes_nothing(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    person = Person(bridge, "ho-kwan")
    try:
        ticket = await _at_approval(bridge, person)
        for body in (
            {"txID": f"<T={ticket}>", "code": "D50001"},
            {"txID": ticket, "code": "D50001", "message": "user rejected the request"},
        ):
            answer = await person.http.post(bridge.url + CALLBACK, json=body)
            assert answer.status_code == 400
        journey = await _journey(redis, ticket)
        assert journey["stage"] == "attributes" and "result" not in journey
        await _finish_approval(person)  # the journey waited and goes on
    finally:
        await person.aclose()


IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


async def test_waiting_page_offers_open_iamsmart_after_app_to_app_login(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    """Issue 23 item 3: on a phone (authByQR false) the waiting page links to the app's
    request; on a PC (QR login, the request is pushed to the phone) it does not."""
    phone = Person(bridge, "chan-tai-man")
    phone.http.headers["User-Agent"] = IPHONE
    desk = Person(bridge, "ho-kwan")
    try:
        ticket = await _at_approval(bridge, phone)
        waiting = await phone.go(bridge.url + "/journey/continue")
        assert waiting.status_code == 200
        assert f'href="iamsmart://profile?ticketID={ticket}"' in waiting.text
        await _at_approval(bridge, desk)
        waiting = await desk.go(bridge.url + "/journey/continue")
        assert waiting.status_code == 200 and "iamsmart://" not in waiting.text
        # the "phone" opens the request the link names; the journey goes on
        await phone.go(f"{bridge.sim_url}/sim/app/requests/{ticket}")
        await _finish_approval(phone)
    finally:
        await phone.aclose()
        await desk.aclose()
