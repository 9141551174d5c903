"""Roman numerals, read only where Vietnamese writes them.

"I", "V", "X", "C", "D", "L", "M" are also letters and initials, so a Roman
numeral is converted only after a word that takes one (quý IV, khóa XIII,
thế kỷ XXI, Đại hội XIII, lần thứ IV, Chương II) or as a numbered heading at
the start of a line ("II. NỘI DUNG").  After "thứ" it is an ordinal
("lần thứ IV" -> "lần thứ tư"); otherwise a cardinal ("quý IV" -> "quý bốn").
"""

from __future__ import annotations

import re

from .numbers import cardinal, ordinal

_VALID = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_TRIGGERS = (
    r"quý|khóa|khoá|thế\s+kỷ|thế\s+kỉ|đại\s+hội|hội\s+nghị|kỳ|kì|phần|chương|mục|tập"
    r"|quân\s+khu|vùng|điều|khoản|phụ\s+lục|giai\s+đoạn|nhiệm\s+kỳ|lần\s+thứ|thứ"
)
_IN_CONTEXT = re.compile(
    r"(?<![^\W\d_])(?P<trigger>(?i:" + _TRIGGERS + r"))(?P<gap>\s+)(?P<roman>[IVXLCDM]+)(?![^\W\d_]|\d)"
)
# Numbered headings; the lone letters X, C, D, L, M are excluded because "X."
# and "H." at a line start are far more often "xã", "huyện" or an initial.
_HEADING = re.compile(r"(?m)^(?P<roman>I{1,3}|IV|VI{0,3}|IX|XI{1,3}|XIV|XV|XVI{1,3}|XIX|XX)[.)](?=\s)")


def roman_value(s: str) -> int | None:
    """Integer value of a well-formed Roman numeral, else None."""
    if not s or not _VALID.fullmatch(s):
        return None
    total = 0
    for i, c in enumerate(s):
        v = _VALUES[c]
        total += -v if i + 1 < len(s) and _VALUES[s[i + 1]] > v else v
    return total


def expand_roman(text: str, region: str) -> str:
    """Convert Roman numerals that follow a trigger word or number a heading."""
    def in_context(m: re.Match) -> str:
        value = roman_value(m.group("roman"))
        if value is None:
            return m.group()
        trig = m.group("trigger")
        words = ordinal(value, region) if trig.lower().endswith("thứ") else cardinal(value, region)
        return f"{trig}{m.group('gap')}{words}"

    def heading(m: re.Match) -> str:
        value = roman_value(m.group("roman"))
        return m.group() if value is None else f"{cardinal(value, region)},"

    text = _IN_CONTEXT.sub(in_context, text)
    return _HEADING.sub(heading, text)
