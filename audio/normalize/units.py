"""Measurement units, currency, percentages, number ranges and "per" slashes.

A unit is only read as a unit right after a number ("3 km", "35°C", "2,5 ha",
"50.000đ") or after a slash ("đồng/kg"), so the letters m, g, l, V, W never
swallow ordinary words.  A dash between two numbers is a range: "15-20 phút"
-> "mười lăm đến hai mươi phút", "6h-8h" -> "6h đến 8h" (times read later).
"""

from __future__ import annotations

import re

from .numbers import NUMBER, read_number, thousand_word

_TEMPERATURE = "độ xê"
UNITS: dict[str, str] = {
    "%": "phần trăm", "‰": "phần nghìn",
    "°C": _TEMPERATURE, "° C": _TEMPERATURE, "oC": _TEMPERATURE,
    "°F": "độ ép", "°": "độ",
    "km": "ki lô mét", "Km": "ki lô mét", "KM": "ki lô mét", "m": "mét",
    "cm": "xăng ti mét", "mm": "mi li mét",
    "km²": "ki lô mét vuông", "km2": "ki lô mét vuông", "m²": "mét vuông",
    "m2": "mét vuông", "cm²": "xăng ti mét vuông", "ha": "héc ta", "Ha": "héc ta",
    "m³": "mét khối", "m3": "mét khối", "l": "lít", "ml": "mi li lít",
    "kg": "ki lô gam", "Kg": "ki lô gam", "KG": "ki lô gam", "g": "gam",
    "mg": "mi li gam",
    "km/h": "ki lô mét trên giờ", "Km/h": "ki lô mét trên giờ",
    "km/giờ": "ki lô mét trên giờ", "m/s": "mét trên giây",
    "mm/h": "mi li mét trên giờ", "m³/s": "mét khối trên giây", "m3/s": "mét khối trên giây",
    "kWh": "ki lô oát giờ", "KWh": "ki lô oát giờ", "kW": "ki lô oát", "MW": "mê ga oát",
    "W": "oát", "V": "vôn", "kV": "ki lô vôn",
    "Hz": "héc", "kHz": "ki lô héc", "MHz": "mê ga héc",
    "đ": "đồng", "₫": "đồng", "VNĐ": "đồng", "VND": "đồng", "vnđ": "đồng", "vnd": "đồng",
    "USD": "đô la Mỹ", "usd": "đô la Mỹ", "$": "đô la", "€": "ơ rô", "EUR": "ơ rô",
    "tr": "triệu", "k": "", "'": "phút", "ph": "phút",
}
_TEMPERATURES = {k for k, v in UNITS.items() if v.startswith("độ")}


def _alternation(keys) -> str:
    parts = []
    for key in sorted(keys, key=len, reverse=True):
        tail = r"(?![^\W\d_])" if key[-1].isalpha() else ""
        parts.append(re.escape(key) + tail)
    return "|".join(parts)


_UNIT_RE = re.compile(
    r"(?P<neg>(?<![\w.,])-)?(?<![\w.,])(?P<num>" + NUMBER + r")[ ]?(?P<unit>" + _alternation(UNITS) + ")"
)
_PREFIX_MONEY = re.compile(r"(?:US)?\$\s?(?P<num>" + NUMBER + ")")
_RANGE = re.compile(
    r"(?<![\w.,])(?P<left>(?P<a>" + NUMBER + r")(?:[hHgG]\d{0,2}'?|%|°C?|oC|')?)[ ]*-[ ]*"
    r"(?=(?P<b>" + NUMBER + r")|ngày )"
)

# "/" after money means "each": "8.500 đồng/kg" -> "... đồng một ki lô gam";
# after a count noun too: "2 lần/ngày" -> "hai lần một ngày".
_CURRENCY = {"đồng", "đô la", "đô la mỹ", "ơ rô", "mỹ", "la", "rô", "nghìn", "ngàn", "triệu", "tỷ"}
_COUNT = {
    "lần", "lượt", "chuyến", "liều", "viên", "suất", "buổi", "người", "hộ", "con",
    "cây", "bao", "ca", "tiết", "bữa", "khẩu",
}
# Physical quantities: "tấn/ha" is a rate ("trên"), not "per item".
_UNIT_WORDS_FULL = {v for v in UNITS.values() if not v.startswith(("đồng", "đô", "ơ", "phần"))} | {
    "tấn", "tạ", "yến", "sào", "lít", "mét", "ki lô gam", "gam", "héc ta",
}
# A number earlier in the same clause makes the slash a "per": "10 kg gạo/khẩu".
_QUANTITY_BEFORE = re.compile(r"\d[^,.;:!?\n]*$")
_SLASH_WORDS = re.compile(
    r"(?<![^\W\d_])(?P<num>[^\W\d_]+)[ ]?/[ ]?(?P<den>" + _alternation(UNITS.keys() - {"%", "'", "k"})
    + r"|[^\W\d_]+(?![^\W\d_]))"
)


def expand_ranges(text: str) -> str:
    """A dash between two numbers (optionally with a unit on the left) is a
    range; a descending pair of small numbers is a score."""
    def repl(m: re.Match) -> str:
        a, b = m.group("a"), m.group("b")
        if b and a.isdigit() and b.isdigit() and a == m.group("left") and int(a) > int(b) and len(a) < 3:
            return a + " "  # "thắng 3-1" is a score, read "ba một"
        return m.group("left") + " đến "

    return _RANGE.sub(repl, text)


def expand_units(text: str, region: str) -> str:
    """Read number + unit pairs and "$100"; temperatures below zero get "âm"."""
    def repl(m: re.Match) -> str:
        unit = m.group("unit")
        number = read_number(m.group("num"), region)
        sign = ""
        if m.group("neg"):
            sign = "âm " if unit in _TEMPERATURES else "-"
        if unit == "k":
            return f"{sign}{number} {thousand_word(region)}"
        return f"{sign}{number} {UNITS[unit]}"

    text = _PREFIX_MONEY.sub(lambda m: f"{read_number(m.group('num'), region)} đô la", text)
    return _UNIT_RE.sub(repl, text)


def expand_slashes(text: str) -> str:
    """Read word/word, before units are expanded: "đồng/kg" -> "đồng một ki lô gam",
    "10 kg gạo/khẩu" -> "gạo một khẩu", "tấn/ha" -> "tấn trên héc ta",
    "ông/bà" -> "ông hoặc bà".  Compound units ("km/h") are left to expand_units."""
    def repl(m: re.Match) -> str:
        num, den = m.group("num"), m.group("den")
        if f"{num}/{den}" in UNITS:
            return m.group()
        num_word = UNITS.get(num, num).lower()
        if num_word in _CURRENCY:
            sep = "một"
        elif num_word in _UNIT_WORDS_FULL or den in UNITS:
            sep = "trên"
        elif num_word in _COUNT or _QUANTITY_BEFORE.search(m.string, max(0, m.start() - 40), m.start()):
            sep = "một"
        else:
            sep = "hoặc"
        return f"{num} {sep} {UNITS.get(den, den)}"

    # Overlapping chains ("đồng/người/tháng") need a second pass.
    return _SLASH_WORDS.sub(repl, _SLASH_WORDS.sub(repl, text))
