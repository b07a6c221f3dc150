"""The operator API (FastAPI router, mounted at ``/operator/api``). Routes parse and
delegate to :class:`consent.operator.service.OperatorService`; errors are JSON with an
OAuth-style code and never a 5xx for bad input. Needs ``app.state.consent`` (a
:class:`consent.services.ConsentServices`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator
from redis.exceptions import RedisError

from consent.lifecycle import ReasonRequired
from consent.operator.audit_view import AuditFilter
from consent.operator.filters import build_query, epoch
from consent.operator.models import (
    AuditEntry,
    AuditStatus,
    ConsentDetail,
    ConsentPage,
    ErrorResponse,
    LoginRequest,
    OffboardingBody,
    RevokeRequest,
    TokenResponse,
)
from consent.operator.offboarding import REQUEST_ID
from consent.operator.service import OperatorError, OperatorService
from consent.operator.service_admin import dashboard_json
from consent.operator.sessions import Session
from consent.records import ConsentRecord, Status
from consent.redis_store import CURSOR
from consent.store import ConsentConflict, ConsentNotFound, InvalidCursor
from federation.logs import request_id_var
from federation.ratelimit import client_address
from federation.web import UntrustedJSONRequest

log = logging.getLogger("idbridge.consent.operator")

CONSENT_ID = r"^cns_[A-Za-z0-9_-]{16,64}$"


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
"""Headers of responses carrying a bearer token or personal data (exports)."""


def _error(status: int, code: str, description: str) -> JSONResponse:
    headers = {"WWW-Authenticate": f'Bearer error="{code}"'} if status in (401, 403) else None
    body = {"error": code, "error_description": description, "reference": request_id_var.get()}
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/json")


class OperatorRoute(APIRoute):
    """Turns domain errors into JSON errors (dependencies included), and a Redis outage
    into 503 ``temporarily_unavailable``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(UntrustedJSONRequest(request.scope, request.receive))
            except OperatorError as exc:
                return _error(exc.status, exc.code, exc.description)
            except ConsentNotFound:
                return _error(404, "not_found", "no such consent")
            except ConsentConflict as exc:
                return _error(409, "consent_not_active", str(exc))
            except InvalidCursor as exc:
                return _error(400, "invalid_request", str(exc))
            except ReasonRequired as exc:
                return _error(400, "invalid_request", str(exc))
            except RedisError as exc:
                log.warning("redis unavailable", extra={"fields": {"error": type(exc).__name__}})
                return _error(503, "temporarily_unavailable", "storage unavailable; try again")

        return guarded


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "invalid_request"},
    401: {"model": ErrorResponse, "description": "invalid_token: missing, unknown or expired"},
    403: {"model": ErrorResponse, "description": "insufficient_scope: the role may not do this"},
    503: {"model": ErrorResponse, "description": "temporarily_unavailable"},
}

router = APIRouter(prefix="/operator/api", tags=["operator"], route_class=OperatorRoute)
_bearer = HTTPBearer(auto_error=False, description="Token from POST /operator/api/login")


def get_service(request: Request) -> OperatorService:
    """The service over ``app.state.consent``."""
    return OperatorService(request.app.state.consent)


async def get_session(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Session:
    """The caller's live session, or 401 ``invalid_token``."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise OperatorError(401, "invalid_token", "a bearer token is required")
    session = await request.app.state.consent.sessions.resolve(credentials.credentials)
    if session is None:
        raise OperatorError(401, "invalid_token", "the token is unknown or has expired")
    return session


ServiceDep = Annotated[OperatorService, Depends(get_service)]
SessionDep = Annotated[Session, Depends(get_session)]


def _iso_8601_only(value: Any) -> Any:
    """Refuse what pydantic would read as Unix seconds (``2030``, ``1.5e9``): the filters
    take ISO 8601 dates or timestamps (``2030-01-01``, ``2030-01-01T08:00:00+08:00``)."""
    if isinstance(value, str) and not _ISO_8601.match(value):
        raise ValueError("an ISO 8601 date or timestamp (YYYY-MM-DD[THH:MM[:SS][zone]])")
    return value


_ISO_8601 = re.compile(
    r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:?\d{2})?)?$"
)
IsoDate = Annotated[datetime, BeforeValidator(_iso_8601_only)]
"""A filter date: ISO 8601 only."""


class _Filters:
    """Search filters shared by search and export (all optional)."""

    def __init__(
        self,
        subject: Annotated[str | None, Query(max_length=200, description="Bridge subject.")] = None,
        client_id: Annotated[str | None, Query(max_length=200)] = None,
        status: Annotated[Status | None, Query()] = None,
        given_from: Annotated[
            IsoDate | None, Query(description="ISO 8601, inclusive; UTC if no zone.")
        ] = None,
        given_to: Annotated[
            IsoDate | None, Query(description="ISO 8601, inclusive; UTC if no zone.")
        ] = None,
        purpose: Annotated[str | None, Query(max_length=64, description="A purpose id.")] = None,
        order: Annotated[Literal["newest", "oldest"], Query(description="By date given.")] = (
            "newest"
        ),
    ) -> None:
        self.query = build_query(
            subject=subject,
            client_id=client_id,
            status=status,
            purpose=purpose,
            given_from=given_from,
            given_to=given_to,
            oldest_first=order == "oldest",
        )


FiltersDep = Annotated[_Filters, Depends()]


@router.post(
    "/login",
    response_model=TokenResponse,
    summary="Log in with password and TOTP",
    responses={
        400: _ERRORS[400],
        401: {"model": ErrorResponse, "description": "invalid_grant"},
        429: {"model": ErrorResponse, "description": "slow_down"},
        503: _ERRORS[503],
    },
)
async def login(
    body: LoginRequest, request: Request, response: Response, service: ServiceDep
) -> TokenResponse:
    """Exchange username, password and a TOTP code for a short-lived bearer token."""
    settings = getattr(request.app.state, "settings", None)
    address = client_address(request, bool(getattr(settings, "trust_proxy_headers", False)))
    operator, token, ttl = await service.login(body.username, body.password, body.totp, address)
    response.headers.update(NO_STORE)  # RFC 6749 §5.1: a token response is never cached
    return TokenResponse(access_token=token, expires_in=ttl, role=operator.role)


@router.post("/logout", status_code=204, summary="End the session", responses=_ERRORS)
async def logout(session: SessionDep, service: ServiceDep) -> Response:
    """Invalidate the bearer token now."""
    await service.logout(session)
    return Response(status_code=204)


@router.get("/consents", response_model=ConsentPage, summary="Search consents", responses=_ERRORS)
async def search(
    session: SessionDep,
    service: ServiceDep,
    filters: FiltersDep,
    cursor: Annotated[
        str | None,
        Query(pattern=CURSOR.pattern, description="`next_cursor` of the previous page."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ConsentPage:
    """Consents matching the filters, newest first, keyset-paged."""
    page = await service.search(session, filters.query, cursor, limit)
    return ConsentPage(items=page.items, next_cursor=page.next_cursor)


@router.get(
    "/consents/{consent_id}",
    response_model=ConsentDetail,
    summary="A consent and its history",
    responses={**_ERRORS, 404: {"model": ErrorResponse, "description": "not_found"}},
)
async def view(
    session: SessionDep,
    service: ServiceDep,
    consent_id: Annotated[str, Path(pattern=CONSENT_ID)],
) -> ConsentDetail:
    """The record with every audit event about it, oldest first."""
    record, events = await service.view(session, consent_id)
    return ConsentDetail(record=record, events=[AuditEntry(**e) for e in events])


@router.post(
    "/consents/{consent_id}/revoke",
    response_model=ConsentRecord,
    summary="Revoke a consent with a reason",
    responses={
        **_ERRORS,
        404: {"model": ErrorResponse, "description": "not_found"},
        409: {"model": ErrorResponse, "description": "consent_not_active"},
    },
)
async def revoke(
    session: SessionDep,
    service: ServiceDep,
    body: RevokeRequest,
    consent_id: Annotated[str, Path(pattern=CONSENT_ID)],
) -> ConsentRecord:
    """Revoke; the relying party's tokens for the person are revoked and a back-channel
    logout is sent (through the OIDC layer)."""
    return await service.revoke(session, consent_id, body.reason)


@router.get(
    "/export",
    summary="Export consents as CSV or JSON",
    responses={
        **_ERRORS,
        200: {
            "content": {"text/csv": {}, "application/json": {}, "application/jsonl": {}},
            "description": "The export",
        },
    },
)
async def export(
    session: SessionDep,
    service: ServiceDep,
    filters: FiltersDep,
    format: Annotated[Literal["csv", "json", "jsonl"], Query()] = "json",
) -> Response:
    """Every matching consent (up to 10,000) as a download. ``X-Export-Truncated: true``
    (and ``meta.truncated`` in JSON and on the first JSON line) says there were more:
    narrow the filters."""
    body, _count, truncated = await service.export(session, filters.query, format)
    media = {
        "csv": "text/csv; charset=utf-8",
        "json": "application/json",
        "jsonl": "application/jsonl",
    }[format]
    headers = {
        "Content-Disposition": f'attachment; filename="consents.{format}"',
        "X-Export-Truncated": str(truncated).lower(),
        **NO_STORE,
    }
    return Response(body, media_type=media, headers=headers)


@router.get(
    "/audit/status", response_model=AuditStatus, summary="Verify the audit chain", responses=_ERRORS
)
async def audit_status(session: SessionDep, service: ServiceDep) -> AuditStatus:
    """Walk the whole chain now and report the first bad entry, if any."""
    report = await service.audit_status(session)
    return AuditStatus(**report.as_dict())


@router.get("/dashboard", summary="The console's activity figures", responses=_ERRORS)
async def dashboard(
    session: SessionDep,
    service: ServiceDep,
    days: Annotated[int, Query(description="30 or 90.", json_schema_extra={"enum": [30, 90]})] = 30,
    client_id: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Consents given / withdrawn / expired and logins by outcome per Hong Kong day, from
    counters kept as events happen; consents expiring in the next 30 days."""
    return dashboard_json(await service.dashboard(session, days, client_id))


@router.get("/audit/events", summary="Audit entries, newest first", responses=_ERRORS)
async def audit_events(
    session: SessionDep,
    service: ServiceDep,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[IsoDate | None, Query(description="ISO 8601; UTC if no zone.")] = None,
    until: Annotated[IsoDate | None, Query(description="ISO 8601; UTC if no zone.")] = None,
    before: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Entries filtered by actor, event type and time; ``next_before`` pages on."""
    filters = AuditFilter(actor, action, epoch("since", since), epoch("until", until))
    page = await service.audit_events(session, filters, before, limit)
    return {"entries": page.entries, "next_before": page.next_before}


def _offboarding_json(request: Any) -> dict[str, Any]:
    return {k: getattr(request, k) for k in request.__dataclass_fields__}


@router.post("/offboarding", summary="Request a relying party's offboarding", responses=_ERRORS)
async def request_offboarding(
    session: SessionDep, service: ServiceDep, body: OffboardingBody
) -> dict[str, Any]:
    """Ask for every consent of a relying party to be withdrawn; another operator must
    approve (four eyes)."""
    created = await service.request_offboarding(session, body.client_id, body.reason)
    return _offboarding_json(created)


@router.post(
    "/offboarding/{request_id}/{decision}",
    summary="Approve or reject an offboarding request",
    responses={
        **_ERRORS,
        404: {"model": ErrorResponse, "description": "not_found"},
        409: {"model": ErrorResponse, "description": "already decided"},
    },
)
async def decide_offboarding(
    session: SessionDep,
    service: ServiceDep,
    request_id: Annotated[str, Path(pattern=REQUEST_ID)],
    decision: Literal["approve", "reject"],
) -> dict[str, Any]:
    """By a different operator than the requester (else 403 ``four_eyes``)."""
    decided = await service.decide_offboarding(session, request_id, decision == "approve")
    return _offboarding_json(decided)
