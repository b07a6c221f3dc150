"""The operator layer's error (both front ends turn it into their own answer: JSON with
an OAuth-style code for the API, a trilingual page for the console) and the audit actor
of a session. Standard library only."""

from __future__ import annotations

from typing import Protocol


class OperatorError(Exception):
    """An error with an OAuth-style code and an HTTP status."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description


class _HasOperator(Protocol):
    @property
    def operator(self) -> object: ...


def actor_of(session: _HasOperator) -> str:
    """``operator:<username>``: who a session's audit entries name."""
    return f"operator:{session.operator.username}"  # type: ignore[attr-defined]
