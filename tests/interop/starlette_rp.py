"""A Guangdong relying party on authlib's Starlette integration, unmodified (the code that
docs/integrators.md shows). Discovery gives every endpoint and the ``jwks_uri`` the ID
token is checked against (ES256 or RS256: the algorithm the client registered)."""

from __future__ import annotations

from authlib.integrations.starlette_client import OAuth
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def relying_party(
    issuer: str, client_id: str, client_secret: str, auth_method: str, session_key: str
) -> Starlette:
    """The RP: ``/login`` sends the person to the bridge, ``/callback`` signs them in."""
    oauth = OAuth()
    oauth.register(
        "idbridge",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=issuer + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid profile",
            "code_challenge_method": "S256",  # PKCE: authlib makes and keeps the verifier
            "token_endpoint_auth_method": auth_method,
        },
    )

    async def login(request: Request) -> Response:
        return await oauth.idbridge.authorize_redirect(request, request.url_for("callback"))

    async def callback(request: Request) -> Response:
        token = await oauth.idbridge.authorize_access_token(request)  # code → ID token checked
        request.session["sub"] = token["userinfo"]["sub"]
        userinfo = await oauth.idbridge.userinfo(token=token)
        return JSONResponse({"id_token": dict(token["userinfo"]), "userinfo": dict(userinfo)})

    return Starlette(
        routes=[Route("/login", login), Route("/callback", callback, name="callback")],
        middleware=[Middleware(SessionMiddleware, secret_key=session_key, session_cookie="rp")],
    )
