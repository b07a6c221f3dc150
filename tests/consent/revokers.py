"""A GrantRevoker that records calls: an implementation of consent's *own* Protocol,
used until the OIDC layer's real one is wired in at integration."""

from __future__ import annotations


class RecordingRevoker:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.fail = fail

    async def revoke_for(self, subject: str, client_id: str, *, reason: str) -> None:
        self.calls.append((subject, client_id, reason))
        if self.fail:
            raise ConnectionError("OIDC layer unreachable")
