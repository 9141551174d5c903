"""Programme commands on the node: occurrences, cancel, stop, timeline report, preemption policy."""

from __future__ import annotations

import json
import stat
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from protocol import topics
from protocol.base import decode
from protocol.commands import Priority
from protocol.reports import EventKind, NodeTimeline
from speaker_agent.clock import ManualClock, SystemClock
from speaker_agent.alsa import AlsaPlayer
from speaker_agent.player import FileSinkPlayer
from speaker_agent.timeline import MAX_REPORTED, StageOutcome, StagedPlay, Timeline
from tests.speaker_agent.helpers import audio_ref, play_command, wait_until, wait_reported_start
from tests.speaker_agent.test_agent import NODE, make_agent
from tests.speaker_agent.test_timeline import Events, GatePlayer, idle, staged

# -- timeline ---------------------------------------------------------------------------


@pytest.fixture
def clock():
    return ManualClock(datetime(2025, 6, 1, 7, 0, tzinfo=UTC))


@pytest.fixture
def player(clock):
    return GatePlayer(clock)


@pytest.fixture
def events_(clock):
    return Events()


@pytest.fixture
def store(tmp_path):
    return tmp_path / "timeline.json"


@pytest.fixture
def timeline(store, clock, player, events_):
    t = Timeline("n1", clock, player, events_, store_path=store)
    t.start()
    yield t
    t.stop()


def test_same_occurrence_replaces_the_staged_play(timeline, clock, player, events_, tmp_path, store):
    old = staged(clock, play_in_s=10, occurrence="5:2025-06-01T07:00")
    new = staged(clock, play_in_s=20, occurrence="5:2025-06-01T07:00")
    assert timeline.stage(old).outcome is StageOutcome.STAGED
    timeline.ready(old.cmd, tmp_path / "a.opus")
    result = timeline.stage(new)
    assert result.outcome is StageOutcome.REPLACED and result.replaced == old
    assert timeline.pending() == [new] and not timeline.is_staged(old.cmd)
    assert Timeline("n1", clock, player, events_, store_path=store).load() == [new]
    timeline.ready(new.cmd, tmp_path / "b.opus")
    clock.advance(10)
    assert wait_until(lambda: idle(clock)) and player.calls == []  # the old play_at passes: nothing
    clock.advance(10)
    assert wait_until(lambda: events_.of(new.cmd) == ["ready", "started", "finished"])
    assert [c for c, _ in player.calls] == [new.cmd]
    assert events_.of(old.cmd) == ["ready"]  # the caller reports the replaced one


def test_occurrence_playing_or_played_is_not_staged_again_even_after_restart(
    timeline, clock, player, events_, tmp_path, store
):
    player.block = True
    occ = "7:k1"
    first = staged(clock, ttl_s=600, occurrence=occ)
    timeline.stage(first)
    timeline.ready(first.cmd, tmp_path / "a.opus")
    assert wait_reported_start(clock, timeline, first.cmd, lambda: events_.of(first.cmd) == ["ready", "started"])
    assert timeline.occurrence_state(occ) == "playing"
    again = staged(clock, ttl_s=600, occurrence=occ)
    assert timeline.stage(again).outcome is StageOutcome.OCCURRENCE_PLAYING and not timeline.stage(again)
    player.release(first.cmd)
    assert wait_until(lambda: events_.of(first.cmd)[-1:] == ["finished"])
    assert timeline.occurrence_state(occ) == "done"
    assert timeline.stage(staged(clock, ttl_s=600, occurrence=occ)).outcome is StageOutcome.OCCURRENCE_DONE
    # Another occurrence of the same announcement is a different play.
    assert timeline.stage(staged(clock, play_in_s=100, ttl_s=600, occurrence="7:k2"))
    timeline.stop()
    restarted = Timeline("n1", clock, player, events_, store_path=store)
    assert restarted.occurrence_state(occ) == "done"
    assert restarted.stage(staged(clock, ttl_s=600, occurrence=occ)).outcome is StageOutcome.OCCURRENCE_DONE
    # Plays restored from timeline.json are staged regardless (they were staged, not played).
    assert [p.occurrence for p in restarted.load()] == ["7:k2"]
    memory = json.loads((tmp_path / "occurrences.json").read_text())["occurrences"]
    assert set(memory) == {occ}
    # Remembered until the command expires, then forgotten.
    clock.advance(601)
    assert restarted.occurrence_state(occ) is None
    assert restarted.stage(staged(clock, ttl_s=60, occurrence=occ)).outcome is StageOutcome.STAGED


def test_cancel_removes_staged_plays_by_announcement_or_occurrence(timeline, clock, events_, tmp_path, store, player):
    a1 = staged(clock, play_in_s=10, announcement=1, occurrence="1:a")
    a2 = staged(clock, play_in_s=20, announcement=1, occurrence="1:b")
    b1 = staged(clock, play_in_s=30, announcement=2, occurrence="2:a")
    b2 = staged(clock, play_in_s=40, announcement=2, occurrence="2:b")
    for p in (a1, a2, b1, b2):
        timeline.stage(p)
        timeline.ready(p.cmd, tmp_path / "a.opus")
    assert {p.cmd for p in timeline.cancel(1, None, "by c1")} == {a1.cmd, a2.cmd}
    assert [p.cmd for p in timeline.cancel(None, ["2:b", "9:zz"], "by c2")] == [b2.cmd]
    assert timeline.cancel(77, ["nope"], "by c3") == []  # unknown: no-op
    assert events_.of(a1.cmd) == events_.of(a2.cmd) == events_.of(b2.cmd) == ["ready", "cancelled"]
    assert [d for c, k, d in events_.items if k is EventKind.CANCELLED] == ["by c1", "by c1", "by c2"]
    assert timeline.pending() == [b1]
    assert Timeline("n1", clock, player, events_, store_path=store).load() == [b1]
    clock.advance(40)
    assert wait_until(lambda: events_.of(b1.cmd)[-1:] == ["finished"])
    assert [c for c, _ in player.calls] == [b1.cmd]


def test_cancel_stops_a_matching_play_on_air_and_one_about_to_start(timeline, clock, player, events_, tmp_path):
    player.block = True
    on_air = staged(clock, announcement=3)
    timeline.stage(on_air)
    timeline.ready(on_air.cmd, tmp_path / "a.opus")
    assert wait_reported_start(clock, timeline, on_air.cmd, lambda: events_.of(on_air.cmd) == ["ready", "started"])
    assert [p.cmd for p in timeline.cancel(3, None, "cancelled by command c9")] == [on_air.cmd]
    assert wait_until(lambda: events_.of(on_air.cmd) == ["ready", "started", "cancelled"])
    assert events_.items[-1][2] == "cancelled by command c9"
    assert wait_until(lambda: timeline.now_playing() is None)
    # In the hand-over window (player thread waiting for the exact start): never starts.
    soon = staged(clock, play_in_s=10, announcement=4, occurrence="4:x")
    timeline.stage(soon)
    timeline.ready(soon.cmd, tmp_path / "a.opus")
    clock.advance(9.95)
    assert wait_until(lambda: clock.waiting >= 2)
    assert timeline.cancel(None, ["4:x"], "gone") == [soon]
    assert wait_until(lambda: events_.of(soon.cmd) == ["ready", "cancelled"])
    clock.advance(1)
    assert wait_until(lambda: idle(clock)) and [c for c, _ in player.calls] == [on_air.cmd]


def test_stop_stops_only_the_play_on_air(timeline, clock, player, events_, tmp_path):
    player.block = True
    assert timeline.stop_current("nothing") is None
    current, later = staged(clock), staged(clock, play_in_s=5)
    for p in (current, later):
        timeline.stage(p)
        timeline.ready(p.cmd, tmp_path / "a.opus")
    assert wait_reported_start(clock, timeline, current.cmd, lambda: events_.of(current.cmd) == ["ready", "started"])
    assert timeline.stop_current("stopped by operator") == current
    assert wait_until(lambda: events_.of(current.cmd) == ["ready", "started", "cancelled"])
    assert events_.items[-1][2] == "stopped by operator"
    assert timeline.pending() == [later]
    clock.advance(5)
    assert wait_reported_start(clock, timeline, later.cmd, lambda: events_.of(later.cmd) == ["ready", "started"])
    player.release(later.cmd)
    assert wait_until(lambda: events_.of(later.cmd)[-1:] == ["finished"])


def test_preempted_play_whose_command_expired_is_dropped(timeline, clock, player, events_, tmp_path):
    player.block = True
    normal = staged(clock, ttl_s=5)
    timeline.stage(normal)
    timeline.ready(normal.cmd, tmp_path / "a.opus")
    assert wait_reported_start(clock, timeline, normal.cmd, lambda: events_.of(normal.cmd) == ["ready", "started"])
    clock.advance(6)  # a play on air runs past its command's expiry; that is fine
    emergency = staged(clock, priority=Priority.EMERGENCY)
    timeline.stage(emergency)
    timeline.ready(emergency.cmd, tmp_path / "b.opus")
    assert wait_reported_start(clock, timeline, emergency.cmd, lambda: events_.of(emergency.cmd) == ["ready", "started"])
    assert events_.of(normal.cmd) == ["ready", "started", "preempted"]
    player.release(emergency.cmd)
    assert wait_until(lambda: events_.of(emergency.cmd)[-1:] == ["finished"])
    assert wait_until(lambda: idle(clock)) and [c for c, _ in player.calls] == [normal.cmd, emergency.cmd]


def test_preempted_play_restarts_before_other_normal_plays_but_after_priority(
    timeline, clock, player, events_, tmp_path
):
    player.block = True
    normal = staged(clock, ttl_s=600, cmd_id="z-normal1")
    timeline.stage(normal)
    timeline.ready(normal.cmd, tmp_path / "a.opus")
    assert wait_until(lambda: player.calls)
    other = staged(clock, play_in_s=1, ttl_s=600, cmd_id="a-other01")
    prio = staged(clock, play_in_s=2, ttl_s=600, priority=Priority.PRIORITY, cmd_id="y-prio001")
    emergency = staged(clock, play_in_s=3, priority=Priority.EMERGENCY)
    for p in (other, prio, emergency):
        timeline.stage(p)
        timeline.ready(p.cmd, tmp_path / "a.opus")
    clock.advance(3)
    assert wait_reported_start(clock, timeline, emergency.cmd, lambda: events_.of(emergency.cmd) == ["ready", "started"])
    assert events_.of(normal.cmd) == ["ready", "started", "preempted", "ready"]
    for cmd in (emergency.cmd, prio.cmd, normal.cmd):
        assert wait_until(lambda: player.calls[-1][0] == cmd)
        player.release(cmd)
    assert wait_reported_start(clock, timeline, other.cmd, lambda: events_.of(other.cmd)[-2:] == ["ready", "started"])
    player.release(other.cmd)
    assert wait_until(lambda: events_.of(other.cmd)[-1:] == ["finished"])
    # priority rank, then play_at (the interrupted play's is the earliest), then cmd id
    assert [c for c, _ in player.calls] == [normal.cmd, emergency.cmd, prio.cmd, normal.cmd, other.cmd]
    assert events_.of(normal.cmd)[-1] == "finished"


def test_equally_due_plays_go_by_rank_then_play_at_then_cmd_id(timeline, clock, player, events_, tmp_path):
    player.block = True
    blocker = staged(clock, ttl_s=600)
    timeline.stage(blocker)
    timeline.ready(blocker.cmd, tmp_path / "a.opus")
    assert wait_until(lambda: player.calls)
    n_b = staged(clock, play_in_s=1, ttl_s=600, cmd_id="b-normal1")
    n_a = staged(clock, play_in_s=1, ttl_s=600, cmd_id="a-normal1")
    n_early = staged(clock, play_in_s=0.5, ttl_s=600, cmd_id="c-normal1")
    p_late = staged(clock, play_in_s=2, ttl_s=600, priority=Priority.PRIORITY, cmd_id="z-prio001")
    for p in (n_b, n_a, n_early, p_late):
        timeline.stage(p)
        timeline.ready(p.cmd, tmp_path / "a.opus")
    clock.advance(2)
    assert wait_until(lambda: idle(clock))
    order = [p_late.cmd, n_early.cmd, n_a.cmd, n_b.cmd]
    player.release(blocker.cmd)
    for cmd in order:
        assert wait_until(lambda: player.calls[-1][0] == cmd), player.calls
        player.release(cmd)
    assert wait_until(lambda: events_.of(n_b.cmd)[-1:] == ["finished"])
    assert [c for c, _ in player.calls][1:] == order


def test_report_lists_staged_unexpired_plays_with_occurrences(timeline, clock, tmp_path):
    later = staged(clock, play_in_s=50, ttl_s=100, announcement=2, occurrence="2:x")
    sooner = staged(clock, play_in_s=10, ttl_s=100, announcement=1)
    short = staged(clock, play_in_s=10, ttl_s=5)
    for p in (later, sooner, short):
        timeline.stage(p)
    clock.advance(5)
    entries = timeline.report()
    assert [(e.cmd, e.announcement, e.occurrence) for e in entries] == [
        (sooner.cmd, 1, None), (later.cmd, 2, "2:x"),
    ]
    assert entries[1].play_at == later.play_at


def test_report_is_capped(clock, player, events_):
    t = Timeline("n1", clock, player, events_)  # not started: nothing plays or expires
    plays_ = [staged(clock, play_in_s=100 + i, ttl_s=10_000) for i in range(MAX_REPORTED + 5)]
    for p in reversed(plays_):
        t.stage(p)
    assert [e.cmd for e in t.report()] == [p.cmd for p in plays_[:MAX_REPORTED]]


def test_agent_timeline_report_fits_one_payload(tmp_path, keys):
    clock = ManualClock(datetime.now(UTC))
    a, link = make_agent(tmp_path, keys, clock)  # not started: only the report is exercised
    a.timeline._store_path = None  # a thousand fsyncs would only slow the test down
    plays_ = [staged(clock, play_in_s=100 + i, ttl_s=10_000, occurrence=f"{i}:2026-11-27T16:00:00+07:00")
              for i in range(MAX_REPORTED)]
    for p in plays_:
        a.timeline.stage(p)
    a.publish_timeline()
    [raw] = link.on(topics.node_timeline(NODE))
    report = decode(NodeTimeline, raw)  # refuses anything over 64 KiB
    assert 300 < len(report.staged) < MAX_REPORTED
    assert [e.cmd for e in report.staged] == [p.cmd for p in plays_[: len(report.staged)]]


# -- stop latency with real clocks ------------------------------------------------------


def test_emergency_stops_the_file_sink_promptly(tmp_path):
    clock = SystemClock()
    sink = FileSinkPlayer(tmp_path, node_id="n1", realtime=True, clock=clock)
    got = Events()
    t = Timeline("n1", clock, sink, got, store_path=tmp_path / "timeline.json")
    t.start()
    try:
        audio = tmp_path / "in.opus"
        audio.write_bytes(b"opus")
        now = datetime.now(UTC)
        normal = StagedPlay.from_command(
            play_command(audio_ref(b"n", duration_ms=30_000), now=now, ttl_s=0.3, announcement=1)
        )
        emergency = StagedPlay.from_command(
            play_command(
                audio_ref(b"e", duration_ms=200), now=now, play_in_s=0.6, announcement=2, priority=Priority.EMERGENCY,
            )
        )
        for p in (normal, emergency):
            t.stage(p)
            t.ready(p.cmd, audio)
        assert wait_until(lambda: got.of(emergency.cmd)[-1:] == ["finished"], timeout=5)
        records = {r["announcement"]: r for r in map(json.loads, (tmp_path / "plays.jsonl").read_text().splitlines())}
        n, e = records[1], records[2]
        assert n["outcome"] == "preempted" and e["outcome"] == "finished"
        at = {k: datetime.fromisoformat(v) for k, v in (("n_end", n["finished_at"]), ("e_start", e["started_at"]))}
        assert at["n_end"] <= at["e_start"] + timedelta(seconds=0.2)
        assert timedelta(0) <= at["e_start"] - emergency.play_at < timedelta(seconds=1)
        # The normal play's command expired meanwhile: dropped, not restarted.
        assert got.of(normal.cmd) == ["ready", "started", "preempted"]
    finally:
        t.stop()


def test_alsa_player_kills_ffmpeg_promptly(tmp_path):
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\ntrap '' TERM\nexec sleep 30\n")  # ignores SIGTERM: needs the kill
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    player = AlsaPlayer(ffmpeg=str(fake))
    (tmp_path / "x.opus").write_bytes(b"opus")
    stop = threading.Event()
    threading.Timer(0.1, stop.set).start()
    t0 = time.monotonic()
    player.play(tmp_path / "x.opus", 30_000, stop)
    assert time.monotonic() - t0 < 1.0
