"""The demo Guangdong e-service ("广东政务服务（演示）") and the ``idbridge demo`` launcher.

Owns ``federation/demo/**``:

- ``settings`` — :class:`DemoServiceSettings` (``IDBRIDGE_DEMO_*``): the e-service's OIDC
  client registration as the relying party sees it;
- ``verify`` — verification of the bridge's SM2SM3 ID token and logout token by the RP
  itself (OIDC Core §3.1.3.7, Back-Channel Logout 1.0 §2.6), plain functions;
- ``rp`` — the relying party: discovery, authorization code flow with PKCE S256, state and
  nonce on authlib's ``AsyncOAuth2Client``, token exchange, UserInfo, logout URL;
- ``sessions`` — bounded in-memory stores of pending logins and signed-in sessions;
- ``pages`` — trilingual pages (zh-CN default, zh-HK, en), message catalogues, templates;
- ``app`` — the e-service's FastAPI app (thin routes);
- ``stack`` — :class:`DemoStack`: Redis + iAM Smart simulator + bridge + e-service as
  loopback processes, used by ``idbridge demo``, the browser tests and ``bench/login.py``.

Top layer (with ``federation.app`` and ``federation.cli``): it may import anything, but it
talks to the bridge only over HTTP, as a real relying party would; ``verify`` uses only
``federation.crypto``.
"""
