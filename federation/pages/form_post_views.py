"""View model of the form-post page (OAuth 2.0 Form Post Response Mode §2): the
authorization response as hidden fields of a form that POSTs to the client's redirect URI.

It posts itself with ``form_post.js`` (a same-origin script: the CSP forbids inline code)
and shows a visible Continue button, so that it works without JavaScript too. Every word
is in the catalogues (``form_post.*``).

Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from federation.pages.views import Localised


@dataclass(frozen=True, slots=True)
class FormPostPage:
    """ "Continue to <service>": the authorization response, posted."""

    template: ClassVar[str] = "form_post.html"

    action_url: str
    """The client's registered redirect URI (validated before this page is built)."""
    fields: tuple[tuple[str, str], ...]
    """``code``/``state``/``iss`` or ``error``/``error_description``/``state``/``iss``."""
    service: Localised | None = None
    """The name of the service the person goes back to."""
