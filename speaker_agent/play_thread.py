"""The short-lived player thread the timeline hands each play to.

Split out of `timeline` so the runner loop (planning, expiry, preemption decisions)
and what happens on one play's own thread - the last exact wait before `play_at`,
driving the player, and reporting how the play ended (finished, failed, cancelled,
preempted and re-staged) - can each be read on their own. `PlayThread` is a mixin of
`Timeline`: it works on the timeline's state under the timeline's lock.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from protocol.reports import EventKind
from speaker_agent.clock import Clock
from speaker_agent.player import Player, PlayerError, PlayInfo
from speaker_agent.staged import StagedPlay

# The logger of `timeline`, where this code came from: log output stays as it was.
log = logging.getLogger("speaker_agent.timeline")


@dataclass
class Playing:
    play: StagedPlay
    path: Path
    info: PlayInfo
    seq: int
    stop_event: threading.Event = field(default_factory=threading.Event)
    started_at: datetime | None = None
    stop_detail: str | None = None


class PlayThread:
    """Launching a play on its own thread and seeing it through; state lives on `Timeline`."""

    node_id: str
    _clock: Clock
    _player: Player
    _lock: threading.Lock
    _wake: threading.Event
    _stopping: threading.Event
    _items: dict[str, StagedPlay]
    _order: dict[str, int]
    _paths: dict[str, Path]
    _current: Playing | None
    _play_thread: threading.Thread | None

    if TYPE_CHECKING:

        def _emit(self, play: StagedPlay, kind: EventKind, detail: str | None) -> None: ...

        def _save_locked(self) -> None: ...

    def _unlaunch(self, playing: Playing) -> None:
        """Interrupted while waiting for its exact start: back onto the timeline, no event."""
        with self._lock:
            self._items[playing.play.cmd] = playing.play
            self._paths[playing.play.cmd] = playing.path
            self._order[playing.play.cmd] = playing.seq
            self._current = None
            self._save_locked()
        self._wake.set()

    def _launch(self, playing: Playing) -> None:
        thread = threading.Thread(
            target=self._play, args=(playing,), name=f"loa-play-{self.node_id}", daemon=True
        )
        self._play_thread = thread
        thread.start()

    def _play(self, playing: Playing) -> None:
        play = playing.play
        ahead = (play.play_at - self._clock.now()).total_seconds()
        if ahead > 0 and self._clock.wait(playing.stop_event, ahead):
            if playing.info.stop_reason == "cancelled":
                with self._lock:
                    self._current = None
                self._emit(play, EventKind.CANCELLED, playing.stop_detail)
                self._wake.set()
            else:
                self._unlaunch(playing)
            return
        now = self._clock.now()
        if now >= play.expires_at:  # only when expires_at <= play_at: a controller bug
            with self._lock:
                self._current = None
            self._emit(play, EventKind.EXPIRED, "play_at is not before expires_at")
            self._wake.set()
            return
        playing.started_at = playing.info.started_at = now
        late_ms = (playing.started_at - play.play_at).total_seconds() * 1000
        log.info("playing %s (%s), %.1f ms after play_at", play.cmd, play.label, late_ms)
        self._emit(play, EventKind.STARTED, None)
        error: str | None = None
        try:
            if play.is_relay:
                relay = getattr(self._player, "relay", None)
                if relay is None:
                    raise PlayerError("this player cannot relay streams")
                relay(play.url or "", play.expires_at, playing.stop_event, playing.info)
            else:
                assert play.audio is not None
                self._player.play(playing.path, play.audio.duration_ms, playing.stop_event, playing.info)
        except Exception as exc:  # noqa: BLE001 - any player failure is a `failed` event
            error = f"player failed: {exc}"[:500]
            log.error("play %s failed: %s", play.cmd, exc)
        # Report the end before freeing the slot, so this play's terminal event always
        # precedes the `started` of whatever plays next.
        if error is not None:
            self._emit(play, EventKind.FAILED, error)
        elif playing.stop_event.is_set() and playing.info.stop_reason == "preempted":
            self._preempted(playing)
        elif playing.stop_event.is_set() and playing.info.stop_reason == "cancelled":
            self._emit(play, EventKind.CANCELLED, playing.stop_detail)
        elif playing.stop_event.is_set() and play.is_relay and self._clock.now() < play.expires_at:
            # A relay interrupted by the agent stopping stays on the timeline (on disk):
            # the next start joins it in progress. No event: it is not over.
            with self._lock:
                self._items[play.cmd] = play
                self._paths[play.cmd] = playing.path
                self._order[play.cmd] = playing.seq
                self._save_locked()
        elif playing.stop_event.is_set():
            self._emit(play, EventKind.FAILED, "interrupted: agent stopped")
        else:
            self._emit(play, EventKind.FINISHED, None)
        with self._lock:
            self._current = None
        self._wake.set()

    def _preempted(self, playing: Playing) -> None:
        """"Restart" policy: back on the timeline (before the event, so the cache pin holds)
        to play again from the start after the emergency, unless its command has expired."""
        play = playing.play
        restage = not self._stopping.is_set() and self._clock.now() < play.expires_at
        if restage:
            with self._lock:
                self._items[play.cmd] = play
                self._paths[play.cmd] = playing.path
                self._order[play.cmd] = playing.seq
                self._save_locked()
            if play.is_relay:
                log.info("relay %s preempted; it resumes after the interruption", play.cmd)
                self._emit(play, EventKind.PREEMPTED, "interrupted by a higher-priority play; resumes after it")
            else:
                log.info("play %s preempted; it restarts after the emergency", play.cmd)
                self._emit(play, EventKind.PREEMPTED, "stopped by an emergency play; restarts after it")
            self._emit(play, EventKind.READY, "re-staged after preemption")
        else:
            self._emit(play, EventKind.PREEMPTED, "stopped by an emergency play")


__all__ = ["PlayThread", "Playing"]
