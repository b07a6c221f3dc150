"""``idbridge operator add|disable|enable|reset-totp|list``: manage operator accounts.

Accounts live in Redis (``Keys.operator``); the TOTP secret is sealed with a key derived
from ``IDBRIDGE_PII_KEY``, so the same key must be given here as to the bridge. ``add`` and
``reset-totp`` print the TOTP provisioning URI once (add it to an authenticator app);
it is not stored anywhere readable. Every change (add, disable, enable, reset-totp) is
appended to the audit chain as ``operator.account_changed`` with ``actor = cli:<OS user>``
(DESIGN §5: every operator action is audited).
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from consent.audit import AuditChain
from consent.operator.account_admin import Change, change_account
from consent.operator.accounts import AccountError, OperatorAccounts
from consent.operator.roles import Role
from consent.services import KeyConfigError, operator_seal_key, pii_key_from_hex
from federation.storage.client import connect

T = TypeVar("T")

_REDIS_URL = click.option(
    "--redis-url", envvar="IDBRIDGE_REDIS_URL", required=True, help="Default: $IDBRIDGE_REDIS_URL."
)
_PII_KEY = click.option(
    "--pii-key",
    envvar="IDBRIDGE_PII_KEY",
    required=True,
    help="Hex SM4 key (default: $IDBRIDGE_PII_KEY).",
)


def _shell_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry / no login name (containers)
        return "unknown"


def _run(
    redis_url: str, pii_key: str, action: Callable[[OperatorAccounts, AuditChain], Awaitable[T]]
) -> T:
    """Run ``action`` on the accounts and the audit chain of ``redis_url``."""
    try:
        seal = operator_seal_key(pii_key_from_hex(pii_key))
    except KeyConfigError as exc:
        raise click.UsageError(str(exc)) from exc

    async def go() -> T:
        redis = connect(redis_url)
        try:
            return await action(OperatorAccounts(redis, seal), AuditChain(redis))
        finally:
            await redis.aclose()

    try:
        return asyncio.run(go())
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc


def _change(
    redis_url: str,
    pii_key: str,
    change: Change,
    username: str,
    role: Role | None = None,
    password: str | None = None,
) -> str | None:
    """Make one audited change (:func:`consent.operator.account_admin.change_account`,
    the same function the console's Accounts screen calls)."""
    actor = f"cli:{_shell_user()}"
    return _run(
        redis_url,
        pii_key,
        lambda a, chain: change_account(
            a, chain, actor, change, username, role=role, password=password
        ),
    )


def _show_uri(uri: str, qr: bool) -> None:
    click.echo("TOTP provisioning URI (shown once; add it to the authenticator app):")
    click.echo(uri)
    if qr:
        import qrcode

        code = qrcode.QRCode(border=1)
        code.add_data(uri)
        code.print_ascii(invert=True)


@click.group()
def operator() -> None:
    """Manage operator accounts (roles: viewer, officer, auditor, admin)."""


@operator.command()
@click.argument("username")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), required=True, help="What they may do."
)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (one line).")
@click.option("--qr", is_flag=True, help="Also print the URI as a terminal QR code.")
@_REDIS_URL
@_PII_KEY
def add(
    username: str, role: str, password_stdin: bool, qr: bool, redis_url: str, pii_key: str
) -> None:
    """Create an operator; prints the TOTP provisioning URI once."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    uri = _change(redis_url, pii_key, Change.ADDED, username, Role(role), password)
    click.echo(f"operator {username} added with role {role}")
    _show_uri(uri or "", qr)


@operator.command()
@click.argument("username")
@_REDIS_URL
@_PII_KEY
def disable(username: str, redis_url: str, pii_key: str) -> None:
    """Disable an operator (their sessions stop working at once)."""
    _change(redis_url, pii_key, Change.DISABLED, username)
    click.echo(f"operator {username} disabled")


@operator.command()
@click.argument("username")
@_REDIS_URL
@_PII_KEY
def enable(username: str, redis_url: str, pii_key: str) -> None:
    """Enable a disabled operator again."""
    _change(redis_url, pii_key, Change.ENABLED, username)
    click.echo(f"operator {username} enabled")


@operator.command("reset-totp")
@click.argument("username")
@click.option("--qr", is_flag=True, help="Also print the URI as a terminal QR code.")
@_REDIS_URL
@_PII_KEY
def reset_totp(username: str, qr: bool, redis_url: str, pii_key: str) -> None:
    """Give an operator a new TOTP secret; prints its provisioning URI once."""
    uri = _change(redis_url, pii_key, Change.TOTP_RESET, username)
    click.echo(f"operator {username}: new TOTP secret")
    _show_uri(uri or "", qr)


@operator.command("list")
@_REDIS_URL
@_PII_KEY
def list_operators(redis_url: str, pii_key: str) -> None:
    """List operators: username, role, enabled."""
    operators: list[Any] = _run(redis_url, pii_key, lambda a, _chain: a.list())
    for op in operators:
        state = "enabled" if op.enabled else "disabled"
        click.echo(f"{op.username}\t{op.role.value}\t{state}")
