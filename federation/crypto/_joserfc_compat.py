"""The joserfc internals this package builds on, imported in one place.

joserfc 1.8 does not export its key-binding and JWS-model base classes publicly; pinning
their import paths here keeps a joserfc upgrade to one file.
"""

from joserfc._rfc7515.model import JWSAlgModel
from joserfc._rfc7517.models import NativeKeyBinding

__all__ = ["JWSAlgModel", "NativeKeyBinding"]
