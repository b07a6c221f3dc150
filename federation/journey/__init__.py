"""The brokered login journey (DESIGN §3): ``/authorize`` → iAM Smart → mapping → consent →
authorization code, with one journey record in Redis per login.

Owns ``federation/journey/**``:

- ``record`` — the journey record (Redis hash under ``Keys.journey``, PII sealed SM4-GCM
  with AAD = journey id), the cookie, and the upstream state / ticket bindings;
- ``context`` — :class:`~federation.journey.context.Journey`, the per-process object that
  holds what every step needs (provider, connector, profiles, consent, pages);
- ``start`` — the ``/authorize`` hook: session decisions, open the record, go upstream;
- ``upstream`` — the upstream callback, the attribute requests and their result POSTs;
- ``consent_step`` — mapping, remembered consent, the consent page and its form;
- ``finish`` — the grant, the bridge session and the authorization code;
- ``failures`` — the person's trilingual page and the RP's error for every failure;
- ``acr`` — the one rule for requested assurance (OIDC ``acr``, later SAML
  ``RequestedAuthnContext``); ``acr_oidc`` — its use for an OIDC journey;
- ``sso`` — the sealed identity kept in the bridge session for ``prompt=none``;
- ``bindings`` — the consent layer's ``GrantRevoker`` and the OIDC ``ConsentChecker``;
- ``router`` — the thin FastAPI adapter.

Layer 3: may import ``connectors`` (through ``connectors.base``), ``mappings``, ``consent``,
``federation.pages``, the ``federation.oidc`` seam and the bottom layer. Never
``federation.app`` or ``federation.cli``.
"""
