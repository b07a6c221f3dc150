"""Console screens over consent records: search, record detail (with the receipt and its
verified signature, and the event timeline from the audit chain), withdrawal with a reason
after a confirmation step, and export (CSV / JSON lines). Routes parse and delegate to
:class:`consent.operator.service.OperatorService`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import RedirectResponse

from consent.operator.console.auth import (
    ConsoleRoute,
    csrf_for,
    current_session,
    read_form,
    service_of,
)
from consent.operator.errors import OperatorError
from consent.operator.filters import build_query, day_bounds
from consent.operator.roles import Permission
from consent.operator.service import EXPORT_LIMIT
from consent.operator.sessions import Session
from consent.records import Status
from consent.store import ConsentQuery

router = APIRouter(prefix="/operator", route_class=ConsoleRoute, include_in_schema=False)
SessionDep = Annotated[Session, Depends(current_session)]
ConsentId = Annotated[str, Path(pattern=r"^cns_[A-Za-z0-9_-]{16,64}$")]
FILTERS = ("subject", "client_id", "status", "purpose", "from", "to", "receipt", "sort")
PAGE_SIZES = (25, 50, 100)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _filters(request: Request) -> dict[str, str]:
    """The search form's values (bounded), as typed."""
    return {k: request.query_params.get(k, "").strip()[:200] for k in FILTERS}


def _query(f: dict[str, str]) -> ConsentQuery:
    return build_query(
        subject=f["subject"],
        client_id=f["client_id"],
        status=f["status"],
        purpose=f["purpose"],
        given_from=day_bounds("from", f["from"], end=False),
        given_to=day_bounds("to", f["to"], end=True),
        oldest_first=f["sort"] == "oldest",
    )


@router.get("/consents")
async def search(request: Request, session: SessionDep) -> Response:
    """The search form and one page of results (filters stay in the URL)."""
    service = service_of(request)
    f = _filters(request)
    size_text = request.query_params.get("size", "25")
    size = int(size_text) if size_text.isdigit() and int(size_text) in PAGE_SIZES else 25
    cursor = request.query_params.get("cursor") or None
    searched = any(f[k] for k in FILTERS if k != "sort") or "go" in request.query_params
    page = None
    if searched:
        page = await service.find(session, _query(f), f["receipt"] or None, cursor, size)
    return request.app.state.console.render(
        request,
        "search.html",
        {
            "f": f,
            "page": page,
            "size": size,
            "sizes": PAGE_SIZES,
            "cursor": cursor,
            "statuses": [s.value for s in Status],
            "clients": await request.app.state.consent.counters.clients(),
            "export_limit": EXPORT_LIMIT,
        },
        session=session,
        csrf=csrf_for(request, session),
    )


def _receipt_view(receipt: Any) -> dict[str, Any]:
    return {
        "verified": receipt.verified,
        "signed": receipt.jws is not None,
        "kid": receipt.kid,
        "json": json.dumps(receipt.body, ensure_ascii=False, indent=1),
    }


@router.get("/consents/{consent_id}")
async def detail(request: Request, session: SessionDep, consent_id: ConsentId) -> Response:
    """Everything the person was shown, the timeline, the receipt."""
    service = service_of(request)
    record, events = await service.view(session, consent_id)
    _record, receipt = await service.receipt(session, consent_id)
    return request.app.state.console.render(
        request,
        "detail.html",
        {
            "r": record,
            "events": events,
            "receipt": _receipt_view(receipt),
            "notice": request.query_params.get("notice", ""),
        },
        session=session,
        csrf=csrf_for(request, session),
    )


@router.get("/consents/{consent_id}/receipt.{kind}")
async def receipt_download(
    request: Request, session: SessionDep, consent_id: ConsentId, kind: str
) -> Response:
    """The receipt as its compact JWS (``.jws``) or readable JSON with the JWS (``.json``)."""
    if kind not in ("jws", "json"):
        raise OperatorError(404, "not_found", "no such receipt format")
    _record, receipt = await service_of(request).receipt(session, consent_id)
    if kind == "jws":
        if receipt.jws is None:
            raise OperatorError(404, "not_signed", "the bridge has no signing key")
        body, media = receipt.jws, "application/jose"
    else:
        body = json.dumps({"receipt": receipt.body, "jws": receipt.jws}, ensure_ascii=False)
        media = "application/json"
    name = f"consent-receipt-{consent_id}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE}
    return Response(body, media_type=media, headers=headers)


@router.get("/consents/{consent_id}/withdraw")
async def withdraw_confirm(
    request: Request, session: SessionDep, consent_id: ConsentId
) -> Response:
    """The confirmation step, with the required reason."""
    service = service_of(request)
    await service.require(session, Permission.REVOKE)
    record, _events = await service.view(session, consent_id)
    return request.app.state.console.render(
        request,
        "withdraw.html",
        {"r": record, "problem": None, "reason": ""},
        session=session,
        csrf=csrf_for(request, session),
    )


@router.post("/consents/{consent_id}/withdraw")
async def withdraw(request: Request, session: SessionDep, consent_id: ConsentId) -> Response:
    """Withdraw (tokens revoked, back-channel logout sent: the lifecycle's)."""
    form = await read_form(request, session)
    service = service_of(request)
    reason = str(form.get("reason", "")).strip()[:500]
    if len(reason) < 3 or form.get("confirm") != "yes":
        await service.require(session, Permission.REVOKE)
        record, _events = await service.view(session, consent_id)
        return request.app.state.console.render(
            request,
            "withdraw.html",
            {"r": record, "problem": "reason" if len(reason) < 3 else "confirm", "reason": reason},
            session=session,
            csrf=csrf_for(request, session),
            status_code=400,
        )
    await service.revoke(session, consent_id, reason)
    lang = request.query_params.get("lang")
    target = f"/operator/consents/{consent_id}?notice=withdrawn" + (f"&lang={lang}" if lang else "")
    return RedirectResponse(target, status_code=303)


@router.get("/export")
async def export(request: Request, session: SessionDep) -> Response:
    """The search result as CSV or JSON lines (audited; at most ``EXPORT_LIMIT``
    records; a cut-short file says so: ``-partial`` in its name, ``X-Export-Truncated``,
    and ``meta.truncated`` on the first JSON line)."""
    fmt = request.query_params.get("format", "csv")
    if fmt not in ("csv", "jsonl"):
        raise OperatorError(400, "invalid_request", "format: csv or jsonl")
    body, _count, truncated = await service_of(request).export(
        session, _query(_filters(request)), fmt
    )
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/jsonl"
    name = f"consents{'-partial' if truncated else ''}.{fmt}"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Export-Truncated": str(truncated).lower(),
        **NO_STORE,
    }
    return Response(body, media_type=media, headers=headers)
