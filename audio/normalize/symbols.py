"""Symbols, web addresses and punctuation: nothing but words and pause marks
leave the normaliser.

``expand_urls`` runs early (a URL contains dots, slashes and digits that
other stages would misread); ``expand_math`` runs before units and numbers
(it needs the digits around "x", "~", ">" to decide); ``finish`` runs last and
keeps only letters, spaces and the pauses engines understand: "," "." "!" "?".
"""

from __future__ import annotations

import re

from .letters import is_syllable, spell
from .numbers import digits

# Every branch starts only where its character class starts (look-behinds), so
# a long run of digits or dots is scanned once, not once per position.
_URL = re.compile(
    r"(?<![\w.])(?:https?://|www\.)[^\s<>\"']+"
    r"|(?<![\w.+\-])[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+"
    r"|(?<![\w@.\-])[\w\-]+(?:\.[\w\-]+)*\.(?:vn|com|net|org|gov|edu|info)(?![\w])(?:/[^\s<>\"']*)?",
    re.I,
)
_URL_PART = re.compile(r"[^\W_]+|[./@\-_:]")
_URL_SEPARATORS = {".": "chấm", "/": "gạch chéo", "@": "a còng", "-": "gạch ngang", "_": "gạch dưới", ":": ""}

_MATH = [
    (re.compile(r"~[ ]?(?=\d)"), "khoảng "),
    (re.compile(r"(?:≥|>=)[ ]?(?=\d)"), "từ "),
    (re.compile(r"(?:≤|<=)[ ]?(?=\d)"), "không quá "),
    (re.compile(r"(?<![\w])>[ ]?(?=\d)"), "trên "),
    (re.compile(r"(?<![\w])<[ ]?(?=\d)"), "dưới "),
    (re.compile(r"(?<=\d)[ ]?[x×][ ]?(?=\d)"), " nhân "),
    (re.compile(r"(?<=\d)[ ]?\+[ ]?(?=\d)"), " cộng "),
    (re.compile(r"(?<=\d)[ ]?=[ ]?(?=\d)"), " bằng "),
    (re.compile(r"(?:#|№)[ ]?(?=\d)"), "số "),
    (re.compile(r"±"), " cộng trừ "),
]

_WORDS = str.maketrans({
    "&": " và ", "@": " a còng ", "+": " cộng ", "=": " bằng ", "%": " phần trăm ",
    "‰": " phần nghìn ", "°": " độ ", "²": " bình phương ", "³": " lập phương ",
    "$": " đô la ", "€": " ơ rô ", "₫": " đồng ", "×": " nhân ", "÷": " chia ",
    "≥": " lớn hơn hoặc bằng ", "≤": " nhỏ hơn hoặc bằng ", ">": " lớn hơn ", "<": " nhỏ hơn ",
    "№": " số ", ":": ",", ";": ",", "|": ",", "•": ",", "·": ",",
    "(": ",", ")": ",", "[": ",", "]": ",", "{": ",", "}": ",",
    '"': " ", "'": " ", "`": " ", "*": " ", "_": " ", "^": " ", "~": " ", "#": " ",
    "/": " ", "\\": " ",
})
_BULLET = re.compile(r"(?m)^[ ]*[-+*•·]+[ ]*")
_SPACED_DASH = re.compile(r"[ ]-+[ ]|[ ]-+$|^-+[ ]", re.M)
_ELLIPSIS = re.compile(r"\.{2,}")
_DIGITS = re.compile(r"\d+")
_NOT_SPEAKABLE = re.compile(r"[^\w\s.,!?]|[_]")
_SPACE_BEFORE_PUNCT = re.compile(r"[ ]+(?=[.,!?])")
_PUNCT_RUN = re.compile(r"([.,!?])[.,!?]*")
_COMMA_THEN_STOP = re.compile(r",[ ]*(?=[.!?])")
_SPACE_AFTER_PUNCT = re.compile(r"([.,!?])(?=[^\W\d_])")
_LEADING_PUNCT = re.compile(r"^[ .,!?]+")
_SPACES = re.compile(r"[ ]{2,}")


def _read_url(m: re.Match) -> str:
    url = re.sub(r"^(?:https?://)", "", m.group(), flags=re.I).rstrip("/.")
    words = []
    for part in _URL_PART.findall(url):
        if part in _URL_SEPARATORS:
            words.append(_URL_SEPARATORS[part])
        elif part.isdigit():
            words.append(digits(part))
        elif part.isascii() and len(part) <= 4 and not is_syllable(part):
            words.append(spell(part))
        else:
            words.append(part.lower())
    return " " + " ".join(w for w in words if w) + " "


def expand_urls(text: str) -> str:
    """Read web and e-mail addresses: "dichvucong.gov.vn" -> "dichvucong chấm giê o vê chấm vê en"."""
    return _URL.sub(_read_url, text)


def expand_math(text: str) -> str:
    """Symbols whose reading depends on numbers around them ("~5", "2x3", ">60")."""
    for pattern, repl in _MATH:
        text = pattern.sub(repl, text)
    return text


def _finish_line(line: str) -> str:
    line = _LEADING_PUNCT.sub("", line.strip())
    if line and line[-1] not in ".!?,":
        line += "."
    return line


def finish(text: str) -> str:
    """Map the remaining symbols to words or pauses, drop anything else,
    tidy punctuation and join lines (each line ends with a pause)."""
    text = _BULLET.sub("", text)
    text = _SPACED_DASH.sub(", ", text)
    text = text.replace("-", " ")
    text = _ELLIPSIS.sub(".", text)
    text = text.translate(_WORDS)
    text = _DIGITS.sub(lambda m: f" {digits(m.group())} ", text)  # safety net
    text = _NOT_SPEAKABLE.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub("", text)
    text = _COMMA_THEN_STOP.sub("", text)
    text = _PUNCT_RUN.sub(r"\1", text)
    text = _SPACE_AFTER_PUNCT.sub(r"\1 ", text)
    lines = (_finish_line(line) for line in text.split("\n"))
    return _SPACES.sub(" ", " ".join(line for line in lines if line)).strip()
