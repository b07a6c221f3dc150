"""Request and response models of the operator API (they make the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from consent.operator.roles import Role
from consent.records import ConsentRecord


class ErrorResponse(BaseModel):
    """Every error: an OAuth-style code (RFC 6749 §5.2 / RFC 6750 §3.1 style)."""

    error: str = Field(
        description="invalid_request, invalid_grant, invalid_token, insufficient_scope, "
        "not_found, consent_not_active, slow_down, temporarily_unavailable",
        examples=["insufficient_scope"],
    )
    error_description: str
    reference: str = Field("-", description="Request id to quote to support.")


class LoginRequest(BaseModel):
    """Username, password and the current 6-digit TOTP code."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    totp: str = Field(pattern=r"^\d{6}$", description="Code from the authenticator app.")


class TokenResponse(BaseModel):
    """A short-lived bearer token (RFC 6750)."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the RFC 6750 scheme name
    expires_in: int
    role: Role


class RevokeRequest(BaseModel):
    """Why the consent is revoked (kept in the record)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=3,
        max_length=500,
        pattern=r"\S",
        description="Free text; not blank (at least one non-space character).",
    )


class OffboardingBody(BaseModel):
    """Which relying party to offboard, and why."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=3, max_length=500)


class ConsentPage(BaseModel):
    """One page of consents, newest first."""

    items: list[ConsentRecord]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class AuditEntry(BaseModel):
    """One audit chain entry."""

    id: str
    seq: int
    ts: int = Field(description="Epoch milliseconds.")
    nonce: str
    actor: str
    action: str
    objects: dict[str, Any]
    prev: str
    hash: str


class ConsentDetail(BaseModel):
    """A record with its event history."""

    record: ConsentRecord
    events: list[AuditEntry]


class AuditStatus(BaseModel):
    """The result of verifying the whole audit chain now."""

    ok: bool
    entries: int
    checkpoints: int
    last_seq: int
    last_hash: str
    last_checkpoint_seq: int | None
    signatures_checked: bool
    problem: str | None = Field(description="The first bad entry, named, or null.")
    log: dict[str, Any] | None = Field(
        None,
        description="The transparency log (issue 15): ok, entries, shard_sizes, heads, "
        "problem (named), last_head {n, ts, sth}, witnesses [{url, n, ts}]; null without it.",
    )
