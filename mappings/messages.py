"""Person-facing messages for :class:`mappings.errors.MappingError`, in 繁體, 简体 and English.

Keys are ``mapping.error.<reason>``; the journey renders them on the error page. They
never contain the value that failed (PAGES.md: say what went wrong and what to do next).
"""

from __future__ import annotations

_GENERIC = {
    "zh-HK": "我們未能核對由「智方便」提供的一項個人資料，因此未能把你的資料傳送給該服務。"
    "請稍後再試，或聯絡該服務查詢。",
    "zh-CN": "我们未能核对由“智方便”提供的一项个人资料，因此未能把你的资料发送给该服务。"
    "请稍后再试，或联系该服务查询。",
    "en": "We could not check one of the details iAM Smart gave us, so we cannot send your "
    "details to this service. Please try again later, or contact the service.",
}

MESSAGES: dict[str, dict[str, str]] = {
    "mapping.error.hkid_check_digit": {
        "zh-HK": "「智方便」提供的香港身份證號碼未能通過核對。請聯絡「智方便」更新你的資料。",
        "zh-CN": "“智方便”提供的香港身份证号码未能通过核对。请联系“智方便”更新你的资料。",
        "en": "The HKID number from iAM Smart did not pass its check. "
        "Please contact iAM Smart to correct your details.",
    },
    "mapping.error.home_return_permit": {
        "zh-HK": "回鄉證號碼格式不正確：應為 H 或 M 加 8 位或 10 位數字，例如 H12345678。",
        "zh-CN": "回乡证号码格式不正确：应为 H 或 M 加 8 位或 10 位数字，例如 H12345678。",
        "en": "The Home Return Permit number is not in the right format: H or M followed "
        "by 8 or 10 digits, for example H12345678.",
    },
    "mapping.error.residence_permit": {
        "zh-HK": "港澳居民居住證號碼不正確：應為 18 位，以 810000 或 820000 開首。",
        "zh-CN": "港澳居民居住证号码不正确：应为 18 位，以 810000 或 820000 开头。",
        "en": "The residence permit number is not valid: it has 18 characters and "
        "starts with 810000 or 820000.",
    },
    "mapping.error.missing_essential": {
        "zh-HK": "該服務必須取得的一項資料未有提供，因此未能繼續。",
        "zh-CN": "该服务必须取得的一项资料未有提供，因此未能继续。",
        "en": "A detail this service needs was not provided, so we cannot continue.",
    },
}


def message_for(key: str) -> dict[str, str]:
    """The trilingual message for ``key``; a generic one for reasons without their own."""
    return dict(MESSAGES.get(key, _GENERIC))
