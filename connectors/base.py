"""Connector capabilities, the typed upstream errors, and the connector registry.

Dex style (``connector.CallbackConnector``, ``connector.RefreshConnector``...): a connector is
any object; what it can do is discovered with ``isinstance`` against the small
``runtime_checkable`` Protocols below. The journey never imports a concrete connector: it
calls :func:`open_connector` with a config mapping and checks capabilities.

Imports only ``federation.identity`` (bottom layer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from federation.identity import IdentityRecord

OidcError = Literal[
    "access_denied",
    "login_required",
    "temporarily_unavailable",
    "server_error",
    "invalid_request",
]


class UpstreamError(Exception):
    """Something the upstream (or our exchange with it) refused or failed.

    ``upstream_code`` is the upstream's own code (e.g. iAM Smart ``D40001``) or ``None``;
    ``oidc_error`` is what the front end should answer the relying party; ``retryable`` says
    whether starting the login again may succeed; ``message_key`` names the message-catalogue
    entry for the person's page. The message (``str(exc)``) is for logs and holds no PII.
    """

    oidc_error: OidcError = "server_error"
    retryable: bool = False
    message_key: str = "upstream.error"

    def __init__(
        self,
        message: str,
        *,
        upstream_code: str | None = None,
        oidc_error: OidcError | None = None,
        retryable: bool | None = None,
        message_key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.upstream_code = upstream_code
        if oidc_error is not None:
            self.oidc_error = oidc_error
        if retryable is not None:
            self.retryable = retryable
        if message_key is not None:
            self.message_key = message_key


class UpstreamDenied(UpstreamError):
    """The person declined or cancelled at the upstream."""

    oidc_error: OidcError = "access_denied"
    retryable = True
    message_key = "upstream.denied"


class UpstreamLoginExpired(UpstreamError):
    """The upstream login timed out or its code expired; the person must sign in again."""

    oidc_error: OidcError = "login_required"
    retryable = True
    message_key = "upstream.expired"


class UpstreamUnavailable(UpstreamError):
    """The upstream is down, slow or rate limiting us."""

    oidc_error: OidcError = "temporarily_unavailable"
    retryable = True
    message_key = "upstream.unavailable"


class UpstreamProtocolError(UpstreamError):
    """The upstream answered something we cannot accept (bad signature, garbage, state
    mismatch), or refused our request as malformed: a bug or an attack, not the person's
    doing."""

    oidc_error: OidcError = "server_error"
    retryable = False
    message_key = "upstream.protocol"


class UpstreamConfigError(UpstreamError):
    """Our registration with the upstream is wrong (unknown client, unregistered redirect,
    scope not granted, key missing). The operator must fix it."""

    oidc_error: OidcError = "server_error"
    retryable = False
    message_key = "upstream.config"


@dataclass(frozen=True, slots=True)
class LoginRedirect:
    """Where to send the browser to sign in upstream."""

    url: str
    state: str
    """The upstream ``state`` to bind to the journey (``Keys.upstream_state``)."""
    mode: Literal["qr", "app"]
    """``qr``: the upstream shows a QR page (desktop); ``app``: app-to-app (mobile)."""
    callback_window_seconds: int
    """How long the upstream may take to call back; use it as the state binding's TTL."""


@runtime_checkable
class CallbackConnector(Protocol):
    """Login by redirecting the browser to the upstream and handling its callback."""

    id: str

    def login_redirect(self, *, state: str, user_agent: str, language: str) -> LoginRedirect:
        """Build the upstream login URL for one journey.

        ``state`` must match ``[A-Za-z0-9_-]{1,36}`` (generate one with :func:`new_state`
        of the connector's module if in doubt); ``language`` is a BCP 47 tag (``zh-HK``,
        ``zh-CN``, ``en``...).
        """
        ...

    async def handle_callback(
        self, params: Mapping[str, str], *, expected_state: str
    ) -> IdentityRecord:
        """Turn the callback query parameters into an :class:`IdentityRecord`.

        Raises :class:`UpstreamError` subclasses; never returns a partial record.
        """
        ...


@dataclass(frozen=True, slots=True)
class AttributeRequest:
    """A pending request for attributes that the person must approve upstream."""

    ticket_id: str
    """Correlates the result callback (bind it to the journey)."""
    kind: str
    """Connector-specific kind, e.g. ``"profile"`` or ``"eme"``."""
    attributes: tuple[str, ...]
    """Internal attribute names this request should yield."""
    browser_url: str | None
    """Where to send the browser for the approval, or ``None``: then show a waiting page
    (the person approves on their phone) until the result callback has arrived."""
    unavailable: tuple[str, ...] = ()
    """Wanted attributes the upstream cannot supply at all."""
    app_url: str | None = None
    """An "Open iAM Smart"-style link that opens this request in the upstream's app on
    the same device (shown on the waiting page), or ``None``."""


@dataclass(frozen=True, slots=True)
class AttributeResult:
    """The outcome of an :class:`AttributeRequest`, from its result callback."""

    ticket_id: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    """Internal attribute name → value as the upstream sent it (merge with
    ``IdentityRecord.with_attributes``)."""
    error: UpstreamError | None = None
    """Set when the person declined the request or the upstream failed it."""
    acknowledgement: Mapping[str, Any] = field(default_factory=dict)
    """JSON body to answer the upstream's callback with."""


@runtime_checkable
class AttributeConnector(Protocol):
    """Fetch more attributes after login, each request approved by the person upstream."""

    id: str

    async def start_attribute_request(
        self,
        identity: IdentityRecord,
        wanted: Iterable[str],
        *,
        state: str,
        user_agent: str,
        language: str,
    ) -> AttributeRequest | None:
        """Start the next upstream request for those ``wanted`` attributes that
        ``identity`` does not hold yet; ``None`` when no request is needed.

        Call again after each result until it returns ``None``; drop the attributes of a
        declined request from ``wanted`` (or stop) to avoid asking again.
        """
        ...

    async def complete_attribute_request(
        self, body: bytes, *, headers: Mapping[str, str] | None = None
    ) -> AttributeResult:
        """Decrypt and translate a result callback body (the raw POST body; ``headers``
        are the request's, for a channel check a reverse proxy made, e.g. a client
        certificate it verified).

        Raises :class:`UpstreamProtocolError` for a body that cannot be ours; a declined
        request is returned as ``AttributeResult.error``.
        """
        ...


@runtime_checkable
class LogoutConnector(Protocol):
    """End the person's upstream session. (iAM Smart has no logout API: not implemented.)"""

    id: str

    async def logout(self, identity: IdentityRecord) -> None:
        """Best-effort upstream logout."""
        ...


ConnectorFactory = Callable[..., object]
"""``factory(config: Mapping[str, Any], **resources) -> connector``."""

CONNECTORS: dict[str, str] = {
    "iamsmart": "connectors.iamsmart.connector:open_iamsmart",
}
"""Connector type → ``module:factory`` (Dex ``ConnectorsConfig``); imported on first use."""


def open_connector(config: Mapping[str, Any], **resources: Any) -> object:
    """Build a connector from ``{"type": "iamsmart", ...its config...}``.

    ``resources`` are shared objects the factory may use (``redis=``, ``http=``).
    Raises :class:`UpstreamConfigError` for an unknown type.
    """
    import importlib

    kind = str(config.get("type", ""))
    target = CONNECTORS.get(kind)
    if target is None:
        raise UpstreamConfigError(f"unknown connector type {kind!r}")
    module_name, attr = target.split(":")
    factory: ConnectorFactory = getattr(importlib.import_module(module_name), attr)
    settings = {k: v for k, v in config.items() if k != "type"}
    return factory(settings, **resources)
