"""Transforms: small pure functions, registered by name, that profiles chain together.

A transform takes the value and returns the new value; it raises
:class:`mappings.errors.ValueFormatError` with a reason code when the value is malformed.
Keyword arguments come from the profile (``transform: [{age_over: {years: 18}}]``) and are
checked against the function's signature when the profile loads. A transform that needs
the release context (today's date, the subject, the profile's code tables) declares a
keyword-only parameter named ``ctx``.

Modules: :mod:`.chinese` (script conversion), :mod:`.names`, :mod:`.dates`, :mod:`.phones`,
:mod:`.addresses`, :mod:`.identifiers`, :mod:`.basic`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

Step = Callable[[Any, "Context"], Any]
"""A compiled transform: arguments bound, called as ``step(value, ctx)``."""


@dataclass(slots=True)
class Context:
    """What a transform may know about the release beyond the value itself."""

    today: date
    subject: str = ""
    source: str = ""
    """Name of the attribute the value came from."""
    code_tables: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


TRANSFORMS: dict[str, Callable[..., Any]] = {}


def transform(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as the transform ``name``."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in TRANSFORMS:
            raise ValueError(f"transform {name!r} registered twice")
        TRANSFORMS[name] = fn
        return fn

    return register


def compile_step(name: str, args: Mapping[str, Any]) -> Step:
    """Bind ``args`` to the transform ``name``; ValueError if the name or arguments are wrong."""
    fn = TRANSFORMS.get(name)
    if fn is None:
        raise ValueError(f"unknown transform {name!r} (known: {', '.join(sorted(TRANSFORMS))})")
    signature = inspect.signature(fn)
    wants_ctx = "ctx" in signature.parameters
    try:
        signature.bind_partial(None, **args)
    except TypeError as exc:
        raise ValueError(f"transform {name!r}: {exc}") from None
    params = [
        p
        for p in list(signature.parameters.values())[1:]
        if p.name != "ctx" and p.default is inspect.Parameter.empty
    ]
    missing = [p.name for p in params if p.name not in args]
    if missing:
        raise ValueError(f"transform {name!r} needs argument(s): {', '.join(missing)}")
    bound = partial(fn, **args) if args else fn
    if wants_ctx:
        return lambda value, ctx: bound(value, ctx=ctx)
    return lambda value, ctx: bound(value)


# Register the built-in transforms (import for side effect, after the registry exists).
from mappings.transforms import (  # noqa: E402
    addresses,
    basic,
    chinese,
    dates,
    identifiers,
    names,
    phones,
)

__all__ = [
    "TRANSFORMS",
    "Context",
    "Step",
    "addresses",
    "basic",
    "chinese",
    "compile_step",
    "dates",
    "identifiers",
    "names",
    "phones",
    "transform",
]
