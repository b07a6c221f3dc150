"""The operator API (FastAPI router, mounted at ``/operator/api``). Routes parse and
delegate to :class:`consent.operator.service.OperatorService`; errors are JSON with an
OAuth-style code and never a 5xx for bad input. Needs ``app.state.consent`` (a
:class:`consent.services.ConsentServices`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.exceptions import RedisError

from consent.lifecycle import ReasonRequired
from consent.operator.models import (
    AuditEntry,
    AuditStatus,
    ConsentDetail,
    ConsentPage,
    ErrorResponse,
    LoginRequest,
    RevokeRequest,
    TokenResponse,
)
from consent.operator.service import OperatorError, OperatorService
from consent.operator.sessions import Session
from consent.records import ConsentRecord, Status
from consent.store import ConsentConflict, ConsentNotFound, ConsentQuery, InvalidCursor
from federation.logs import request_id_var
from federation.ratelimit import client_address

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
                return await handler(request)
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


def _epoch(name: str, value: datetime | None) -> int | None:
    """Epoch seconds of a filter date; one without a zone is UTC (never the server's local
    time). A date outside what the platform can convert is a 400, not a 500."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return int(value.timestamp())
    except (OverflowError, ValueError, OSError) as exc:
        raise OperatorError(400, "invalid_request", f"{name}: date out of range") from exc


def _query(
    subject: str | None,
    client_id: str | None,
    status: Status | None,
    given_from: datetime | None,
    given_to: datetime | None,
) -> ConsentQuery:
    return ConsentQuery(
        subject=subject,
        client_id=client_id,
        status=status,
        given_from=_epoch("given_from", given_from),
        given_to=_epoch("given_to", given_to),
    )


class _Filters:
    """Search filters shared by search and export (all optional)."""

    def __init__(
        self,
        subject: Annotated[str | None, Query(max_length=200, description="Bridge subject.")] = None,
        client_id: Annotated[str | None, Query(max_length=200)] = None,
        status: Annotated[Status | None, Query()] = None,
        given_from: Annotated[
            datetime | None, Query(description="ISO 8601, inclusive; UTC if no zone.")
        ] = None,
        given_to: Annotated[
            datetime | None, Query(description="ISO 8601, inclusive; UTC if no zone.")
        ] = None,
    ) -> None:
        self.query = _query(subject, client_id, status, given_from, given_to)


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
    cursor: Annotated[str | None, Query(max_length=400)] = None,
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
        200: {"content": {"text/csv": {}, "application/json": {}}, "description": "The export"},
    },
)
async def export(
    session: SessionDep,
    service: ServiceDep,
    filters: FiltersDep,
    format: Annotated[Literal["csv", "json"], Query()] = "json",
) -> Response:
    """Every matching consent (up to 10,000) as a download. ``X-Export-Truncated: true``
    (and ``meta.truncated`` in JSON) says there were more: narrow the filters."""
    body, _count, truncated = await service.export(session, filters.query, format)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
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
