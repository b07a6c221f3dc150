"""Mapping and consent (DESIGN §3 steps 4–5; §5).

:func:`to_consent` maps the identity with the client's profile, skips the page when a
remembered, still-valid consent covers the same RP, purpose, notice version and values
(``ConsentLifecycle.find_remembered``), and otherwise shows the consent page.
:func:`submit` handles its form: CSRF bound to the journey, Decline (``consent.denied``,
``access_denied`` to the RP), person-supplied values validated (a re-render keeps what was
typed), the separate cross-boundary box, optional items switched off. The consent record
is stored durably (the store's acknowledged write) **before** the code is issued; the done
page offers the signed receipt and the way back to the RP (:func:`finish`).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from consent.capture import ConsentChoices, capture
from consent.notice import SENSITIVE_NOTICE
from federation.identity import now
from federation.journey import failures
from federation.journey.consent_view import (
    attribute_view,
    notice_for,
    operator_view,
    release_items,
    relying_party_view,
    supplied_attributes,
    supplied_view,
    texts,
)
from federation.journey.context import Journey
from federation.journey.finish import build_grant, first_party_grant, issue_code
from federation.journey.forms import checked_form
from federation.journey.record import JOURNEY_COOKIE, JourneyRecord
from federation.journey.sso import bridge_subject, keep_identity
from federation.oidc.authorize import error_redirect
from federation.oidc.errors import RedirectableError
from federation.oidc.models import Grant
from federation.oidc.response_mode import authorization_response
from federation.oidc.seam import consent_decision
from federation.oidc.session_tokens import OFFLINE_ACCESS
from federation.pages import (
    CROSS_BOUNDARY_YES,
    DECISION_AGREE,
    DECISION_DECLINE,
    FORM_CROSS_BOUNDARY,
    FORM_DECISION,
    FORM_RELEASE,
    FORM_SENSITIVE,
    ConsentDonePage,
    ConsentPage,
    ErrorKind,
)
from mappings import MappingError, Profile, ReleaseRequest, UserSuppliedField

log = logging.getLogger("idbridge.journey.consent")

CONSENT_PATH = "/journey/consent"
FINISH_PATH = "/journey/finish"
DONE_PATH = "/journey/done"
RECEIPT_PATH = "/journey/receipt"


def release_request(record: JourneyRecord) -> ReleaseRequest:
    """What the RP asked for, as the mapping engine reads it."""
    client = record.authz.client
    return ReleaseRequest(
        client_id=client.client_id,
        scopes=list(record.authz.scopes),
        claims_request=dict(record.authz.claims) if record.authz.claims else None,
        sector_identifier=client.sector,
        subject_type=client.subject_type,
        locale=record.locale,
    )


async def _mapping_failed(
    journey: Journey, request: Request, record: JourneyRecord, exc: MappingError
) -> Response:
    log.info("mapping failed", extra={"fields": {"attribute": exc.attribute, "reason": exc.reason}})
    return await failures.fail(
        journey,
        request,
        record,
        ErrorKind.MAPPING_INVALID_VALUE,
        "server_error",
        "an attribute from the identity provider failed validation",
    )


async def _previous_values(
    journey: Journey, person: str, client_id: str, fields: list[UserSuppliedField]
) -> dict[str, str]:
    """What the person typed last time at this RP (sealed with their current consent)."""
    if not fields:
        return {}
    store = journey.consent.store
    current = await store.current(person, client_id)
    if current is None or not current.has_sealed_pii:
        return {}
    sealed = await store.get_sealed_values(current.id)
    found: dict[str, str] = {}
    for field in fields:
        for claim in field.claims:
            try:
                found[field.attribute] = field.validate(sealed[claim])
                break
            except (KeyError, MappingError):
                continue
    return found


async def to_consent(journey: Journey, request: Request, record: JourneyRecord) -> Response:
    """Map, then skip the page for a remembered consent or show it."""
    identity = record.identity
    assert identity is not None
    client = record.authz.client
    person = bridge_subject(identity, journey.salt)
    if record.sid:
        await keep_identity(journey.redis, journey.sealer, record.sid, identity)
    if client.client_id in journey.first_party_clients:  # nothing leaves the bridge
        return await issue_code(journey, request, record, first_party_grant(record, person))
    profile = journey.profiles.for_client(client)
    wanted = release_request(record)
    fields = profile.user_supplied(wanted)
    previous = await _previous_values(journey, person, client.client_id, fields)
    try:
        release = profile.release(identity, wanted, salt=journey.salt, supplied=previous)
    except MappingError as exc:
        return await _mapping_failed(journey, request, record, exc)
    remembered = None
    if all(f.attribute in previous for f in fields if f.essential):
        notice = notice_for(client, journey.notice, journey.operator)
        items = release_items(release, supplied_attributes(fields))
        remembered = await journey.consent.lifecycle.find_remembered(person, notice, items)
    try:
        decision = consent_decision(record.authz, remembered is not None)
    except RedirectableError as exc:
        await journey.store.end(record)
        url = error_redirect(record.authz, exc.error, exc.description)
        return authorization_response(journey.pages, request, record.authz, url)
    if decision == "skip" and remembered is not None:
        kept = release.without(
            [c for c in release.optional_claims if c not in remembered.attribute_names]
        )
        log.info("remembered consent", extra={"fields": {"client_id": client.client_id}})
        grant = build_grant(record, kept, person, remembered.id)
        return await issue_code(journey, request, record, grant)
    await journey.store.update(record, stage="consent")
    return RedirectResponse(CONSENT_PATH, status_code=303)  # a page that survives a reload


async def show_page(
    journey: Journey,
    request: Request,
    record: JourneyRecord,
    *,
    typed: dict[str, str] | None = None,
    invalid: frozenset[str] = frozenset(),
    kept: frozenset[str] = frozenset(),
    cross_missing: bool = False,
    cross_checked: bool = False,
    sensitive_missing: bool = False,
    sensitive_checked: bool = False,
    status_code: int = 200,
) -> Response:
    """Render the consent page (a re-render keeps what the person typed and ticked).

    Everything the notice says comes from :func:`notice_for` — the model the record and the
    receipt are built from — so page, record and receipt cannot disagree."""
    assert record.identity is not None
    client = record.authz.client
    profile = journey.profiles.for_client(client)
    wanted = release_request(record)
    fields = profile.user_supplied(wanted)
    typed = typed or {}
    valid = {k: v for k, v in typed.items() if k not in invalid and v}
    try:
        release = profile.release(record.identity, wanted, salt=journey.salt, supplied=valid)
    except MappingError as exc:
        return await _mapping_failed(journey, request, record, exc)
    locale = failures.locale_of(journey, request, record)
    if locale != record.locale:
        await journey.store.update(record, locale=locale)
    notice = notice_for(client, journey.notice, journey.operator)
    sensitive_fields = profile.sensitive_fields(fields)
    asks_sensitive = bool(sensitive_fields) or any(i.sensitive for i in release.items)
    view = ConsentPage(
        action_url=CONSENT_PATH,
        csrf_token=journey.pages.issue_csrf(record.id),
        relying_party=relying_party_view(client),
        purpose=texts(notice.purposes[0].description),
        processing_method=texts(notice.processing_method),
        retention=texts(notice.retention),
        rights=texts(notice.rights),
        attributes=tuple(attribute_view(i, locale, kept) for i in release.items),
        remember_days=notice.remember_seconds // 86400,
        manage_url=journey.settings.consent_manage_url,
        supplied=tuple(supplied_view(f, typed, invalid, sensitive_fields) for f in fields),
        notice_version=notice.notice_version,
        cross_boundary_missing=cross_missing,
        offline_access=OFFLINE_ACCESS in record.authz.scopes,
        cross_boundary_checked=cross_checked,
        operator=operator_view(journey.operator),
        sensitive_notice={k: texts(v) for k, v in SENSITIVE_NOTICE.items()}
        if asks_sensitive
        else None,
        sensitive_missing=sensitive_missing,
        sensitive_checked=sensitive_checked,
    )
    return journey.pages.render(view, locale, request=request, status_code=status_code)


def _typed(form: Any, fields: list[UserSuppliedField]) -> tuple[dict[str, str], frozenset[str]]:
    """What the person typed (trimmed, ≤ 64 chars) and which fields fail validation."""
    typed: dict[str, str] = {}
    invalid: set[str] = set()
    for field in fields:
        raw = str(form.get("supplied_" + field.attribute) or "").strip()[:64]
        typed[field.attribute] = raw
        if not raw and not field.essential:
            continue
        try:
            typed[field.attribute] = field.validate(raw)
        except MappingError:
            invalid.add(field.attribute)
    return typed, frozenset(invalid)


async def submit(journey: Journey, request: Request, record: JourneyRecord) -> Response:
    """Handle the consent form (bounded and CSRF-checked: :mod:`federation.journey.forms`)."""
    form = await checked_form(journey, request, record, CONSENT_PATH)
    if isinstance(form, Response):
        return form
    assert record.identity is not None
    client = record.authz.client
    person = bridge_subject(record.identity, journey.salt)
    decision = form.get(FORM_DECISION)
    if decision == DECISION_DECLINE:
        await journey.consent.lifecycle.deny(person, client.client_id)
        return await failures.fail(
            journey, request, record, ErrorKind.ACCESS_DENIED, "access_denied", "consent declined"
        )
    if decision != DECISION_AGREE:
        return await show_page(journey, request, record, status_code=400)
    profile = journey.profiles.for_client(client)
    fields = profile.user_supplied(release_request(record))
    typed, invalid = _typed(form, fields)
    kept = frozenset(str(v) for v in form.getlist(FORM_RELEASE))
    cross = form.get(FORM_CROSS_BOUNDARY) == CROSS_BOUNDARY_YES
    sensitive = form.get(FORM_SENSITIVE) == CROSS_BOUNDARY_YES
    sensitive_missing = not sensitive and _sends_sensitive(
        journey, record, profile, fields, typed, invalid, kept
    )
    if invalid or not cross or sensitive_missing:
        return await show_page(
            journey,
            request,
            record,
            typed=typed,
            invalid=invalid,
            kept=kept,
            cross_missing=not cross,
            cross_checked=cross,
            sensitive_missing=sensitive_missing,
            sensitive_checked=sensitive,
            status_code=400,
        )
    return await _agree(journey, request, record, profile, fields, typed, kept, person)


def _sends_sensitive(
    journey: Journey,
    record: JourneyRecord,
    profile: Profile,
    fields: list[UserSuppliedField],
    typed: dict[str, str],
    invalid: frozenset[str],
    kept: frozenset[str],
) -> bool:
    """Whether what would be sent includes sensitive personal information (PIPL art. 28):
    an essential or kept sensitive item, or a typed value that feeds a sensitive claim."""
    assert record.identity is not None
    if any(typed.get(a) for a in profile.sensitive_fields(fields)):
        return True
    valid = {k: v for k, v in typed.items() if k not in invalid and v}
    try:
        release = profile.release(
            record.identity, release_request(record), salt=journey.salt, supplied=valid
        )
    except MappingError:
        return False
    return any(i.sensitive and (i.essential or i.claim in kept) for i in release.items)


async def _agree(
    journey: Journey,
    request: Request,
    record: JourneyRecord,
    profile: Profile,
    fields: list[UserSuppliedField],
    typed: dict[str, str],
    kept: frozenset[str],
    person: str,
) -> Response:
    """Store the consent durably, keep the grant, show the done page."""
    assert record.identity is not None
    client = record.authz.client
    supplied = {k: v for k, v in typed.items() if v}
    try:
        release = profile.release(
            record.identity, release_request(record), salt=journey.salt, supplied=supplied
        )
    except MappingError as exc:
        return await _mapping_failed(journey, request, record, exc)
    optional = set(release.optional_claims)
    # optional claims derived from a value the person typed were not on the page as a
    # checkbox (the value did not exist yet): typing the value is choosing to send them
    typed_by_person = {
        i.claim for i in release.items if set(i.sources) & set(supplied) and i.claim in optional
    }
    chosen = frozenset((kept | typed_by_person) & optional)
    locale = failures.locale_of(journey, request, record)
    captured = capture(
        person,
        notice_for(client, journey.notice, journey.operator),
        release_items(release, supplied_attributes(fields)),
        ConsentChoices(
            cross_boundary=True, kept_optional=chosen, language=locale, sensitive_consent=True
        ),
        digest_key=journey.consent.lifecycle.digest_key,
        now=now(),
    )
    await journey.consent.lifecycle.grant(captured)  # durable before the code exists
    final = release.without(sorted(optional - chosen))
    grant = build_grant(record, final, person, captured.record.id)
    journey.store.rotate(record)  # a privilege change: the id that can now get the code
    await journey.store.update(
        record, stage="granted", grant=grant.to_dict(), consent_id=captured.record.id
    )
    log.info("consent given", extra={"fields": {"client_id": client.client_id}})
    response = RedirectResponse(DONE_PATH, status_code=303)  # Post/Redirect/Get
    journey.set_cookie(response, JOURNEY_COOKIE, record.id, journey.settings.journey_ttl)
    return response


async def done_page(journey: Journey, request: Request, record: JourneyRecord) -> Response:
    """After Agree: the way on, the receipt and the consent reference (survives a reload)."""
    view = ConsentDonePage(
        relying_party=relying_party_view(record.authz.client),
        continue_url=FINISH_PATH,
        receipt_url=RECEIPT_PATH,
        manage_url=journey.settings.consent_manage_url,
        reference=record.consent_id,
    )
    return journey.pages.render(view, failures.locale_of(journey, request, record), request=request)


async def finish(journey: Journey, request: Request, record: JourneyRecord) -> Response:
    """ "Continue to the service": issue the code for the stored grant."""
    if record.stage != "granted" or record.grant is None:
        return failures.expired(journey, request)
    return await issue_code(journey, request, record, Grant.from_dict(record.grant))
