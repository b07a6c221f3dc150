"""View models: the plain, frozen data each page is rendered from.

The journey builds one of these and hands it to :meth:`federation.pages.Pages.render`. They
hold *data* (names, values, URLs); every word around the data comes from the message
catalogues. Text that the relying party registered in three languages (purpose, processing
method, retention, rights) is a :data:`Localised`: either one string or a mapping
``{"zh-HK": ..., "zh-CN": ..., "en": ...}`` from which the page picks the person's language.

The consent form posts these fields (constants below), so that the journey can read them:

- ``csrf_token``: the token from :meth:`Pages.issue_csrf`;
- ``decision``: ``"agree"`` or ``"decline"`` (two submit buttons; decline skips browser
  validation, so it always works);
- ``release``: once per optional attribute the person ticked (value = the attribute name);
- ``cross_boundary``: ``"yes"`` when the separate cross-boundary box is ticked;
- ``sensitive_consent``: ``"yes"`` when the sensitive-information box is ticked;
- ``supplied_<attribute>``: each value the person typed (:attr:`SuppliedField.field_name`).

Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

Localised = str | Mapping[str, str]
"""One string, or a string per locale (``zh-HK``, ``zh-CN``, ``en``)."""

FORM_CSRF = "csrf_token"
FORM_DECISION = "decision"
DECISION_AGREE = "agree"
DECISION_DECLINE = "decline"
FORM_RELEASE = "release"
FORM_CROSS_BOUNDARY = "cross_boundary"
CROSS_BOUNDARY_YES = "yes"
FORM_SENSITIVE = "sensitive_consent"
"""``"yes"`` when the separate sensitive-information box is ticked (PIPL art. 29)."""
SUPPLIED_PREFIX = "supplied_"

_FALLBACK_ORDER = ("zh-HK", "en", "zh-CN")


def pick(text: Localised | None, locale: str) -> str:
    """The ``locale`` version of ``text``; else zh-HK, en, zh-CN, else any; ``""`` if none."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    for candidate in (locale, *_FALLBACK_ORDER):
        if text.get(candidate):
            return text[candidate]
    return next((value for value in text.values() if value), "")


@dataclass(frozen=True, slots=True)
class SupportContact:
    """How a person reaches the bridge's support desk (shown in every footer)."""

    email: str | None = None
    phone: str | None = None
    url: str | None = None
    """A help page (absolute URL); shown as a link."""


@dataclass(frozen=True, slots=True)
class ServiceLink:
    """The relying party a person can go back to (an error page's "use another method")."""

    name: Localised
    url: str | None = None
    """Where to send the person (the RP's home or sign-in page); no link when ``None``."""
    post_fields: tuple[tuple[str, str], ...] | None = None
    """When set, the way back is a form that POSTs these fields to ``url`` (the RP asked
    for ``response_mode=form_post``, OAuth 2.0 Form Post Response Mode §2): a button, never
    an auto-submit, so it works without JavaScript under the CSP."""


@dataclass(frozen=True, slots=True)
class RelyingPartyView:
    """Who asks for the data (a Guangdong relying party)."""

    name: Localised
    contact: str
    """Its data-protection contact: e-mail, phone or postal address, shown as given."""
    logo_url: str | None = None
    """A ``data:`` URI or a same-origin path (the CSP forbids other origins)."""
    client_id: str = ""
    hosts: tuple[str, ...] = ()
    """The registered host(s) of its redirect URIs, where the person is sent back (ASCII:
    an internationalised name is shown as its ``xn--`` form, which cannot mimic another)."""
    self_registered: bool = False
    """It registered itself (RFC 7591): the operator has not vetted who runs it."""
    verified: bool = False
    """The operator checked who runs it (``verified: true`` in the clients file)."""
    shared_identifier: bool = False
    """The service gets a ``public`` subject: the same identifier as every other such
    service (OIDC Core §8), so they could link what they know; the page says so."""
    address: Localised | None = None
    """Its postal address for rights requests (PIPL art. 39 contact method), if registered."""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class OperatorView:
    """Who runs the bridge: the Hong Kong data user (PDPO DPP1(3)), from configuration."""

    name: Localised
    address: Localised
    privacy_officer: str
    """The privacy officer's e-mail address."""
    access_requests: Localised
    """How to make a data access or correction request (PDPO DPP6)."""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class ConsentAttribute:
    """One attribute that will be sent, exactly as it will be sent."""

    attribute: str
    """Internal name (``federation.identity.Attr``); also the ``release`` form value."""
    value: str
    """The value the relying party will receive, exactly."""
    essential: bool
    """Essential attributes are always sent (shown fixed); optional ones get a checkbox."""
    claim: str = ""
    """The claim name the relying party receives (shown small, for the curious)."""
    label: Localised | None = None
    """Overrides the catalogue label ``attr.<attribute>`` (needed for unknown attributes)."""
    shown_value: str | None = None
    """The value in the person's script when the mapping converted it (e.g. Traditional)."""
    masked: bool = False
    """Show it partly masked, full value behind a ``<details>`` (ID numbers)."""
    selected: bool = False
    """Optional only: ticked (a re-render keeps the person's choice; never pre-tick)."""
    sensitive: bool = False
    """Sensitive personal information (PIPL art. 28): the art. 30 notice and its own tick."""
    value_lang: str = "en"
    """BCP 47 language of ``value`` (``zh-Hant``, ``zh-Hans``, ``en``; WCAG 3.1.2)."""
    shown_lang: str = "en"
    """BCP 47 language of ``shown_value``."""


@dataclass(frozen=True, slots=True)
class SuppliedField:
    """An attribute the person types in because the upstream does not hold it."""

    attribute: str
    """Internal name, e.g. ``home_return_permit``; label, hint and error from the catalogue
    (``attr.<attribute>``, ``supplied.<attribute>.hint``, ``supplied.<attribute>.error``)."""
    pattern: str | None = None
    """HTML ``pattern`` (the browser's hint only; the journey validates on the server)."""
    value: str = ""
    """What the person typed, kept on a re-render."""
    invalid: bool = False
    """Show the error message (the journey's server-side validation failed)."""
    required: bool = True
    max_length: int = 64
    input_mode: str = "text"
    autocapitalize: str = "characters"
    sensitive: bool = False
    """Feeds a sensitive claim (PIPL art. 28): listed in the sensitive-information notice."""

    @property
    def field_name(self) -> str:
        """The form field name: ``supplied_<attribute>``."""
        return SUPPLIED_PREFIX + self.attribute


@dataclass(frozen=True, slots=True)
class ConsentPage:
    """DESIGN §3 step 5; PAGES.md "The consent page"; PIPL art. 39, PDPO DPP3."""

    template: ClassVar[str] = "consent.html"

    action_url: str
    """Where the form posts (same origin)."""
    csrf_token: str
    relying_party: RelyingPartyView
    purpose: Localised
    processing_method: Localised
    retention: Localised
    """How long the relying party keeps the data."""
    attributes: tuple[ConsentAttribute, ...]
    remember_days: int
    """How long this consent is remembered (the page is then skipped)."""
    manage_url: str
    """Where the person lists and withdraws consents."""
    rights: Localised | None = None
    """How to exercise rights against the recipient; a standard text when ``None``."""
    supplied: tuple[SuppliedField, ...] = ()
    notice_version: str = ""
    cross_boundary_missing: bool = False
    """Re-render after "Agree" without the cross-boundary box: explain why."""
    offline_access: bool = False
    """The RP asked for ``offline_access``: its tokens outlive the bridge session (said on
    the page; otherwise the page says that signing out ends the service's access)."""
    operator: OperatorView | None = None
    """The bridge operator (the Hong Kong data user); ``None`` only in old callers."""
    sensitive_notice: Mapping[str, Localised] | None = None
    """PIPL art. 30 texts (``necessity``, ``effect``) when a sensitive item is asked for."""
    sensitive_missing: bool = False
    """Re-render after "Agree" without the sensitive-information tick."""
    sensitive_checked: bool = False
    """Keep the sensitive-information tick on a re-render."""
    cross_boundary_checked: bool = False
    """Keep the cross-boundary tick on a re-render (never ticked on first show)."""


@dataclass(frozen=True, slots=True)
class HandoffPage:
    """ "Approve in the iAM Smart app": a QR code (desktop) or an app link (mobile)."""

    template: ClassVar[str] = "handoff.html"

    continue_url: str
    """GET: checks the upstream and moves on; the no-JavaScript way forward."""
    cancel_url: str
    """POST (a form with ``csrf_token``): the person gives up; never a link (a GET must
    not end the journey)."""
    upstream: str = "iamsmart"
    """Key of the upstream's name in the catalogue (``upstream.<key>``)."""
    qr_image_url: str | None = None
    """A ``data:image/...`` URI of the QR code (desktop)."""
    app_link: str | None = None
    """The link that opens the app (mobile, app-to-app)."""
    poll_url: str | None = None
    """Optional JSON endpoint for JavaScript polling: ``{"status": "pending"|"done",
    "next": "<url>"}``; on ``done`` the page goes to ``next`` (same origin only)."""
    expires_minutes: int | None = None
    csrf_token: str = ""
    """The journey's CSRF token, sent with Cancel."""


@dataclass(frozen=True, slots=True)
class ConsentDonePage:
    """After "Agree": receipt download, where consents are managed, the way back."""

    template: ClassVar[str] = "consent_done.html"

    relying_party: RelyingPartyView
    continue_url: str
    """Back to the relying party (the authorization response)."""
    receipt_url: str
    manage_url: str
    reference: str = ""
    """The consent record's id: the reference ``/consents`` and the receipt carry."""


@dataclass(frozen=True, slots=True)
class FinishedPage:
    """Back or a reload after a finished journey: "You have already finished — continue
    to ‹service›" (never "your session has expired")."""

    template: ClassVar[str] = "finished.html"

    relying_party: RelyingPartyView
    service_url: str | None
    """The service's own address (the origin of its redirect URI); no link when ``None``."""
    manage_url: str
    reference: str = ""


@dataclass(frozen=True, slots=True)
class ErrorPage:
    """Built by :meth:`Pages.render_error`; see :class:`federation.pages.errors.ErrorKind`."""

    template: ClassVar[str] = "error.html"

    kind: str
    reference: str
    retry_url: str | None = None
    service: ServiceLink | None = None
    manage_url: str = "/consents"
    """The way out when no service is known: "Manage your consents"."""
