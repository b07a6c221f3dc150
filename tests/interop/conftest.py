"""One bridge for every stock relying-party test (``harness.interop_bridge``)."""

from tests.interop.harness import interop_bridge

__all__ = ["interop_bridge"]
