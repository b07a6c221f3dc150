"""The simulator against hand-made bad requests, over real HTTP: each gets its documented
D-code and none a 5xx. Also: the connector recovers from a stale CEK by itself."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from connectors.iamsmart import crypto
from connectors.iamsmart.connector import IAMSmartConnector, new_state
from connectors.iamsmart.signing import SIGNATURE_METHOD, new_nonce, signature
from connectors.iamsmart.simulator.state import LoginSession

from .conftest import CLIENT_ID, CLIENT_SECRET, Receiver, RunningSim

KEY_PATH = "/api/v1/security/getKey"
TOKEN_PATH = "/api/v1/auth/getToken"
PROFILE_PATH = "/api/v1/account/auth/profile/initiateRequest"


def headers(
    body: str,
    *,
    client_id: str = CLIENT_ID,
    secret: str = CLIENT_SECRET,
    timestamp: int | None = None,
    nonce: str | None = None,
    method: str = SIGNATURE_METHOD,
) -> dict[str, str]:
    ts = str(timestamp if timestamp is not None else int(time.time() * 1000))
    nonce = nonce or new_nonce()
    return {
        "clientID": client_id,
        "signatureMethod": method,
        "timestamp": ts,
        "nonce": nonce,
        "signature": signature(client_id, secret, ts, nonce, body),
        "Content-Type": "application/json",
    }


async def post(sim: RunningSim, path: str, body: str, **kw: object) -> dict:
    async with httpx.AsyncClient(base_url=sim.url) as http:
        response = await http.post(path, content=body.encode(), headers=headers(body, **kw))
    assert response.status_code < 500
    return response.json()


def code_for(sim: RunningSim, persona: str = "chan-tai-man", redirect: str = "") -> str:
    session = sim.sim.state.open_login(
        LoginSession(
            new_state(),
            CLIENT_ID,
            redirect,
            ("eidapi_auth", "eidapi_profiles"),
            None,
            "en-US",
            "PC_Browser",
            False,
        )
    )
    return sim.sim.state.issue_code(session, persona)


def token_body(code: str) -> str:
    return json.dumps({"code": code, "grantType": "authorization_code"})


async def test_good_request_is_accepted(simulator: RunningSim) -> None:
    reply = await post(simulator, TOKEN_PATH, token_body(code_for(simulator)))
    assert reply["code"] == "D00000" and reply["content"]["tokenType"] == "Bearer"


async def test_wrong_signature(simulator: RunningSim) -> None:
    reply = await post(simulator, KEY_PATH, "", secret="not-the-secret")
    assert reply["code"] == "D20006"


async def test_signature_over_another_body(simulator: RunningSim) -> None:
    body = token_body(code_for(simulator))
    h = headers(body)
    async with httpx.AsyncClient(base_url=simulator.url) as http:
        r = await http.post(TOKEN_PATH, content=(body + " ").encode(), headers=h)
    assert r.status_code == 200 and r.json()["code"] == "D20006"


async def test_stale_timestamp(simulator: RunningSim) -> None:
    reply = await post(simulator, KEY_PATH, "", timestamp=int(time.time() * 1000) - 600_000)
    assert reply["code"] == "D20004"


async def test_timestamp_going_backwards(simulator: RunningSim) -> None:
    now = int(time.time() * 1000)
    assert (await post(simulator, KEY_PATH, "", timestamp=now))["code"] == "D00000"
    assert (await post(simulator, KEY_PATH, "", timestamp=now - 5))["code"] == "D20004"


async def test_reused_nonce(simulator: RunningSim) -> None:
    nonce = new_nonce()
    assert (await post(simulator, KEY_PATH, "", nonce=nonce))["code"] == "D00000"
    assert (await post(simulator, KEY_PATH, "", nonce=nonce))["code"] == "D20004"  # duplicated


async def test_unknown_client(simulator: RunningSim) -> None:
    assert (await post(simulator, KEY_PATH, "", client_id="nobody"))["code"] == "D20003"


async def test_unsupported_signature_method(simulator: RunningSim) -> None:
    assert (await post(simulator, KEY_PATH, "", method="HmacSHA1"))["code"] == "D20005"


async def test_missing_header(simulator: RunningSim) -> None:
    async with httpx.AsyncClient(base_url=simulator.url) as http:
        r = await http.post(KEY_PATH, headers={"clientID": CLIENT_ID})
    assert r.status_code == 200 and r.json()["code"] == "D20002"  # empty parameter


async def test_used_code(simulator: RunningSim) -> None:
    code = code_for(simulator)
    assert (await post(simulator, TOKEN_PATH, token_body(code)))["code"] == "D00000"
    assert (await post(simulator, TOKEN_PATH, token_body(code)))["code"] == "D40004"


async def test_expired_code(simulator: RunningSim) -> None:
    code = code_for(simulator)
    simulator.sim.state.codes[code].expires_ms = int(time.time() * 1000) - 1
    assert (await post(simulator, TOKEN_PATH, token_body(code)))["code"] == "D40004"


async def test_code_lives_sixty_seconds(simulator: RunningSim) -> None:
    code = code_for(simulator)
    left = simulator.sim.state.codes[code].expires_ms - time.time() * 1000
    assert 59_000 < left <= 60_000


async def test_wrong_grant_type(simulator: RunningSim) -> None:
    body = json.dumps({"code": code_for(simulator), "grantType": "password"})
    assert (await post(simulator, TOKEN_PATH, body))["code"] == "D20003"


async def _session(simulator: RunningSim, private_key) -> tuple[bytes, dict]:  # type: ignore[no-untyped-def]
    token = (await post(simulator, TOKEN_PATH, token_body(code_for(simulator))))["content"]
    key = await post(simulator, KEY_PATH, "")
    cek = crypto.unwrap_cek(private_key, key["content"]["secretKey"])
    return cek, token


def profile_body(token: dict, redirect: str) -> dict:
    return {
        "businessID": "b1",
        "accessToken": token["accessToken"],
        "openID": token["openID"],
        "source": "PC_Browser",
        "redirectURI": redirect,
        "state": "s1",
        "profileFields": ["idNo", "enName"],
    }


async def test_tampered_ciphertext(
    simulator: RunningSim, receiver: Receiver, connector: IAMSmartConnector
) -> None:
    cek, token = await _session(simulator, connector.config.private_key)
    sealed = crypto.encrypt(cek, json.dumps(profile_body(token, receiver.callback)).encode())
    raw = bytearray(base64.b64decode(sealed))
    raw[-1] ^= 0x01
    tampered = base64.b64encode(bytes(raw)).decode()
    reply = await post(simulator, PROFILE_PATH, json.dumps({"content": tampered}))
    assert reply["code"] == "D30004"
    good = await post(simulator, PROFILE_PATH, json.dumps({"content": sealed}))
    assert good["code"] == "D00000"
    assert "ticketID" in json.loads(crypto.decrypt(cek, good["content"]))


async def test_stale_cek(
    simulator: RunningSim, receiver: Receiver, connector: IAMSmartConnector
) -> None:
    cek, token = await _session(simulator, connector.config.private_key)
    simulator.sim.state.rotate_cek(CLIENT_ID)
    sealed = crypto.encrypt(cek, json.dumps(profile_body(token, receiver.callback)).encode())
    reply = await post(simulator, PROFILE_PATH, json.dumps({"content": sealed}))
    assert reply["code"] == "D30002"


async def test_wrong_access_token_and_redirect(
    simulator: RunningSim, receiver: Receiver, connector: IAMSmartConnector
) -> None:
    cek, token = await _session(simulator, connector.config.private_key)
    bad_token = {**profile_body(token, receiver.callback), "accessToken": "forged"}
    reply = await post(
        simulator,
        PROFILE_PATH,
        json.dumps({"content": crypto.encrypt(cek, json.dumps(bad_token).encode())}),
    )
    assert reply["code"] == "D20009"
    elsewhere = profile_body(token, "https://evil.example/cb")
    reply = await post(
        simulator,
        PROFILE_PATH,
        json.dumps({"content": crypto.encrypt(cek, json.dumps(elsewhere).encode())}),
    )
    assert reply["code"] == "D20008"


async def test_connector_recovers_from_stale_cek(
    simulator: RunningSim, connector: IAMSmartConnector
) -> None:
    from .test_end_to_end import DESKTOP, login

    async with httpx.AsyncClient(base_url=simulator.url) as browser:
        identity = await login(connector, browser, "yip-pak-sun")
    first = await connector.start_attribute_request(
        identity, ["hkid"], state="a", user_agent=DESKTOP, language="en"
    )
    simulator.sim.state.rotate_cek(CLIENT_ID)
    second = await connector.start_attribute_request(
        identity, ["hkid"], state="b", user_agent=DESKTOP, language="en"
    )
    assert first is not None and second is not None and first.ticket_id != second.ticket_id


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"clientID": "nobody"}, 400, "D20003"),
        ({"redirectURI": "https://evil.example/cb"}, 400, "D20008"),
        ({"scope": "eidapi_auth eidapi_sign"}, 303, "D20012"),
        ({"source": "Nokia_WAP"}, 303, "D20007"),
        ({"responseType": "token"}, 303, "D20003"),
        ({"state": "has spaces and is far too long for iAM Smart 0123456789"}, 303, "D20003"),
        ({"state": "ok\n"}, 303, "D20003"),
    ],
)
async def test_get_qr_refusals(
    simulator: RunningSim, receiver: Receiver, change: dict, status: int, code: str
) -> None:
    params = {
        "clientID": CLIENT_ID,
        "responseType": "code",
        "source": "PC_Browser",
        "redirectURI": receiver.callback,
        "scope": "eidapi_auth",
        "state": "ok",
        **change,
    }
    async with httpx.AsyncClient(base_url=simulator.url) as http:
        r = await http.get("/api/v1/auth/getQR", params=params)
    assert r.status_code == status
    if status == 303:
        assert dict(parse_qsl(urlsplit(r.headers["location"]).query))["error_code"] == code
        assert r.headers["location"].startswith(receiver.callback)
    else:
        assert code in r.text and "<html" in r.text


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"redirectURI": [1]}, "D20008"),
        ({"redirectURI": {"a": 1}}, "D20008"),
        ({"source": ["PC_Browser"]}, "D20007"),
        ({"state": "s1\n"}, "D20003"),
    ],
)
async def test_initiate_request_with_wrongly_typed_fields(
    simulator: RunningSim,
    receiver: Receiver,
    connector: IAMSmartConnector,
    change: dict,
    code: str,
) -> None:
    cek, token = await _session(simulator, connector.config.private_key)
    body = {**profile_body(token, receiver.callback), **change}
    sealed = crypto.encrypt(cek, json.dumps(body).encode())
    assert (await post(simulator, PROFILE_PATH, json.dumps({"content": sealed})))["code"] == code


async def test_oversized_body_is_refused(simulator: RunningSim) -> None:
    body = json.dumps({"code": "x" * 1_000_001, "grantType": "authorization_code"})
    assert (await post(simulator, TOKEN_PATH, body))["code"] == "D20003"


async def test_duplicated_business_id(
    simulator: RunningSim, receiver: Receiver, connector: IAMSmartConnector
) -> None:
    """Issue 23 item 6: a businessID is unique per request (D20011, "duplicated
    businessID" in the published layout)."""
    cek, token = await _session(simulator, connector.config.private_key)
    body = {**profile_body(token, receiver.callback), "businessID": new_nonce()}
    sealed = json.dumps({"content": crypto.encrypt(cek, json.dumps(body).encode())})
    assert (await post(simulator, PROFILE_PATH, sealed))["code"] == "D00000"
    again = json.dumps({"content": crypto.encrypt(cek, json.dumps(body).encode())})
    assert (await post(simulator, PROFILE_PATH, again))["code"] == "D20011"
