"""The short-lived player thread the timeline hands each play to.

Split out of `timeline` so the runner loop (planning, expiry, preemption decisions)
and what happens on one play's own thread - the last exact wait before `play_at`,
driving the player, and reporting how the play ended (finished, failed, cancelled,
preempted and re-staged) - can each be read on their own. `PlayThread` is a mixin of
`Timeline`: it works on the timeline's state under the timeline's lock.

A player that can (`ArmingPlayer`: ffmpeg on a Pi) sets its output up when the play is
handed over, before the last wait, and is disarmed if the play does not happen.

Nothing but reading the clock stands between the wake-up at `play_at` and the player
call. The `started` report (an event built, serialised to JSON, handed to the MQTT
thread, and a log line) is made `started_report_s` later by a second thread launched
with the play, or by the play's own thread just before its final event if the play ends
sooner; it carries the start's stamp. On a Pi this keeps the CPU on starting the sound
at air time; in the benchmark, where many agents share a process, a report made at the
start was what the agents woke up behind (200 nodes: skew up to 23.6 ms per play with
it, 4-15 ms without; docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from protocol.reports import EventKind
from speaker_agent.clock import Clock
from speaker_agent.player import ArmedPlay, Player, PlayerError, PlayInfo
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
    settled: threading.Event = field(default_factory=threading.Event)
    """Set once the play thread is done with this play (ended, cancelled, or put back)."""
    began: threading.Event = field(default_factory=threading.Event)
    """Set at the start (nobody waits on it then) and when settled."""
    started_reported: bool = False
    report_lock: threading.Lock = field(default_factory=threading.Lock)


class PlayThread:
    """Launching a play on its own thread and seeing it through; state lives on `Timeline`."""

    node_id: str
    _clock: Clock
    _player: Player
    _lock: threading.Lock
    _wake: threading.Event
    _stopping: threading.Event
    _started_report: timedelta
    _items: dict[str, StagedPlay]
    _order: dict[str, int]
    _paths: dict[str, Path]
    _current: Playing | None
    _play_thread: threading.Thread | None

    if TYPE_CHECKING:

        def _emit(self, play: StagedPlay, kind: EventKind, detail: str | None, at: datetime | None = None) -> None: ...

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
        # Due from the hand-over, not from when the reporter thread first runs.
        due = max(playing.play.play_at, self._clock.now()) + self._started_report
        reporter = threading.Thread(
            target=self._report_started_later, args=(playing, due), name=f"loa-started-{self.node_id}", daemon=True
        )
        self._play_thread = thread
        thread.start()
        reporter.start()

    def _report_started_later(self, playing: Playing, due: datetime) -> None:
        """`started` for a play still on air `started_report_s` after its start."""
        if self._clock.wait(playing.settled, max(0.0, (due - self._clock.now()).total_seconds())):
            return  # over already: the play thread has reported
        playing.began.wait()  # set already, unless the play thread is only now waking up
        self._report_started(playing)

    def _report_started(self, playing: Playing) -> None:
        """Once per play, and always before the play's final event."""
        with playing.report_lock:
            if playing.started_at is None or playing.started_reported:
                return
            playing.started_reported = True
            play = playing.play
            late_ms = (playing.started_at - play.play_at).total_seconds() * 1000
            log.info("playing %s (%s), %.1f ms after play_at", play.cmd, play.label, late_ms)
            self._emit(play, EventKind.STARTED, None, at=playing.started_at)

    def _play(self, playing: Playing) -> None:
        armed = self._arm(playing)
        try:
            self._play_through(playing, armed)
        finally:
            if armed is not None:
                armed.disarm()  # nothing to do once it has played
            playing.settled.set()
            playing.began.set()

    def _arm(self, playing: Playing) -> ArmedPlay | None:
        """Set the output up now, ahead of `play_at`, when the player can (`ArmingPlayer`)."""
        arm = getattr(self._player, "arm", None)
        if arm is None or playing.play.is_relay:
            return None
        try:
            return arm(playing.path, playing.info)
        except Exception as exc:  # noqa: BLE001 - the unarmed start reports a real failure
            log.warning("cannot arm %s (%s); it will start unarmed", playing.play.cmd, exc)
            return None

    def _play_through(self, playing: Playing, armed: ArmedPlay | None) -> None:
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
        playing.began.set()
        error: str | None = None
        try:
            if play.is_relay:
                relay = getattr(self._player, "relay", None)
                if relay is None:
                    raise PlayerError("this player cannot relay streams")
                relay(play.url or "", play.expires_at, playing.stop_event, playing.info)
            else:
                assert play.audio is not None
                if armed is not None:
                    armed.play(play.audio.duration_ms, playing.stop_event)
                else:
                    self._player.play(playing.path, play.audio.duration_ms, playing.stop_event, playing.info)
        except Exception as exc:  # noqa: BLE001 - any player failure is a `failed` event
            error = f"player failed: {exc}"[:500]
            log.error("play %s failed: %s", play.cmd, exc)
        self._report_started(playing)
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


STARTED_REPORT_S = 0.25
"""Default delay of the `started` report after the start (by the timeline's clock)."""

__all__ = ["STARTED_REPORT_S", "PlayThread", "Playing"]
