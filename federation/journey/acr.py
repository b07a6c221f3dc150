"""The one rule for requested assurance: which ``acr`` a login is answered with, or that it
fails (OIDC Core §5.5.1.1, §3.1.2.1 ``acr_values``; SAML 2.0 ``RequestedAuthnContext``
with ``Comparison="exact"`` or ``"minimum"`` reads the same way).

The levels are ordered: iAM Smart+ (``iamsmart_plus``, digital-signing capable) satisfies
a request for iAM Smart (``iamsmart``), not the other way round. Of the requested values,
in the RP's order of preference, the first that the person's level satisfies is the answer
— so an iAM Smart+ person asked for ``iamsmart`` is answered ``iamsmart``, as §5.5.1.1
says the returned value MUST be one of those requested. When none is satisfied, an
essential request fails (:data:`UNMET_ERROR`); a voluntary one (``acr_values``, or the
``claims`` parameter without ``essential``) is answered with the person's own level.

Plain data in and out, no protocol objects: a front end turns its request into an
:class:`AcrRequest` and uses :func:`answer`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from federation.identity import Assurance

SATISFIES: dict[Assurance, tuple[str, ...]] = {
    Assurance.IAMSMART_PLUS: (Assurance.IAMSMART_PLUS.value, Assurance.IAMSMART.value),
    Assurance.IAMSMART: (Assurance.IAMSMART.value,),
}
"""The requested values a level meets."""

UNMET_ERROR = "unmet_authentication_requirements"
"""OpenID Connect Core Error Code unmet_authentication_requirements 1.0: the OP cannot meet
the RP's authentication requirements (here: an essential ``acr``)."""


@dataclass(frozen=True, slots=True)
class AcrRequest:
    """What the RP asked for: ``values`` in order of preference, ``essential`` or not."""

    values: tuple[str, ...] = ()
    essential: bool = False


def from_oidc(claims: Mapping[str, Any] | None, acr_values: Sequence[str]) -> AcrRequest:
    """The request of an OIDC authentication request: ``claims.id_token.acr``
    (``value``/``values``, ``essential``, §5.5.1) over the voluntary ``acr_values``."""
    spec = ((claims or {}).get("id_token") or {}).get("acr")
    if isinstance(spec, dict):
        values = spec.get("values")
        if not isinstance(values, list):
            values = [spec["value"]] if "value" in spec else list(acr_values)
        wanted = tuple(str(v) for v in values if isinstance(v, str))
        return AcrRequest(wanted, essential=bool(spec.get("essential")))
    return AcrRequest(tuple(acr_values), essential=False)


def answer(request: AcrRequest, level: Assurance) -> str | None:
    """The ``acr`` to state for a person authenticated at ``level``, or ``None`` when an
    essential request cannot be met (the login must fail with :data:`UNMET_ERROR`)."""
    met = SATISFIES[level]
    for wanted in request.values:
        if wanted in met:
            return wanted
    if request.values and request.essential:
        return None
    return level.value
