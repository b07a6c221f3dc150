"""Fixtures of the OpenID Provider tests (defined in ``harness``)."""

from tests.federation.oidc.harness import app, clock, http, provider, signing_keys

__all__ = ["app", "clock", "http", "provider", "signing_keys"]
