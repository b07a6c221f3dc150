"""idbridge federation core.

Owns: the SM cryptography (``federation.crypto``, bottom layer, imports nothing else of
ours), the internal identity record (``federation.identity``), settings, the storage layer
(``federation.storage``), the page layer (``federation.pages``), the login journey
(``federation.journey``), the OpenID Provider (``federation.oidc``), the residents'
self-service area (``federation.selfservice``), the app factory (``federation.app``), the CLI
(``federation.cli``) and the demo e-service (``federation.demo``). A SAML front end
(``federation.saml``) belongs in layer 3 when it is built.

Layering, bottom to top (a module may import only its own layer and those below):

1. ``federation.crypto``, ``federation.identity``, ``federation.settings``,
   ``federation.storage``, ``federation.logs``, ``federation.metrics`` (Prometheus),
   ``federation.untrusted`` (the one reader of JSON a caller sent), ``federation.cookies``
   (cookie names and flags), ``federation.addresses`` (IPv6 prefixes), ``federation.web``
   (request ids, security headers), ``federation.outbound`` (the one HTTP client for
   outgoing calls, aiohttp), ``federation.pages`` (templates, catalogues, locale, CSRF) and
   ``federation.ratelimit`` (Redis counters, the caller's address)
2. ``connectors``, ``mappings``, ``consent`` (top-level packages)
3. ``federation.journey``, ``federation.oidc``, ``federation.selfservice``
4. ``federation.app``, ``federation.production`` (start-up checks), ``federation.cli``,
   ``federation.serving`` (uvicorn settings),
   ``federation.demo``

This ``__init__`` deliberately imports nothing, so that importing the bottom layer never
drags in the top.
"""
