"""Traditional → simplified Chinese with OpenCC (the ``opencc`` package).

Config choice: ``hk2s`` rather than ``t2s``. Names and addresses from iAM Smart are written
in the Hong Kong standard forms printed on the HKID card (香港標準字形), and ``hk2s`` first
normalises HK variants to OpenCC's standard traditional forms before simplifying. The two
agree on almost everything (stack-probe.md), but not on HK variant forms: ``t2s`` leaves
衞 (the HK form of 衛) unconverted, ``hk2s`` gives 卫. HKSCS characters with no simplified
form (堃, 燊, 邨) are kept by both. The converter is built once per process (≈25 ms) and
reused (≈2 µs per name).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import opencc

from mappings.errors import ValueFormatError
from mappings.transforms import transform

CONFIG = "hk2s"


@cache
def converter(config: str = CONFIG) -> opencc.OpenCC:
    """The cached OpenCC converter for ``config``."""
    return opencc.OpenCC(config)


@transform("to_simplified")
def to_simplified(value: Any) -> str:
    """Convert Hong Kong traditional Chinese text to simplified Chinese (``hk2s``)."""
    if not isinstance(value, str):
        raise ValueFormatError("not_text")
    return converter().convert(value)


@transform("chinese_name")
def chinese_name(value: Any) -> str:
    """iAM Smart ``chName`` ``{"ChineseName": "陳大文"}`` → ``"陳大文"`` (a plain string passes)."""
    if isinstance(value, dict):
        value = value.get("ChineseName")
    if not isinstance(value, str) or not value.strip():
        raise ValueFormatError("malformed_chinese_name")
    return value.strip()
