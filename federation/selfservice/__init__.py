"""Residents' self-service (issue 6 item 4; DESIGN §1 "later lists and withdraws consents
and downloads receipts"): sign in with iAM Smart **through the bridge's own journey**, list
one's consents per relying party, withdraw (confirmation + CSRF → ``revoke_by_person``,
which revokes tokens and sends back-channel logout), download receipts (signed JWS and
readable JSON) and all one's own records with their history; sign out.

The area is a first-party relying party of the bridge (:mod:`federation.selfservice.client`):
``/consents/login`` sends the browser to ``/authorize`` as ``idbridge-self-service``; the
journey logs the person in at iAM Smart (or reuses a bridge session younger than
``max_age``), records no consent and issues a code whose ``sub`` is the bridge subject — the
subject every consent record carries. See ``docs/self-service.md``.

Layer 3 (beside the journey and the OIDC front end): imports ``federation.oidc``,
``consent``, ``federation.pages``, ``federation.storage``, ``federation.crypto``.
"""

from federation.selfservice.client import SELF_SERVICE_CLIENT_ID, self_service_client
from federation.selfservice.router import install_self_service, signed_out_page

__all__ = [
    "SELF_SERVICE_CLIENT_ID",
    "install_self_service",
    "self_service_client",
    "signed_out_page",
]
