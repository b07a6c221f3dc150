"""Changing operator accounts, audited the same way whoever does it: the CLI
(``idbridge operator``, actor ``cli:<OS user>``) and the console's Accounts screen (actor
``operator:<admin>``) both call :func:`change_account`, which makes the change and appends
one ``operator.account_changed`` entry (``operator``, ``change``, and ``role`` when one is
set) only when it succeeded.

Imports ``consent`` modules only.
"""

from __future__ import annotations

from enum import StrEnum

from consent.audit import Action, AuditChain, Event
from consent.operator.accounts import OperatorAccounts
from consent.operator.roles import Role


class Change(StrEnum):
    """What can be done to an account."""

    ADDED = "added"
    DISABLED = "disabled"
    ENABLED = "enabled"
    TOTP_RESET = "totp_reset"


async def change_account(
    accounts: OperatorAccounts,
    chain: AuditChain,
    actor: str,
    change: Change,
    username: str,
    *,
    role: Role | None = None,
    password: str | None = None,
) -> str | None:
    """Make ``change`` to ``username`` and audit it; returns the TOTP provisioning URI for
    ``added`` and ``totp_reset`` (show it once), else ``None``. Raises ``AccountError``."""
    uri: str | None = None
    if change is Change.ADDED:
        if role is None or password is None:
            raise ValueError("adding an account needs a role and a password")
        uri = await accounts.add(username, password, role)
    elif change is Change.DISABLED:
        await accounts.set_enabled(username, False)
    elif change is Change.ENABLED:
        await accounts.set_enabled(username, True)
    else:
        uri = await accounts.reset_totp(username)
    objects = {"operator": username, "change": change.value}
    if role is not None:
        objects["role"] = Role(role).value
    await chain.append(Event(actor, Action.OPERATOR_ACCOUNT, objects))
    return uri
