"""Operator roles and permissions (the table in ``docs/consent.md``).

Least privilege: a viewer looks things up; an officer also revokes; an auditor looks
things up, exports evidence and checks the audit chain, but cannot change anything; an
admin may do all of it, and alone manages accounts (in the console, or with shell access
to ``idbridge operator``). Offboarding a relying party (withdrawing all its consents)
needs two officers or admins: one requests, a different one approves (four eyes).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """An operator's role."""

    VIEWER = "viewer"
    OFFICER = "officer"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Permission(StrEnum):
    """One thing the API lets an operator do."""

    SEARCH = "consents:search"
    VIEW = "consents:view"
    REVOKE = "consents:revoke"
    EXPORT = "consents:export"
    AUDIT_STATUS = "audit:status"
    AUDIT_READ = "audit:read"
    OFFBOARD = "consents:offboard"
    DASHBOARD = "dashboard:view"
    ACCOUNTS = "accounts:manage"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.DASHBOARD, Permission.SEARCH, Permission.VIEW}),
    Role.OFFICER: frozenset(
        {
            Permission.DASHBOARD,
            Permission.SEARCH,
            Permission.VIEW,
            Permission.REVOKE,
            Permission.OFFBOARD,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            Permission.DASHBOARD,
            Permission.SEARCH,
            Permission.VIEW,
            Permission.EXPORT,
            Permission.AUDIT_STATUS,
            Permission.AUDIT_READ,
        }
    ),
    Role.ADMIN: frozenset(Permission),
}


def allows(role: Role, permission: Permission) -> bool:
    """Whether ``role`` may do ``permission``."""
    return permission in ROLE_PERMISSIONS[role]
