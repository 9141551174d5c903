from __future__ import annotations

import json
import statistics
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from protocol.commands import Priority
from protocol.reports import EventKind
from speaker_agent.clock import ManualClock, SystemClock
from speaker_agent.player import FileSinkPlayer, PlayInfo
from speaker_agent.timeline import StagedPlay, Timeline
from tests.speaker_agent.helpers import audio_ref, play_command, wait_until, wait_reported_start


class GatePlayer:
    """Plays until released (or stopped); records what it was asked to play and when."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.calls: list[tuple[str, datetime]] = []
        self.gates: dict[str, threading.Event] = {}
        self.block = False

    def play(self, path: Path, duration_ms: int, stop_event: threading.Event, info: PlayInfo | None = None) -> None:
        assert info is not None
        gate = self.gates.setdefault(info.cmd, threading.Event())
        self.calls.append((info.cmd, self.clock.now()))
        if self.block:
            while not (gate.is_set() or stop_event.is_set()):
                stop_event.wait(0.002)

    def release(self, cmd: str) -> None:
        self.gates.setdefault(cmd, threading.Event()).set()


class Events:
    def __init__(self) -> None:
        self.items: list[tuple[str, EventKind, str | None]] = []
        self.at: list[tuple[str, EventKind, datetime | None]] = []
        self._lock = threading.Lock()

    def __call__(self, play: StagedPlay, kind: EventKind, detail: str | None, at: datetime | None = None) -> None:
        with self._lock:
            self.items.append((play.cmd, kind, detail))
            self.at.append((play.cmd, kind, at))

    def of(self, cmd: str) -> list[str]:
        with self._lock:
            return [k.value for c, k, _ in self.items if c == cmd]


@pytest.fixture
def clock():
    return ManualClock(datetime(2025, 6, 1, 7, 0, tzinfo=UTC))


@pytest.fixture
def player(clock):
    return GatePlayer(clock)


@pytest.fixture
def events():
    return Events()


@pytest.fixture
def timeline(tmp_path, clock, player, events):
    t = Timeline("n1", clock, player, events, store_path=tmp_path / "timeline.json")
    t.start()
    yield t
    t.stop()


def staged(
    clock, play_in_s=0.0, ttl_s=60.0, priority=Priority.NORMAL, announcement=1, cmd_id=None, occurrence=None
) -> StagedPlay:
    cmd = play_command(
        audio_ref(b"x" * 10), now=clock.now(), play_in_s=play_in_s, ttl_s=ttl_s, priority=priority,
        announcement=announcement, cmd_id=cmd_id, occurrence=occurrence,
    )
    return StagedPlay.from_command(cmd)


def idle(clock) -> bool:
    return clock.waiting > 0


def test_starts_on_time_not_before(timeline, clock, player, events, tmp_path):
    play = staged(clock, play_in_s=10)
    timeline.stage(play)
    assert timeline.ready(play.cmd, tmp_path / "a.opus")
    clock.advance(9.99)
    assert wait_until(lambda: idle(clock)) and not wait_until(lambda: player.calls, timeout=0.1)
    clock.advance(0.01)
    assert wait_until(lambda: events.of(play.cmd) == ["ready", "started", "finished"])
    assert player.calls == [(play.cmd, play.play_at)]
    assert timeline.pending() == []


def test_ready_late_but_before_expiry_plays_at_once(timeline, clock, player, events, tmp_path):
    play = staged(clock, play_in_s=5, ttl_s=60)
    timeline.stage(play)
    clock.advance(30)
    assert wait_until(lambda: idle(clock)) and player.calls == []
    timeline.ready(play.cmd, tmp_path / "a.opus")
    assert wait_until(lambda: events.of(play.cmd) == ["ready", "started", "finished"])
    assert player.calls[0][1] == play.play_at + timedelta(seconds=25)


def test_not_ready_before_expiry_never_plays(timeline, clock, player, events, tmp_path):
    play = staged(clock, play_in_s=5, ttl_s=20)
    timeline.stage(play)
    clock.advance(20)
    assert wait_until(lambda: events.of(play.cmd) == ["expired"])
    assert timeline.ready(play.cmd, tmp_path / "a.opus") is False
    assert wait_until(lambda: idle(clock)) and player.calls == [] and events.of(play.cmd) == ["expired"]


def test_one_play_at_a_time_and_waiting_play_can_expire(timeline, clock, player, events, tmp_path):
    player.block = True
    # Equally due plays of one rank go by command id.
    first, second, third = (
        staged(clock, ttl_s=60, cmd_id="a-000001"), staged(clock, ttl_s=10, cmd_id="b-000002"),
        staged(clock, ttl_s=60, cmd_id="c-000003"),
    )
    for p in (first, second, third):
        timeline.stage(p)
        timeline.ready(p.cmd, tmp_path / "a.opus")
    assert wait_reported_start(clock, timeline, first.cmd, lambda: events.of(first.cmd) == ["ready", "started"])
    clock.advance(10)  # second expires while first still plays
    assert wait_until(lambda: events.of(second.cmd) == ["ready", "expired"])
    assert events.of(third.cmd) == ["ready"]
    player.release(first.cmd)
    assert wait_reported_start(clock, timeline, third.cmd, lambda: events.of(third.cmd) == ["ready", "started"])
    assert events.of(first.cmd) == ["ready", "started", "finished"]
    assert timeline.now_playing().cmd == third.cmd
    player.release(third.cmd)
    assert wait_until(lambda: events.of(third.cmd)[-1:] == ["finished"])
    assert [c for c, _ in player.calls] == [first.cmd, third.cmd]


def test_waiting_plays_go_by_priority(timeline, clock, player, events, tmp_path):
    player.block = True
    running = staged(clock)
    timeline.stage(running)
    timeline.ready(running.cmd, tmp_path / "a.opus")
    assert wait_until(lambda: player.calls)
    normal = staged(clock, play_in_s=0)
    prio = staged(clock, play_in_s=1, priority=Priority.PRIORITY)
    for p in (normal, prio):
        timeline.stage(p)
        timeline.ready(p.cmd, tmp_path / "a.opus")
    clock.advance(2)
    player.release(running.cmd)
    assert wait_until(lambda: len(player.calls) == 2)
    assert player.calls[1][0] == prio.cmd
    player.release(prio.cmd)
    player.release(normal.cmd)
    assert wait_until(lambda: len(player.calls) == 3 and events.of(normal.cmd)[-1] == "finished")


def test_emergency_preempts_and_plays_at_once(timeline, clock, player, events, tmp_path):
    player.block = True
    normal = staged(clock)
    timeline.stage(normal)
    timeline.ready(normal.cmd, tmp_path / "a.opus")
    assert wait_reported_start(clock, timeline, normal.cmd, lambda: events.of(normal.cmd) == ["ready", "started"])
    emergency = staged(clock, priority=Priority.EMERGENCY)
    timeline.stage(emergency)
    timeline.ready(emergency.cmd, tmp_path / "b.opus")
    assert wait_reported_start(clock, timeline, emergency.cmd, lambda: events.of(emergency.cmd) == ["ready", "started"])
    # "restart" policy: unexpired, so back on the timeline to play again afterwards.
    assert events.of(normal.cmd) == ["ready", "started", "preempted", "ready"]
    # An emergency is not preempted by another emergency: that one waits.
    second = staged(clock, priority=Priority.EMERGENCY)
    timeline.stage(second)
    timeline.ready(second.cmd, tmp_path / "c.opus")
    assert not wait_until(lambda: len(events.of(second.cmd)) > 1, timeout=0.1)
    player.release(emergency.cmd)
    assert wait_reported_start(clock, timeline, second.cmd, lambda: events.of(second.cmd) == ["ready", "started"])
    player.release(second.cmd)
    assert wait_until(lambda: events.of(second.cmd)[-1] == "finished")
    assert wait_reported_start(clock, timeline, normal.cmd, lambda: events.of(normal.cmd)[-2:] == ["ready", "started"])  # from the start
    player.release(normal.cmd)
    assert wait_until(lambda: events.of(normal.cmd)[-1] == "finished")
    assert [c for c, _ in player.calls] == [normal.cmd, emergency.cmd, second.cmd, normal.cmd]


def test_emergency_during_the_prestart_window_goes_first_without_preempting(
    timeline, clock, player, events, tmp_path
):
    player.block = True
    normal = staged(clock, play_in_s=10)
    timeline.stage(normal)
    timeline.ready(normal.cmd, tmp_path / "a.opus")
    clock.advance(9.95)  # the normal play is handed to its player thread, waiting for the exact start
    assert wait_until(lambda: clock.waiting >= 2) and player.calls == []
    emergency = staged(clock, priority=Priority.EMERGENCY)
    timeline.stage(emergency)
    timeline.ready(emergency.cmd, tmp_path / "b.opus")
    assert wait_reported_start(clock, timeline, emergency.cmd, lambda: events.of(emergency.cmd) == ["ready", "started"])
    assert events.of(normal.cmd) == ["ready"]  # never started, so not preempted
    clock.advance(1)
    player.release(emergency.cmd)
    assert wait_reported_start(clock, timeline, normal.cmd, lambda: events.of(normal.cmd) == ["ready", "started"])
    player.release(normal.cmd)
    assert wait_until(lambda: events.of(normal.cmd)[-1] == "finished")


def test_stop_during_the_prestart_window_keeps_the_play(tmp_path, clock, player, events):
    store = tmp_path / "timeline.json"
    t = Timeline("n1", clock, player, events, store_path=store)
    t.start()
    play = staged(clock, play_in_s=0.1)
    t.stage(play)
    t.ready(play.cmd, tmp_path / "a.opus")
    assert wait_until(lambda: clock.waiting >= 2)
    t.stop()
    assert player.calls == [] and events.of(play.cmd) == ["ready"]
    assert Timeline("n1", clock, player, events, store_path=store).load() == [play]


def test_stop_interrupts_current_play(tmp_path, clock, player, events):
    player.block = True
    t = Timeline("n1", clock, player, events)
    t.start()
    play = staged(clock)
    t.stage(play)
    t.ready(play.cmd, tmp_path / "a.opus")
    assert wait_until(lambda: player.calls)
    t.stop()
    assert events.of(play.cmd) == ["ready", "started", "failed"]
    assert "stopped" in events.items[-1][2]


def test_player_error_is_a_failed_event(tmp_path, clock, events):
    class Broken:
        def play(self, path, duration_ms, stop_event, info=None):
            raise OSError("no sound card")

    t = Timeline("n1", clock, Broken(), events)
    t.start()
    try:
        play = staged(clock)
        t.stage(play)
        t.ready(play.cmd, tmp_path / "a.opus")
        assert wait_until(lambda: events.of(play.cmd) == ["ready", "started", "failed"])
        assert "no sound card" in events.items[-1][2]
    finally:
        t.stop()


def test_staged_plays_survive_restart(tmp_path, clock, player, events):
    store = tmp_path / "timeline.json"
    t = Timeline("n1", clock, player, events, store_path=store)
    t.start()
    later, sooner = staged(clock, play_in_s=100, ttl_s=200), staged(clock, play_in_s=1, ttl_s=200)
    assert t.stage(later) and t.stage(sooner) and not t.stage(later)
    t.ready(sooner.cmd, tmp_path / "a.opus")
    clock.advance(1)
    assert wait_until(lambda: events.of(sooner.cmd)[-1:] == ["finished"])
    t.stop()
    again = Timeline("n1", clock, player, events, store_path=store)
    assert again.load() == [later]  # started plays are not replayed after a restart
    store.write_text("{garbage")
    assert again.load() == []


def test_start_precision_with_the_system_clock(tmp_path, events):
    """The loop wakes on a monotonic Event wait: starts should be a millisecond or so late."""
    clock = SystemClock()
    player = GatePlayer(clock)
    t = Timeline("n1", clock, player, events)
    t.start()
    try:
        lateness = []
        for _ in range(5):
            play = staged(clock, play_in_s=0.15)
            t.stage(play)
            t.ready(play.cmd, tmp_path / "a.opus")
            assert wait_until(lambda: events.of(play.cmd)[-1:] == ["finished"], timeout=2)
            lateness.append((player.calls[-1][1] - play.play_at).total_seconds())
        assert min(lateness) >= 0
        assert statistics.median(lateness) < 0.005, lateness
    finally:
        t.stop()


def test_file_sink_writes_one_json_line_per_play(tmp_path):
    clock = ManualClock(datetime(2025, 6, 1, 7, 0, tzinfo=UTC))
    sink = FileSinkPlayer(tmp_path, node_id="n1", realtime=True, clock=clock)
    audio = tmp_path / "in.opus"
    audio.write_bytes(b"opus bytes")
    info = PlayInfo("n1", "cmd-00001", 42, "ab" * 32, clock.now())
    stop = threading.Event()
    done = threading.Thread(target=sink.play, args=(audio, 3000, stop, info))
    done.start()
    assert wait_until(lambda: clock.waiting == 1)
    assert not (tmp_path / "plays.jsonl").exists()  # written after the play, not before
    clock.advance(3)
    done.join(2)
    info2 = PlayInfo("n1", "cmd-00002", 43, "ab" * 32, clock.now())
    stop.set()
    sink.play(audio, 3000, stop, info2)
    lines = (tmp_path / "plays.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert set(records[0]) == {"node", "announcement", "cmd", "sha256", "play_at", "started_at", "finished_at", "outcome", "volume"}
    assert records[0]["announcement"] == 42 and records[0]["outcome"] == "finished"
    assert records[1]["outcome"] == "preempted"
    started, finished = (datetime.fromisoformat(records[0][k]) for k in ("started_at", "finished_at"))
    assert finished - started == timedelta(seconds=3) and started.utcoffset() == timedelta(0)
    assert [p.name for p in (tmp_path / "played").iterdir()] == ["ab" * 32 + ".opus"]


def test_file_sink_realtime_takes_the_duration(tmp_path):
    sink = FileSinkPlayer(tmp_path, node_id="n1", realtime=True)
    audio = tmp_path / "in.opus"
    audio.write_bytes(b"x")
    t0 = datetime.now(UTC)
    sink.play(audio, 200, threading.Event(), PlayInfo("n1", "c1234567", 1, "cd" * 32, t0))
    record = json.loads((tmp_path / "plays.jsonl").read_text())
    elapsed = datetime.fromisoformat(record["finished_at"]) - datetime.fromisoformat(record["started_at"])
    assert timedelta(milliseconds=195) <= elapsed < timedelta(milliseconds=400)
