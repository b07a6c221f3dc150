"""View models of the residents' self-service pages (issue 6 item 4) and of the page after
an RP-initiated logout. Plain frozen data; every word around the data is in the catalogues
(``selfservice.*``, ``signed_out.*``).

Dates arrive already formatted (``"2024-06-01 14:03"``, Hong Kong time); the templates add
the zone from the catalogue. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from federation.pages.views import Localised


@dataclass(frozen=True, slots=True)
class SharedAttribute:
    """One attribute a consent released: its claim name and whether it was essential."""

    name: str
    essential: bool
    supplied_by_person: bool = False
    label: Localised | None = None
    """The claim's label from the RP's mapping profile; ``None``: the catalogue's
    ``attr.<name>``, else the name itself."""


@dataclass(frozen=True, slots=True)
class ConsentSummary:
    """One consent record as the person sees it."""

    consent_id: str
    status: str
    """``active`` | ``revoked`` | ``expired`` (catalogue ``selfservice.status.<status>``)."""
    given_at: str
    expires_at: str | None
    """``None``: kept until withdrawn (or until the next login asks again)."""
    ended_at: str | None
    ended_by: str | None
    """``subject`` | ``operator`` | ``system`` | ``expiry`` (``selfservice.ended_by.*``)."""
    purposes: tuple[Localised, ...]
    attributes: tuple[SharedAttribute, ...]
    withheld: tuple[str, ...]
    cross_boundary: bool
    receipt_jws_url: str
    receipt_json_url: str
    withdraw_url: str | None
    """The confirmation page; ``None`` when the consent is no longer active."""
    withheld_labels: Mapping[str, Localised] = field(default_factory=dict)
    """Labels of the ``withheld`` claims (from the RP's mapping profile), by claim name."""
    proof_url: str = ""
    """Inclusion proof of the consent's event in the transparency log (issue 15)."""
    end_reason: str | None = None
    """``expired`` | ``replaced`` | ``withdrawn_by_you`` | ``withdrawn_by_operator`` |
    ``ended_by_system`` (``selfservice.end_reason.<key>``)."""
    end_detail: str | None = None
    """The replacing consent's id, or the operator's reason."""
    receipt_html_url: str = ""
    """The readable, printable receipt."""
    sensitive: tuple[str, ...] = ()
    """Sensitive items sent with their separate consent (PIPL art. 29)."""
    retention: Localised | None = None
    rights: Localised | None = None

    @property
    def active(self) -> bool:
        """Still shared."""
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class ReceiptPage:
    """A consent receipt a person can read and print, with whether its signature verified."""

    template: ClassVar[str] = "selfservice_receipt.html"

    receipt: Mapping[str, Any]
    """The Kantara-shaped receipt (``consent.receipts.build_receipt``)."""
    verified: bool
    back_url: str
    jws_url: str
    json_url: str


@dataclass(frozen=True, slots=True)
class RelyingPartyConsents:
    """Every consent of the person at one relying party, newest first."""

    client_id: str
    name: Localised
    contact: str
    consents: tuple[ConsentSummary, ...]


@dataclass(frozen=True, slots=True)
class ConsentListPage:
    """ "Your consents": per relying party, what was shared, when, and its status."""

    template: ClassVar[str] = "selfservice_list.html"

    relying_parties: tuple[RelyingPartyConsents, ...]
    export_url: str
    sign_out_url: str
    csrf_token: str
    notice: str | None = None
    """``withdrawn`` after a withdrawal (``selfservice.notice.<notice>``)."""
    next_page_url: str | None = None


@dataclass(frozen=True, slots=True)
class WithdrawConfirmPage:
    """The confirmation step before a withdrawal (POST with CSRF)."""

    template: ClassVar[str] = "selfservice_withdraw.html"

    action_url: str
    cancel_url: str
    csrf_token: str
    relying_party: Localised
    consent: ConsentSummary


@dataclass(frozen=True, slots=True)
class SelfServiceSignInPage:
    """Not signed in: what the area is, and "Sign in with iAM Smart"."""

    template: ClassVar[str] = "selfservice_signin.html"

    sign_in_url: str
    upstream: str = "iamsmart"


@dataclass(frozen=True, slots=True)
class SignedOutPage:
    """After signing out (self-service sign-out, or RP-initiated logout without a
    ``post_logout_redirect_uri``)."""

    template: ClassVar[str] = "signed_out.html"

    manage_url: str | None = None
    """Where consents are managed (a link to sign in again), or ``None``."""
