"""The lexicon as the text filter uses it: one compiled pattern, cached until an edit.

Every render asks `LexiconCache.apply(text)`. That costs one small version query
(no query per word, no reload per render); the entries are loaded and compiled
again only when the version changed, so edits made through the API, by `loa tts`
or in another controller process all take effect on the next render.

Matching: case-insensitive, whole words (a term never matches inside a longer
word: "Ea" does not touch "Eakar"), any run of whitespace where the term has a
space, any apostrophe (' ’ ʼ ‘) where it has one, and the longest term wins where
terms overlap ("Ea H'leo" before "Ea"). One left-to-right pass: a replacement is
never matched again, so an entry cannot loop or feed another.

If the database cannot be read, the last compiled lexicon keeps being used (and a
warning is logged): a storm warning must not fail because of the pronunciation list.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from controller.lexicon.models import APOSTROPHES, LexiconEntry, term_key
from controller.lexicon.store import lexicon_version

log = logging.getLogger(__name__)


def _term_pattern(term: str) -> str:
    parts = []
    for ch in term:
        if ch == " ":
            parts.append(r"\s+")
        elif ch in APOSTROPHES:
            parts.append(f"[{APOSTROPHES}]")
        else:
            parts.append(re.escape(ch))
    return "".join(parts)


@dataclass(frozen=True)
class CompiledLexicon:
    """Immutable, so renders in several threads can share one without locking."""

    version: str
    spoken: dict[str, str] = field(default_factory=dict)
    """term_key -> spoken form."""
    pattern: re.Pattern[str] | None = None

    @classmethod
    def build(cls, version: str, entries: list[tuple[str, str]]) -> CompiledLexicon:
        """`entries` are (term, spoken) pairs; terms are NFC with single spaces."""
        spoken = {term_key(term): said for term, said in entries}
        if not spoken:
            return cls(version)
        terms = sorted({term for term, _ in entries}, key=lambda t: (-len(t), t))
        alternatives = "|".join(_term_pattern(t) for t in terms)
        return cls(version, spoken, re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE))

    def __len__(self) -> int:
        return len(self.spoken)

    def apply(self, text: str) -> str:
        """`text` with every lexicon term replaced by its spoken form."""
        if self.pattern is None:
            return text
        return self.pattern.sub(lambda m: self.spoken.get(term_key(m.group(0)), m.group(0)), text)


EMPTY = CompiledLexicon("empty")


def load_compiled(session: Session) -> CompiledLexicon:
    """Read version and entries in one session (consistent on SQLite and PostgreSQL) and compile."""
    version = lexicon_version(session)
    rows = session.exec(select(LexiconEntry.term, LexiconEntry.spoken)).all()
    return CompiledLexicon.build(version, [(term, spoken) for term, spoken in rows])


class LexiconCache:
    """The compiled lexicon of one database, refreshed when its version changes. Thread-safe."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._compiled: CompiledLexicon | None = None
        self.compilations = 0
        """How many times the entries were loaded and compiled (for tests and the log)."""

    def current(self) -> CompiledLexicon:
        try:
            with Session(self._engine) as session:
                version = lexicon_version(session)
                with self._lock:
                    if self._compiled is None or self._compiled.version != version:
                        self._compiled = load_compiled(session)
                        self.compilations += 1
                        log.info("lexicon %s compiled: %d entries", self._compiled.version, len(self._compiled))
                    return self._compiled
        except SQLAlchemyError as exc:
            log.warning("cannot read the lexicon (%s); using the last one loaded", type(exc).__name__)
            return self._compiled or EMPTY

    def apply(self, text: str) -> str:
        return self.current().apply(text)


__all__ = ["EMPTY", "CompiledLexicon", "LexiconCache", "load_compiled"]
