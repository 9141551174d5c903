"""Test factories: a small province, fake audio pipeline, publisher and clock."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from audio.engines.base import Voice
from audio.engines.espeak import ESPEAK_VOICES
from audio.errors import AudioError
from audio.store import AudioStore
from controller import provision
from controller.models import Node, Zone

# commune xa-an-binh: thon-dong (3 nodes), thon-tay (2 nodes)
# commune xa-phu-my:  thon-bac (1 node), thon-nam (no nodes yet)
ZONES: tuple[tuple[str, str, str, str | None], ...] = (
    ("xa-an-binh", "Xã An Bình", "commune", None),
    ("thon-dong", "Thôn Đông", "hamlet", "xa-an-binh"),
    ("thon-tay", "Thôn Tây", "hamlet", "xa-an-binh"),
    ("xa-phu-my", "Xã Phú Mỹ", "commune", None),
    ("thon-bac", "Thôn Bắc", "hamlet", "xa-phu-my"),
    ("thon-nam", "Thôn Nam", "hamlet", "xa-phu-my"),
)
NODES: tuple[tuple[str, str, str], ...] = (
    ("dong-1", "Cụm loa nhà văn hóa", "thon-dong"),
    ("dong-2", "Cụm loa chợ", "thon-dong"),
    ("dong-3", "Cụm loa trường học", "thon-dong"),
    ("tay-1", "Cụm loa đầu thôn", "thon-tay"),
    ("tay-2", "Cụm loa cuối thôn", "thon-tay"),
    ("bac-1", "Cụm loa thôn Bắc", "thon-bac"),
)
ALL_NODES = frozenset(n[0] for n in NODES)


def make_zone(session: Session, id: str, name: str | None = None, kind: str = "hamlet", parent_id: str | None = None) -> Zone:
    return provision.create_zone(session, id, name or id.replace("-", " ").title(), kind, parent_id)


def make_node(session: Session, id: str, zone_id: str, name: str | None = None) -> tuple[Node, str]:
    return provision.create_node(session, id, name or f"Cụm loa {id}", zone_id)


def seed_province(session: Session) -> dict[str, str]:
    """Create ZONES and NODES; returns {node id: MQTT password}."""
    for zid, name, kind, parent in ZONES:
        make_zone(session, zid, name, kind, parent)
    return {nid: make_node(session, nid, zone, name)[1] for nid, name, zone in NODES}


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 7, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class FakePublisher:
    """Records publishes; `fail_topics` makes publishing to those topics raise."""

    published: list[tuple[str, bytes, int, bool]] = field(default_factory=list)
    connected: bool = True
    fail_topics: set[str] = field(default_factory=set)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        if topic in self.fail_topics:
            raise RuntimeError("broker link is broken")
        self.published.append((topic, payload, qos, retain))

    @property
    def topics(self) -> list[str]:
        return [p[0] for p in self.published]


@dataclass(frozen=True)
class FakeRendered:
    sha256: str
    size: int
    duration_ms: int
    path: Path
    loudness_lufs: float
    reused: bool
    spoken_text: str
    fallback_reason: str | None = None


class FakePipeline:
    """Writes deterministic bytes to the real AudioStore instead of running TTS.

    Offers espeak-ng's voices unless given others; `fallback_reason` is reported on
    every render while set (as a pipeline whose primary engine failed would).
    """

    def __init__(self, store_dir: Path, voices: tuple[Voice, ...] = ESPEAK_VOICES) -> None:
        self.store = AudioStore(store_dir)
        self.voices = voices
        self.requests: list[Any] = []
        self.fail_with: Exception | None = None
        self.fallback_reason: str | None = None
        self._lock = threading.Lock()

    def render(self, req: Any) -> FakeRendered:
        with self._lock:
            self.requests.append(req)
        if self.fail_with is not None:
            raise self.fail_with
        seed = hashlib.sha256(f"{req.text}|{req.voice}|{req.rate}|{req.chime}".encode()).digest()
        data = b"OggS" + seed * 64
        sha = self.store.put_bytes(data)
        path = self.store.path_for(sha)
        return FakeRendered(sha, len(data), 1234, path, -16.0, False, req.text, self.fallback_reason)

    def close(self) -> None:
        pass


__all__ = [
    "ALL_NODES",
    "AudioError",
    "FakeClock",
    "FakePipeline",
    "FakePublisher",
    "FakeRendered",
    "NODES",
    "ZONES",
    "make_node",
    "make_zone",
    "seed_province",
]
