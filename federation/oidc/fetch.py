"""Fetching client-hosted documents: a client's ``jwks_uri`` key set (OIDC Registration
§2) and the request objects behind its registered ``request_uris`` (RFC 9101 §5.2).

Every fetch goes through the back-channel egress guard
(:func:`federation.oidc.backchannel.destination`): the host is resolved at fetch time and
nothing is fetched from a loopback, private or otherwise non-public address unless
``IDBRIDGE_CLIENT_FETCH_ALLOW_PRIVATE_NETWORKS`` is true; a checked address is pinned (no
DNS rebinding between check and connect); redirects are never followed; the whole fetch
has one deadline (``IDBRIDGE_CLIENT_FETCH_TIMEOUT``) and the body is read up to
``IDBRIDGE_CLIENT_FETCH_MAX_BYTES`` and no further. Failures are :class:`FetchError` with
a reason that is safe to log (no URL: it may carry credentials).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from federation.oidc.backchannel import EgressRefused, destination
from federation.oidc.config import OidcConfig
from federation.outbound import HttpClient, HttpFailure, PinnedResolver, ResponseTooLarge

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.I)


class FetchError(Exception):
    """The document could not be fetched; ``reason`` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetched document: its bytes, media type and ``Cache-Control`` max-age."""

    body: bytes
    content_type: str
    max_age: int | None


def max_age(cache_control: str | None) -> int | None:
    """``max-age`` of a ``Cache-Control`` header (RFC 9111 §5.2.2.1); 0 for ``no-store``
    or ``no-cache``; ``None`` when it says nothing."""
    value = (cache_control or "").lower()
    if "no-store" in value or "no-cache" in value:
        return 0
    found = _MAX_AGE.search(value)
    return int(found.group(1)) if found else None


async def fetch(uri: str, config: OidcConfig, *, accept: str) -> Fetched:
    """GET ``uri`` through the egress guard (see the module docstring), with the product's
    HTTP client (:mod:`federation.outbound`): a pinned target through a resolver that
    answers only the checked address, no environment proxy for it."""
    timeout = config.client_fetch_timeout
    try:
        async with asyncio.timeout(timeout):
            target = await destination(
                uri, allow_private=config.client_fetch_allow_private_networks
            )
            resolver = None
            if target.address is not None:
                resolver = PinnedResolver(urlsplit(uri).hostname or "", target.address)
            http = HttpClient(
                connect_timeout=timeout, read_timeout=timeout, allow_http=True, resolver=resolver
            )
            try:
                response = await http.get(
                    target.url, {"Accept": accept}, max_body=config.client_fetch_max_bytes
                )
            finally:
                await http.aclose()
    except EgressRefused as exc:
        raise FetchError(exc.reason) from exc
    except TimeoutError as exc:
        raise FetchError("timed out") from exc
    except ResponseTooLarge as exc:
        raise FetchError("too large") from exc
    except (HttpFailure, ValueError, OSError) as exc:
        raise FetchError(type(exc).__name__) from exc
    if response.status_code != 200:
        raise FetchError(f"answered {response.status_code}")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return Fetched(response.content, content_type, max_age(response.headers.get("cache-control")))
