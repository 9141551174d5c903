"""Vietnamese number reading: cardinals, ordinals, decimals, digit strings.

Every other stage funnels digits through here so the Vietnamese rules live in one
place: "mười" for the tens of 10-19, "mốt" (x1, x >= 2), "tư" (x4, x >= 2), "lăm"
(x5, x >= 1), "linh"/"lẻ" for a zero tens digit after hundreds, "không trăm" for
an empty hundreds inside a larger number, and the nghìn/ngàn choice by region.
"""

from __future__ import annotations

import re

DIGIT_WORDS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

# region -> (word for 1000, word for the zero tens digit after hundreds).
# Central Vietnam: "nghìn" is the broadcast norm there too, but "lẻ" is what
# listeners say (Huế, Đà Nẵng), so central mixes the two.
REGION_WORDS = {
    "north": ("nghìn", "linh"),
    "central": ("nghìn", "lẻ"),
    "south": ("ngàn", "lẻ"),
}

# Quantities are written with "." grouping; a bare run of 10+ digits is an ID,
# an account or a CCCD number, so it is read digit by digit.  Grouped numbers
# are read as cardinals up to 15 digits (nghìn tỷ); beyond that digit by digit,
# which also keeps int() far from CPython's 4300-digit conversion limit.
MAX_UNGROUPED_DIGITS = 9
MAX_CARDINAL_DIGITS = 15

_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?")
_DEC_COMMA = re.compile(r"\d+,\d+")
_DEC_POINT = re.compile(r"\d+\.\d+")


def thousand_word(region: str) -> str:
    """The region's word for 1000 (used by "50k" style amounts too)."""
    return REGION_WORDS[region][0]


def digits(s: str) -> str:
    """Read a digit string one digit at a time ("0912" -> "không chín một hai")."""
    return " ".join(DIGIT_WORDS[ord(c) - 48] for c in s if "0" <= c <= "9")


def _triple(n: int, full: bool, linh: str) -> list[str]:
    """Words for 0 < n < 1000; ``full`` means a higher group was already read,
    so an empty hundreds must still be said ("một nghìn không trăm linh năm")."""
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [DIGIT_WORDS[hundreds], "trăm"]
    if tens == 0:
        if units:
            if hundreds or full:
                words.append(linh)  # 105 = một trăm linh năm (not "lăm")
            words.append(DIGIT_WORDS[units])
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else DIGIT_WORDS[units])
    else:
        words += [DIGIT_WORDS[tens], "mươi"]
        if units:
            words.append({1: "mốt", 4: "tư", 5: "lăm"}.get(units, DIGIT_WORDS[units]))
    return words


def _words(n: int, full: bool, region: str) -> list[str]:
    """Words for n > 0; groups of zero are skipped, as speakers do
    ("một triệu không trăm linh năm", not "... không nghìn ...")."""
    thousand, linh = REGION_WORDS[region]
    if n >= 10**9:
        high, low = divmod(n, 10**9)
        words = _words(high, full, region) + ["tỷ"]
        if low:
            words += _words(low, True, region)
        return words
    words: list[str] = []
    for value, name in ((n // 10**6, "triệu"), (n // 1000 % 1000, thousand), (n % 1000, "")):
        if value:
            words += _triple(value, full or bool(words), linh)
            if name:
                words.append(name)
    return words


def cardinal(n: int, region: str = "north") -> str:
    """Read a non-negative integer: 21 -> "hai mươi mốt", 1005 -> "một nghìn
    không trăm linh năm", 3_750_000_000 -> "ba tỷ bảy trăm năm mươi triệu"."""
    if n < 0:
        return "âm " + cardinal(-n, region)
    if n == 0:
        return "không"
    return " ".join(_words(n, False, region))


def ordinal(n: int, region: str = "north") -> str:
    """Ordinal after "thứ": 1 -> "nhất", 4 -> "tư", otherwise the cardinal."""
    return {1: "nhất", 4: "tư"}.get(n) or cardinal(n, region)


def month_name(n: int, region: str = "north") -> str:
    """Month after "tháng": April is "tháng tư", never "tháng bốn"."""
    return "tư" if n == 4 else cardinal(n, region)


def read_integer(s: str, region: str = "north") -> str:
    """Read an ungrouped digit string.  Zero-padded short numbers ("05 hộ") are
    quantities; long or 0-prefixed strings are codes and are read digit by digit."""
    if len(s) > MAX_UNGROUPED_DIGITS or (len(s) > 3 and s[0] == "0"):
        return digits(s)
    return cardinal(int(s), region)


def _fraction(frac: str, region: str) -> str:
    """Digits after the decimal mark: short ones as a number ("2,5" -> "năm",
    "3,75" -> "bảy mươi lăm"), leading zeros or long tails digit by digit."""
    if frac[0] == "0" or len(frac) > 3:
        return digits(frac)
    return cardinal(int(frac), region)


def read_number(token: str, region: str = "north") -> str:
    """Read a number as written in Vietnamese text: "." groups thousands and ","
    marks decimals ("1.500.000", "2,5"); a lone "." not followed by exactly three
    digits is an English decimal point ("2.5") and is also read "phẩy"."""
    if _GROUPED.fullmatch(token):
        whole, _, frac = token.partition(",")
        plain = whole.replace(".", "")
        if len(plain) > MAX_CARDINAL_DIGITS:
            head = digits(plain)
        else:
            head = cardinal(int(plain), region)
        return f"{head} phẩy {_fraction(frac, region)}" if frac else head
    if _DEC_COMMA.fullmatch(token) or _DEC_POINT.fullmatch(token):
        whole, frac = re.split(r"[.,]", token)
        return f"{read_integer(whole, region)} phẩy {_fraction(frac, region)}"
    if token.isdigit():
        return read_integer(token, region)
    # Lists and version strings ("1,2,3", "1.2.3"): read each part.
    parts = re.split(r"([.,])", token)
    out = []
    for part in parts:
        if part == ",":
            out.append(",")
        elif part == ".":
            out.append("chấm")
        elif part:
            out.append(read_integer(part, region))
    return " ".join(out).replace(" ,", ",")


NUMBER = r"\d+(?:[.,]\d+)*"
_NUMBER_RE = re.compile(r"(?<![\d])" + NUMBER)
_GLUE_RE = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")


def expand_numbers(text: str, region: str) -> str:
    """Last numeric stage: read whatever digits earlier, context-aware stages left.
    Letters glued to digits are first split off ("QL1A" -> "QL 1 A")."""
    text = _GLUE_RE.sub(" ", text)
    return _NUMBER_RE.sub(lambda m: read_number(m.group(), region), text)
