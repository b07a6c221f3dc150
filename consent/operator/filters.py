"""Search filters shared by both front ends (the API's query parameters and the console's
search form): one parser from what was typed to a :class:`consent.store.ConsentQuery`.

Dates: the API takes ISO 8601 date-times (UTC when no zone is given); the console takes
calendar days (``<input type="date">``) in Hong Kong time, a whole day inclusive. Either way
a date the platform cannot convert is a 400 ``invalid_request``, never a 500.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from consent.operator.service import OperatorError
from consent.records import Status
from consent.store import ConsentQuery

HONG_KONG = ZoneInfo("Asia/Hong_Kong")


def epoch(name: str, value: datetime | None) -> int | None:
    """Epoch seconds of a filter date; one without a zone is UTC (never the server's local
    time). A date outside what the platform can convert is a 400, not a 500."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return int(value.timestamp())
    except (OverflowError, ValueError, OSError) as exc:
        raise OperatorError(400, "invalid_request", f"{name}: date out of range") from exc


def day_bounds(name: str, text: str | None, *, end: bool) -> datetime | None:
    """A ``YYYY-MM-DD`` Hong Kong day as its first (``end`` false) or last second."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError as exc:
        raise OperatorError(400, "invalid_request", f"{name}: not a date (YYYY-MM-DD)") from exc
    start = datetime.combine(day, time(0, 0), tzinfo=HONG_KONG)
    if not end:
        return start
    try:
        return start + timedelta(days=1, seconds=-1)
    except OverflowError as exc:
        raise OperatorError(400, "invalid_request", f"{name}: date out of range") from exc


def build_query(
    *,
    subject: str | None = None,
    client_id: str | None = None,
    status: Status | str | None = None,
    purpose: str | None = None,
    given_from: datetime | None = None,
    given_to: datetime | None = None,
    oldest_first: bool = False,
) -> ConsentQuery:
    """The query from the filters (blank strings mean "any")."""
    if isinstance(status, str) and not isinstance(status, Status):
        try:
            status = Status(status) if status else None
        except ValueError as exc:
            raise OperatorError(400, "invalid_request", "status: unknown value") from exc
    return ConsentQuery(
        subject=subject or None,
        client_id=client_id or None,
        status=status,
        purpose=purpose or None,
        given_from=epoch("given_from", given_from),
        given_to=epoch("given_to", given_to),
        oldest_first=oldest_first,
    )
