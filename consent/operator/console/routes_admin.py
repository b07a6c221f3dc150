"""Console screens beyond one record: four-eyes offboarding of a relying party, the audit
view with "verify the chain now", and account administration (admin). Routes parse and
delegate to :class:`consent.operator.service.OperatorService`.
"""

from __future__ import annotations

import base64
from typing import Annotated
from urllib.parse import parse_qs, urlparse

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import RedirectResponse

from consent.audit import Action
from consent.operator.account_admin import Change
from consent.operator.audit_view import AuditFilter
from consent.operator.console.auth import (
    ConsoleRoute,
    csrf_for,
    current_session,
    read_form,
    service_of,
)
from consent.operator.errors import OperatorError
from consent.operator.filters import day_bounds, epoch
from consent.operator.offboarding import REQUEST_ID
from consent.operator.roles import Permission, Role
from consent.operator.sessions import Session

router = APIRouter(prefix="/operator", route_class=ConsoleRoute, include_in_schema=False)
SessionDep = Annotated[Session, Depends(current_session)]
ACCOUNT_CHANGES = {
    "disable": Change.DISABLED,
    "enable": Change.ENABLED,
    "reset-totp": Change.TOTP_RESET,
}


def _lang_suffix(request: Request, sep: str = "?") -> str:
    lang = request.query_params.get("lang")
    return f"{sep}lang={lang}" if lang in ("zh-HK", "zh-CN", "en") else ""


def _render(
    request: Request, session: Session, template: str, status: int = 200, **ctx: object
) -> Response:
    return request.app.state.console.render(
        request, template, ctx, session=session, csrf=csrf_for(request, session), status_code=status
    )


# --- four-eyes offboarding -----------------------------------------------------------------
@router.get("/offboarding")
async def offboardings(request: Request, session: SessionDep) -> Response:
    """Requests (newest first) and the form to make one."""
    requests = await service_of(request).offboardings(session)
    clients = await request.app.state.consent.counters.clients()
    return _render(
        request, session, "offboarding.html", requests=requests, clients=clients, problem=None
    )


@router.post("/offboarding")
async def request_offboarding(request: Request, session: SessionDep) -> Response:
    """Make a request (a different operator approves)."""
    form = await read_form(request, session)
    service = service_of(request)
    if form.get("confirm") != "yes":
        await service.require(session, Permission.OFFBOARD)
        requests = await service.offboardings(session)
        clients = await request.app.state.consent.counters.clients()
        return _render(
            request,
            session,
            "offboarding.html",
            400,
            requests=requests,
            clients=clients,
            problem="confirm",
        )
    created = await service.request_offboarding(
        session, str(form.get("client_id", ""))[:200], str(form.get("reason", ""))[:500]
    )
    return RedirectResponse(
        f"/operator/offboarding/{created.id}{_lang_suffix(request)}", status_code=303
    )


@router.get("/offboarding/{request_id}")
async def offboarding(
    request: Request, session: SessionDep, request_id: Annotated[str, Path(pattern=REQUEST_ID)]
) -> Response:
    """One request; its approve / reject form for anyone but the requester."""
    found = await service_of(request).offboarding(session, request_id)
    return _render(request, session, "offboarding_detail.html", req=found)


@router.post("/offboarding/{request_id}")
async def decide(
    request: Request, session: SessionDep, request_id: Annotated[str, Path(pattern=REQUEST_ID)]
) -> Response:
    """Approve (withdraws every consent of the relying party) or reject."""
    form = await read_form(request, session)
    decision = form.get("decision")
    if decision not in ("approve", "reject"):
        raise OperatorError(400, "invalid_request", "decision: approve or reject")
    await service_of(request).decide_offboarding(session, request_id, decision == "approve")
    return RedirectResponse(
        f"/operator/offboarding/{request_id}{_lang_suffix(request)}", status_code=303
    )


# --- audit ---------------------------------------------------------------------------------
@router.get("/audit")
async def audit(request: Request, session: SessionDep) -> Response:
    """Entries newest first, filtered by actor, event type and Hong Kong dates."""
    q = {
        k: request.query_params.get(k, "").strip()[:200] for k in ("actor", "action", "from", "to")
    }
    filters = AuditFilter(
        q["actor"] or None,
        q["action"] or None,
        epoch("from", day_bounds("from", q["from"], end=False)),
        epoch("to", day_bounds("to", q["to"], end=True)),
    )
    before = request.query_params.get("before") or None
    page = await service_of(request).audit_events(session, filters, before, 50)
    return _render(
        request,
        session,
        "audit.html",
        q=q,
        page=page,
        actions=[a.value for a in Action],
        report=None,
    )


@router.post("/audit/verify")
async def verify(request: Request, session: SessionDep) -> Response:
    """Verify the whole chain now; the result names the first bad entry."""
    await read_form(request, session)
    report = await service_of(request).audit_status(session)
    return _render(request, session, "audit_verify.html", report=report)


# --- accounts ------------------------------------------------------------------------------
@router.get("/accounts")
async def accounts(request: Request, session: SessionDep) -> Response:
    """Every account, and the form to add one."""
    listed = await service_of(request).accounts(session)
    return _render(
        request,
        session,
        "accounts.html",
        accounts=listed,
        roles=[r.value for r in Role],
        problem=None,
    )


def _qr(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


def _secret(uri: str) -> str:
    return parse_qs(urlparse(uri).query).get("secret", [""])[0]


@router.post("/accounts")
async def add_account(request: Request, session: SessionDep) -> Response:
    """Add an account; shows its TOTP enrolment (QR code) once."""
    form = await read_form(request, session)
    service = service_of(request)
    username = str(form.get("username", "")).strip()[:64]
    role_text = str(form.get("role", ""))
    if role_text not in [r.value for r in Role]:
        raise OperatorError(400, "invalid_request", "role: unknown")
    password = str(form.get("password", ""))[:1024]
    try:
        uri = await service.change_account(
            session, Change.ADDED, username, role=Role(role_text), password=password
        )
    except ValueError as exc:  # AccountError: bad username or password, or the name is taken
        listed = await service.accounts(session)
        return _render(
            request,
            session,
            "accounts.html",
            400,
            accounts=listed,
            roles=[r.value for r in Role],
            problem=str(exc),
        )
    return _render(
        request,
        session,
        "enrol.html",
        username=username,
        qr=_qr(uri or ""),
        secret=_secret(uri or ""),
        change="added",
    )


@router.get("/accounts/{username}/{change}")
async def account_confirm(
    request: Request, session: SessionDep, username: str, change: str
) -> Response:
    """The confirmation step of disable / enable / reset-totp."""
    if change not in ACCOUNT_CHANGES:
        raise OperatorError(404, "not_found", "no such change")
    service = service_of(request)
    listed = {a.username: a for a in await service.accounts(session)}
    if username not in listed:
        raise OperatorError(404, "not_found", "no such operator")
    return _render(
        request, session, "account_confirm.html", account=listed[username], change=change
    )


@router.post("/accounts/{username}/{change}")
async def account_change(
    request: Request, session: SessionDep, username: str, change: str
) -> Response:
    """Disable, enable or reset the TOTP (audited as the CLI's)."""
    await read_form(request, session)
    if change not in ACCOUNT_CHANGES:
        raise OperatorError(404, "not_found", "no such change")
    uri = await service_of(request).change_account(session, ACCOUNT_CHANGES[change], username)
    if uri:
        return _render(
            request,
            session,
            "enrol.html",
            username=username,
            qr=_qr(uri),
            secret=_secret(uri),
            change="totp_reset",
        )
    return RedirectResponse(f"/operator/accounts{_lang_suffix(request)}", status_code=303)
