"""The node's own schedule: staged plays started at `play_at` by the node's clock.

Commands arrive ahead of air time and the audio is fetched ahead too, so when the 4G
link drops at air time nothing is lost: the timeline holds every upcoming play (on disk
as well, `timeline.json`, so a reboot keeps them) and starts each one from its own
clock. Rules:

* a play starts at `play_at`, or at once if its audio became ready later but before
  `expires_at`; it never starts at or after `expires_at` (it is reported `expired`);
* one play at a time: a play whose time comes while another plays waits for it,
  still subject to its own expiry; when several are due, they go by priority rank
  (emergency, priority, normal), then the earlier `play_at`, then the command id - the
  order the controller's `schedules/priority.py` plans with;
* preemption, "restart" policy: an emergency play stops a running non-emergency one,
  which is reported `preempted`; if that play's command has not expired it goes back on
  the timeline (reported `ready` again) and plays again from the start once the
  emergency is over, otherwise it is dropped and `preempted` is its last event.
  Emergencies never preempt each other: they queue;
* occurrences: a play carrying an occurrence id is the only play of that occurrence on
  the node. A new command for an occurrence that is staged replaces the staged play; one
  for an occurrence that is playing or has played (remembered on disk in
  `occurrences.json` until the command expires) is ignored;
* `cancel` removes staged plays (and stops a matching play that is on air), `stop`
  stops the play on air; both report `cancelled`.

One thread sleeps until the next thing can happen (woken early whenever the timeline
changes) and hands each play to a short-lived player thread, so it keeps watching
expiry and preemption while something plays. The hand-over happens `prestart_s` ahead
of `play_at` and the player thread makes the last, exact wait itself: between its
wake-up and the start there is then nothing but reading the clock - which matters when
many agents share one process (a benchmark) and contend for the GIL at the same instant.
For the same reason `started` is reported a moment later (`play_thread`).

The code is split by responsibility: `staged` (the StagedPlay model and staging
outcomes), `timeline_store` (timeline.json and occurrences.json), `policy` (due order
and preemption), `play_thread` (each play's own thread) and this module, the runner
loop and the public `Timeline`. Everything is importable from here as before.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path

from protocol.reports import EventKind, NowPlaying, StagedEntry, StagedRelay
from speaker_agent.clock import Clock
from speaker_agent.play_thread import STARTED_REPORT_S, Playing, PlayThread
from speaker_agent.player import Player, PlayInfo
from speaker_agent.policy import due_key, preempts
from speaker_agent.staged import EventSink, StagedPlay, StageOutcome, StageResult
from speaker_agent.timeline_store import PlayedOccurrences, load_plays, save_plays

log = logging.getLogger(__name__)

MAX_REPORTED = 1000
"""At most this many staged plays go into a NodeTimeline report (the earliest ones)."""


class Timeline(PlayThread):
    def __init__(
        self,
        node_id: str,
        clock: Clock,
        player: Player,
        on_event: EventSink,
        store_path: Path | None = None,
        max_wait_s: float = 1.0,
        prestart_s: float = 0.2,
        started_report_s: float = STARTED_REPORT_S,
    ) -> None:
        self.node_id = node_id
        self._clock = clock
        self._player = player
        self._on_event = on_event
        self._store_path = store_path
        self._max_wait_s = max_wait_s
        self._prestart = timedelta(seconds=prestart_s)
        self._started_report = timedelta(seconds=max(started_report_s, 0.01))
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._items: dict[str, StagedPlay] = {}
        self._order: dict[str, int] = {}
        self._paths: dict[str, Path] = {}
        self._seq = 0
        self._current: Playing | None = None
        self._thread: threading.Thread | None = None
        self._play_thread: threading.Thread | None = None
        self._played = PlayedOccurrences(
            store_path.with_name("occurrences.json") if store_path is not None else None
        )

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"loa-timeline-{self.node_id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the loop and interrupt the current play (reported `failed`: agent stopped).

        Staged plays stay in `timeline.json` for the next start.
        """
        self._stopping.set()
        self._interrupt("stopped")
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None
        # The loop has ended, so no new play can start; stop one it may just have launched.
        self._interrupt("stopped")
        player = self._play_thread
        if player is not None and player is not threading.current_thread():
            player.join(timeout)

    def _interrupt(self, reason: str) -> None:
        with self._lock:
            if self._current is not None:
                self._current.info.stop_reason = reason
                self._current.stop_event.set()

    # -- changes ------------------------------------------------------------------------

    def stage(self, play: StagedPlay, *, restored: bool = False) -> StageResult:
        """Put a play on the timeline, waiting for its audio; falsy if not staged.

        A staged play of the same occurrence is replaced (returned in the result, no
        event: the caller reports it). A play whose occurrence is on air, or has been
        (unless `restored` from timeline.json), is not staged.
        """
        with self._lock:
            if play.cmd in self._items or (self._current and self._current.play.cmd == play.cmd):
                return StageResult(StageOutcome.DUPLICATE)
            replaced = None
            if play.occurrence is not None:
                state = self._occurrence_state_locked(play.occurrence)
                if state == "playing" or (state == "done" and not restored):
                    if state == "done":
                        self._played.add(play.occurrence, play.expires_at, self._clock.now())
                        return StageResult(StageOutcome.OCCURRENCE_DONE)
                    return StageResult(StageOutcome.OCCURRENCE_PLAYING)
                if state == "staged":
                    old = next(p for p in self._items.values() if p.occurrence == play.occurrence)
                    replaced = self._remove_locked(old.cmd)
            self._items[play.cmd] = play
            self._seq += 1
            self._order[play.cmd] = self._seq
            self._save_locked()
        self._wake.set()
        return StageResult(StageOutcome.REPLACED if replaced else StageOutcome.STAGED, replaced)

    def occurrence_state(self, occurrence: str) -> str | None:
        """"staged", "playing" (on air or about to start), "done" (has played) or None."""
        with self._lock:
            return self._occurrence_state_locked(occurrence)

    def _occurrence_state_locked(self, occurrence: str) -> str | None:
        if any(p.occurrence == occurrence for p in self._items.values()):
            return "staged"
        if self._current is not None and self._current.play.occurrence == occurrence:
            return "playing"
        if self._played.holds(occurrence, self._clock.now()):
            return "done"
        return None

    def cancel(self, announcement: int | None, occurrences: list[str] | None, detail: str) -> list[StagedPlay]:
        """Withdraw plays of `announcement` or of `occurrences` (either matches).

        Staged ones are removed (timeline.json rewritten) and reported `cancelled` here;
        a matching play on air (or handed to its player thread) is stopped and reported
        `cancelled` by its thread. Returns every play affected; empty when nothing matched.
        """
        wanted = set(occurrences or ())

        def matches(p: StagedPlay) -> bool:
            return (announcement is not None and p.announcement == announcement) or (
                p.occurrence is not None and p.occurrence in wanted
            )

        with self._lock:
            removed = [self._remove_locked(p.cmd) for p in list(self._items.values()) if matches(p)]
            removed = [p for p in removed if p is not None]
            if removed:
                self._save_locked()
            cur = self._current
            hit = cur is not None and matches(cur.play) and not cur.stop_event.is_set()
            if hit:
                cur.info.stop_reason = "cancelled"
                cur.stop_detail = detail
                cur.stop_event.set()
        for play in removed:
            self._emit(play, EventKind.CANCELLED, detail)
        self._wake.set()
        return removed + ([cur.play] if hit else [])

    def stop_current(self, detail: str) -> StagedPlay | None:
        """Stop the play on air (reported `cancelled` with `detail`); staged plays stay."""
        with self._lock:
            cur = self._current
            if cur is None or cur.started_at is None or cur.stop_event.is_set():
                return None
            cur.info.stop_reason = "cancelled"
            cur.stop_detail = detail
            cur.stop_event.set()
        self._wake.set()
        return cur.play

    def report(self) -> list[StagedEntry]:
        """Staged (not started, unexpired) plays for a NodeTimeline, earliest first."""
        now = self._clock.now()
        with self._lock:
            plays = sorted(
                # A test tone (no announcement) is the node's own business, not the programme's.
                (p for p in self._items.values() if p.expires_at > now and not p.is_relay and p.announcement is not None),
                key=lambda p: (p.play_at, p.cmd),
            )[:MAX_REPORTED]
        return [StagedEntry(cmd=p.cmd, announcement=p.announcement or 0, occurrence=p.occurrence, play_at=p.play_at)
                for p in plays]

    def report_relays(self) -> list[StagedRelay]:
        """Staged (not on air, not ended) relays for a NodeTimeline, earliest first."""
        now = self._clock.now()
        with self._lock:
            relays = sorted(
                (p for p in self._items.values() if p.expires_at > now and p.is_relay), key=lambda p: (p.play_at, p.cmd)
            )[:MAX_REPORTED]
        return [StagedRelay(cmd=p.cmd, relay=p.relay or "", start_at=p.play_at, end_at=p.expires_at) for p in relays]

    def ready(self, cmd: str, path: Path) -> bool:
        """The play's audio is verified at `path`: report `ready` and let it start when due.

        False (and no event) if the play is no longer staged, e.g. it expired meanwhile.
        """
        with self._lock:
            play = self._items.get(cmd)
            if play is None or cmd in self._paths:
                return False
            self._paths[cmd] = path
        self._emit(play, EventKind.READY, None)
        self._wake.set()
        return True

    def fail(self, cmd: str, detail: str) -> bool:
        """Drop a staged play that cannot happen (download failed) and report `failed`."""
        with self._lock:
            play = self._remove_locked(cmd)
            if play is not None:
                self._save_locked()
        if play is None:
            return False
        self._emit(play, EventKind.FAILED, detail)
        self._wake.set()
        return True

    # -- views --------------------------------------------------------------------------

    def pending(self) -> list[StagedPlay]:
        with self._lock:
            return sorted(self._items.values(), key=lambda p: (p.play_at, self._order[p.cmd]))

    def is_staged(self, cmd: str) -> bool:
        with self._lock:
            return cmd in self._items

    def now_playing(self) -> NowPlaying | None:
        with self._lock:
            cur = self._current
            if cur is None or cur.started_at is None:
                return None
            return NowPlaying(
                announcement=cur.play.announcement, cmd=cur.play.cmd, started_at=cur.started_at, relay=cur.play.relay
            )

    def load(self) -> list[StagedPlay]:
        """Plays persisted by an earlier run (not staged yet: the agent re-stages them)."""
        return load_plays(self._store_path)

    # -- internals ----------------------------------------------------------------------

    def _remove_locked(self, cmd: str) -> StagedPlay | None:
        self._paths.pop(cmd, None)
        self._order.pop(cmd, None)
        return self._items.pop(cmd, None)

    def _save_locked(self) -> None:
        save_plays(self._store_path, self._items.values())

    def _emit(self, play: StagedPlay, kind: EventKind, detail: str | None, at: datetime | None = None) -> None:
        try:
            self._on_event(play, kind, detail, at)
        except Exception:  # noqa: BLE001 - reporting must not break playing
            log.exception("event handler failed for %s %s", play.cmd, kind)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            expired, to_start, timeout = self._plan()
            if to_start is not None:
                self._launch(to_start)  # first: nothing slow may stand between play_at and the start
            for play in expired:
                log.info("play %s (%s) expired before it could start", play.cmd, play.label)
                self._emit(play, EventKind.EXPIRED, "not started before expires_at")
            if expired or to_start is not None:
                with self._lock:
                    self._save_locked()  # an fsync: tens of ms on an SD card, so after the start
                    if to_start is not None and to_start.play.occurrence is not None:
                        # Remembered from the hand-over on: at most one play per occurrence,
                        # even if the node dies mid-play.
                        self._played.add(to_start.play.occurrence, to_start.play.expires_at, self._clock.now())
                continue
            self._clock.wait(self._wake, timeout)

    def _plan(self) -> tuple[list[StagedPlay], Playing | None, float]:
        """Under the lock: drop expired plays, pick one to start or preempt, say how long to sleep."""
        with self._lock:
            now = self._clock.now()
            expired = [p for p in self._items.values() if p.expires_at <= now]
            for play in expired:
                self._remove_locked(play.cmd)
            horizon = now + self._prestart
            due = sorted(
                (p for p in self._items.values() if p.cmd in self._paths and p.play_at <= horizon),
                key=due_key,
            )
            to_start = None
            cur = self._current
            if due and cur is None and not self._stopping.is_set():
                play = due[0]
                path, seq = self._paths[play.cmd], self._order[play.cmd]
                self._remove_locked(play.cmd)
                info = PlayInfo(
                    self.node_id, play.cmd, play.announcement, play.audio.sha256 if play.audio else "", play.play_at,
                    relay=play.relay, url=play.url,
                )
                to_start = self._current = Playing(play, path, info, seq)
            elif due and cur is not None and not cur.stop_event.is_set() and preempts(due[0], cur.play):
                log.info("%s %s preempts %s", due[0].priority.value, due[0].cmd, cur.play.cmd)
                cur.info.stop_reason = "preempted"
                cur.stop_event.set()
            wakes = [p.expires_at for p in self._items.values()]
            wakes += [
                p.play_at - self._prestart for p in self._items.values() if p.cmd in self._paths and p.play_at > horizon
            ]
            timeout = self._max_wait_s
            if wakes:
                timeout = min(timeout, max(0.0, (min(wakes) - now).total_seconds()))
            return expired, to_start, timeout


__all__ = ["EventSink", "StageOutcome", "StageResult", "StagedPlay", "Timeline"]
