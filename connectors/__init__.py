"""Upstream identity sources (DESIGN §2).

Owns: one sub-package per upstream (``connectors.iamsmart``), each with a documented
config model and a factory, plus the small capability Protocols in
``connectors.base`` (callback login, attribute fetch, logout) that the journey discovers.

May import: ``federation.crypto``, ``federation.identity``, ``federation.settings``,
``federation.storage``, ``federation.logs``, ``federation.web``, ``federation.untrusted``.
Never
``federation.oidc``/``saml``/``journey``/``app`` nor ``mappings``/``consent``.
Connectors hand the layers above an ``federation.identity.IdentityRecord``, never raw
upstream payloads.
"""
