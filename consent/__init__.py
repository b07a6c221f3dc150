"""Consent capture, records, receipts, the audit chain, revocation and the operator API
(DESIGN §5).

May import: ``federation.crypto``, ``federation.identity``, ``federation.settings``,
``federation.storage``, ``federation.logs``, ``federation.web``, ``federation.untrusted``
and ``mappings`` (to describe what is released).
Never the protocol front ends, the journey or the app factory.
"""
