"""The journey's use of :mod:`federation.journey.acr` for an OIDC request: the ``acr`` a
journey is answered with (checked after login, stated in the grant)."""

from __future__ import annotations

from federation.journey.acr import answer, from_oidc
from federation.journey.record import JourneyRecord


def answered_acr(record: JourneyRecord) -> str | None:
    """The ``acr`` for this journey's person and request; ``None`` when an essential
    request cannot be met (or no one has logged in yet)."""
    if record.identity is None:
        return None
    authz = record.authz
    return answer(from_oidc(authz.claims, authz.acr_values), record.identity.assurance)
