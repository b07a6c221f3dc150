"""Authorization request validation: what redirects, what must not, malformed and oversized
input (never a 5xx, checked with hypothesis), prompt/max_age decisions of the seam."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import httpx
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.oidc.authorize import ui_locales, validate_authorization_request
from federation.oidc.errors import NonRedirectableError, RedirectableError
from federation.oidc.models import AuthorizationRequest
from federation.oidc.provider import OidcProvider
from federation.oidc.seam import consent_decision, session_decision
from federation.oidc.session import Session
from federation.pages.locale import normalise_locale
from tests.federation.oidc.harness import ISSUER, REDIRECTS, authorize_params, query_of


async def _validate(
    provider: OidcProvider, redis: aioredis.Redis, pairs: list[tuple[str, str]]
) -> AuthorizationRequest:
    return await validate_authorization_request(provider, redis, pairs)


async def test_valid_request_round_trips_through_json(
    provider: OidcProvider, redis: aioredis.Redis
) -> None:
    params = authorize_params(
        "rp-sm2",
        scope="email openid bogus",
        prompt="login",
        max_age="300",
        ui_locales="en-US zh-Hant fr zh-hk",
        acr_values="iamsmart_plus",
        claims=json.dumps({"id_token": {"name": None}}),
    )
    request = await _validate(provider, redis, list(params.items()))
    assert request.scopes == ("email", "openid")  # unknown scope dropped, order kept
    assert request.ui_locales == ("en", "zh-HK")  # normalised, unsupported dropped
    assert request.max_age == 300 and request.prompt == ("login",)
    copy = AuthorizationRequest.from_dict(json.loads(json.dumps(request.to_dict())))
    assert copy == request


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"client_id": "nobody"}, "invalid_client"),
        ({"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
        ({"redirect_uri": "https://rp.example.cn/cb?x=1"}, "invalid_request"),
        ({"redirect_uri": None}, "invalid_request"),
    ],
)
async def test_unknown_client_or_redirect_never_redirects(
    provider: OidcProvider,
    redis: aioredis.Redis,
    http: httpx.AsyncClient,
    change: dict[str, str | None],
    reason: str,
) -> None:
    params = {k: v for k, v in {**authorize_params(), **change}.items() if v is not None}
    with pytest.raises(NonRedirectableError) as caught:
        await _validate(provider, redis, list(params.items()))
    assert caught.value.error == reason
    response = await http.get("/authorize", params=params)
    assert response.status_code == 400 and "location" not in response.headers


async def test_duplicate_client_id_is_not_redirected(
    provider: OidcProvider, redis: aioredis.Redis
) -> None:
    pairs = [*authorize_params().items(), ("client_id", "rp-sm2")]
    with pytest.raises(NonRedirectableError):
        await _validate(provider, redis, pairs)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"prompt": "bogus"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"max_age": "１２"}, "invalid_request"),
        ({"claims": "{not json"}, "invalid_request"),
        ({"claims": "[1]"}, "invalid_request"),
        ({"claims": '{"userinfo": {"name": 5}}'}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"request_uri": "https://rp.example.cn/req.jwt"}, "invalid_request_uri"),  # unregistered
        ({"id_token_hint": "a.b.c"}, "invalid_request"),
        ({"nonce": "n" * 600}, "invalid_request"),
        ({"login_hint": "x" * 3000}, "invalid_request"),
    ],
)
async def test_bad_parameters_redirect_with_error_state_and_iss(
    http: httpx.AsyncClient, change: dict[str, str], error: str
) -> None:
    params = {**authorize_params(state="keep-me"), **change}
    response = await http.get("/authorize", params=params)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECTS["rp-es256"] + "?")
    query = query_of(location)
    assert query["error"] == error and query["state"] == "keep-me" and query["iss"] == ISSUER


async def test_duplicated_parameter_is_invalid_request(http: httpx.AsyncClient) -> None:
    params = [*authorize_params().items(), ("scope", "openid email")]
    response = await http.get("/authorize", params=params)
    assert query_of(response.headers["location"])["error"] == "invalid_request"


async def test_non_utf8_query_is_a_clear_400(http: httpx.AsyncClient) -> None:
    response = await http.get("/authorize?client_id=%ff%fe&redirect_uri=x")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_id_token_hint_for_another_client_is_refused(
    provider: OidcProvider, redis: aioredis.Redis
) -> None:
    hint = provider.signer.sign({"iss": ISSUER, "aud": "rp-sm2", "sub": "x"}, "ES256")
    with pytest.raises(RedirectableError):
        await _validate(provider, redis, list(authorize_params(id_token_hint=hint).items()))
    forged = provider.signer.sign({"iss": "https://evil", "aud": "rp-es256", "sub": "x"}, "ES256")
    with pytest.raises(RedirectableError):
        await _validate(provider, redis, list(authorize_params(id_token_hint=forged).items()))


async def test_session_and_consent_decisions(provider: OidcProvider, redis: aioredis.Redis) -> None:
    base = await _validate(provider, redis, list(authorize_params().items()))
    session = Session("sid", "p", auth_time=1000, rp_subjects={"rp-es256": "sub-1"})
    assert session_decision(base, session, 1010) == "reuse"
    assert session_decision(base, None, 1010) == "login"
    max_age = await _validate(provider, redis, list(authorize_params(max_age="5").items()))
    assert session_decision(max_age, session, 1010) == "login"
    none = await _validate(provider, redis, list(authorize_params(prompt="none").items()))
    with pytest.raises(RedirectableError) as caught:
        session_decision(none, None, 1010)
    assert caught.value.error == "login_required"
    with pytest.raises(RedirectableError) as caught:
        consent_decision(none, remembered=False)
    assert caught.value.error == "consent_required"
    assert consent_decision(none, remembered=True) == "skip"
    consent = await _validate(provider, redis, list(authorize_params(prompt="consent").items()))
    assert consent_decision(consent, remembered=True) == "show"


_text = st.text(max_size=300) | st.sampled_from(["", "openid", "S256", "code", "none", "%"])
_names = st.sampled_from(
    [
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "nonce",
        "prompt",
        "max_age",
        "claims",
        "code_challenge",
        "code_challenge_method",
        "request",
        "request_uri",
        "id_token_hint",
        "ui_locales",
        "grant_type",
        "code",
        "code_verifier",
        "refresh_token",
        "client_secret",
        "client_assertion",
        "client_assertion_type",
        "x",
    ]
)


_header = st.sampled_from(["Basic ", "Bearer ", "basic ", ""]).flatmap(
    lambda scheme: st.text(st.characters(min_codepoint=33, max_codepoint=255), max_size=80).map(
        lambda rest: (scheme + rest).encode("latin-1")
    )
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(_names, _text), max_size=12), st.booleans(), _header)
async def test_fuzzed_parameters_never_cause_a_server_error(
    http: httpx.AsyncClient,
    pairs: list[tuple[str, str]],
    keep_valid_client: bool,
    authorization: bytes,
) -> None:
    if keep_valid_client:
        pairs = [("client_id", "rp-es256"), ("redirect_uri", REDIRECTS["rp-es256"]), *pairs]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body = urlencode(pairs)
    basic = {**form, "Authorization": authorization or b"Basic cnAtZXMyNTY6eA=="}
    for response in (
        await http.get("/authorize", params=pairs),
        await http.post("/token", content=body, headers=form),
        await http.post("/token", content=body, headers=basic),
        await http.post("/par", content=body, headers=basic),
        await http.post("/userinfo", content=body, headers=form),
        await http.post("/userinfo", content=body, headers=basic),
        await http.post("/register", content=body, headers=basic),
        await http.post("/revoke", content=body, headers=basic),
        await http.post("/introspect", content=body, headers=basic),
        await http.get("/logout", params=pairs),
    ):
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert response.json()["error"]


async def test_oversized_bodies_and_values_are_refused(http: httpx.AsyncClient) -> None:
    huge = await http.post(
        "/token",
        content=b"a=" + b"x" * 70_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413 and huge.json()["error"] == "invalid_request"
    long_state = await http.get("/authorize", params=authorize_params(state="s" * 5000))
    query = query_of(long_state.headers["location"])
    assert query["error"] == "invalid_request" and "state" not in query
    many = await http.post(
        "/token",
        content="&".join(f"p{i}=1" for i in range(200)),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert many.status_code == 400
    json_body = await http.post("/token", json={"grant_type": "authorization_code"})
    assert json_body.status_code == 400 and json_body.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en-AU zh-MO", ("en", "zh-HK")),
        ("zh-Hant-TW en-GB", ("zh-HK", "en")),
        ("zh-SG yue-HK", ("zh-CN", "zh-HK")),
        ("fr de-CH", ()),
    ],
)
def test_ui_locales_follow_the_pages_normalisation(value: str, expected: tuple[str, ...]) -> None:
    assert ui_locales(value) == expected
    assert all(normalise_locale(tag) in (*expected, None) for tag in value.split())
