"""idbridge federation core.

Owns: the SM cryptography (``federation.crypto``, bottom layer, imports nothing else of
ours), the internal identity record (``federation.identity``), settings, the storage layer
(``federation.storage``), the login journey, the protocol front ends (``federation.oidc``,
``federation.saml``), the app factory (``federation.app``) and the CLI (``federation.cli``).

Layering, bottom to top (a module may import only its own layer and those below):

1. ``federation.crypto``, ``federation.identity``, ``federation.settings``,
   ``federation.storage``, ``federation.logs``, ``federation.web`` (request ids, security
   headers) and ``federation.pages`` (templates, catalogues, locale, CSRF)
2. ``connectors``, ``mappings``, ``consent`` (top-level packages)
3. ``federation.journey``, ``federation.oidc``, ``federation.saml``
4. ``federation.app``, ``federation.cli``

This ``__init__`` deliberately imports nothing, so that importing the bottom layer never
drags in the top.
"""
