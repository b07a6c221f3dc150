"""The browser side of the simulator: ``getQR`` and the pages that stand in for the
iAM Smart app. No JavaScript; every form is a plain POST and every outcome a 303 redirect
to the relying party (or a trilingual error page when the redirect URI cannot be trusted).

Login: ``getQR`` → PC_Browser: QR page (real QR of the app link) with a "simulate the app"
panel; phone sources or ``brokerPage=true``: straight to the app page (app-to-app).
Approve → ``redirectURI?code&state``; deny → ``error_code=D40001`` (or ``D20001``, or
only ``state``: ``login_deny``, state-only in conformance mode); cancel → ``D40000``.

Profile / e-ME: ``/sim/app/requests/{ticketID}`` lists the requested fields, each with
its own checkbox. Approve (the ticked fields) or deny → the encrypted result is POSTed to
the RP (``delivery``), then the browser goes to ``redirectURI?state&ticketID``
(plus ``error_code`` when denied): the simulator's stand-in for "the person comes back to
the browser after approving on the phone". In conformance mode the page only says
"done": the person goes back to the browser's waiting page, as from the phone.

Every form carries a CSRF token (``csrf``): ``HMAC-SHA256(per-process secret, purpose ‖ id)``
bound to the login or ticket it answers, compared in constant time. A POST without it, or
with another form's token, gets the error page (``D20003``, 403) and changes nothing.
``--auto-approve`` posts no forms and is unaffected.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import secrets
from typing import Any
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from connectors.iamsmart.simulator.delivery import approved_fields, deliver, result_body
from connectors.iamsmart.simulator.state import LoginSession
from connectors.iamsmart.sources import ALL_SOURCES, is_mobile

router = APIRouter()
LANGUAGES: tuple[tuple[str, str], ...] = (("zh-HK", "繁"), ("zh-CN", "简"), ("en-US", "EN"))
_STATE = re.compile(r"[A-Za-z0-9_-]{1,36}")  # fullmatch: "$" lets "\n" through
GETQR_EXCLUDED = frozenset({"App_Link", "App_Scheme"})
_CSRF_SECRET = secrets.token_bytes(32)
"""Per-process key of the forms' CSRF tokens (the simulator runs as one process)."""


def csrf_token(purpose: str, bound_to: str) -> str:
    """The CSRF token of the ``purpose`` form (``login`` | ``ticket``) of ``bound_to``."""
    message = f"{purpose}\x1f{bound_to}".encode()
    return hmac.new(_CSRF_SECRET, message, hashlib.sha256).hexdigest()


def csrf_ok(form: dict[str, list[str]], purpose: str, bound_to: str) -> bool:
    """Whether the form carries exactly one token, the right one (constant-time)."""
    given = form.get("csrf") or []
    if len(given) != 1:
        return False
    return hmac.compare_digest(given[0].encode(), csrf_token(purpose, bound_to).encode())


def pick_language(value: str | None) -> str:
    """``lang`` as one of zh-HK (default), zh-CN, en-US."""
    low = (value or "").lower()
    if low.startswith("en"):
        return "en-US"
    return "zh-CN" if low in {"zh-cn", "zh-hans"} else "zh-HK"


def render(
    request: Request, template: str, lang: str, status: int = 200, **ctx: Any
) -> HTMLResponse:
    """A page in ``lang`` with the language switcher keeping the current URL."""
    sim = request.app.state.sim

    def lang_url(code: str) -> str:
        # A query-only reference: the browser keeps the current path. Writing the path
        # out would turn a request for ``//evil.example/x`` into a link off-site.
        params = dict(request.query_params)
        params["lang"] = code
        return f"?{urlencode(params)}"

    html = sim.templates.get_template(template).render(
        t=sim.messages[lang],
        lang=lang,
        html_lang={"zh-HK": "zh-Hant-HK", "zh-CN": "zh-Hans-CN", "en-US": "en"}[lang],
        languages=LANGUAGES,
        lang_url=lang_url,
        **ctx,
    )
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, lang: str, code: str, key: str, status: int = 400) -> HTMLResponse:
    message = request.app.state.sim.messages[lang][key]
    return render(request, "error.html", lang, status=status, code=code, message=message)


def back_to(uri: str, **params: str | None) -> RedirectResponse:
    """303 to the RP's registered URI with query parameters (None values left out)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    sep = "&" if "?" in uri else "?"
    return RedirectResponse(f"{uri}{sep}{query}", status_code=303)


def with_code(sim: Any, uri: str, code: str, state: str | None) -> RedirectResponse:
    """The login callback redirect. In conformance mode the code's Base64 characters go
    into the query as they are — a raw ``+`` included, which form decoding turns into a
    space (issue 23 item 8: the relying party must cope)."""
    if not sim.settings.conformance:
        return back_to(uri, code=code, state=state)
    sep = "&" if "?" in uri else "?"
    query = f"code={code}" + (f"&{urlencode({'state': state})}" if state is not None else "")
    return RedirectResponse(f"{uri}{sep}{query}", status_code=303)


def _by_qr(login: LoginSession) -> bool:
    """Whether the person scanned the QR code (PC, no broker page) rather than going
    app-to-app: later requests then answer ``authByQR: true``."""
    return not (is_mobile(login.source) or login.broker_page)


def qr_data_uri(text: str) -> str:
    """A real QR code of ``text`` as an SVG data URI."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@router.get("/api/v1/auth/getQR", response_model=None)
async def get_qr(request: Request) -> Response:
    sim = request.app.state.sim
    q = request.query_params
    lang = pick_language(q.get("lang"))
    client = sim.clients.get(q.get("clientID", ""))
    if client is None:
        return error_page(request, lang, "D20003", "e_unknown_client")
    redirect_uri = q.get("redirectURI", "")
    if redirect_uri not in client.redirect_uris:
        return error_page(request, lang, "D20008", "e_redirect")
    state = q.get("state")
    if state is not None and not _STATE.fullmatch(state):
        return back_to(redirect_uri, error_code="D20003")
    if q.get("responseType") != "code":
        return back_to(redirect_uri, error_code="D20003", state=state)
    source = q.get("source", "")
    if source not in ALL_SOURCES or (source in GETQR_EXCLUDED and sim.settings.conformance):
        # getQR takes every source "Except (App_Link and App_Scheme)" (SBX, IAMS-C)
        return back_to(redirect_uri, error_code="D20007", state=state)
    scopes = tuple(dict.fromkeys((q.get("scope") or "").split()))
    if not scopes or "eidapi_auth" not in scopes or not set(scopes) <= set(client.allowed_scopes):
        return back_to(redirect_uri, error_code="D20012", state=state)
    broker = (q.get("brokerPage") or "false").lower()
    if broker not in {"true", "false"}:
        return back_to(redirect_uri, error_code="D20003", state=state)
    login = sim.state.open_login(
        LoginSession(
            id=secrets.token_urlsafe(24),
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
            lang=lang,
            source=source,
            broker_page=broker == "true",
        )
    )
    persona = q.get("sim_persona")
    if sim.settings.auto_approve and persona in sim.personas:
        code = sim.state.issue_code(login, persona, by_qr=_by_qr(login))
        return with_code(sim, redirect_uri, code, state)
    app_url = f"/sim/app/login/{login.id}?lang={lang}"
    if is_mobile(source) or login.broker_page:
        return RedirectResponse(app_url, status_code=303)
    deep_link = f"{sim.public_url}{app_url}"
    return render(
        request,
        "qr.html",
        lang,
        login=login,
        personas=list(sim.personas.values()),
        deep_link=deep_link,
        qr_data_uri=qr_data_uri(deep_link),
        csrf=csrf_token("login", login.id),
    )


@router.get("/sim/app/login/{login_id}", response_model=None)
async def app_login(request: Request, login_id: str) -> Response:
    sim = request.app.state.sim
    lang = pick_language(request.query_params.get("lang"))
    login = sim.state.live_login(login_id)
    if login is None:
        return error_page(request, lang, "D40003", "e_expired")
    return render(
        request,
        "app_login.html",
        lang,
        login=login,
        personas=list(sim.personas.values()),
        csrf=csrf_token("login", login.id),
    )


async def _form(request: Request) -> dict[str, list[str]]:
    try:
        form = await request.form()
    except Exception:
        return {}
    result: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            result.setdefault(key, []).append(value)
    return result


@router.post("/sim/app/login/{login_id}", response_model=None)
async def app_login_answer(request: Request, login_id: str) -> Response:
    sim = request.app.state.sim
    lang = pick_language(request.query_params.get("lang"))
    login = sim.state.live_login(login_id)
    if login is None:
        return error_page(request, lang, "D40003", "e_expired")
    form = await _form(request)
    if not csrf_ok(form, "login", login.id):
        return error_page(request, lang, "D20003", "e_bad_request", status=403)
    action = (form.get("action") or [""])[0]
    persona = (form.get("persona") or [""])[0]
    if action == "approve" and persona in sim.personas:
        code = sim.state.issue_code(login, persona, by_qr=_by_qr(login))
        return with_code(sim, login.redirect_uri, code, login.state)
    if action == "cancel":
        login.finished = True
        return back_to(login.redirect_uri, error_code="D40000", state=login.state)
    if action == "deny":
        login.finished = True
        deny = sim.settings.login_deny or ("state-only" if sim.settings.conformance else "D40001")
        if deny == "state-only":  # "only the state parameter will be redirected" (SBX)
            return back_to(login.redirect_uri, state=login.state)
        return back_to(login.redirect_uri, error_code=deny, state=login.state)
    return error_page(request, lang, "D20003", "e_bad_request")


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@router.get("/sim/app/requests/{ticket_id}", response_model=None)
async def app_request(request: Request, ticket_id: str) -> Response:
    sim = request.app.state.sim
    lang = pick_language(request.query_params.get("lang"))
    ticket = sim.state.live_ticket(ticket_id)
    if ticket is None:
        return error_page(request, lang, "D40003", "e_expired")
    persona = sim.personas[ticket.persona_id]
    if sim.settings.auto_approve:
        return await _finish(request, ticket, list(ticket.fields))
    fields = [
        {"name": n, "present": persona.field(n) is not None, "shown": _shown(persona.field(n))}
        for n in ticket.fields
    ]
    csrf = csrf_token("ticket", ticket.id)
    return render(
        request, "app_request.html", lang, ticket=ticket, persona=persona, fields=fields, csrf=csrf
    )


@router.post("/sim/app/requests/{ticket_id}", response_model=None)
async def app_request_answer(request: Request, ticket_id: str) -> Response:
    sim = request.app.state.sim
    lang = pick_language(request.query_params.get("lang"))
    ticket = sim.state.live_ticket(ticket_id)
    if ticket is None:
        return error_page(request, lang, "D40003", "e_expired")
    form = await _form(request)
    if not csrf_ok(form, "ticket", ticket.id):
        return error_page(request, lang, "D20003", "e_bad_request", status=403)
    action = (form.get("action") or [""])[0]
    if action == "approve":
        return await _finish(request, ticket, form.get("field") or [])
    if action == "deny":
        return await _finish(request, ticket, None)
    return error_page(request, lang, "D20003", "e_bad_request")


async def _finish(request: Request, ticket: Any, chosen: list[str] | None) -> Response:
    """Deliver the result to the RP, then send the browser back."""
    sim = request.app.state.sim
    ticket.finished = True
    client = sim.clients[ticket.client_id]
    persona = sim.personas[ticket.persona_id]
    fields = None if chosen is None else approved_fields(persona, ticket, chosen)
    body = result_body(sim.state, client, ticket, fields)
    await deliver(sim.http(), ticket.redirect_uri, body)
    if sim.settings.conformance:  # approved on the phone: the browser is not moved
        lang = pick_language(request.query_params.get("lang"))
        return render(request, "app_done.html", lang)
    error = None if fields is not None else body["code"]
    return back_to(ticket.redirect_uri, state=ticket.state, ticketID=ticket.id, error_code=error)


@router.get("/sim/static/sim.css", include_in_schema=False)
async def stylesheet(request: Request) -> Response:
    return Response(request.app.state.sim.css, media_type="text/css")
