"""Sentence splitting for pauses and for engines with per-request limits.

Meant for the output of ``normalize`` (where "." "!" "?" only end sentences),
but also safe on raw text: it does not split after a known abbreviation dot
("TP. Hải Phòng"), a single capital initial ("P. Tân Mai") or inside a number
("1.500").  Punctuation stays attached, because engines pause on it.
Sentences longer than ``max_chars`` are cut at commas, then at spaces.
"""

from __future__ import annotations

import re

from .abbreviations import ABBREVIATIONS

DEFAULT_MAX_CHARS = 300

_DOTTED = {k[:-1] for k in ABBREVIATIONS if k.endswith(".")}
_BOUNDARY = re.compile(r"(?<=[.!?])\s+|\n+")
_LAST_WORD = re.compile(r"(\S+)[.]$")


def _protected(piece: str) -> bool:
    """True if the dot ending ``piece`` belongs to an abbreviation or initial."""
    m = _LAST_WORD.search(piece)
    if not m:
        return False
    word = m.group(1)
    return word in _DOTTED or (len(word) == 1 and word.isupper())


def _cut(sentence: str, max_chars: int) -> list[str]:
    """Cut an over-long sentence at the last comma (else space) before the limit."""
    out = []
    while len(sentence) > max_chars:
        window = sentence[: max_chars + 1]
        at = window.rfind(", ")
        at = at + 1 if at > 0 else window.rfind(" ")
        if at <= 0:
            at = max_chars
        out.append(sentence[:at].strip())
        sentence = sentence[at:].strip()
    if sentence:
        out.append(sentence)
    return out


def split_sentences(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """Split ``text`` into sentences (terminal punctuation kept), none longer
    than ``max_chars``; empty pieces are dropped."""
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    pieces: list[str] = []
    carry = ""
    for piece in _BOUNDARY.split(text):
        piece = piece.strip()
        if not piece:
            continue
        carry = f"{carry} {piece}" if carry else piece
        if piece.endswith(".") and _protected(piece):
            continue
        pieces.append(carry)
        carry = ""
    if carry:
        pieces.append(carry)
    return [part for sentence in pieces for part in _cut(sentence, max_chars)]
