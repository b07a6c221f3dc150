"""The connector against the running simulator over real HTTP, as a browser would drive it:
login redirect → simulated approval → callback → getToken → profile and e-ME requests →
encrypted result callbacks → IdentityRecord."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from connectors.base import AttributeConnector, CallbackConnector, UpstreamDenied
from connectors.iamsmart.attributes import IAMSMART_NAMES
from connectors.iamsmart.connector import IAMSmartConnector, new_state
from federation.identity import Assurance, Attr, IdentityRecord

from .conftest import Receiver, RunningSim

DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
WANTED = [a.value for a in Attr if a is not Attr.HOME_RETURN_PERMIT]


def query(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query))


def csrf(html: str) -> str:
    """The CSRF token of the simulator form on the page."""
    found = re.search(r'<input type="hidden" name="csrf" value="([0-9a-f]{64})">', html)
    assert found is not None, html[:300]
    return found.group(1)


async def login(
    connector: IAMSmartConnector, browser: httpx.AsyncClient, persona: str, ua: str = DESKTOP
) -> IdentityRecord:
    state = new_state()
    redirect = connector.login_redirect(state=state, user_agent=ua, language="en")
    page = await browser.get(redirect.url, headers={"User-Agent": ua})
    if redirect.mode == "app":  # app-to-app: straight to the app page
        assert page.status_code == 303
        page = await browser.get(page.headers["location"])
    else:
        assert page.status_code == 200 and "data:image/svg+xml;base64," in page.text
    action = re.search(r'action="(/sim/app/login/[^"]+)"', page.text)
    assert action is not None
    answer = await browser.post(
        action.group(1).replace("&amp;", "&"),
        data={"persona": persona, "action": "approve", "csrf": csrf(page.text)},
    )
    assert answer.status_code == 303
    params = query(answer.headers["location"])
    assert params["state"] == state
    return await connector.handle_callback(params, expected_state=state)


def expected_attributes(sim: RunningSim, persona_id: str) -> dict[str, object]:
    persona = sim.sim.personas[persona_id]
    merged = {**persona.eme, **persona.profile}
    return {IAMSMART_NAMES[k].value: v for k, v in merged.items()}


@pytest.mark.parametrize(
    "persona_id",
    ["chan-tai-man", "ho-kwan", "smith-john", "lam-hoi-ying", "tsang-chi-chuen", "leung-ka-yan"],
)
async def test_login_and_attributes_end_to_end(
    persona_id: str, connector: IAMSmartConnector, simulator: RunningSim, receiver: Receiver
) -> None:
    assert isinstance(connector, CallbackConnector)
    assert isinstance(connector, AttributeConnector)
    persona = simulator.sim.personas[persona_id]
    async with httpx.AsyncClient(base_url=connector.config.api_base_url) as browser:
        identity = await login(connector, browser, persona_id)
        assert identity.subject == simulator.sim.state.open_id(persona_id, "test-rp")
        assert identity.subject != persona_id
        plus = persona.user_type == "sign"
        assert identity.assurance == (Assurance.IAMSMART_PLUS if plus else Assurance.IAMSMART)
        assert identity.attributes_version == str(persona.last_modified_ms)  # a ms epoch
        full = await _fill(connector, browser, receiver, identity)
    assert dict(full.attributes) == expected_attributes(simulator, persona_id)
    assert full.attributes["hkid"] == persona.profile["idNo"]


async def _fill(
    connector: IAMSmartConnector,
    browser: httpx.AsyncClient,
    receiver: Receiver,
    identity: IdentityRecord,
) -> IdentityRecord:
    """Approve every request with every field the persona has; as a journey would, drop the
    attributes of each finished request from what is still wanted."""
    wanted = list(WANTED)
    kinds = []
    while (
        request := await connector.start_attribute_request(
            identity, wanted, state=new_state(), user_agent=DESKTOP, language="zh-HK"
        )
    ) is not None:
        kinds.append(request.kind)
        assert request.browser_url is not None
        page = await browser.get(request.browser_url)
        assert page.status_code == 200
        present = re.findall(r'name="field" value="([A-Za-z]+)" checked', page.text)
        before = len(receiver.bodies)
        form = {"action": "approve", "field": present, "csrf": csrf(page.text)}
        done = await browser.post(request.browser_url, data=form)
        assert done.status_code == 303
        back = query(done.headers["location"])
        assert back["ticketID"] == request.ticket_id and "error_code" not in back
        assert len(receiver.bodies) == before + 1
        result = await connector.complete_attribute_request(receiver.bodies[-1])
        assert result.ticket_id == request.ticket_id and result.error is None
        identity = identity.with_attributes(result.attributes)
        wanted = [a for a in wanted if a not in request.attributes]
    assert kinds == ["profile", "eme"]
    return identity


async def test_mobile_goes_app_to_app(connector: IAMSmartConnector, simulator: RunningSim) -> None:
    redirect = connector.login_redirect(state=new_state(), user_agent=IPHONE, language="zh-CN")
    assert redirect.mode == "app"
    params = query(redirect.url)
    assert params["source"] == "iOS_Safari" and params["brokerPage"] == "true"
    assert params["lang"] == "zh-CN"
    async with httpx.AsyncClient(base_url=connector.config.api_base_url) as browser:
        identity = await login(connector, browser, "kwok-sze-wai", IPHONE)
    assert identity.subject == simulator.sim.state.open_id("kwok-sze-wai", "test-rp")


async def test_denied_field_by_field_and_whole_request(
    connector: IAMSmartConnector, receiver: Receiver
) -> None:
    async with httpx.AsyncClient(base_url=connector.config.api_base_url) as browser:
        identity = await login(connector, browser, "wong-siu-ming")
        request = await connector.start_attribute_request(
            identity, ["hkid", "name_en", "gender"], state="s1", user_agent=DESKTOP, language="en"
        )
        assert request is not None and request.kind == "profile"
        token = csrf((await browser.get(request.browser_url)).text)
        done = await browser.post(
            request.browser_url, data={"action": "approve", "field": ["enName"], "csrf": token}
        )
        assert done.status_code == 303
        result = await connector.complete_attribute_request(receiver.bodies[-1])
        assert dict(result.attributes) == {"name_en": {"UnstructuredName": "WONG, Siu Ming"}}
        request = await connector.start_attribute_request(
            identity, ["email"], state="s2", user_agent=DESKTOP, language="en"
        )
        assert request is not None and request.kind == "eme"
        token = csrf((await browser.get(request.browser_url)).text)
        done = await browser.post(request.browser_url, data={"action": "deny", "csrf": token})
        assert query(done.headers["location"])["error_code"] == "D60001"
        result = await connector.complete_attribute_request(receiver.bodies[-1])
        assert isinstance(result.error, UpstreamDenied) and result.error.upstream_code == "D60001"
        assert result.error.oidc_error == "access_denied" and not result.attributes


async def test_login_denied_maps_to_access_denied(connector: IAMSmartConnector) -> None:
    state = new_state()
    redirect = connector.login_redirect(state=state, user_agent=DESKTOP, language="en")
    async with httpx.AsyncClient(base_url=connector.config.api_base_url) as browser:
        page = await browser.get(redirect.url)
        action = re.search(r'action="(/sim/app/login/[^"]+)"', page.text).group(1)
        form = {"action": "deny", "persona": "ng-wing-chi", "csrf": csrf(page.text)}
        answer = await browser.post(action.replace("&amp;", "&"), data=form)
    params = query(answer.headers["location"])
    with pytest.raises(UpstreamDenied) as caught:
        await connector.handle_callback(params, expected_state=state)
    assert caught.value.upstream_code == "D40001" and caught.value.oidc_error == "access_denied"


@pytest.mark.parametrize("token", [None, "", "0" * 64, "other-login", "twice"])
async def test_login_form_needs_its_csrf_token(
    connector: IAMSmartConnector, token: str | None
) -> None:
    state = new_state()
    async with httpx.AsyncClient(base_url=connector.config.api_base_url) as browser:
        page = await browser.get(
            connector.login_redirect(state=state, user_agent=DESKTOP, language="en").url
        )
        action = re.search(r'action="(/sim/app/login/[^"]+)"', page.text).group(1)
        action = action.replace("&amp;", "&")
        other = await browser.get(
            connector.login_redirect(state=new_state(), user_agent=DESKTOP, language="en").url
        )
        tokens = {"other-login": [csrf(other.text)], "twice": [csrf(page.text)] * 2}
        form: dict[str, object] = {"action": "approve", "persona": "chan-tai-man"}
        if token is not None:
            form["csrf"] = tokens.get(token, [token])
        refused = await browser.post(action, data=form)
        assert refused.status_code == 403 and "D20003" in refused.text
        assert "<html" in refused.text and "繁" in refused.text
        form["csrf"] = csrf(page.text)  # the login is still open: the right token works
        answer = await browser.post(action, data=form)
    assert answer.status_code == 303 and query(answer.headers["location"])["state"] == state


async def test_request_form_needs_its_csrf_token(
    connector: IAMSmartConnector, receiver: Receiver
) -> None:
    async with httpx.AsyncClient(base_url=connector.config.api_base_url) as browser:
        identity = await login(connector, browser, "wong-siu-ming")
        first = await connector.start_attribute_request(
            identity, ["hkid", "name_en"], state="s1", user_agent=DESKTOP, language="en"
        )
        second = await connector.start_attribute_request(
            identity, ["email"], state="s2", user_agent=DESKTOP, language="en"
        )
        assert first is not None and second is not None
        second_token = csrf((await browser.get(second.browser_url)).text)
        before = len(receiver.bodies)
        for token in (None, "f" * 64, second_token):  # missing, forged, another ticket's
            form = {"action": "approve", "field": ["enName"]}
            refused = await browser.post(
                first.browser_url, data=form if token is None else {**form, "csrf": token}
            )
            assert refused.status_code == 403 and "D20003" in refused.text
        assert len(receiver.bodies) == before  # nothing was delivered
        token = csrf((await browser.get(first.browser_url)).text)
        done = await browser.post(
            first.browser_url, data={"action": "approve", "field": ["enName"], "csrf": token}
        )
        assert done.status_code == 303 and len(receiver.bodies) == before + 1
