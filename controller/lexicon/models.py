"""Lexicon tables and their API shapes: how officials want a word or phrase said.

Each entry maps a `term` (a local place name, an ethnic name, a brand, an
abbreviation) to its `spoken` form. Terms match case-insensitively, as whole words,
in NFC and with any apostrophe (' ’ ʼ) — so `term_key` is what uniqueness is checked
on: "KBNN" and "kbnn" are the same entry, and the database enforces that even for
two officials saving at once.

`LexiconState` is a one-row counter bumped in the same transaction as every edit,
so the compiled lexicon the text filter keeps in memory can tell cheaply that it is
stale (see `controller.lexicon.compiled`).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import DDL, event
from sqlmodel import Field, SQLModel

from controller.models import UtcDateTime

MAX_TERM_CHARS = 100
MAX_SPOKEN_CHARS = 300
MAX_NOTE_CHARS = 500
MAX_ENTRIES = 5000
"""Matching stays well under 30 ms per announcement up to here (one compiled regex)."""

APOSTROPHES = "'’ʼ‘"
_WHITESPACE = re.compile(r"\s+")


def clean_phrase(value: str, what: str, limit: int) -> str:
    """NFC, whitespace collapsed; refuses empty, over-long and control-character input."""
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cs":
            raise ValueError(f"{what} contains an unpaired surrogate (invalid Unicode)")
        if category == "Cc" and ch not in "\n\r\t":
            raise ValueError(f"{what} contains the control character U+{ord(ch):04X}")
    value = _WHITESPACE.sub(" ", unicodedata.normalize("NFC", value)).strip()
    if not value:
        raise ValueError(f"{what} is empty")
    if len(value) > limit:
        raise ValueError(f"{what} is {len(value)} characters; the limit is {limit}")
    if not any(ch.isalnum() for ch in value):
        raise ValueError(f"{what} has no letter or digit")
    return value


def term_key(term: str) -> str:
    """The form terms are compared in: NFC, single spaces, one apostrophe, lower case."""
    text = _WHITESPACE.sub(" ", unicodedata.normalize("NFC", term)).strip()
    for mark in APOSTROPHES[1:]:
        text = text.replace(mark, "'")
    return text.lower()


class LexiconEntry(SQLModel, table=True):
    __tablename__ = "lexicon_entry"

    id: int | None = Field(default=None, primary_key=True)
    term: str = Field(max_length=MAX_TERM_CHARS)
    """As the official typed it (NFC)."""
    term_key: str = Field(max_length=MAX_TERM_CHARS, unique=True, index=True)
    """`term_key(term)`; unique, so one term has one reading."""
    spoken: str = Field(max_length=MAX_SPOKEN_CHARS)
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class LexiconState(SQLModel, table=True):
    """One row (id 1): a counter bumped by every lexicon edit."""

    __tablename__ = "lexicon_state"

    id: int = Field(default=1, primary_key=True)
    version: int = 0


# The counter row exists from the moment the table does, so an edit only ever UPDATEs it
# (two first edits at once cannot both try to INSERT it).
event.listen(
    LexiconState.__table__,  # type: ignore[attr-defined]
    "after_create",
    DDL("INSERT INTO lexicon_state (id, version) VALUES (1, 0)"),
)


class LexiconEntryIn(BaseModel):
    """Body of `POST /api/v1/lexicon` and `PUT /api/v1/lexicon/{id}` (all fields, every time)."""

    model_config = ConfigDict(extra="forbid")

    term: str = Field(max_length=4 * MAX_TERM_CHARS)
    """Word or phrase as written in announcements, e.g. "Ea H'leo", "KBNN"."""
    spoken: str = Field(max_length=4 * MAX_SPOKEN_CHARS)
    """How to say it, in plain Vietnamese words, e.g. "Ê a Hơ lê ô"."""
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS)
    """Why, or who asked (free text)."""

    @field_validator("term")
    @classmethod
    def _term(cls, value: str) -> str:
        return clean_phrase(value, "term", MAX_TERM_CHARS)

    @field_validator("spoken")
    @classmethod
    def _spoken(cls, value: str) -> str:
        return clean_phrase(value, "spoken", MAX_SPOKEN_CHARS)

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\r\t" for ch in value):
            raise ValueError("note contains control characters or invalid Unicode")
        return unicodedata.normalize("NFC", value) or None


class LexiconEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    term: str
    spoken: str
    note: str | None
    updated_at: datetime


class LexiconPage(BaseModel):
    items: list[LexiconEntryPublic]
    version: str
    """Changes with every edit; the render cache follows the spoken text, so edits take effect at once."""


__all__ = [
    "APOSTROPHES",
    "MAX_ENTRIES",
    "MAX_NOTE_CHARS",
    "MAX_SPOKEN_CHARS",
    "MAX_TERM_CHARS",
    "LexiconEntry",
    "LexiconEntryIn",
    "LexiconEntryPublic",
    "LexiconPage",
    "LexiconState",
    "clean_phrase",
    "term_key",
]
