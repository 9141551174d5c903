"""Text clean-up and splitting before speech synthesis.

Officials paste text from phones, Word and Zalo: the same Vietnamese word can arrive
precomposed (NFC) or decomposed (NFD), with tabs, non-breaking spaces and line
breaks. Normalising to NFC and collapsing whitespace makes the render-cache key
depend on what is *said*, not on how it was typed, and gives engines the form their
dictionaries expect.
"""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?…;:])\s+")
_CLAUSE_END = re.compile(r"(?<=[,–—])\s+")


def clean_text(text: str) -> str:
    """NFC-normalise, turn control characters into spaces and collapse whitespace."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    return _WHITESPACE.sub(" ", text).strip()


def has_speech(text: str) -> bool:
    """True when there is at least one letter or digit to say."""
    return any(ch.isalnum() for ch in text)


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    """Greedily join pieces with spaces into chunks of at most ``max_chars``."""
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current} {piece}" if current else piece
        if len(candidate) <= max_chars:
            current = candidate
        else:
            if current:
                chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


def _split_piece(piece: str, max_chars: int, separators: list[re.Pattern[str]]) -> list[str]:
    """Split one over-long piece at the coarsest boundary that makes it fit."""
    if len(piece) <= max_chars:
        return [piece]
    if separators:
        parts = separators[0].split(piece)
        if len(parts) > 1:
            out: list[str] = []
            for part in parts:
                out.extend(_split_piece(part, max_chars, separators[1:]))
            return _pack(out, max_chars)
        return _split_piece(piece, max_chars, separators[1:])
    # A single "word" longer than the limit (a URL, a pasted hash): cut it hard.
    return [piece[i : i + max_chars] for i in range(0, len(piece), max_chars)]


def split_text(text: str, max_chars: int) -> list[str]:
    """Split cleaned text into chunks an engine accepts, preferring sentence ends.

    Engines cap the text per request; cutting at sentence, then clause, then word
    boundaries keeps the intonation of each chunk natural.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    if len(text) <= max_chars:
        return [text] if text else []
    return _split_piece(text, max_chars, [_SENTENCE_END, _CLAUSE_END, _WHITESPACE])
