"""Attribute mapping engine and its profiles (DESIGN §2, §3 step 4).

Owns: the engine that applies a YAML profile to an ``IdentityRecord`` and yields OIDC
claims or SAML attributes; transforms, validators and release policies; the shipped
profiles under ``mappings/profiles/``.

May import: ``federation.crypto``, ``federation.identity``, ``federation.settings``,
``federation.logs``. Never connectors, consent or the protocol front ends.
"""
