"""The end of a journey: the :class:`Grant` from the released claims, the authorization code
(``federation.oidc.seam.issue_authorization_code``) and the redirect to the RP with
``code``, ``state`` and ``iss`` (RFC 6749 §4.1.2, RFC 9207). The journey record — and with
it every upstream attribute — is deleted as the code is issued.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from federation import metrics
from federation.journey.acr_oidc import answered_acr
from federation.journey.context import Journey
from federation.journey.failures import count_login
from federation.journey.record import JOURNEY_COOKIE, JourneyRecord
from federation.journey.sso import AMR
from federation.oidc.models import Grant
from federation.oidc.response_mode import authorization_response
from federation.oidc.seam import issue_authorization_code
from federation.pages import FinishedPage, RelyingPartyView
from federation.storage.keys import Keys
from mappings import Release


def build_grant(
    record: JourneyRecord, release: Release, person: str, consent_id: str | None
) -> Grant:
    """The grant for ``release`` (after the person's choices): only consented claims."""
    identity = record.identity
    assert identity is not None
    return Grant(
        subject=release.subject,
        scopes=record.authz.scopes,
        auth_time=identity.authenticated_at,
        bridge_subject=person,
        id_token_claims=_without_sub(release.id_token_claims),
        userinfo_claims=_without_sub(release.userinfo_claims),
        acr=answered_acr(record) or identity.assurance.value,
        amr=AMR,
        sid=record.sid or None,
        consent_id=consent_id,
        claim_scopes=release.claim_scopes,
    )


def first_party_grant(record: JourneyRecord, person: str) -> Grant:
    """The grant for one of the bridge's own services: ``sub`` is the bridge subject
    ``person`` itself, no claims, no consent (``Journey.first_party_clients``)."""
    identity = record.identity
    assert identity is not None
    return Grant(
        subject=person,
        scopes=("openid",),
        auth_time=identity.authenticated_at,
        bridge_subject=person,
        acr=answered_acr(record) or identity.assurance.value,
        amr=AMR,
        sid=record.sid or None,
    )


def _without_sub(claims: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k != "sub"}


async def issue_code(
    journey: Journey, request: Request, record: JourneyRecord, grant: Grant
) -> Response:
    """Issue the code, end the journey (same round trip when both live in one Redis) and
    send the browser back (a redirect, or the form-post page:
    :mod:`federation.oidc.response_mode`). With a separate ephemeral Redis the journey is
    deleted first, so that a failure between the two can never leave it usable for a
    second code."""
    discard = journey.store.ending(record)
    if journey.store.redis is not journey.redis:
        await journey.store.redis.delete(*discard)
        discard = []
    url = await issue_authorization_code(
        journey.redis,
        record.authz,
        grant,
        clock=journey.provider.clock,
        code_ttl=journey.provider.config.code_ttl,
        discard=discard,
    )
    await count_login(journey, record, "success")
    metrics.LOGINS.labels("success", "none").inc()
    await mark_finished(journey, record)
    response = authorization_response(journey.pages, request, record.authz, url)
    journey.clear_cookie(response, JOURNEY_COOKIE)
    # Back or a reload then finds the "finished" marker and says so, instead of "your
    # session has expired"
    journey.set_cookie(response, FINISHED_COOKIE, record.id, journey.store.ttl)
    return response


FINISHED_COOKIE = "idb_finished"
"""The id of the journey this browser last finished (a bridge cookie, the journey's TTL)."""


async def mark_finished(journey: Journey, record: JourneyRecord) -> None:
    """Remember, for the journey's lifetime, that it finished (client and consent id)."""
    body = {
        "client_id": record.authz.client.client_id,
        "consent_id": record.consent_id,
        "locale": record.locale,
    }
    await journey.redis.set(
        Keys.journey_finished(record.id), json.dumps(body), ex=journey.store.ttl
    )


async def finished_page(journey: Journey, request: Request) -> Response | None:
    """ "You have already finished — continue to ‹service›" for a finished journey's
    cookie; ``None`` if the cookie names no finished journey."""
    journey_id = journey.cookie(request, FINISHED_COOKIE)
    if not journey_id or len(journey_id) > 64:
        return None
    raw = await journey.redis.get(Keys.journey_finished(journey_id))
    if raw is None:
        return None
    body = json.loads(raw)
    client = await journey.provider.clients.get(journey.redis, str(body.get("client_id")))
    if client is None:
        return None
    parts = urlsplit(client.redirect_uris[0])
    view = FinishedPage(
        relying_party=RelyingPartyView(
            name=client.client_name.model_dump(by_alias=True), contact=""
        ),
        service_url=f"{parts.scheme}://{parts.netloc}/",
        manage_url=journey.settings.consent_manage_url,
        reference=str(body.get("consent_id") or ""),
    )
    locale = journey.pages.locale_for(request)
    if "lang" not in request.query_params and body.get("locale") in journey.pages.catalogues:
        locale = body["locale"]  # the journey's language, unless the switcher says otherwise
    return journey.pages.render(view, locale, request=request)
