"""Issue 23: the connector against the simulator's conformance mode (the published API
where the default mode is lenient), point by point. Each test fails on the connector and
simulator before issue 23."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.base import (
    UpstreamConfigError,
    UpstreamDenied,
    UpstreamLoginExpired,
    UpstreamProtocolError,
)
from connectors.iamsmart import crypto
from connectors.iamsmart.client import _serialise
from connectors.iamsmart.connector import IAMSmartConnector, new_state
from connectors.iamsmart.errors import CEK_ERRORS, error_for_code, load_codes
from connectors.iamsmart.simulator.app import create_app
from connectors.iamsmart.simulator.config import SimulatorSettings
from tests.asgi_poster import AsgiPoster

from .conftest import CLIENT_ID, CLIENT_SECRET, Receiver, RunningSim, ServerThread, make_config
from .test_end_to_end import DESKTOP, IPHONE, csrf

NO_PROFILE = "test-rp-no-profile"
IN_APP = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "Mobile/15E148 iAMSmart/2.3"
)


@pytest.fixture(scope="module")
def strict_sim(
    tmp_path_factory: pytest.TempPathFactory, receiver: Receiver, keypair: tuple[Path, Path]
) -> Iterator[RunningSim]:
    base = {
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [receiver.callback],
        "allowed_scopes": ["eidapi_auth", "eidapi_profiles", "eidapi_formFilling"],
        "encipherment_key_file": str(keypair[1]),
    }
    clients = [
        {"client_id": CLIENT_ID, **base},
        {"client_id": NO_PROFILE, "profile_api": False, **base},
    ]
    path = tmp_path_factory.mktemp("strict") / "clients.yaml"
    path.write_text(yaml.safe_dump({"clients": clients}), encoding="utf-8")
    settings = SimulatorSettings(conformance=True)
    app = create_app(path, settings=settings)
    with ServerThread(app) as server:
        app.state.sim.public_url = server.url
        yield RunningSim(server.url, app.state.sim)


@pytest.fixture
async def strict(
    strict_sim: RunningSim, receiver: Receiver, keypair: tuple[Path, Path]
) -> AsyncIterator[IAMSmartConnector]:
    conn = IAMSmartConnector(make_config(strict_sim.url, receiver, keypair[0]))
    try:
        yield conn
    finally:
        await conn.aclose()


def form_query(location: str) -> dict[str, str]:
    """The callback's query as a web framework reads it (form decoding: "+" → " ")."""
    return dict(parse_qsl(urlsplit(location).query))


async def login_answer(
    connector: IAMSmartConnector, browser: httpx.AsyncClient, ua: str, action: str = "approve"
) -> tuple[str, httpx.Response]:
    state = new_state()
    redirect = connector.login_redirect(state=state, user_agent=ua, language="en")
    page = await browser.get(redirect.url)
    if page.status_code == 303:
        page = await browser.get(page.headers["location"])
    target = re.search(r'action="(/sim/app/login/[^"]+)"', page.text)
    assert target is not None, page.text[:300]
    form = {"persona": "chan-tai-man", "action": action, "csrf": csrf(page.text)}
    answer = await browser.post(target.group(1).replace("&amp;", "&"), data=form)
    assert answer.status_code == 303
    return state, answer


async def signed_in(connector: IAMSmartConnector, ua: str = DESKTOP):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=connector.config.api_base_url) as browser:
        state, answer = await login_answer(connector, browser, ua)
        location = answer.headers["location"]
        return await connector.handle_callback(form_query(location), expected_state=state), location


# --- 1. businessID correlation, random txID ----------------------------------------------
async def test_results_correlate_on_business_id_not_txid(
    strict: IAMSmartConnector, strict_sim: RunningSim, receiver: Receiver
) -> None:
    identity, _ = await signed_in(strict)
    request = await strict.start_attribute_request(
        identity, ["name_en"], state=new_state(), user_agent=DESKTOP, language="en"
    )
    assert request is not None and request.browser_url
    async with httpx.AsyncClient() as browser:
        page = await browser.get(request.browser_url)
        form = {"action": "approve", "field": ["enName"], "csrf": csrf(page.text)}
        done = await browser.post(request.browser_url, data=form)
    assert done.status_code == 200  # conformance: the browser is not sent back
    body = json.loads(receiver.bodies[-1])
    assert request.ticket_id not in body["txID"]  # txID names the message only
    result = await strict.complete_attribute_request(receiver.bodies[-1])
    assert result.ticket_id == request.ticket_id and "name_en" in result.attributes


# --- 2. getToken encrypted by default; an encrypted answer opened when plain ---------------
async def test_get_token_is_encrypted_by_default(strict: IAMSmartConnector) -> None:
    assert strict.config.encrypt_get_token_body is True
    identity, _ = await signed_in(strict)  # the conformance simulator refuses plain JSON
    assert identity.subject


async def test_plain_get_token_is_refused_in_conformance_mode(
    strict_sim: RunningSim, receiver: Receiver, keypair: tuple[Path, Path]
) -> None:
    plain = IAMSmartConnector(
        make_config(strict_sim.url, receiver, keypair[0], encrypt_get_token_body=False)
    )
    try:
        with pytest.raises(UpstreamProtocolError) as caught:
            await signed_in(plain)
        assert caught.value.upstream_code == "D20003"
    finally:
        await plain.aclose()


async def test_an_encrypted_get_token_answer_is_opened_after_a_plain_request(
    keypair: tuple[Path, Path],
) -> None:
    cek = crypto.new_cek()
    public = crypto.load_public_key(keypair[1].read_bytes())
    app = FastAPI()

    @app.post("/api/v1/security/getKey")
    async def get_key() -> JSONResponse:
        content = {"secretKey": crypto.wrap_cek(public, cek), "issueAt": 1, "expiresIn": 10**13}
        return JSONResponse({"code": "D00000", "content": content})

    @app.post("/api/v1/auth/getToken")
    async def get_token(request: Request) -> JSONResponse:
        assert json.loads(await request.body())["grantType"] == "authorization_code"
        token = {"accessToken": "t", "openID": "o", "issueAt": 1, "expiresIn": 1}
        return JSONResponse(
            {"code": "D00000", "content": crypto.encrypt(cek, json.dumps(token).encode())}
        )

    base = "http://127.0.0.1:9"
    http = AsgiPoster(app)
    config = make_config(base, Receiver(url=base), keypair[0], encrypt_get_token_body=False)
    connector = IAMSmartConnector(config, http=http)
    try:
        identity = await connector.handle_callback({"state": "s", "code": "c"}, expected_state="s")
    finally:
        await connector.aclose()
    assert identity.subject == "o"


# --- 3. "Open iAM Smart" after an app-to-app login -----------------------------------------
async def test_open_iamsmart_link_after_app_to_app_login_only(strict: IAMSmartConnector) -> None:
    phone, _ = await signed_in(strict, IPHONE)
    request = await strict.start_attribute_request(
        phone, ["name_en"], state=new_state(), user_agent=IPHONE, language="en"
    )
    assert request is not None
    assert request.app_url == f"iamsmart://profile?ticketID={request.ticket_id}"
    assert await strict.app_link(request.ticket_id) == request.app_url
    email = await strict.start_attribute_request(
        phone, ["email"], state=new_state(), user_agent=IPHONE, language="en"
    )
    assert email is not None and email.app_url == f"iamsmart://eme?ticketID={email.ticket_id}"
    desktop, _ = await signed_in(strict, DESKTOP)  # QR login: pushed to the phone, no link
    request = await strict.start_attribute_request(
        desktop, ["name_en"], state=new_state(), user_agent=DESKTOP, language="en"
    )
    assert request is not None and request.app_url is None


async def test_app_scheme_is_configurable(
    strict_sim: RunningSim, receiver: Receiver, keypair: tuple[Path, Path]
) -> None:
    test_app = IAMSmartConnector(
        make_config(strict_sim.url, receiver, keypair[0], app_scheme="iamsmart-uat")
    )
    try:
        phone, _ = await signed_in(test_app, IPHONE)
        request = await test_app.start_attribute_request(
            phone, ["name_en"], state=new_state(), user_agent=IPHONE, language="en"
        )
    finally:
        await test_app.aclose()
    assert request is not None and request.app_url.startswith("iamsmart-uat://profile?")


# --- 4. client-certificate verification of result callbacks ---------------------------------
async def test_client_certificate_verification_of_callbacks(
    strict_sim: RunningSim, receiver: Receiver, keypair: tuple[Path, Path]
) -> None:
    pinned = "AB:CD:EF:01"
    conn = IAMSmartConnector(
        make_config(
            strict_sim.url,
            receiver,
            keypair[0],
            result_client_cert="required",
            result_client_cert_fingerprints=[pinned],
        )
    )
    try:
        identity, _ = await signed_in(conn)
        request = await conn.start_attribute_request(
            identity, ["name_en"], state=new_state(), user_agent=DESKTOP, language="en"
        )
        assert request is not None and request.browser_url
        async with httpx.AsyncClient() as browser:
            page = await browser.get(request.browser_url)
            form = {"action": "approve", "field": ["enName"], "csrf": csrf(page.text)}
            await browser.post(request.browser_url, data=form)
        body = receiver.bodies[-1]
        for headers in (
            None,
            {
                "X-SSL-Client-Verify": "FAILED:unable to verify",
                "X-SSL-Client-Fingerprint": "abcdef01",
            },
            {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-Fingerprint": "00000000"},
        ):
            with pytest.raises(UpstreamProtocolError):
                await conn.complete_attribute_request(body, headers=headers)
        good = {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-Fingerprint": "abcdef01"}
        result = await conn.complete_attribute_request(body, headers=good)
        assert result.ticket_id == request.ticket_id and result.error is None
        # over a verified channel a refusal in clear naming our businessID counts
        other = await conn.start_attribute_request(
            identity, ["email"], state=new_state(), user_agent=DESKTOP, language="en"
        )
        assert other is not None
        business_id = strict_sim.sim.state.tickets[other.ticket_id].business_id
        clear = {"txID": "<T=x>", "code": "D60001", "content": {"businessID": business_id}}
        refused = await conn.complete_attribute_request(json.dumps(clear).encode(), headers=good)
        assert refused.ticket_id == other.ticket_id and isinstance(refused.error, UpstreamDenied)
    finally:
        await conn.aclose()


# --- 5. compact JSON ----------------------------------------------------------------------
def test_encrypted_bodies_are_compact_json() -> None:
    text = _serialise({"a": 1}, crypto.new_cek())
    assert text.startswith('{"content":"') and " " not in text


# --- 6. return codes ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("D20002", UpstreamProtocolError),  # empty parameter, not a bad client ID
        ("D20010", UpstreamLoginExpired),  # openID not exist
        ("D20011", UpstreamProtocolError),  # duplicated businessID
        ("D20012", UpstreamConfigError),  # forbidden: scopes / API access
        ("D20015", UpstreamConfigError),  # scope mismatch
        ("D60000", UpstreamDenied),  # e-ME cancelled
        ("D50003", UpstreamLoginExpired),  # profile timeout
        ("D60003", UpstreamLoginExpired),  # e-ME timeout
    ],
)
def test_codes_follow_the_published_layout(code: str, kind: type) -> None:
    error = error_for_code(code)
    assert type(error) is kind and error.upstream_code == code


def test_every_encryption_error_rekeys_and_the_table_has_sources() -> None:
    assert {"D30001", "D30002", "D30003", "D30004"} <= CEK_ERRORS
    table = load_codes()
    assert all(entry.source and entry.certainty for entry in table.codes.values())


def test_a_confirmed_code_table_replaces_the_default(tmp_path: Path) -> None:
    path = tmp_path / "codes.yaml"
    confirmed = {
        "codes": [
            {"code": "D00000", "meaning": "success", "outcome": "success", "source": "spec"},
            {"code": "D20002", "meaning": "user denied", "outcome": "denied", "source": "spec"},
        ]
    }
    path.write_text(yaml.safe_dump(confirmed), encoding="utf-8")
    assert isinstance(load_codes(path).error_for("D20002"), UpstreamDenied)
    assert isinstance(load_codes(path).error_for("D40001"), UpstreamProtocolError)  # unknown now


async def test_profile_refused_as_forbidden_falls_back_to_eme(
    strict_sim: RunningSim, receiver: Receiver, keypair: tuple[Path, Path]
) -> None:
    config = make_config(strict_sim.url, receiver, keypair[0])
    conn = IAMSmartConnector(config.model_copy(update={"client_id": NO_PROFILE}))
    try:
        identity, _ = await signed_in(conn)
        request = await conn.start_attribute_request(
            identity,
            ["name_en", "birth_date"],
            state=new_state(),
            user_agent=DESKTOP,
            language="en",
        )
        assert request is not None and request.kind == "eme"
        assert set(request.attributes) == {"name_en", "birth_date"}
    finally:
        await conn.aclose()


# --- 7. a deny that returns only state ------------------------------------------------------
async def test_deny_with_state_only_is_declined(strict: IAMSmartConnector) -> None:
    async with httpx.AsyncClient(base_url=strict.config.api_base_url) as browser:
        state, answer = await login_answer(strict, browser, DESKTOP, action="deny")
    params = form_query(answer.headers["location"])
    assert params == {"state": state}  # conformance: only the state comes back
    with pytest.raises(UpstreamDenied) as caught:
        await strict.handle_callback(params, expected_state=state)
    assert caught.value.oidc_error == "access_denied"


def test_simulator_can_answer_the_sandbox_deny_code(tmp_path: Path, keypair) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from .conftest import write_clients

    clients = write_clients(tmp_path, Receiver(url="http://127.0.0.1:9"), keypair[1])
    app = create_app(clients, settings=SimulatorSettings(login_deny="D20001"))
    with TestClient(app) as http:
        page = http.get(
            "/api/v1/auth/getQR",
            params={
                "clientID": CLIENT_ID,
                "responseType": "code",
                "source": "PC_Browser",
                "redirectURI": "http://127.0.0.1:9/callback",
                "scope": "eidapi_auth",
                "state": "s1",
            },
        )
        target = re.search(r'action="(/sim/app/login/[^"]+)"', page.text)
        assert target is not None
        answer = http.post(
            target.group(1).replace("&amp;", "&"),
            data={"persona": "ho-kwan", "action": "deny", "csrf": csrf(page.text)},
            follow_redirects=False,
        )
    assert form_query(answer.headers["location"]) == {"error_code": "D20001", "state": "s1"}


# --- 8. shapes as published -----------------------------------------------------------------
async def test_codes_with_a_raw_plus_survive_the_callback(strict: IAMSmartConnector) -> None:
    identity, location = await signed_in(strict)
    raw_code = urlsplit(location).query.split("&")[0].removeprefix("code=")
    assert "+" in raw_code  # as the gateway may send it: not percent-encoded
    assert identity.subject


async def test_get_token_and_get_key_shapes(
    strict: IAMSmartConnector, strict_sim: RunningSim
) -> None:
    identity, _ = await signed_in(strict)
    assert identity.attributes_version and identity.attributes_version.isdigit()  # ms epoch
    assert "%" in identity.subject  # URL-encoded standard Base64, like the published example
    secret, _ = await strict.client.fetch_cek()
    assert secret
    client = strict_sim.sim.clients[CLIENT_ID]
    assert client.public_key_b64 and base64.b64decode(client.public_key_b64)


async def test_get_key_returns_pub_key(strict_sim: RunningSim) -> None:
    from .test_simulator_strict import KEY_PATH, headers

    async with httpx.AsyncClient(base_url=strict_sim.url) as http:
        reply = (await http.post(KEY_PATH, content=b"", headers=headers(""))).json()
    assert reply["code"] == "D00000"
    assert reply["content"]["pubKey"] == strict_sim.sim.clients[CLIENT_ID].public_key_b64


def test_a_257_byte_secret_key_unwraps(keypair: tuple[Path, Path]) -> None:
    private = crypto.load_private_key(keypair[0].read_bytes())
    cek = crypto.new_cek()
    wrapped = base64.b64decode(crypto.wrap_cek(private.public_key(), cek))
    signed = base64.b64encode(b"\0" + wrapped).decode()  # Java BigInteger.toByteArray()
    assert len(b"\0" + wrapped) == 257
    assert crypto.unwrap_cek(private, signed) == cek


def test_no_broker_page_inside_the_iamsmart_in_app_browser(strict: IAMSmartConnector) -> None:
    params = form_query(strict.login_redirect(state="s", user_agent=IN_APP, language="en").url)
    assert params["source"] == "iOS_IMS_InAppBrowser" and "brokerPage" not in params
    phone = form_query(strict.login_redirect(state="s", user_agent=IPHONE, language="en").url)
    assert phone["brokerPage"] == "true"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("D60000", "UPSTREAM_CANCELLED"),
        ("D50003", "UPSTREAM_TIMEOUT"),
        ("D60003", "UPSTREAM_TIMEOUT"),
    ],
)
def test_request_cancel_and_timeouts_get_their_page(code: str, kind: str) -> None:
    from federation.journey.failures import kind_for_upstream
    from federation.pages import ErrorKind

    assert kind_for_upstream(error_for_code(code)) is ErrorKind[kind]


async def test_simulator_shapes_of_sources_and_eme_fields(
    strict_sim: RunningSim, receiver: Receiver, keypair: tuple[Path, Path]
) -> None:
    """getQR refuses App_Link / App_Scheme (SBX: every source "Except (App_Link and
    App_Scheme)"); e-ME accepts the four fields a public DTO adds."""
    params = {
        "clientID": CLIENT_ID,
        "responseType": "code",
        "redirectURI": receiver.callback,
        "scope": "eidapi_auth eidapi_formFilling",
        "state": "s1",
    }
    async with httpx.AsyncClient(base_url=strict_sim.url) as http:
        for source, allowed in (("App_Link", False), ("App_Scheme", False), ("PC_Browser", True)):
            page = await http.get("/api/v1/auth/getQR", params={**params, "source": source})
            refused = page.status_code == 303 and "D20007" in page.headers["location"]
            assert refused is not allowed
    conn = IAMSmartConnector(make_config(strict_sim.url, receiver, keypair[0]))
    try:
        identity, _ = await signed_in(conn)
        body = json.loads(identity.connector_data)
        sent = {
            "businessID": new_state()[:32],
            "accessToken": body["at"],
            "openID": body["oid"],
            "source": "PC_Browser",
            "redirectURI": receiver.callback,
            "state": "s2",
            "formName": "f",
            "formNum": "1",
            "formDesc": "d",
            "eMEFields": ["emailAddress", "passportNumber", "carOwner"],
        }
        content = await conn.client.initiate("/api/v1/account/auth/eme/initiateRequest", sent)
    finally:
        await conn.aclose()
    assert content["ticketID"]
