"""Dates, times and the document numbers that look like them.

Dates are read "ngày D tháng M năm Y" (April is "tháng tư"); a "ngày",
"mùng" or "tháng" already written before the number is not repeated.  Only
4-digit years are accepted and day/month are range-checked, so "24/24" or
"5/40" fall through to the fraction reading ("trên").  Times are read
"H giờ M": 7h30, 07:30, 7g30, 7h30', 14h, 14:30:15.

Stage order matters and is driven by ``audio.normalize.normalize``:
``expand_doc_numbers`` (before abbreviations), ``expand_full_dates`` (before
ranges, because "25-12-2025" is not "25 to 12"), ``expand_short_dates``
(after ranges, so "20/11 - 25/11" gets its "đến"), then ``expand_times``.
"""

from __future__ import annotations

import re

from .abbreviations import doc_code
from .numbers import NUMBER, cardinal, month_name

_B = r"(?<![\w.,/\-])"          # left edge: not inside a number or word
_E = r"(?![\w/]|[.,\-]\d)"      # right edge
_FULL = r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})"
_FULL_RE = re.compile(_B + _FULL + _E)
_DATE_RANGE_DASH = re.compile(r"(?<=\d)\s*-\s*(?=\d{1,2}([/.\-])\d{1,2}\1\d{4}(?!\d))")
_DAY_RANGE = re.compile(_B + r"(\d{1,2})\s*-\s*(\d{1,2})/(\d{1,2})(?:/(\d{4}))?" + _E)
_DASHED_DAY = re.compile(r"(?i:(?<![^\W\d_])(ngày|mùng|mồng)\s+)(\d{1,2})-(\d{1,2})(?![\d/\-]|[.,]\d)")
# "30-4", "19-5": a descending pair with a two-digit day is a date, not a range.
_DASHED_DATE = re.compile(_B + r"([123]\d)-(\d{1,2})(?![\w/\-]|[.,]\d)")
_DAY_MONTH = re.compile(_B + r"(\d{1,2})/(\d{1,2})" + _E)
_MONTH_YEAR = re.compile(_B + r"(\d{1,2})/(\d{4})" + _E)
_SLASH = re.compile(r"(?<![\w.,/])(" + NUMBER + r")\s*/\s*(?=\d)")
_DOC = re.compile(
    r"(?<![\w.,/])(\d+)(?:/(\d{4}))?/([A-ZĐ][A-Za-zĐđ]*(?:[-&][A-ZĐ][A-Za-zĐđ]*)*)"
)
_DAY_WORD_BEFORE = re.compile(r"(?i:(?<![^\W\d_])(?:ngày|mùng|mồng))\s*$")
_MONTH_WORD_BEFORE = re.compile(r"(?i:(?<![^\W\d_])tháng)\s*$")
_FRACTION_AFTER = re.compile(r"\s+(?i:số|diện tích|dân số|tổng|lượng|trong)(?!\w)")
_FRACTION_BEFORE = re.compile(r"(?i:(?<![^\W\d_])(?:chiếm|khoảng|gần|hơn|còn|đạt|bằng))\s*$")

_TIME_H_M = re.compile(
    r"(?<![\w.,:])(\d{1,2})[hHgG](\d{2})(?P<unit>'|ph(?:út)?(?![^\W\d_])|p(?![^\W\d_]))?(?![\w]|[.,:]\d)"
)
_TIME_COLON = re.compile(r"(?<![\w.,:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\w]|[.,:]\d)")
_TIME_H = re.compile(r"(?<![\w.,:])(\d{1,3})\s?[hH](?![^\W\d_]|\d)")


def _valid(d: int, m: int) -> bool:
    return 1 <= d <= 31 and 1 <= m <= 12


def _before(m: re.Match, pattern: re.Pattern) -> bool:
    return pattern.search(m.string, max(0, m.start() - 10), m.start()) is not None


def _date(m: re.Match, d: int, mo: int, y: str | None, region: str) -> str:
    day = "" if _before(m, _DAY_WORD_BEFORE) else "ngày "
    out = f"{day}{cardinal(d, region)} tháng {month_name(mo, region)}"
    if y:
        out += f" năm {cardinal(int(y), region)}"
    return out


def expand_doc_numbers(text: str, region: str) -> str:
    """ "số 12/2025/TT-BYT" -> "số 12 trên 2025 trên thông tư bộ y tế" (digits are
    read later).  "trên" is the everyday reading of the slash in a number."""
    def repl(m: re.Match) -> str:
        year = f" trên {m.group(2)}" if m.group(2) else ""
        return f"{m.group(1)}{year} trên {doc_code(m.group(3))} "
    return _DOC.sub(repl, text)


def expand_full_dates(text: str, region: str) -> str:
    """Dates with a year (any of / . - as separator), day ranges "25-26/12",
    and dashed day-month, newspaper style: "ngày 2-9", "30-4"."""
    text = _DATE_RANGE_DASH.sub(" đến ", text)

    def full(m: re.Match) -> str:
        d, mo = int(m.group(1)), int(m.group(3))
        return _date(m, d, mo, m.group(4), region) if _valid(d, mo) else m.group()

    def day_range(m: re.Match) -> str:
        d1, d2, mo = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if not (_valid(d1, mo) and _valid(d2, mo)):
            return m.group()
        day = "" if _before(m, _DAY_WORD_BEFORE) else "ngày "
        out = f"{day}{cardinal(d1, region)} đến {cardinal(d2, region)} tháng {month_name(mo, region)}"
        return out + (f" năm {cardinal(int(m.group(4)), region)}" if m.group(4) else "")

    def dashed(m: re.Match) -> str:
        d, mo = int(m.group(2)), int(m.group(3))
        if not _valid(d, mo):
            return m.group()
        return f"{m.group(1)} {cardinal(d, region)} tháng {month_name(mo, region)}"

    def descending(m: re.Match) -> str:
        d, mo = int(m.group(1)), int(m.group(2))
        return _date(m, d, mo, None, region) if _valid(d, mo) and d > mo else m.group()

    text = _FULL_RE.sub(full, text)
    text = _DAY_RANGE.sub(day_range, text)
    text = _DASHED_DAY.sub(dashed, text)
    return _DASHED_DATE.sub(descending, text)


def expand_short_dates(text: str, region: str) -> str:
    """Day/month ("2/9"), month/year ("4/2026") and, for any other pair of
    numbers around a slash, "phần" (a fraction in context) or "trên"."""
    def day_month(m: re.Match) -> str:
        d, mo = int(m.group(1)), int(m.group(2))
        if not _valid(d, mo):
            return m.group()
        if _FRACTION_AFTER.match(m.string, m.end()) or _before(m, _FRACTION_BEFORE):
            return f"{m.group(1)} phần {m.group(2)}"
        return _date(m, d, mo, None, region)

    def month_year(m: re.Match) -> str:
        mo = int(m.group(1))
        if not 1 <= mo <= 12:
            return m.group()
        month = "" if _before(m, _MONTH_WORD_BEFORE) else "tháng "
        return f"{month}{month_name(mo, region)} năm {cardinal(int(m.group(2)), region)}"

    text = _MONTH_YEAR.sub(month_year, text)
    text = _DAY_MONTH.sub(day_month, text)
    return _SLASH.sub(lambda m: f"{m.group(1)} trên ", text)


def _clock(h: int, mi: int, s: int | None, minute_word: bool, region: str) -> str:
    out = f"{cardinal(h, region)} giờ"
    if mi or s:
        out += f" {cardinal(mi, region)}"
        if minute_word or mi < 10 or s:
            out += " phút"
    if s:
        out += f" {cardinal(s, region)} giây"
    return out


def expand_times(text: str, region: str) -> str:
    """Clock times and hour counts: "7h30" -> "bảy giờ ba mươi",
    "7h05" -> "bảy giờ năm phút", "14h" -> "mười bốn giờ", "72h" -> "bảy mươi hai giờ"."""
    def h_m(m: re.Match) -> str:
        h, mi = int(m.group(1)), int(m.group(2))
        if h > 24 or mi > 59:
            return m.group()
        return _clock(h, mi, None, bool(m.group("unit")), region)

    def colon(m: re.Match) -> str:
        h, mi = int(m.group(1)), int(m.group(2))
        s = int(m.group(3)) if m.group(3) else None
        if h > 24 or mi > 59 or (s is not None and s > 59):
            return m.group()
        return _clock(h, mi, s, False, region)

    text = _TIME_H_M.sub(h_m, text)
    text = _TIME_COLON.sub(colon, text)
    return _TIME_H.sub(lambda m: f"{cardinal(int(m.group(1)), region)} giờ", text)
