"""A witness for the consent transparency log (``idbridge audit witness``; RFC 9162 §8.3).

Another party runs this next to nothing of the bridge's: it remembers the last signed
tree head it accepted (a JSON state file, replaced atomically) and co-signs a new head
only if the bridge's SM2 signature verifies, ``n`` and ``ts`` move forward, and for every
shard the consistency proof (RFC 9162 §2.1.4.2) shows the new tree extends the one it
saw. A rewritten or forked log therefore cannot get a co-signature. Routes:
``GET /v1/head`` (what it last accepted) and ``POST /v1/cosign`` (``{"sth", "proofs"}``
→ ``{"cosignature"}``, or 409 ``inconsistent_head`` / 400 ``invalid_request``).
Imports ``consent.merkle``, ``consent.signing``, ``consent.tree_heads``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from consent.merkle import verify_consistency
from consent.signing import JwsSigner, JwsVerifier, SignatureError
from consent.tree_heads import COSIG_TYP, STH_TYP, sth_digest
from federation import untrusted

_MAX_BODY = 1 << 20


class Refused(ValueError):
    """The head is not co-signed; ``code`` is the OAuth-style error code."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code


class Witness:
    """The witness's state and its one decision."""

    def __init__(
        self, state: Path, bridge: JwsVerifier, signer: JwsSigner, name: str = "witness"
    ) -> None:
        self.state_path = state
        self.bridge = bridge
        self.signer = signer
        self.name = name
        self._lock = threading.Lock()

    def last(self) -> dict[str, Any] | None:
        """The last accepted head: ``{"sth", "payload", "cosignature"}`` or ``None``."""
        if not self.state_path.exists():
            return None
        return dict(json.loads(self.state_path.read_text(encoding="utf-8")))

    def cosign(self, sth: str, proofs: list[list[str]]) -> str:
        """Check ``sth`` against the last head seen and co-sign it (raises :class:`Refused`)."""
        try:
            payload = self.bridge.verify_jws(sth, typ=STH_TYP)
        except SignatureError as exc:
            raise Refused("invalid_signature", f"the tree head does not verify: {exc}") from exc
        shards = _shards(payload)
        with self._lock:
            last = self.last()
            if last is not None:
                if last["sth"] == sth:
                    return str(last["cosignature"])
                self._check_extends(last["payload"], payload, shards, proofs)
            cosig = self.signer.sign_jws(
                {
                    "witness": self.name,
                    "sth": sth_digest(sth),
                    "n": payload["n"],
                    "shards": payload["shards"],
                    "ts": int(time.time() * 1000),
                },
                typ=COSIG_TYP,
            )
            self._save({"sth": sth, "payload": payload, "cosignature": cosig})
        return cosig

    @staticmethod
    def _check_extends(
        old: dict[str, Any], new: dict[str, Any], shards: list[tuple[int, bytes]], proofs: Any
    ) -> None:
        if int(new["n"]) <= int(old["n"]) or int(new["ts"]) < int(old["ts"]):
            raise Refused(
                "inconsistent_head", f"head n={new['n']} does not follow n={old['n']} seen"
            )
        old_shards = _shards(old)
        if len(old_shards) != len(shards):
            raise Refused("inconsistent_head", "the number of shards changed")
        if not isinstance(proofs, list) or len(proofs) != len(shards):
            raise Refused("invalid_request", "one consistency proof per shard is required")
        for index, ((old_size, old_root), (size, root)) in enumerate(
            zip(old_shards, shards, strict=True)
        ):
            try:
                path = [bytes.fromhex(p) for p in proofs[index]]
            except (TypeError, ValueError) as exc:
                raise Refused("invalid_request", f"shard {index}: proof is not hex") from exc
            if not verify_consistency(old_size, size, old_root, root, path):
                raise Refused(
                    "inconsistent_head",
                    f"shard {index}: the tree of {size} does not extend the tree of "
                    f"{old_size} seen at n={old['n']} (log rewritten or forked)",
                )

    def _save(self, state: dict[str, Any]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            os.write(fd, json.dumps(state, sort_keys=True).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.state_path)


def _shards(payload: dict[str, Any]) -> list[tuple[int, bytes]]:
    try:
        return [(int(s["size"]), bytes.fromhex(s["root"])) for s in payload["shards"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise Refused("invalid_request", "the tree head's shards are malformed") from exc


def create_witness_app(witness: Witness) -> FastAPI:
    """The witness's HTTP app (routes parse and delegate to :class:`Witness`)."""
    app = FastAPI(title="idbridge audit witness", docs_url=None, redoc_url=None)

    @app.get("/v1/head")
    def head() -> JSONResponse:
        last = witness.last()
        if last is None:
            return JSONResponse({"sth": None, "shards": [], "witness": witness.name})
        return JSONResponse(
            {
                "sth": last["sth"],
                "shards": last["payload"]["shards"],
                "cosignature": last["cosignature"],
                "witness": witness.name,
            }
        )

    @app.post("/v1/cosign")
    async def cosign(request: Request) -> JSONResponse:
        raw = await request.body()
        try:
            if len(raw) > _MAX_BODY:
                raise Refused("invalid_request", "body too large")
            body = untrusted.loads(raw, max_bytes=_MAX_BODY)
            if not isinstance(body, dict) or not isinstance(body.get("sth"), str):
                raise Refused("invalid_request", 'expected {"sth": …, "proofs": […]}')
            cosig = witness.cosign(body["sth"], body.get("proofs") or [])
        except ValueError as exc:
            code = exc.code if isinstance(exc, Refused) else "invalid_request"
            status = 409 if code == "inconsistent_head" else 400
            return JSONResponse({"error": code, "error_description": str(exc)}, status_code=status)
        return JSONResponse({"cosignature": cosig, "witness": witness.name})

    return app
