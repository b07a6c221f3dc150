"""View model of the logout confirmation page (OpenID Connect RP-Initiated Logout 1.0 §2:
the OP MUST ask the person before ending the session when the request carries no
``id_token_hint`` or one of another session).

The page is a plain POST form (works without JavaScript) with the CSRF token
(:data:`~federation.pages.views.FORM_CSRF`), the confirmation marker
(:data:`FORM_LOGOUT_CONFIRM` = :data:`LOGOUT_CONFIRM_YES`) and the already validated logout
parameters as hidden fields. Every word is in the catalogues (``logout_confirm.*``).

Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from federation.pages.views import Localised

FORM_LOGOUT_CONFIRM = "logout_confirm"
LOGOUT_CONFIRM_YES = "yes"


@dataclass(frozen=True, slots=True)
class LogoutConfirmPage:
    """ "Sign out of the identity bridge?" with one "Yes, sign me out" button."""

    template: ClassVar[str] = "logout_confirm.html"

    action_url: str
    """Same-origin POST target (``/logout``; the page adds ``?lang=<shown locale>``)."""
    csrf_token: str
    hidden_fields: tuple[tuple[str, str], ...] = ()
    """The validated logout parameters (``client_id``, ``post_logout_redirect_uri``,
    ``state``, ``ui_locales``), posted back unchanged."""
    return_to: Localised | None = None
    """The name of the service the person goes back to afterwards, if any."""
