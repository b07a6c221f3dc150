"""``NonRedirectableError.kind`` is set where ``/authorize`` raises it, so that the page
(unknown client / unregistered redirect URI / bad request) never depends on wording."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from federation.oidc.authorize import validate_authorization_request
from federation.oidc.errors import (
    INVALID_CLIENT,
    INVALID_REDIRECT_URI,
    INVALID_REQUEST,
    MISSING_REDIRECT_URI,
    NonRedirectableError,
)
from federation.oidc.provider import OidcProvider
from tests.federation.oidc.harness import authorize_params


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"client_id": "nobody"}, INVALID_CLIENT),
        ({"redirect_uri": "https://evil.example/cb"}, INVALID_REDIRECT_URI),
        ({"redirect_uri": None}, MISSING_REDIRECT_URI),
        ({"client_id": None}, INVALID_REQUEST),
        ({"request_uri": "urn:ietf:params:oauth:request_uri:gone"}, INVALID_REQUEST),
    ],
)
async def test_authorize_sets_the_kind_where_it_raises(
    provider: OidcProvider,
    redis: aioredis.Redis,
    change: dict[str, str | None],
    kind: str,
) -> None:
    params = {k: v for k, v in {**authorize_params(), **change}.items() if v is not None}
    with pytest.raises(NonRedirectableError) as caught:
        await validate_authorization_request(provider, redis, list(params.items()))
    assert caught.value.kind == kind
