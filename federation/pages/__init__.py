"""The pages people see: templates, message catalogues (zh-HK, zh-CN, en), locale
negotiation, the stylesheet, CSRF tokens and error pages (PAGES.md; DESIGN §3 step 5, §8).

Owns ``federation/pages/**``. Bottom layer: imports only ``federation.settings``,
``federation.logs``, ``federation.web``, ``federation.crypto``, the standard library, Jinja2,
PyYAML and Starlette. It never imports connectors, mappings, consent or the protocol front
ends: the journey hands it plain, frozen view models (:mod:`federation.pages.views`).

Use::

    pages = Pages(settings)                # once, e.g. app.state.pages
    mount_static(app)                      # /static/idbridge.css, /static/handoff.js
    locale = pages.locale_for(request, ui_locales=journey.ui_locales)
    return pages.render(ConsentPage(...), locale, request=request)
    return pages.render_error(ErrorKind.JOURNEY_EXPIRED, locale, request=request)

See ``docs/pages.md`` for every view model's fields and the consent form's fields.
"""

from federation.pages.csrf import check_csrf, issue_csrf
from federation.pages.errors import STATUS_CODES, ErrorKind
from federation.pages.locale import (
    DEFAULT_LOCALE,
    LANG_COOKIE,
    LANG_PARAM,
    LOCALES,
    negotiate_locale,
    normalise_locale,
)
from federation.pages.render import Pages, mask_value
from federation.pages.selfservice_views import (
    ConsentListPage,
    ConsentSummary,
    ReceiptPage,
    RelyingPartyConsents,
    SelfServiceSignInPage,
    SharedAttribute,
    SignedOutPage,
    WithdrawConfirmPage,
)
from federation.pages.static import mount_static, static_dir
from federation.pages.views import (
    CROSS_BOUNDARY_YES,
    DECISION_AGREE,
    DECISION_DECLINE,
    FORM_CROSS_BOUNDARY,
    FORM_CSRF,
    FORM_DECISION,
    FORM_RELEASE,
    FORM_SENSITIVE,
    ConsentAttribute,
    ConsentDonePage,
    ConsentPage,
    FinishedPage,
    HandoffPage,
    Localised,
    OperatorView,
    RelyingPartyView,
    ServiceLink,
    SuppliedField,
    SupportContact,
)

__all__ = [
    "CROSS_BOUNDARY_YES",
    "DECISION_AGREE",
    "DECISION_DECLINE",
    "DEFAULT_LOCALE",
    "FORM_CROSS_BOUNDARY",
    "FORM_CSRF",
    "FORM_DECISION",
    "FORM_RELEASE",
    "FORM_SENSITIVE",
    "LANG_COOKIE",
    "LANG_PARAM",
    "LOCALES",
    "STATUS_CODES",
    "ConsentAttribute",
    "ConsentDonePage",
    "ConsentListPage",
    "ConsentPage",
    "ConsentSummary",
    "ErrorKind",
    "FinishedPage",
    "HandoffPage",
    "Localised",
    "OperatorView",
    "Pages",
    "ReceiptPage",
    "RelyingPartyConsents",
    "RelyingPartyView",
    "SelfServiceSignInPage",
    "ServiceLink",
    "SharedAttribute",
    "SignedOutPage",
    "SuppliedField",
    "SupportContact",
    "WithdrawConfirmPage",
    "check_csrf",
    "issue_csrf",
    "mask_value",
    "mount_static",
    "negotiate_locale",
    "normalise_locale",
    "static_dir",
]
