"""Input hygiene: Unicode NFC, HTML, control characters, emoji, foreign scripts.

Runs first so every later regex can assume plain NFC Latin text with ASCII
digits and single-space-separated lines.  Policy (documented in README.md):
HTML tags are removed (block tags become line breaks), entities decoded;
control and format characters, emoji and pictographs are dropped; letters of
non-Latin scripts (Chinese, Cyrillic, Thai, ...) are dropped too, because no
Vietnamese voice can pronounce them and espeak-ng would switch language or
spell code points mid-bulletin.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

_VI_LETTERS = (
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
)
_VI_LETTERS += _VI_LETTERS.upper()

# Characters later stages understand and which therefore survive cleaning
# untouched (besides ASCII): degree/ordinal signs, superscripts, currency,
# typographic punctuation that is mapped to ASCII below.
_KEEP = set("°²³₫€‰±×÷≥≤№…•·")

_TRANSLATE = {
    ord("\t"): " ", ord("\r"): "\n", ord("\u2028"): "\n", ord("\u2029"): "\n",
    ord("“"): '"', ord("”"): '"', ord("„"): '"', ord("«"): '"', ord("»"): '"',
    ord("‘"): "'", ord("’"): "'", ord("‚"): "'", ord("′"): "'", ord("″"): '"',
    ord("–"): "-", ord("—"): "-", ord("‒"): "-", ord("−"): "-", ord("‐"): "-",
    ord("‑"): "-", ord("…"): "...", ord("Ð"): "Đ", ord("ð"): "đ",
    ord("／"): "/", ord("："): ":",
    ord("º"): "°",  # masculine ordinal typed for the degree sign ("35ºC")
}

# Anything that is not printable ASCII, a newline or a Vietnamese letter gets a
# per-character decision (cached); typical Vietnamese text never reaches it.
_SUSPECT = re.compile(f"[^\\x20-\\x7e\\n{_VI_LETTERS}]")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_BLOCK_TAG = re.compile(r"<\s*/?\s*(?:br|p|div|li|ul|ol|tr|h[1-6]|table|section|article)\b[^<>]{0,500}>", re.I)
_TAG = re.compile(r"<[A-Za-z/!][^<>]{0,500}>")
_ANSI = re.compile(r"\x1b\[[0-9;?]{0,32}[A-Za-z]|\x1b\][^\x07\x1b]{0,256}(?:\x07|\x1b\\)?")
_SPACES = re.compile(r"[ ]{2,}")
_LINE_SPACES = re.compile(r" *\n[\n ]*")


@lru_cache(maxsize=4096)
def _char(c: str) -> str:
    """Decide the fate of one unusual character (see module docstring)."""
    if c in _KEEP:
        return c
    cat = unicodedata.category(c)
    if cat == "Nd":
        return str(unicodedata.decimal(c))  # Arabic-Indic, fullwidth digits
    if cat == "Zs":
        return " "
    if cat[0] == "L":
        if "\uff21" <= c <= "\uff5a":  # fullwidth Latin
            return unicodedata.normalize("NFKC", c)
        return c if unicodedata.name(c, "").startswith("LATIN") else " "
    if cat[0] == "P":
        folded = unicodedata.normalize("NFKC", c)
        return folded if folded.isascii() else " "
    if cat == "Sc":
        return {"$": "$"}.get(c, " ")
    # Cc/Cf (controls, zero-width, bidi marks), Mn left over after NFC,
    # So/Sk (emoji, pictographs, skin tones), Co/Cn/Cs: dropped.
    return " " if cat in ("Cc", "So", "Sm", "Sk") else ""


def _strip_between(text: str, opener: str, closer: str) -> str:
    """Drop every ``opener`` ... ``closer`` span (case-insensitive) with str.find,
    in linear time; an opener without a closer is dropped on its own."""
    low = text.lower()
    if opener not in low:
        return text
    out, pos = [], 0
    while True:
        start = low.find(opener, pos)
        if start < 0:
            break
        end = low.find(closer, start + len(opener))
        out.append(text[pos:start])
        if end < 0:  # no closer anywhere after: drop the remaining openers alone
            rest = re.sub(re.escape(opener) + r"[^<>]{0,500}>?", " ", text[start:], flags=re.I)
            return " ".join(out) + " " + rest
        pos = end + len(closer)
    out.append(text[pos:])
    return " ".join(out)


def clean(text: str) -> str:
    """Return NFC text without markup, controls, emoji or foreign scripts;
    lines are kept (they are sentence breaks), spaces collapsed."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n")
    if "\x1b" in text:  # terminal colour codes pasted from a console
        text = _ANSI.sub("", text)
    if "<" in text:
        text = _strip_between(text, "<!--", "-->")
        text = _strip_between(text, "<script", "</script>")
        text = _strip_between(text, "<style", "</style>")
        text = _BLOCK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = _ENTITY.sub(lambda m: html.unescape(m.group()), text)
        text = unicodedata.normalize("NFC", text)
    text = text.translate(_TRANSLATE)
    text = _SUSPECT.sub(lambda m: _char(m.group()), text)
    text = _SPACES.sub(" ", text)
    text = _LINE_SPACES.sub("\n", text)
    return text.strip()
