"""Issue 16 items 1-2 at the connector: a result callback counts only when its content
opens with a CEK iAM Smart's getKey issued and names a request the connector made.
Each test fails on the connector that trusted the callback's own secretKey and its txID."""

from __future__ import annotations

import json

import httpx
import pytest

from connectors.base import AttributeRequest, UpstreamDenied, UpstreamProtocolError
from connectors.iamsmart import crypto
from connectors.iamsmart.connector import IAMSmartConnector, new_state
from connectors.iamsmart.simulator.state import Ticket

from .conftest import Receiver, RunningSim
from .test_end_to_end import DESKTOP, csrf, login

FORGED = {"enName": {"UnstructuredName": "CHAN, TAI MAN FORGED"}, "birthDate": "19000101"}


async def _request(
    connector: IAMSmartConnector, browser: httpx.AsyncClient, persona: str = "chan-tai-man"
) -> tuple[AttributeRequest, str]:
    identity = await login(connector, browser, persona)
    state = new_state()
    request = await connector.start_attribute_request(
        identity, ["name_en", "birth_date"], state=state, user_agent=DESKTOP, language="en"
    )
    assert request is not None and request.kind == "profile"
    return request, state


def _ticket(simulator: RunningSim, request: AttributeRequest) -> Ticket:
    return simulator.sim.state.tickets[request.ticket_id]


def _issued_cek(simulator: RunningSim) -> bytes:
    return simulator.sim.state.ceks["test-rp"].key


def _body(cek: bytes, public_pem: bytes, tx: str, content: dict, code: str = "D00000") -> bytes:
    public = crypto.load_public_key(public_pem)
    return json.dumps(
        {
            "txID": tx,
            "code": code,
            "message": "SUCCESS",
            "secretKey": crypto.wrap_cek(public, cek),
            "content": crypto.encrypt(cek, json.dumps(content).encode()),
        }
    ).encode()


async def _approve(browser: httpx.AsyncClient, request: AttributeRequest) -> None:
    assert request.browser_url is not None
    token = csrf((await browser.get(request.browser_url)).text)
    form = {"action": "approve", "field": ["enName", "birthDate"], "csrf": token}
    assert (await browser.post(request.browser_url, data=form)).status_code == 303


async def test_forged_result_with_a_fresh_key_is_refused(
    connector: IAMSmartConnector, simulator: RunningSim, receiver: Receiver, keypair
) -> None:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=connector.config.api_base_url) as browser:
        request, state = await _request(connector, browser)
        ticket = _ticket(simulator, request)
        # even with the right businessID and state (which never leave the server), a key
        # wrapped to our public encipherment key by someone else is not iAM Smart's
        named = {"businessID": ticket.business_id, "state": state, **FORGED}
        forged = _body(crypto.new_cek(), keypair[1].read_bytes(), f"<T={ticket.id}>", named)
        with pytest.raises(UpstreamProtocolError):
            await connector.complete_attribute_request(forged)
        # the request is unchanged: the real approval still completes it
        await _approve(browser, request)
        result = await connector.complete_attribute_request(receiver.bodies[-1])
    assert result.ticket_id == request.ticket_id and result.error is None
    assert "FORGED" not in json.dumps(dict(result.attributes))


async def test_result_naming_another_request_is_refused(
    connector: IAMSmartConnector, simulator: RunningSim, receiver: Receiver, keypair
) -> None:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=connector.config.api_base_url) as browser:
        mine, my_state = await _request(connector, browser, "chan-tai-man")
        other, other_state = await _request(connector, browser, "wong-siu-ming")
        cek, pem = _issued_cek(simulator), keypair[1].read_bytes()
        other_ticket = _ticket(simulator, other)
        spliced = {"businessID": other_ticket.business_id, "state": other_state, **FORGED}
        for content in (
            spliced,  # another journey's request, posted with my txID
            {"businessID": "0" * 32, "state": my_state, **FORGED},  # no request of ours
            {"businessID": _ticket(simulator, mine).business_id, "state": other_state},
            {"state": other_state, **FORGED},  # no businessID: the txID's state must match
            dict(FORGED),  # names nothing
        ):
            with pytest.raises(UpstreamProtocolError):
                await connector.complete_attribute_request(
                    _body(cek, pem, f"<T={mine.ticket_id}>", content)
                )
        await _approve(browser, mine)
        result = await connector.complete_attribute_request(receiver.bodies[-1])
    assert result.ticket_id == mine.ticket_id and result.error is None


async def test_unauthenticated_error_result_changes_nothing(
    connector: IAMSmartConnector, simulator: RunningSim, receiver: Receiver, keypair
) -> None:  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=connector.config.api_base_url) as browser:
        request, state = await _request(connector, browser)
        tx = f"<T={request.ticket_id}>"
        for body in (
            {"txID": tx, "code": "D50001"},
            {"txID": tx, "code": "D50001", "message": "user rejected", "content": ""},
        ):
            with pytest.raises(UpstreamProtocolError):
                await connector.complete_attribute_request(json.dumps(body).encode())
        ticket = _ticket(simulator, request)
        named = {"businessID": ticket.business_id, "state": state}
        forged = _body(crypto.new_cek(), keypair[1].read_bytes(), tx, named, code="D50001")
        with pytest.raises(UpstreamProtocolError):
            await connector.complete_attribute_request(forged)
        # an authenticated refusal (the simulator's deny) does count
        assert request.browser_url is not None
        token = csrf((await browser.get(request.browser_url)).text)
        await browser.post(request.browser_url, data={"action": "deny", "csrf": token})
        result = await connector.complete_attribute_request(receiver.bodies[-1])
    assert result.ticket_id == request.ticket_id
    assert isinstance(result.error, UpstreamDenied) and result.error.upstream_code == "D50001"


async def test_a_result_is_used_once(connector: IAMSmartConnector, receiver: Receiver) -> None:
    async with httpx.AsyncClient(base_url=connector.config.api_base_url) as browser:
        request, _ = await _request(connector, browser)
        await _approve(browser, request)
        body = receiver.bodies[-1]
        assert (await connector.complete_attribute_request(body)).error is None
        with pytest.raises(UpstreamProtocolError):
            await connector.complete_attribute_request(body)
