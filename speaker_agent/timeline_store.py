"""What the timeline keeps on disk: staged plays (`timeline.json`) and played occurrences.

Split out of `timeline` so persistence - the file formats, atomic writes and the
tolerance of unreadable files after a power cut - lives apart from scheduling. Both
files sit in the agent's state directory; the timeline decides when to write them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from speaker_agent.files import atomic_write
from speaker_agent.staged import StagedPlay

# The logger of `timeline`, where this code came from: log output stays as it was.
log = logging.getLogger("speaker_agent.timeline")

MAX_OCCURRENCES = 20_000


class PlayedOccurrences:
    """Occurrence ids whose play has started, with the latest expiry of their commands.

    Persisted (atomically) so that a restart cannot make an occurrence play twice; an
    entry is kept until its command has expired, after which a command for it would be
    refused as expired anyway.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._items: dict[str, datetime] = {}
        if path is None:
            return
        try:
            raw = json.loads(path.read_bytes())
            self._items = {str(k): datetime.fromisoformat(v) for k, v in raw["occurrences"].items()}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("occurrence list %s unreadable (%s); starting with an empty one", path, exc)
            self._items = {}

    def holds(self, occurrence: str, now: datetime) -> bool:
        expires_at = self._items.get(occurrence)
        return expires_at is not None and expires_at > now

    def add(self, occurrence: str, expires_at: datetime, now: datetime) -> None:
        old = self._items.get(occurrence)
        self._items[occurrence] = max(expires_at, old) if old is not None else expires_at
        self._items = {k: v for k, v in self._items.items() if v > now}
        if len(self._items) > MAX_OCCURRENCES:
            self._items = dict(sorted(self._items.items(), key=lambda kv: kv[1])[-MAX_OCCURRENCES:])
        if self.path is None:
            return
        data = {"occurrences": {k: v.isoformat() for k, v in self._items.items()}}
        try:
            atomic_write(self.path, json.dumps(data, separators=(",", ":")).encode())
        except OSError as exc:
            log.error("cannot persist occurrence list %s: %s", self.path, exc)


def load_plays(store_path: Path | None) -> list[StagedPlay]:
    """Plays persisted by an earlier run; unreadable files or entries are skipped."""
    if store_path is None or not store_path.exists():
        return []
    try:
        raw = json.loads(store_path.read_bytes())
        items = raw["plays"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("timeline file %s unreadable (%s); starting empty", store_path, exc)
        return []
    plays = []
    for item in items if isinstance(items, list) else []:
        try:
            plays.append(StagedPlay.model_validate(item))
        except ValidationError as exc:
            log.warning("skipping unreadable staged play in %s: %s", store_path, exc.errors()[0]["msg"])
    return plays


def save_plays(store_path: Path | None, items: Iterable[StagedPlay]) -> None:
    """Rewrite `timeline.json` atomically; a failed write is logged, never raised."""
    if store_path is None:
        return
    plays = [p.model_dump(mode="json") for p in items]
    try:
        atomic_write(store_path, json.dumps({"plays": plays}, separators=(",", ":")).encode())
    except OSError as exc:
        log.error("cannot persist timeline %s: %s", store_path, exc)


__all__ = ["MAX_OCCURRENCES", "PlayedOccurrences", "load_plays", "save_plays"]
