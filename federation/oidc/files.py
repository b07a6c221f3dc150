"""Generated-once secret files shared by every worker on a host."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_once(path: Path, data: bytes) -> None:
    """Create ``path`` with ``data`` (mode 0600) unless it exists. Atomic: the content is
    written to a temp file and hard-linked into place, so a racing worker never reads a
    half-written file and exactly one writer wins."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
