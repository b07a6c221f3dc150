"""The console's dashboard (issue 10 "Dashboard"): consents given / withdrawn / expired and
logins by outcome per Hong Kong day (30 or 90 days; every or one relying party), consents
expiring in the next 30 days, and the audit chain's status. Every figure comes from
:meth:`OperatorService.dashboard` (counters kept as events happen; never a scan of the
records). The page carries the figures as tables; each chart is its own SVG image
(``/operator/dashboard/chart/<name>.svg``, drawn by pygal) so that the page itself answers
quickly and the charts load beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from consent.operator.console.auth import ConsoleRoute, csrf_for, current_session, service_of
from consent.operator.console.charts import bar_chart_svg
from consent.operator.console.render import locale_for
from consent.operator.errors import OperatorError
from consent.operator.service_admin import Dashboard
from consent.operator.sessions import Session
from consent.operator.stats import CONSENT_EVENTS

router = APIRouter(prefix="/operator", route_class=ConsoleRoute, include_in_schema=False)
SessionDep = Annotated[Session, Depends(current_session)]
CHARTS = ("consents", "logins", "expiring")
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
"""An SVG image may style itself; nothing else (no script, no fetches)."""


def _period(request: Request) -> tuple[int, str | None]:
    days_text = request.query_params.get("days", "30")
    days = int(days_text) if days_text in ("30", "90") else 30
    return days, request.query_params.get("client_id", "").strip()[:200] or None


def outcome_label(text: Callable[..., str], outcome: str) -> str:
    """``success`` / ``declined`` / ``upstream:<D-code>`` / ``error:<kind>`` in words."""
    if outcome in ("success", "declined"):
        return text(f"dashboard.outcome.{outcome}")
    kind, _, code = outcome.partition(":")
    return (
        text(f"dashboard.outcome.{kind}", code=code) if kind in ("upstream", "error") else outcome
    )


def figures(board: Dashboard, text: Callable[..., str]) -> dict[str, dict[str, list[int]]]:
    """Each chart's series (label → one value per day), in the page's language."""
    days = len(board.consents.days)
    return {
        "consents": {
            text(f"dashboard.event.{e}"): board.consents.counts.get(e, [0] * days)
            for e in CONSENT_EVENTS
        },
        "logins": {
            outcome_label(text, o): board.logins.counts[o] for o in sorted(board.logins.counts)
        },
        "expiring": {text("dashboard.expiring_label"): [c for _d, c in board.expiring]},
    }


def _labels(board: Dashboard, name: str) -> list[str]:
    return [d for d, _c in board.expiring] if name == "expiring" else board.consents.days


@router.get("/dashboard")
async def dashboard(request: Request, session: SessionDep) -> Response:
    """The figures as tables, with the charts as images."""
    days, client_id = _period(request)
    board = await service_of(request).dashboard(session, days, client_id)
    text = request.app.state.console.catalogues[locale_for(request)].text
    series = figures(board, text)
    rows = {
        name: list(zip(_labels(board, name), *values.values(), strict=True))
        for name, values in series.items()
    }
    return request.app.state.console.render(
        request,
        "dashboard.html",
        {
            "board": board,
            "events": CONSENT_EVENTS,
            "consent_rows": rows["consents"],
            "login_outcomes": list(series["logins"]),
            "login_rows": rows["logins"],
            "login_totals": [(label, sum(v)) for label, v in series["logins"].items()],
            "expiring_total": sum(c for _d, c in board.expiring),
            "chart_query": {"days": days, "client_id": client_id},
        },
        session=session,
        csrf=csrf_for(request, session),
    )


@router.get("/dashboard/chart/{name}.svg")
async def chart(request: Request, session: SessionDep, name: str) -> Response:
    """One chart as SVG (the same figures as the page's table)."""
    if name not in CHARTS:
        raise OperatorError(404, "not_found", "no such chart")
    days, client_id = _period(request)
    board = await service_of(request).dashboard(session, days, client_id)
    text = request.app.state.console.catalogues[locale_for(request)].text
    title = text(f"dashboard.{name}_heading")
    svg = bar_chart_svg(title, tuple(_labels(board, name)), figures(board, text)[name])
    headers = {"Cache-Control": "private, no-store", "Content-Security-Policy": SVG_CSP}
    return Response(svg, media_type="image/svg+xml", headers=headers)
