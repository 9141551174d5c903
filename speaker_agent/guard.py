"""Command acceptance: which MQTT messages the node obeys.

The broker authenticates clients, but a node trusts only the controller's signature:
a leaked broker password must not make a hamlet's speakers say anything. The guard
opens the signed envelope over the topic it arrived on (so a command signed for one
node cannot be replayed onto a zone), refuses ids it has already seen (persisted, so a
restart does not reopen the door), refuses commands issued in the node's future and
sorts out expired ones. Garbage never raises: it is logged, counted and dropped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from protocol import topics
from protocol.base import ProtocolError
from protocol.commands import Command
from protocol.signing import SignatureError, Verifier
from speaker_agent.clock import Clock
from speaker_agent.files import atomic_write

log = logging.getLogger(__name__)

MAX_SEEN_IDS = 20_000
"""Bound on remembered ids; far above what a node sees within any expiry window."""


class Verdict(StrEnum):
    ACCEPT = "accept"
    """Authentic, new, current and meant for this node: act on it."""
    EXPIRED = "expired"
    """Authentic and new but past expires_at: report `expired`, do not act."""
    IGNORE = "ignore"
    """Authentic but narrowed to other nodes of the zone: not ours, not an error."""
    REJECT = "reject"
    """Garbage, forged, replayed or from the future: logged and counted."""


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    command: Command | None = None
    reason: str = ""


class SeenIds:
    """Command ids already acted on, with their expiry, persisted in one JSON file.

    An id only needs remembering until its command has expired (plus the clock skew
    allowance): after that the command is refused as expired anyway.
    """

    def __init__(self, path: Path, grace: timedelta) -> None:
        self.path = path
        self._grace = grace
        self._ids: dict[str, datetime] = {}
        self._load()

    def _load(self) -> None:
        try:
            raw = json.loads(self.path.read_bytes())
            self._ids = {str(k): datetime.fromisoformat(v) for k, v in raw["ids"].items()}
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("replay list %s unreadable (%s); starting with an empty one", self.path, exc)
            self._ids = {}

    def __contains__(self, cmd_id: str) -> bool:
        return cmd_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, cmd_id: str, expires_at: datetime, now: datetime) -> None:
        self._ids[cmd_id] = expires_at
        cutoff = now - self._grace
        self._ids = {k: v for k, v in self._ids.items() if v >= cutoff}
        if len(self._ids) > MAX_SEEN_IDS:
            keep = sorted(self._ids.items(), key=lambda kv: kv[1])[-MAX_SEEN_IDS:]
            self._ids = dict(keep)
        data = {"ids": {k: v.isoformat() for k, v in self._ids.items()}}
        try:
            atomic_write(self.path, json.dumps(data, separators=(",", ":")).encode())
        except OSError as exc:
            # A full SD card must not make the node refuse every command; the id stays
            # remembered in memory, only a restart could forget it.
            log.error("cannot persist replay list %s: %s", self.path, exc)


class Guard:
    """Decides for every message on a command topic whether the node acts on it."""

    def __init__(
        self,
        node_id: str,
        zones: list[str],
        verifier: Verifier,
        clock: Clock,
        state_dir: Path,
        max_clock_skew_s: float = 60.0,
    ) -> None:
        self.node_id = node_id
        self._verifier = verifier
        self._clock = clock
        self._skew = timedelta(seconds=max_clock_skew_s)
        self._node_topic = topics.node_cmd(node_id)
        self._zone_topics = {topics.zone_cmd(z) for z in zones}
        self._seen = SeenIds(Path(state_dir) / "seen_commands.json", grace=self._skew)
        self._lock = threading.RLock()
        self._rejected = 0
        self._log_window = (0.0, 0)  # (window start, warnings logged in it)

    @property
    def rejected(self) -> int:
        """Commands refused since start (garbage, forged, replayed, future); for telemetry."""
        with self._lock:
            return self._rejected

    def check(self, topic: str, payload: bytes) -> Decision:
        """Classify one message; never raises."""
        try:
            with self._lock:
                return self._check(topic, payload)
        except Exception as exc:  # noqa: BLE001 - the last line of defence for garbage
            with self._lock:
                return self._reject(topic, f"unexpected {type(exc).__name__}: {exc}")

    def _check(self, topic: str, payload: bytes) -> Decision:
        if topic != self._node_topic and topic not in self._zone_topics:
            return self._reject(topic, "not one of this node's command topics")
        try:
            cmd = self._verifier.open(topic, payload)
        except SignatureError as exc:
            return self._reject(topic, f"bad signature: {exc}")
        except (ProtocolError, RecursionError) as exc:
            return self._reject(topic, f"malformed: {exc}")
        if topic != self._node_topic and cmd.nodes is not None and self.node_id not in cmd.nodes:
            log.debug("command %s on %s is for other nodes", cmd.id, topic)
            return Decision(Verdict.IGNORE, cmd, "narrowed to other nodes")
        if cmd.id in self._seen:
            # Usually a QoS 1 redelivery or the same command on two of our topics, not an
            # attack: counted like any refusal, but not worth a warning.
            return self._reject(topic, f"replayed command {cmd.id}", cmd, level=logging.INFO)
        now = self._clock.now()
        if cmd.issued_at - now > self._skew:
            return self._reject(topic, f"command {cmd.id} issued {cmd.issued_at.isoformat()}, in this node's future", cmd)
        self._seen.add(cmd.id, cmd.expires_at, now)
        if now >= cmd.expires_at:
            log.info("command %s arrived expired (expires_at %s)", cmd.id, cmd.expires_at.isoformat())
            return Decision(Verdict.EXPIRED, cmd, "arrived after expires_at")
        return Decision(Verdict.ACCEPT, cmd)

    def _reject(self, topic: str, reason: str, cmd: Command | None = None, level: int = logging.WARNING) -> Decision:
        reason = reason[:300]
        self._rejected += 1
        if level < logging.WARNING:
            log.log(level, "dropped message on %s: %s", topic, reason)
            return Decision(Verdict.REJECT, cmd, reason)
        now = time.monotonic()
        start, count = self._log_window
        if now - start > 60:
            start, count = now, 0
        if count < 20:
            log.warning("rejected message on %s: %s", topic, reason)
        elif count == 20:
            log.warning("more rejected messages; not logging the rest for a minute")
        self._log_window = (start, count + 1)
        return Decision(Verdict.REJECT, cmd, reason)


__all__ = ["Decision", "Guard", "SeenIds", "Verdict"]
