"""The form-post page (OAuth 2.0 Form Post Response Mode) in Chromium: it posts the
authorization response by itself under the bridge's CSP (no inline script, no CSP
violation), and without JavaScript its visible Continue button does the same. A failure
page's way back to a ``form_post`` RP is a form too, posted only by the person's click."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from federation.journey.failures import service_link
from federation.oidc.authorize import with_query
from federation.oidc.clients import Client
from federation.oidc.models import AuthorizationRequest
from federation.oidc.response_mode import authorization_response
from federation.pages import ErrorKind, Pages, mount_static
from federation.web import RequestContextMiddleware


def form_post_app(received: list[dict[str, Any]]) -> FastAPI:
    """A page that answers as the journey does, and the RP's redirect URI on one origin."""
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)
    mount_static(app)
    pages = Pages()

    @app.get("/respond")
    async def respond(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        client = Client.model_validate(
            {
                "client_id": "rp-form",
                "client_name": {"zh-HK": "表格服務", "zh-CN": "表格服务", "en": "Form RP"},
                "redirect_uris": [base + "/cb"],
                "client_secret_digest": "0" * 64,
                "purposes": {"zh-HK": "用途", "zh-CN": "用途", "en": "Purpose"},
                "processing_method": {"zh-HK": "處理", "zh-CN": "处理", "en": "Processing"},
                "retention": {"zh-HK": "兩年", "zh-CN": "两年", "en": "Two years"},
                "rights_procedure": {"zh-HK": "電郵", "zh-CN": "电邮", "en": "Email us"},
                "contacts": ["dpo@rp.example.cn"],
            }
        )
        authz = AuthorizationRequest(
            client=client,
            redirect_uri=base + "/cb",
            scopes=("openid",),
            state="st-1",
            nonce=None,
            code_challenge="x" * 43,
            issuer=base,
            response_mode="form_post",
        )
        if request.query_params.get("fail"):  # the journey's failure page (record.authz)
            link = service_link(SimpleNamespace(authz=authz), "access_denied", "declined")  # type: ignore[arg-type]
            return pages.render_error(ErrorKind.ACCESS_DENIED, "en", request=request, service=link)
        url = with_query(authz.redirect_uri, {"code": "c0de", "state": "st-1", "iss": base})
        return authorization_response(pages, request, authz, url)

    @app.post("/cb")
    async def callback(request: Request) -> Response:
        received.append(dict(await request.form()))
        return JSONResponse({"ok": True})

    return app


def test_form_post_page_posts_itself_under_the_csp(
    serve: Callable[[Any], str], open_context: Callable[..., Any]
) -> None:
    received: list[dict[str, Any]] = []
    base = serve(form_post_app(received))
    page = open_context().new_page()
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if msg.type == "error" else None)
    page.goto(base + "/respond")
    page.wait_for_url(base + "/cb")
    assert received == [{"code": "c0de", "state": "st-1", "iss": base}]
    assert not [v for v in violations if "Content Security Policy" in v]


def test_form_post_page_without_javascript_has_a_continue_button(
    serve: Callable[[Any], str], open_context: Callable[..., Any]
) -> None:
    received: list[dict[str, Any]] = []
    base = serve(form_post_app(received))
    page = open_context(java_script_enabled=False, locale="en-GB").new_page()
    page.goto(base + "/respond")
    assert received == []  # nothing posted without a click
    button = page.get_by_role("button", name="Continue")
    assert button.is_visible()
    button.click()
    page.wait_for_url(base + "/cb")
    assert received == [{"code": "c0de", "state": "st-1", "iss": base}]


def test_failure_page_goes_back_to_a_form_post_rp_by_a_posted_form(
    serve: Callable[[Any], str], open_context: Callable[..., Any]
) -> None:
    received: list[dict[str, Any]] = []
    base = serve(form_post_app(received))
    violations: list[str] = []
    for scripts in (True, False):
        page = open_context(java_script_enabled=scripts, locale="en-GB").new_page()
        page.on("console", lambda msg: violations.append(msg.text) if msg.type == "error" else None)
        page.goto(base + "/respond?fail=1")
        page.wait_for_timeout(300)
        assert received == []  # a failure page never posts by itself
        page.get_by_role("button", name="Start again at Form RP").click()
        page.wait_for_url(base + "/cb")
        assert received.pop() == {
            "error": "access_denied",
            "error_description": "declined",
            "state": "st-1",
            "iss": base,
        }
        assert not [v for v in violations if "Content Security Policy" in v]
