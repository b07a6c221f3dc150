"""Small journey steps behind the router: Cancel (a CSRF-checked POST; a GET changes
nothing) and the consent receipt download."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from consent import log_evidence
from consent.receipts import build_receipt, sign_receipt
from consent.store import ConsentNotFound
from federation.journey import consent_step, failures, upstream
from federation.journey.context import Journey
from federation.journey.forms import checked_form
from federation.journey.record import JourneyRecord
from federation.pages import ErrorKind


async def cancel(journey: Journey, request: Request, record: JourneyRecord) -> Response:
    """Cancel (a POST with the journey's CSRF token): end the journey, ``access_denied``
    to the RP. A GET must not change state (RFC 9110 §9.2.1), hence the form."""
    back = upstream.CONTINUE_PATH if record.stage == "attributes" else None
    form = await checked_form(journey, request, record, back)
    if isinstance(form, Response):
        return form
    return await failures.fail(
        journey, request, record, ErrorKind.ACCESS_DENIED, "access_denied", "cancelled"
    )


async def cancel_page(journey: Journey, request: Request, record: JourneyRecord) -> Response:
    """``GET /journey/cancel`` (an old link, a prefetch, a forged cross-site link) ends
    nothing: the waiting page again, whose Cancel is the form; the consent page (with its
    Decline) while consent is asked."""
    if record.stage == "attributes":
        return upstream.waiting_page(journey, request, record)
    if record.stage == "consent":
        return RedirectResponse(consent_step.CONSENT_PATH, status_code=303)
    return failures.expired(journey, request)


async def download_receipt(journey: Journey, request: Request, record: JourneyRecord) -> Response:
    """The Kantara-shaped receipt and its SM2SM3 JWS, as a JSON download."""
    services = journey.consent
    try:
        consent = await services.store.get(record.consent_id)
    except ConsentNotFound:
        return failures.expired(journey, request)
    evidence = await log_evidence.evidence(services.chain, consent.id)
    receipt = build_receipt(consent, issuer=services.issuer, audit_log=evidence)
    body: dict[str, object] = {"receipt": receipt}
    if services.signer is not None:
        body["jws"] = sign_receipt(receipt, services.signer)
    return JSONResponse(
        body,
        headers={
            "Content-Disposition": f'attachment; filename="consent-receipt-{consent.id}.json"',
            "Cache-Control": "no-store",
        },
    )
