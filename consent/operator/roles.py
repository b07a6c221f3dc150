"""Operator roles and permissions (the table in ``docs/consent.md``).

Least privilege: a viewer looks things up; an officer also revokes; an auditor looks
things up, exports evidence and checks the audit chain, but cannot change anything; an
admin may do all of it. Account management is not in the API at all: it needs shell
access to ``idbridge operator`` (and so to Redis).
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


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.SEARCH, Permission.VIEW}),
    Role.OFFICER: frozenset({Permission.SEARCH, Permission.VIEW, Permission.REVOKE}),
    Role.AUDITOR: frozenset(
        {Permission.SEARCH, Permission.VIEW, Permission.EXPORT, Permission.AUDIT_STATUS}
    ),
    Role.ADMIN: frozenset(Permission),
}


def allows(role: Role, permission: Permission) -> bool:
    """Whether ``role`` may do ``permission``."""
    return permission in ROLE_PERMISSIONS[role]
