"""Telephone numbers, read digit by digit in their written groups.

Mobile and landline numbers (10-11 digits starting with 0, or +84/0084 and
9-10 digits), 1800/1900 hotlines, and short service numbers (111-116, 1022,
...) when the context says they are phone numbers ("gọi 113", "số 114",
"đường dây nóng 1022").  Without such context "113 hộ" stays a quantity.
"""

from __future__ import annotations

import re

from .numbers import digits

_SEP = r"[ .\-]"
_PHONE = re.compile(
    r"(?<![\w.,+/\-])(?:"
    r"(?P<intl>(?:\+|00)84)[ .\-]?(?P<irest>\d{2,3}(?:" + _SEP + r"?\d{2,4}){2,3})"
    r"|(?P<local>0\d{2,3}(?:" + _SEP + r"\d{2,4}){2,3}|0\d{3}" + _SEP + r"\d{6,7}|0\d{9,10})"
    r"|(?P<hot>1[89]00(?:" + _SEP + r"?\d{2,4}){1,3})"
    r")(?![\w]|[.,]\d)"
)

# Words after which a short number is dialled, not counted.  "số" alone is a
# weak trigger: it only marks the emergency numbers 111-116, and only when no
# noun follows ("số 114 để báo cháy" yes, "tổng số 113 hộ" no).
_STRONG = (
    r"gọi(?:\s+(?:ngay|điện|đến|tới|cho|vào|số))*|quay\s+số|bấm\s+số|nhắn\s+tin\s+đến"
    r"|tổng\s+đài|đường\s+dây\s+nóng|hotline|số\s+điện\s+thoại|điện\s+thoại|số\s+khẩn\s+cấp"
)
_SERVICE = re.compile(
    r"(?i:(?P<trigger>" + _STRONG + r"|số))(?P<gap>\s*:?\s*)"
    r"(?P<list>\d{3,5}(?:\s*(?:,|/|-|(?i:hoặc|và))\s*\d{3,5})*)(?![\w]|[.,]\d)"
)
_SHORT = re.compile(r"\d{3,5}")
_WEAK_END = re.compile(r"\s*(?:$|[^\w\s]|(?i:để|khi|nếu|hoặc|và|ngay|miễn|của|trong|hay)(?!\w))")


def _read_groups(groups: list[str]) -> str:
    return ", ".join(digits(g) for g in groups if g)


def _split_plain(d: str) -> list[str]:
    """Group an unseparated number the way people say it: 4-3-3 or 4-3-4."""
    return [d[:4], d[4:7], d[7:]]


def _phone(m: re.Match) -> str:
    if m.group("intl"):
        rest = m.group("irest")
        n = len(re.sub(r"\D", "", rest))
        if not 9 <= n <= 10:
            return m.group()
        groups = re.split(_SEP, rest)
        if len(groups) == 1:
            groups = [rest[:3], rest[3:6], rest[6:]]
        return " cộng tám bốn, " + _read_groups(groups) + " "
    body = m.group("local") or m.group("hot")
    plain = re.sub(r"\D", "", body)
    if m.group("local") and not 10 <= len(plain) <= 11:
        return m.group()
    if m.group("hot") and len(plain) not in (8, 10):
        return m.group()
    groups = re.split(_SEP, body)
    if len(groups) == 1:
        groups = _split_plain(plain) if m.group("local") else [plain[:4], plain[4:]]
    return " " + _read_groups(groups) + " "


def _service(m: re.Match) -> str:
    strong = m.group("trigger").lower() != "số"
    if not strong and not _WEAK_END.match(m.string, m.end()):
        return m.group()

    def one(n: re.Match) -> str:
        num = n.group()
        if (strong and num[0] == "1") or re.fullmatch(r"11[1-6]", num):
            return digits(num)
        return num

    spoken = _SHORT.sub(one, m.group("list"))
    return m.group("trigger") + " " + spoken.replace("/", " hoặc ").replace("-", " hoặc ")


def expand_phones(text: str) -> str:
    """Read phone numbers and dialled service numbers digit by digit."""
    text = _PHONE.sub(_phone, text)
    return _SERVICE.sub(_service, text)
