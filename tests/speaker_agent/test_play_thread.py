"""The `started` report: made after the start, never between the wake-up and the player.

At air time a node must spend its CPU on starting the sound; building and publishing the
`started` event there delayed every agent sharing the CPU (the benchmark's 200 nodes:
start skew 21-24 ms before, 4-10 ms after). These tests pin the rules that replace it:
the report comes STARTED_REPORT_S after the start (by the node's clock), carries the
start's own stamp, and always precedes the play's final event.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from protocol.commands import Priority
from protocol.reports import EventKind
from speaker_agent.clock import ManualClock
from speaker_agent.play_thread import STARTED_REPORT_S
from speaker_agent.timeline import Timeline
from tests.speaker_agent.helpers import wait_until
from tests.speaker_agent.test_timeline import Events, GatePlayer, staged


@pytest.fixture
def clock():
    from datetime import UTC, datetime

    return ManualClock(datetime(2026, 3, 1, 6, 0, tzinfo=UTC))


@pytest.fixture
def events():
    return Events()


@pytest.fixture
def player(clock):
    return GatePlayer(clock)


@pytest.fixture
def timeline(tmp_path, clock, player, events):
    t = Timeline("n1", clock, player, events, store_path=tmp_path / "timeline.json")
    t.start()
    yield t
    t.stop()


def started_at(events: Events, cmd: str):
    return [at for c, kind, at in events.at if c == cmd and kind is EventKind.STARTED]


def test_started_comes_after_the_player_is_on_and_carries_the_start_stamp(timeline, clock, player, events, tmp_path):
    player.block = True
    play = staged(clock, play_in_s=10)
    timeline.stage(play)
    timeline.ready(play.cmd, tmp_path / "a.opus")
    clock.advance(10)
    assert wait_until(lambda: player.calls)  # the player is playing ...
    clock.advance(STARTED_REPORT_S - 0.05)
    assert not wait_until(lambda: "started" in events.of(play.cmd), timeout=0.15)  # ... unreported so far
    clock.advance(0.05)
    assert wait_until(lambda: events.of(play.cmd) == ["ready", "started"])
    assert started_at(events, play.cmd) == [play.play_at] == [player.calls[0][1]]
    player.release(play.cmd)
    assert wait_until(lambda: events.of(play.cmd) == ["ready", "started", "finished"])


def test_a_play_over_before_the_report_is_due_reports_started_then_finished(timeline, clock, events, tmp_path):
    play = staged(clock, play_in_s=1)
    timeline.stage(play)
    timeline.ready(play.cmd, tmp_path / "a.opus")
    clock.advance(1)
    assert wait_until(lambda: events.of(play.cmd) == ["ready", "started", "finished"])
    assert started_at(events, play.cmd) == [play.play_at]


def test_preempted_at_once_still_reports_its_start_first(timeline, clock, player, events, tmp_path):
    player.block = True
    normal = staged(clock)
    timeline.stage(normal)
    timeline.ready(normal.cmd, tmp_path / "a.opus")
    assert wait_until(lambda: player.calls)
    emergency = staged(clock, priority=Priority.EMERGENCY)
    timeline.stage(emergency)
    timeline.ready(emergency.cmd, tmp_path / "b.opus")
    assert wait_until(lambda: events.of(normal.cmd) == ["ready", "started", "preempted", "ready"])
    assert started_at(events, normal.cmd) == [normal.play_at]
    assert wait_until(lambda: len(player.calls) == 2)
    clock.advance(STARTED_REPORT_S)
    assert wait_until(lambda: events.of(emergency.cmd) == ["ready", "started"])
    player.release(emergency.cmd)
    player.release(normal.cmd)


def test_a_play_cancelled_in_its_last_wait_never_reports_started(timeline, clock, player, events, tmp_path):
    play = staged(clock, play_in_s=10)
    timeline.stage(play)
    timeline.ready(play.cmd, tmp_path / "a.opus")
    clock.advance(9.9)  # handed to its thread, which waits for the exact start
    assert wait_until(lambda: clock.waiting >= 3)  # runner, player thread, reporter
    assert timeline.cancel(play.announcement, None, "withdrawn")
    assert wait_until(lambda: events.of(play.cmd) == ["ready", "cancelled"])
    clock.advance(timedelta(seconds=1))
    assert not wait_until(lambda: "started" in events.of(play.cmd), timeout=0.1)
    assert player.calls == []
