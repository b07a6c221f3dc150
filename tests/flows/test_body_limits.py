"""Bounded request bodies over real HTTP (DESIGN §8 "bad input of any kind gets a clear
error"): the consent form (64 KiB), Cancel, the self-service forms (4 KiB) and the iAM Smart
result POST (64 KiB) are read only up to their bound; beyond it 413 — the trilingual page
for people, JSON for the server-to-server POST — and a declared ``Content-Length`` over the
bound is refused before any of the body is sent (a raw socket that never sends the body
gets its answer)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from federation.journey.forms import MAX_FORM_BODY
from federation.journey.record import JOURNEY_COOKIE
from federation.journey.upstream import MAX_RESULT_BODY
from federation.pages.catalogue import catalogues
from federation.selfservice.context import MAX_FORM_BYTES
from federation.selfservice.sessions import SESSION_COOKIE
from federation.storage.keys import Keys
from tests.federation.journey.harness import (
    Bridge,
    Person,
    authorize_url,
    bridge,
    consent,
    finish,
    form_fields,
    rp_client,
)
from tests.federation.selfservice.helpers import consent_at, open_self_service

__all__ = ["bridge"]

FORM = "application/x-www-form-urlencoded"
TOO_LARGE_TITLE = catalogues()["en"].text("error.request_too_large.title")


async def _declared_only(
    bridge: Bridge, path: str, length: int, *, cookie: str = "", html: bool = True
) -> tuple[int, str, bytes]:
    """POST with ``Content-Length: length`` and never send the body: the status, the
    content type and the body of the answer (within 10 s, else the server waited)."""
    url = urlsplit(bridge.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {url.netloc}",
            f"Content-Type: {FORM if html else 'application/json'}",
            f"Content-Length: {length}",
            f"Accept: {'text/html' if html else 'application/json'}",
        ]
        if cookie:
            head.append(f"Cookie: {cookie}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        lines = raw.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 10)
        return int(lines[0].split()[1]), headers["content-type"], body
    finally:
        writer.close()


async def _chunks(total: int, size: int = 8192) -> AsyncIterator[bytes]:
    """A body without ``Content-Length`` (chunked transfer encoding)."""
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


async def test_consent_form_over_the_bound_is_413_and_the_journey_goes_on(
    bridge: Bridge, redis: aioredis.Redis
) -> None:
    url, *_ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"))
    person = Person(bridge, "leung-ka-yan")
    try:
        page = await person.sign_in(url)
        token = form_fields(page.text)["csrf_token"]
        data = {"csrf_token": token, "decision": "agree", "cross_boundary": "yes"}
        padded = {**data, "padding": "x" * MAX_FORM_BODY}
        big = await person.go(bridge.url + "/journey/consent?lang=en", data=padded)
        assert (
            big.status_code == 413 and TOO_LARGE_TITLE in big.text and '<html lang="en"' in big.text
        )
        chunked = await person.http.post(
            bridge.url + "/journey/consent?lang=en",
            content=_chunks(MAX_FORM_BODY + 1),
            headers={"Content-Type": FORM},
        )
        assert chunked.status_code == 413 and TOO_LARGE_TITLE in chunked.text
        cookie = f"{JOURNEY_COOKIE}={person.http.cookies[JOURNEY_COOKIE]}"
        status, kind, body = await _declared_only(
            bridge, "/journey/consent?lang=en", 10**9, cookie=cookie
        )
        assert status == 413 and kind.startswith("text/html")
        assert TOO_LARGE_TITLE in body.decode()
        assert await redis.keys(Keys.consent("*")) == []
        answer = await finish(person, await consent(person, page))  # still usable
        assert answer["code"]
    finally:
        await person.aclose()


async def test_cancel_form_over_the_bound_is_413(bridge: Bridge, redis: aioredis.Redis) -> None:
    url, *_ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"))
    person = Person(bridge, "tsang-chi-chuen")
    try:
        await person.sign_in(url)  # at the consent page: a journey with an identity
        journey_id = person.http.cookies[JOURNEY_COOKIE]
        big = await person.go(
            bridge.url + "/journey/cancel?lang=en", data={"x": "y" * MAX_FORM_BODY}
        )
        assert big.status_code == 413 and TOO_LARGE_TITLE in big.text
        assert (await redis.hgetall(Keys.journey(journey_id)))["stage"] == "consent"
    finally:
        await person.aclose()


async def test_result_post_over_the_bound_is_413_json(bridge: Bridge) -> None:
    path = "/upstream/iamsmart/callback"
    envelope = json.dumps({"txID": "<T=x>", "code": "D50001", "pad": "x" * MAX_RESULT_BODY})
    person = Person(bridge)
    try:
        big = await person.http.post(
            bridge.url + path, content=envelope, headers={"Content-Type": "application/json"}
        )
        assert big.status_code == 413 and big.json()["error"] == "invalid_request"
        chunked = await person.http.post(
            bridge.url + path,
            content=_chunks(MAX_RESULT_BODY + 1),
            headers={"Content-Type": "application/json"},
        )
        assert chunked.status_code == 413 and chunked.json()["error"] == "invalid_request"
        small = await person.http.post(bridge.url + path, content=b"{}")
        assert small.status_code == 400  # within the bound: read and refused as not a result
    finally:
        await person.aclose()
    status, kind, body = await _declared_only(bridge, path, 10**9, html=False)
    assert status == 413 and kind.startswith("application/json")
    assert json.loads(body)["error"] == "invalid_request"


async def test_self_service_forms_over_the_bound_are_413(bridge: Bridge) -> None:
    person = Person(bridge, "singh-harpreet")
    try:
        await consent_at(bridge, person)
        listing = await open_self_service(bridge, person)
        token = form_fields(listing.text)["csrf_token"]
        big = await person.go(
            bridge.url + "/consents/sign-out?lang=en",
            data={"csrf_token": token, "pad": "x" * MAX_FORM_BYTES},
            headers={"Accept": "text/html"},
        )
        assert big.status_code == 413 and TOO_LARGE_TITLE in big.text
        cookie = f"{SESSION_COOKIE}={person.http.cookies[SESSION_COOKIE]}"
        status, kind, body = await _declared_only(
            bridge, "/consents/sign-out?lang=en", 10**9, cookie=cookie
        )
        assert status == 413 and kind.startswith("text/html")
        assert TOO_LARGE_TITLE in body.decode()
        still = await person.go(bridge.url + "/consents")  # not signed out
        assert still.status_code == 200 and str(still.url) == bridge.url + "/consents"
    finally:
        await person.aclose()
