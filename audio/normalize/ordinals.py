"""Ordinals and the numbers whose reading depends on the word before them.

"thứ 2" is "thứ hai" (Monday and "second" alike), "thứ 4" is "thứ tư",
"thứ 1"/"lần 1" is "thứ nhất"; "lần N" becomes "lần thứ N" because that is
how it is said aloud; "tháng 4" is "tháng tư"; "Thứ 2 - Thứ 6" is a range of weekdays.  Numbered list items at the
start of a line ("1. Thời gian") are read with a pause, not as decimals.
"""

from __future__ import annotations

import re

from .numbers import cardinal, month_name, ordinal

_ORDINAL = re.compile(r"(?<![^\W\d_])(?P<w>(?i:lần\s+thứ|thứ|hạng))\s+(?P<n>\d{1,4})(?![\w]|[.,:/]\d)")
_TIMES = re.compile(r"(?<![^\W\d_])(?P<w>(?i:lần))\s+(?P<n>\d{1,3})(?![\w]|[.,:/]\d)")
_MONTH = re.compile(r"(?<![^\W\d_])(?P<w>(?i:tháng))\s+(?P<n>\d{1,2})(?![\w]|[.,:/\-]\d)")
_WEEKDAY_RANGE = re.compile(r"(?<![^\W\d_])(?P<a>(?i:thứ)\s+[2-7])\s*-\s*(?=(?i:thứ\s+[2-7]|CN|chủ\s+nhật))")
_LIST_ITEM = re.compile(r"(?m)^(?P<n>\d{1,2})[.)](?=\s)")


def expand_ordinals(text: str, region: str) -> str:
    """Read ordinals, months and line-initial list numbers."""
    def ordinal_repl(m: re.Match) -> str:
        return f"{m.group('w')} {ordinal(int(m.group('n')), region)}"

    def times_repl(m: re.Match) -> str:
        return f"{m.group('w')} thứ {ordinal(int(m.group('n')), region)}"

    def month_repl(m: re.Match) -> str:
        n = int(m.group("n"))
        return f"{m.group('w')} {month_name(n, region)}" if 1 <= n <= 12 else m.group()

    text = _WEEKDAY_RANGE.sub(lambda m: f"{m.group('a')} đến ", text)
    text = _ORDINAL.sub(ordinal_repl, text)
    text = _TIMES.sub(times_repl, text)
    text = _MONTH.sub(month_repl, text)
    return _LIST_ITEM.sub(lambda m: f"{cardinal(int(m.group('n')), region)},", text)
