"""The getQR ``source`` value for a browser (domain-facts §1.3, CorpID-SPEC Appendix B).

Desktop browsers get ``PC_Browser`` (the service shows a QR code); phones get an
``Android_*`` / ``iOS_*`` value and, with ``brokerPage=true``, go app-to-app.
"""

from __future__ import annotations

import re

PC = "PC_Browser"
MOBILE_SOURCES: frozenset[str] = frozenset(
    {
        "Android_Chrome",
        "Android_Firefox",
        "Android_Edge",
        "Android_Samsung",
        "Android_Huawei",
        "Android_Xiaomi",
        "Android_IMS_InAppBrowser",
        "iOS_Safari",
        "iOS_Chrome",
        "iOS_Firefox",
        "iOS_Edge",
        "iOS_IMS_InAppBrowser",
    }
)
APP_SOURCES: frozenset[str] = frozenset({"App_Link", "App_Package", "App_Scheme"})
ALL_SOURCES: frozenset[str] = MOBILE_SOURCES | APP_SOURCES | {PC}

_IN_APP = re.compile(r"iamsmart", re.IGNORECASE)
_IOS = re.compile(r"iPhone|iPad|iPod")
_IOS_BROWSERS: tuple[tuple[str, str], ...] = (
    ("CriOS/", "iOS_Chrome"),
    ("FxiOS/", "iOS_Firefox"),
    ("EdgiOS/", "iOS_Edge"),
)
_ANDROID_BROWSERS: tuple[tuple[str, str], ...] = (
    ("EdgA/", "Android_Edge"),
    ("SamsungBrowser/", "Android_Samsung"),
    ("HuaweiBrowser/", "Android_Huawei"),
    ("MiuiBrowser/", "Android_Xiaomi"),
    ("XiaoMi/", "Android_Xiaomi"),
    ("Firefox/", "Android_Firefox"),
)


def source_for_user_agent(user_agent: str) -> str:
    """The ``source`` value for a ``User-Agent`` header (unknown → ``PC_Browser``)."""
    if _IOS.search(user_agent):
        if _IN_APP.search(user_agent):
            return "iOS_IMS_InAppBrowser"
        return next((s for token, s in _IOS_BROWSERS if token in user_agent), "iOS_Safari")
    if "Android" in user_agent:
        if _IN_APP.search(user_agent):
            return "Android_IMS_InAppBrowser"
        return next((s for token, s in _ANDROID_BROWSERS if token in user_agent), "Android_Chrome")
    return PC


def is_mobile(source: str) -> bool:
    """Whether ``source`` is a phone browser or an app (app-to-app possible)."""
    return source in MOBILE_SOURCES or source in APP_SOURCES
