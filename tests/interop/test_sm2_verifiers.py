"""SM2SM3 ID tokens, consent receipts and audit checkpoints from the running bridge, checked
with the keys of discovery's ``sm2_jwks_uri`` by four independent verifiers — OpenSSL (the
script of docs/consent.md), npm ``sm-crypto``, PyPI ``gmssl`` (verify only) and
``gmssl-pyx`` — which all agree, on genuine tokens and on forgeries."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from consent.audit import Action, parse_entry
from federation.storage.keys import Keys
from tests.federation.journey.harness import (
    Person,
    authorize_url,
    consent,
    exchange,
    finish,
    rp_client,
)
from tests.interop.harness import Bridge, node
from tests.interop.sm2_verify import verify_with_gmssl, verify_with_gmssl_pyx

CONSENT_DOC = Path(__file__).resolve().parents[2] / "docs" / "consent.md"


def verify_with_openssl(jws: str, jwks: dict, folder: Path) -> bool:
    """The documented OpenSSL procedure (docs/consent.md, README), run as written."""
    text = CONSENT_DOC.read_text(encoding="utf-8")
    script = text.split("<!-- verify-receipt.sh -->")[1].split("<!-- /verify-receipt.sh -->")[0]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "verify.sh").write_text(script.strip().removeprefix("```sh").removesuffix("```"))
    (folder / "token.jws").write_text(jws)
    (folder / "jwks.json").write_text(json.dumps(jwks))
    proc = subprocess.run(
        ["sh", "verify.sh", "token.jws", "jwks.json"],
        cwd=folder, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return proc.returncode == 0 and proc.stdout.strip() == "Verified OK"


def verdicts(jws: str, jwks: dict, folder: Path) -> dict[str, bool]:
    return {
        "openssl": verify_with_openssl(jws, jwks, folder),
        "sm-crypto": node("verify-sm2.mjs", {"jws": jws, "jwks": jwks})["verified"],
        "gmssl": verify_with_gmssl(jws, jwks),
        "gmssl-pyx": verify_with_gmssl_pyx(jws, jwks),
    }


def forged(jws: str) -> str:
    """The same signature over a changed payload (one claim more)."""
    header, payload, signature = jws.split(".")
    return f"{header}.{payload[:-4]}AAAA.{signature}"


async def test_four_verifiers_agree_on_id_tokens_receipts_and_checkpoints(
    interop_bridge: Bridge, redis: aioredis.Redis, tmp_path: Path
) -> None:
    # ``redis`` starts from an empty database: the audit chain's first entry, the consent
    # below, is sealed at once by a checkpoint with this bridge's key
    metadata = httpx.get(interop_bridge.url + "/.well-known/openid-configuration").json()
    sm2_jwks = httpx.get(metadata["sm2_jwks_uri"]).json()  # found from discovery alone
    client = rp_client(interop_bridge, "rp-sm2")
    url, _, _, verifier = await authorize_url(interop_bridge, client)
    person = Person(interop_bridge, "wong-siu-ming")
    try:
        page = await person.sign_in(url)
        done = await consent(person, page)
        receipt = (await person.http.get(interop_bridge.url + "/journey/receipt")).json()["jws"]
        answer = await finish(person, done)
    finally:
        await person.aclose()
    id_token = (await exchange(interop_bridge, client, answer, verifier))["id_token"]
    entries = [parse_entry(i, f) for i, f in await redis.xrange(Keys.AUDIT_STREAM)]
    checkpoints = [e["objects"]["jws"] for e in entries if e["action"] == Action.CHECKPOINT]
    assert checkpoints
    signed = {"id_token": id_token, "receipt": receipt, "checkpoint": checkpoints[-1]}
    for name, jws in signed.items():
        assert verdicts(jws, sm2_jwks, tmp_path / name) == dict.fromkeys(
            ("openssl", "sm-crypto", "gmssl", "gmssl-pyx"), True
        ), name
        assert verdicts(forged(jws), sm2_jwks, tmp_path / f"{name}-forged") == dict.fromkeys(
            ("openssl", "sm-crypto", "gmssl", "gmssl-pyx"), False
        ), name
    # the jwks_uri a stock library reads holds none of these keys
    standard = httpx.get(metadata["jwks_uri"]).json()
    assert not {k["kid"] for k in standard["keys"]} & {k["kid"] for k in sm2_jwks["keys"]}
