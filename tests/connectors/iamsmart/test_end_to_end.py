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
        action.group(1).replace("&amp;", "&"), data={"persona": persona, "action": "approve"}
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
        assert identity.attributes_version == persona.last_modified
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
        done = await browser.post(request.browser_url, data={"action": "approve", "field": present})
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
        done = await browser.post(
            request.browser_url, data={"action": "approve", "field": ["enName"]}
        )
        assert done.status_code == 303
        result = await connector.complete_attribute_request(receiver.bodies[-1])
        assert dict(result.attributes) == {"name_en": {"UnstructuredName": "WONG, Siu Ming"}}
        request = await connector.start_attribute_request(
            identity, ["email"], state="s2", user_agent=DESKTOP, language="en"
        )
        assert request is not None and request.kind == "eme"
        done = await browser.post(request.browser_url, data={"action": "deny"})
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
        answer = await browser.post(
            action.replace("&amp;", "&"), data={"action": "deny", "persona": "ng-wing-chi"}
        )
    params = query(answer.headers["location"])
    with pytest.raises(UpstreamDenied) as caught:
        await connector.handle_callback(params, expected_state=state)
    assert caught.value.upstream_code == "D40001" and caught.value.oidc_error == "access_denied"
