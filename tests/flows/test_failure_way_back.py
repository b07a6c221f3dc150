"""The failure page's way back to the service carries the authorization error response in
the response mode the RP asked for (issue 19): a link with ``error``/``state``/``iss`` in
its query for ``query``; for ``form_post`` (OAuth 2.0 Form Post Response Mode §2) a form
whose visible button POSTs them — no auto-submit, no inline script, under the CSP. Response
modes the bridge does not offer (``fragment``: implicit/hybrid only, refused by design; JARM
``jwt``/``query.jwt``/``form_post.jwt``: not implemented, not in discovery) are refused with
``invalid_request`` in the query, as OAuth 2.0 Multiple Response Type Encoding Practices §5
allows for an unsupported mode."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.federation.journey.harness import (
    RP_REDIRECT,
    Bridge,
    Person,
    authorize_url,
    bridge,
    rp_client,
)
from tests.flows.test_journey_failures import back_link

__all__ = ["bridge"]

HTML = {"Accept": "text/html", "Accept-Language": "en"}
WAY_BACK = re.compile(r'<form method="post" action="([^"]+)" data-way-back>(.*?)</form>', re.S)


def way_back_form(html: str) -> tuple[str, dict[str, str], str]:
    """(action, hidden fields, form body) of the failure page's POST way back."""
    match = WAY_BACK.search(html)
    assert match is not None, html[:600]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', match[2]))
    return match[1].replace("&amp;", "&"), fields, match[2]


async def refused_page(bridge: Bridge, **extra: str) -> tuple[httpx.Response, str]:
    """The person declines at iAM Smart; (failure page, the request's state)."""
    url, state, _, _ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"), **extra)
    person = Person(bridge, "ng-wing-chi")
    try:
        page = await person.sign_in(url, action="deny")
    finally:
        await person.aclose()
    assert page.status_code in (400, 403) and "<html" in page.text
    return page, state


async def test_query_mode_goes_back_by_a_link(bridge: Bridge) -> None:
    page, state = await refused_page(bridge)
    answer = back_link(page.text)
    assert answer == {
        "error": "access_denied",
        "error_description": answer["error_description"],
        "state": state,
        "iss": bridge.url,
    }
    assert WAY_BACK.search(page.text) is None


async def test_form_post_mode_goes_back_by_a_posted_form(bridge: Bridge) -> None:
    page, state = await refused_page(bridge, response_mode="form_post")
    action, fields, body = way_back_form(page.text)
    assert action == RP_REDIRECT  # the registered redirect URI itself, nothing in a URL
    assert fields["error"] == "access_denied" and fields["state"] == state
    assert fields["iss"] == bridge.url and fields["error_description"]
    assert '<button type="submit"' in body  # the person presses it: works without JavaScript
    assert "data-autosubmit" not in page.text  # a failure page never posts by itself
    assert re.search(r'href="http://127\.0\.0\.1:9/cb\?', page.text) is None  # no GET link
    csp = page.headers["content-security-policy"]
    assert "form-action 'self' http: https:" in csp and "unsafe-inline" not in csp
    assert all(tag.lstrip().startswith("src=") for tag in page.text.split("<script")[1:])
    assert "/journey/retry" in page.text  # trying again is still offered


async def test_form_post_way_back_reaches_the_rp_as_a_form_post(bridge: Bridge) -> None:
    """What the button sends is what §2 requires: the fields, form-encoded, POSTed."""
    page, state = await refused_page(bridge, response_mode="form_post")
    action, fields, _ = way_back_form(page.text)
    request = httpx.Request("POST", action, data=fields)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(httpx.QueryParams(request.content.decode())) == fields
    assert fields["state"] == state


@pytest.mark.parametrize("mode", ["fragment", "jwt", "query.jwt", "form_post.jwt"])
async def test_unsupported_response_modes_are_refused_in_the_query(
    bridge: Bridge, mode: str
) -> None:
    url, state, _, _ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"), response_mode=mode)
    answer = httpx.get(url, headers=HTML, follow_redirects=False)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(RP_REDIRECT + "?") and "#" not in location
    params = dict(httpx.QueryParams(location.split("?", 1)[1]))
    assert params["error"] == "invalid_request" and params["state"] == state
    assert params["iss"] == bridge.url


async def test_discovery_offers_neither_fragment_nor_jarm(bridge: Bridge) -> None:
    doc = httpx.get(bridge.url + "/.well-known/openid-configuration").json()
    assert doc["response_modes_supported"] == ["query", "form_post"]
    assert "authorization_signing_alg_values_supported" not in doc  # no JARM
