"""docs/integrators.md shows the code the interop tests run: every ``<!-- include F -->``
block is the file F verbatim, and every file the tests drive as a relying party or a
verifier is shown."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "integrators.md"
SHOWN = {
    "tests/interop/node/rp.mjs",
    "tests/interop/node/verify-sm2.mjs",
    "tests/interop/starlette_rp.py",
    "tests/interop/pyoidc_rp.py",
    "tests/interop/idpyoidc_rp.py",
    "tests/interop/sm2_verify.py",
}


def test_every_included_block_is_the_file_verbatim() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(
        r"<!-- include (\S+) -->\n```\w*\n(.*?)\n```\n<!-- /include -->", text, re.S
    )
    assert {path for path, _ in blocks} == SHOWN
    for path, block in blocks:
        assert block == (REPO / path).read_text(encoding="utf-8").rstrip("\n"), path
