"""OpenID Provider for Guangdong relying parties (DESIGN §3, §7, §8).

Owns the OIDC/OAuth 2 protocol layer, one module per spec:

- ``config`` — :class:`OidcConfig` (``IDBRIDGE_*`` settings of the provider);
- ``errors`` — typed protocol errors, and whether they may be redirected to the RP;
- ``clients`` — the client model and registry (static YAML + dynamic in Redis), secrets;
- ``signing`` — the narrow JOSE seam: ID token / logout token signing, JWKS, half hashes;
- ``discovery`` — OpenID Connect Discovery 1.0 metadata;
- ``authorize`` — authorization request validation (OIDC Core §3.1.2, RFC 7636, RFC 9207)
  and the seam to the login journey (:func:`issue_authorization_code`, :func:`error_redirect`);
- ``par`` — pushed authorization requests (RFC 9126);
- ``client_auth`` — client authentication (RFC 6749 §2.3, RFC 7523 ``private_key_jwt``);
- ``client_keys`` — a client's JWK Set: key selection by ``kid``/``kty``/``alg``/``use`` and
  verification of its JWTs (SM2SM3, ES256, RS256, PS256; never ``none`` or HMAC);
- ``fetch``, ``jwks_cache`` — client-hosted documents (``jwks_uri``, ``request_uri``)
  through the egress guard, and the cached, re-fetched-on-unknown-``kid`` key set;
- ``request_object`` — request objects (RFC 9101, OIDC Core §6);
- ``response_mode`` — ``query`` and ``form_post`` authorization responses;
- ``store`` — codes, tokens and token families in Redis (Lua scripts, one round trip a step);
- ``token`` — the token endpoint: authorization_code and refresh_token grants;
- ``idtoken`` — ID token claims (OIDC Core §2, §3.1.3.6);
- ``userinfo`` — the UserInfo endpoint (OIDC Core §5.3, RFC 6750 §2); ``userinfo_jwt`` —
  its signed form (§5.3.2);
- ``revocation`` (RFC 7009), ``introspection`` (RFC 7662), ``registration`` (RFC 7591),
  ``registration_access`` and ``client_config`` (RFC 7592);
- ``session`` — the bridge session record (prompt, max_age, logout); the cookie holds a
  secret, the public ``sid`` is derived from it;
- ``logout`` — RP-initiated logout 1.0 (with the person's confirmation when needed);
- ``backchannel`` — the back-channel logout sender (concurrent, with a send-time egress
  guard);
- ``addresses`` — the egress guard's address rule, from the IANA special-purpose registries
  (``special_addresses.yaml``);
- ``sealing`` — SM4-GCM sealing of the claims a code or token carries;
- ``models``, ``params``, ``http``, ``files``, ``seam`` — shared types, parsing, the journey API;
- ``provider`` — :class:`OidcProvider`, the object that ties these together;
- ``router`` — the thin FastAPI adapter (:func:`oidc_router`).

May import: ``federation.crypto``, ``federation.identity``, ``federation.settings``,
``federation.storage``, ``federation.logs``, ``federation.pages`` (locales, the logout
confirmation page) and ``consent``/``mappings`` Protocols (layer 2).
Never ``federation.journey`` or ``federation.app`` (the journey sits on top of this API).
"""
