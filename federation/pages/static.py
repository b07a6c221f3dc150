"""The stylesheet and the small optional script, served by the bridge itself from
``/static`` (no CDNs: CSP ``default-src 'self'``, PAGES.md "Accessibility and robustness").

Starlette's ``StaticFiles`` and the standard library only.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).with_name("static")
STATIC_PATH = "/static"


class _Mountable(Protocol):
    def mount(self, path: str, app: StaticFiles, name: str | None = None) -> None: ...


def static_dir() -> Path:
    """The directory holding ``idbridge.css`` and ``handoff.js``."""
    return STATIC_DIR


@lru_cache(maxsize=16)
def static_url(name: str) -> str:
    """The URL of a static file, with a content hash so that a new release is never
    served from a stale browser cache (``/static/idbridge.css?v=1a2b3c4d``)."""
    path = STATIC_DIR / name
    if path.parent != STATIC_DIR or not path.is_file():
        raise FileNotFoundError(f"no static file {name!r}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{STATIC_PATH}/{name}?v={digest}"


def mount_static(app: _Mountable) -> None:
    """Serve :func:`static_dir` at ``/static`` on a FastAPI/Starlette ``app``."""
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="static")
