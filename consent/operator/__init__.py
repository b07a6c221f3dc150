"""Operator accounts, the operator API and the operator console (DESIGN §1 "operator", §5;
issue 6 item 5; issue 10).

Owns: roles and what each may do (``roles``), accounts with argon2id passwords and a
TOTP second factor sealed with SM4-GCM (``accounts``) and their audited changes, shared by
the CLI and the console (``account_admin``), short-lived sessions and the login rate limit
(``sessions``), the audited operations both front ends call (``service``,
``service_admin``; errors in ``errors``), the search filters both parse with (``filters``),
four-eyes offboarding requests (``offboarding``), reading the audit chain (``audit_view``),
the dashboard's counters kept as events happen (``stats``), the API's models (``models``),
the FastAPI router at ``/operator/api`` (``api``) and the web console at ``/operator``
(``console``).

May import: ``consent`` modules, ``federation.crypto``, ``federation.storage``,
``federation.logs``, ``federation.ratelimit`` (the caller's address); FastAPI only in
``api`` and ``console``; ``federation.pages`` and ``federation.web`` (bottom layer) only in
``console``.
"""
