"""The operator console (issue 10): server-rendered web screens at ``/operator``, a second
front end over the same service layer as ``/operator/api``
(:class:`consent.operator.service.OperatorService`): every rule, query and role check is
the service's; the routes here parse forms and render pages (shared/PAGES.md "Operator
pages"; zh-HK / zh-CN / en; WCAG 2.1 AA; no JavaScript needed).

Owns ``consent/operator/console/**``: its templates, catalogues (``messages/``), stylesheet
and the small optional script (``static/``, served at ``/operator/static``).

May import: ``consent.operator`` modules, ``consent`` records and errors, the bottom layer's
``federation.pages`` (locale negotiation, catalogue loading, CSRF, the shared stylesheet),
``federation.ratelimit`` (the caller's address), ``federation.web`` (security headers),
FastAPI/Starlette, Jinja2, pygal and qrcode. Mount with :func:`install_console`.
"""

from consent.operator.console.router import install_console

__all__ = ["install_console"]
