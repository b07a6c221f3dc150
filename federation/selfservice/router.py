"""The self-service routes (``/consents``; ``settings.consent_manage_url`` points here).

=====================================  ==============================================
``GET  /consents``                     the person's consents per RP, or "sign in"
``GET  /consents/login``               start a sign-in through the bridge's journey
``GET  /consents/callback``            the journey's answer: code → bridge subject
``GET  /consents/{id}/withdraw``       the confirmation page
``POST /consents/{id}/withdraw``       CSRF, then ``ConsentLifecycle.revoke_by_person``
``GET  /consents/{id}/receipt.jws``    the signed receipt (compact JWS)
``GET  /consents/{id}/receipt.json``   the receipt as readable JSON (with its JWS)
``GET  /consents/{id}/proof.json``     inclusion proof of its event in the transparency log
``GET  /consents/{id}/receipt.html``   the receipt to read and print, signature checked
``GET  /consents/export.json``         every record of the person with its events
``POST /consents/sign-out``            CSRF, end the area's session, then RP-initiated
                                       logout at the bridge (ends the bridge session)
``GET  /consents/signed-out``          "you have signed out"
=====================================  ==============================================

Every record route looks the record up and answers "not found" unless its subject is the
signed-in person's: another person's record and a record that does not exist look alike.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from consent import log_evidence
from consent.notice import DataUser
from consent.records import ConsentRecord, Status
from consent.store import ConsentConflict, ConsentNotFound, InvalidCursor
from federation.oidc.errors import OAuthError
from federation.pages import (
    ConsentListPage,
    ErrorKind,
    ReceiptPage,
    SelfServiceSignInPage,
    SignedOutPage,
    WithdrawConfirmPage,
)
from federation.ratelimit import per_address
from federation.selfservice import records as views
from federation.selfservice import sessions
from federation.selfservice.client import (
    BASE_PATH,
    CALLBACK_PATH,
    SELF_SERVICE_CLIENT_ID,
    SIGNED_OUT_PATH,
    register_self_service_client,
)
from federation.selfservice.context import SelfService, csrf_binding, finish_login

PAGE_SIZE = 50
MAX_AGE_SECONDS = 900
"""A bridge session whose iAM Smart login is older than this signs in again."""

Handler = Callable[[SelfService, Request, sessions.SelfServiceSession], Awaitable[Response]]


def install_self_service(app: FastAPI) -> None:
    """Register the first-party client and mount the routes (after the OIDC provider)."""
    operator_file = app.state.settings.operator_file
    contact = DataUser.load(operator_file).privacy_officer if operator_file else None
    register_self_service_client(app.state.oidc, contact)
    app.include_router(self_service_router())


def signed_out_page(request: Request) -> Response:
    """``logged_out_page`` hook of the OIDC router: the trilingual signed-out page."""
    pages = request.app.state.pages
    locale = pages.locale_for(request, request.query_params.get("ui_locales"))
    manage = getattr(request.app.state.settings, "consent_manage_url", None)
    return pages.render(SignedOutPage(manage_url=manage), locale, request=request)


async def _signed_in(request: Request, handler: Handler) -> Response:
    service = SelfService.of(request)
    session = await sessions.load_session(
        service.redis, service.cookie(request, sessions.SESSION_COOKIE)
    )
    if session is None:
        return RedirectResponse(BASE_PATH, status_code=303)
    return await handler(service, request, session)


async def _own_record(
    service: SelfService, session: sessions.SelfServiceSession, consent_id: str
) -> ConsentRecord | None:
    """The record if it is the signed-in person's; else ``None`` (not found)."""
    if not consent_id.startswith("cns_") or len(consent_id) > 80:
        return None
    try:
        record = await service.consent.store.get(consent_id)
    except (ConsentNotFound, ValueError):
        return None
    return record if hmac.compare_digest(record.subject, session.subject) else None


async def _labels(
    request: Request, service: SelfService, client_ids: Iterable[str]
) -> dict[str, views.Labels]:
    """Claim labels of each client's mapping profile (the app's profile cache)."""
    return await views.labels_by_client(
        service.provider, service.redis, request.app.state.profiles, client_ids
    )


def self_service_router() -> APIRouter:
    """The routes above (every one counted per client address)."""
    router = APIRouter(include_in_schema=False, dependencies=[Depends(per_address("consents"))])

    @router.get(BASE_PATH)
    async def home(request: Request) -> Response:
        service = SelfService.of(request)
        cookie = service.cookie(request, sessions.SESSION_COOKIE)
        session = await sessions.load_session(service.redis, cookie)
        locale = service.locale(request)
        if session is None:
            view = SelfServiceSignInPage(sign_in_url=BASE_PATH + "/login")
            return service.pages.render(view, locale, request=request)
        cursor = request.query_params.get("cursor") or None
        try:
            page = await service.consent.store.list_by_subject(session.subject, cursor, PAGE_SIZE)
        except (InvalidCursor, ValueError):
            return service.error(request, ErrorKind.INVALID_REQUEST)
        own = [r for r in page.items if r.subject == session.subject]
        labels = await _labels(request, service, (r.client_id for r in own))
        notice = request.query_params.get("notice")
        list_view = ConsentListPage(
            relying_parties=views.group_by_relying_party(own, BASE_PATH, labels),
            export_url=BASE_PATH + "/export.json",
            sign_out_url=BASE_PATH + "/sign-out",
            csrf_token=service.pages.issue_csrf(csrf_binding(session)),
            notice=notice if notice in ("withdrawn", "already_ended") else None,
            next_page_url=(
                BASE_PATH + "?" + urlencode({"cursor": page.next_cursor})
                if page.next_cursor
                else None
            ),
        )
        return service.pages.render(list_view, locale, request=request)

    @router.get(BASE_PATH + "/login")
    async def login(request: Request) -> Response:
        service = SelfService.of(request)
        login_id, pending = await sessions.start_login(service.redis, service.locale(request))
        query = {
            "response_type": "code",
            "client_id": SELF_SERVICE_CLIENT_ID,
            "redirect_uri": service.issuer + CALLBACK_PATH,
            "scope": "openid",
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": pending.challenge,
            "code_challenge_method": "S256",
            "max_age": str(MAX_AGE_SECONDS),
            "ui_locales": pending.locale,
        }
        response = RedirectResponse("/authorize?" + urlencode(query), status_code=303)
        service.set_cookie(response, sessions.LOGIN_COOKIE, login_id, sessions.LOGIN_TTL_SECONDS)
        return response

    @router.get(CALLBACK_PATH)
    async def callback(request: Request) -> Response:
        service = SelfService.of(request)
        pending = await sessions.take_login(
            service.redis, service.cookie(request, sessions.LOGIN_COOKIE)
        )
        params = request.query_params
        if pending is None or not hmac.compare_digest(params.get("state", ""), pending.state):
            return service.error(request, ErrorKind.JOURNEY_EXPIRED, retry=True)
        if "error" in params or "code" not in params:
            kind = ErrorKind.ACCESS_DENIED if params.get("error") == "access_denied" else None
            return service.error(request, kind or ErrorKind.UPSTREAM_UNAVAILABLE, retry=True)
        try:
            session = await finish_login(service, params["code"], pending)
        except OAuthError:
            return service.error(request, ErrorKind.JOURNEY_EXPIRED, retry=True)
        response = RedirectResponse(BASE_PATH, status_code=303)
        service.clear_cookie(response, sessions.LOGIN_COOKIE)
        service.set_cookie(
            response, sessions.SESSION_COOKIE, session.token, sessions.SESSION_TTL_SECONDS
        )
        return response

    @router.get(BASE_PATH + "/export.json")
    async def export(request: Request) -> Response:
        async def handler(
            s: SelfService, req: Request, session: sessions.SelfServiceSession
        ) -> Response:
            document = await views.export_document(s.consent, session.subject)
            return s.download(
                views.pretty_json(document), "idbridge-my-consents.json", "application/json"
            )

        return await _signed_in(request, handler)

    @router.get(BASE_PATH + "/{consent_id}/receipt.{kind}")
    async def receipt(consent_id: str, kind: str, request: Request) -> Response:
        async def handler(
            s: SelfService, req: Request, session: sessions.SelfServiceSession
        ) -> Response:
            record = await _own_record(s, session, consent_id)
            if record is None or kind not in ("jws", "json", "html"):
                return s.error(req, ErrorKind.NOT_FOUND)
            if kind == "html":
                receipt, verified = views.verified_receipt(record, s.consent)
                base = f"{BASE_PATH}/{record.id}/receipt"
                page = ReceiptPage(
                    receipt=receipt,
                    verified=verified,
                    back_url=BASE_PATH,
                    jws_url=base + ".jws",
                    json_url=base + ".json",
                )
                return s.pages.render(page, s.locale(req), request=req)
            evidence = await log_evidence.evidence(s.consent.chain, record.id)
            body = views.receipt_body(record, s.consent, evidence)
            if kind == "json":
                name = f"consent-receipt-{record.id}.json"
                return s.download(views.pretty_json(body), name, "application/json")
            if "jws" not in body:
                return s.error(req, ErrorKind.NOT_FOUND)
            name = f"consent-receipt-{record.id}.jws"
            return s.download(body["jws"].encode("ascii"), name, "application/jose")

        return await _signed_in(request, handler)

    @router.get(BASE_PATH + "/{consent_id}/proof.json")
    async def proof(consent_id: str, request: Request) -> Response:
        async def handler(
            s: SelfService, req: Request, session: sessions.SelfServiceSession
        ) -> Response:
            record = await _own_record(s, session, consent_id)
            found = await log_evidence.evidence(s.consent.chain, record.id) if record else None
            body = await log_evidence.inclusion(s.consent.chain, found["ref"]) if found else None
            if record is None or body is None:
                return s.error(req, ErrorKind.NOT_FOUND)
            name = f"consent-log-proof-{record.id}.json"
            return s.download(views.pretty_json(body), name, "application/json")

        return await _signed_in(request, handler)

    @router.get(BASE_PATH + "/{consent_id}/withdraw")
    async def confirm(consent_id: str, request: Request) -> Response:
        async def handler(
            s: SelfService, req: Request, session: sessions.SelfServiceSession
        ) -> Response:
            record = await _own_record(s, session, consent_id)
            if record is None:
                return s.error(req, ErrorKind.NOT_FOUND)
            if record.status is not Status.ACTIVE:
                return RedirectResponse(BASE_PATH + "?notice=already_ended", status_code=303)
            view = WithdrawConfirmPage(
                action_url=f"{BASE_PATH}/{record.id}/withdraw",
                cancel_url=BASE_PATH,
                csrf_token=s.pages.issue_csrf(csrf_binding(session)),
                relying_party=record.client_name.as_dict(),
                consent=views.summary(
                    record,
                    BASE_PATH,
                    (await _labels(req, s, [record.client_id])).get(record.client_id),
                ),
            )
            return s.pages.render(view, s.locale(req), request=req)

        return await _signed_in(request, handler)

    @router.post(BASE_PATH + "/{consent_id}/withdraw")
    async def withdraw(consent_id: str, request: Request) -> Response:
        async def handler(
            s: SelfService, req: Request, session: sessions.SelfServiceSession
        ) -> Response:
            if not await s.csrf_ok(req, session):
                return s.error(
                    req, ErrorKind.CSRF_FAILED, retry_url=f"{BASE_PATH}/{consent_id}/withdraw"
                )
            record = await _own_record(s, session, consent_id)
            if record is None:
                return s.error(req, ErrorKind.NOT_FOUND)
            try:
                await s.consent.lifecycle.revoke_by_person(session.subject, record.id)
            except ConsentNotFound:
                return s.error(req, ErrorKind.NOT_FOUND)
            except ConsentConflict:
                return RedirectResponse(BASE_PATH + "?notice=already_ended", status_code=303)
            return RedirectResponse(BASE_PATH + "?notice=withdrawn", status_code=303)

        return await _signed_in(request, handler)

    @router.post(BASE_PATH + "/sign-out")
    async def sign_out(request: Request) -> Response:
        async def handler(
            s: SelfService, req: Request, session: sessions.SelfServiceSession
        ) -> Response:
            if not await s.csrf_ok(req, session):
                return s.error(req, ErrorKind.CSRF_FAILED, retry_url=BASE_PATH)
            await sessions.end_session(s.redis, session.token)
            query = {
                "id_token_hint": session.id_token,
                "post_logout_redirect_uri": s.issuer + SIGNED_OUT_PATH,
                "ui_locales": s.locale(req),
            }
            response = RedirectResponse("/logout?" + urlencode(query), status_code=303)
            s.clear_cookie(response, sessions.SESSION_COOKIE)
            return response

        return await _signed_in(request, handler)

    @router.get(SIGNED_OUT_PATH)
    async def signed_out(request: Request) -> Response:
        service = SelfService.of(request)
        response = signed_out_page(request)
        for name in (sessions.SESSION_COOKIE, sessions.LOGIN_COOKIE):
            service.clear_cookie(response, name)  # the bridge session, and so this, ended
        return response

    return router
