"""The end of a journey: the :class:`Grant` from the released claims, the authorization code
(``federation.oidc.seam.issue_authorization_code``) and the redirect to the RP with
``code``, ``state`` and ``iss`` (RFC 6749 §4.1.2, RFC 9207). The journey record — and with
it every upstream attribute — is deleted as the code is issued.
"""

from __future__ import annotations

from typing import Any

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
    response = authorization_response(journey.pages, request, record.authz, url)
    journey.clear_cookie(response, JOURNEY_COOKIE)
    return response
