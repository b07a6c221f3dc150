"""``idbridge clients onboard|onboardings|list|show|delete``: relying parties for operators
(issue 24; ``docs/sessions.md`` "Registration").

- ``onboard`` issues an initial access token for one onboarding, with a registration quota
  and an expiry (``federation.oidc.onboarding``); the token is printed once.
- ``onboardings`` lists the tokens issued (label, quota, used, expiry; never a value).
- ``list`` / ``show`` the static (clients file) and dynamically registered clients.
- ``delete`` offboards a dynamic client: its consents end, its tokens are revoked (with
  back-channel logout where registered) and its registration is deleted
  (:func:`federation.oidc.offboarding.offboard_client`, the same effect as an RFC 7592
  ``DELETE``).

Every command is appended to the audit chain with ``actor = cli:<OS user>``. Configuration
is the bridge's own ``IDBRIDGE_*`` environment (Redis, keys, clients file, PII key).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import redis.asyncio as aioredis

from consent.audit import Action, AuditChain, Event
from federation.cli.operator import _shell_user
from federation.settings import Settings
from federation.storage.client import connect
from federation.storage.keys import Keys

T = TypeVar("T")
DAY = 86400


def _actor() -> str:
    return f"cli:{_shell_user()}"


def _run(action: Callable[[Settings, aioredis.Redis], Awaitable[T]]) -> T:
    settings = Settings()
    if not settings.redis_url:
        raise click.UsageError("IDBRIDGE_REDIS_URL is not set")

    async def go() -> T:
        redis = connect(settings.redis_url or "")
        try:
            return await action(settings, redis)
        finally:
            await redis.aclose()

    return asyncio.run(go())


async def _audit(redis: aioredis.Redis, action: str, objects: dict[str, str]) -> None:
    await AuditChain(redis).append(Event(_actor(), action, objects))


def _provider(settings: Settings) -> Any:
    from federation.oidc.provider import OidcProvider

    return OidcProvider.from_settings(settings)


async def _dynamic(redis: aioredis.Redis) -> dict[str, dict[str, Any]]:
    """Dynamic clients: the registration index, and any registered before it existed."""
    found = {
        cid: json.loads(meta) for cid, meta in (await redis.hgetall(Keys.DYNAMIC_CLIENTS)).items()
    }
    prefix = Keys.client("")
    async for key in redis.scan_iter(match=Keys.client("*"), count=500):
        found.setdefault(key[len(prefix) :], {})
    return found


@click.group()
def clients() -> None:
    """Relying parties: onboarding tokens, list, show, delete (offboard)."""


@clients.command()
@click.option("--label", required=True, help="Who is being onboarded (shown in listings).")
@click.option("--quota", default=1, show_default=True, type=click.IntRange(1, 1000),
              help="Registrations the token allows.")  # fmt: skip
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 365),
              help="Days until the token expires.")  # fmt: skip
def onboard(label: str, quota: int, days: int) -> None:
    """Issue an initial access token for one onboarding (printed once)."""
    from federation.oidc.onboarding import issue_initial_access_token

    async def go(settings: Settings, redis: aioredis.Redis) -> tuple[str, Any]:
        token, onboarding = await issue_initial_access_token(
            redis, label=label, quota=quota, ttl=days * DAY, now=int(time.time())
        )
        await _audit(
            redis,
            Action.CLIENT_ONBOARDING,
            {"onboarding": onboarding.id, "quota": str(quota), "days": str(days)},
        )
        return token, onboarding

    token, onboarding = _run(go)
    click.echo(f"onboarding {onboarding.id} ({label}): {quota} registration(s), {days} day(s)")
    click.echo("initial access token (shown once; give it to the relying party):")
    click.echo(token)


@clients.command()
def onboardings() -> None:
    """The initial access tokens issued and still valid."""
    from federation.oidc.onboarding import list_onboardings

    for o in _run(lambda _s, redis: list_onboardings(redis)):
        expires = time.strftime("%Y-%m-%d %H:%M", time.gmtime(o.expires_at)) + " UTC"
        click.echo(f"{o.id}\t{o.used}/{o.quota}\t{expires}\t{o.label}")


@clients.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_clients(as_json: bool) -> None:
    """Every client: static (clients file) and dynamically registered."""

    async def go(settings: Settings, redis: aioredis.Redis) -> list[dict[str, Any]]:
        provider = _provider(settings)
        rows = [{"client_id": cid, "kind": "static"} for cid in sorted(provider.clients.static)]
        for cid, meta in sorted((await _dynamic(redis)).items()):
            rows.append({"client_id": cid, "kind": "dynamic", **meta})
        for row in rows:
            client = await provider.clients.get(redis, row["client_id"])
            row["client_name"] = client.client_name.get("en") if client else None
        await _audit(redis, Action.CLIENT_VIEWED, {"clients": "list", "count": str(len(rows))})
        return rows

    for row in _run(go):
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            onboarding = row.get("onboarding", "")
            click.echo(f"{row['client_id']}\t{row['kind']}\t{onboarding}\t{row['client_name']}")


@clients.command()
@click.argument("client_id")
def show(client_id: str) -> None:
    """One client's registered metadata (never its secret)."""

    async def go(settings: Settings, redis: aioredis.Redis) -> dict[str, Any] | None:
        provider = _provider(settings)
        client = await provider.clients.get(redis, client_id)
        if client is None:
            return None
        shown = client.public_metadata()
        shown.pop("client_secret_digest", None)
        meta = await redis.hget(Keys.DYNAMIC_CLIENTS, client_id)
        shown["registration"] = (
            "static" if client_id in provider.clients.static else json.loads(meta or "{}")
        )
        await _audit(redis, Action.CLIENT_VIEWED, {"client_id": client_id})
        return shown

    shown = _run(go)
    if shown is None:
        raise click.ClickException(f"no client {client_id}")
    click.echo(json.dumps(shown, ensure_ascii=False, indent=2))


@clients.command()
@click.argument("client_id")
@click.option("--reason", required=True, help="Why (kept with every consent it ends).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(client_id: str, reason: str, yes: bool) -> None:
    """Offboard a dynamic client: end its consents and tokens, delete its registration."""
    from consent.services import build_consent_services
    from federation.journey.bindings import OidcGrantRevoker
    from federation.journey.secret_keys import pii_key
    from federation.oidc.offboarding import StaticClient, UnknownClient, offboard_client

    if not yes:
        click.confirm(f"Offboard {client_id}: end its consents and tokens?", abort=True)

    async def go(settings: Settings, redis: aioredis.Redis) -> Any:
        provider = _provider(settings)
        services = build_consent_services(
            redis,
            pii_key=pii_key(settings),
            revoker=OidcGrantRevoker(provider, redis),
            issuer=provider.issuer,
        )
        return await offboard_client(
            provider, redis, services.lifecycle, client_id, actor=_actor(), reason=reason
        )

    try:
        done = _run(go)
    except (StaticClient, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    except UnknownClient as exc:
        raise click.ClickException(f"no dynamic client {client_id}") from exc
    click.echo(
        f"{done.client_id} offboarded: {done.consents_revoked} consent(s) ended, "
        "its tokens revoked, registration deleted"
    )
