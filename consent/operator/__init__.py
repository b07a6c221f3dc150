"""Operator accounts and the operator API (DESIGN §1 "operator", §5; issue 6 item 5).

Owns: roles and what each may do (``roles``), accounts with argon2id passwords and a
TOTP second factor sealed with SM4-GCM (``accounts``), short-lived bearer sessions and the
login rate limit (``sessions``), the audited operations behind the API (``service``), the
API's models (``models``) and the FastAPI router mounted at ``/operator/api`` (``api``).

May import: ``consent`` modules, ``federation.crypto``, ``federation.storage``,
``federation.logs``, ``federation.ratelimit`` (the caller's address); FastAPI only in ``api``.
"""
