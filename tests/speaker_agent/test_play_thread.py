"""A play's own thread: the `started` report after the start, and arming the player ahead.

At air time a node must spend its CPU on starting the sound; building and publishing the
`started` event there delayed every agent sharing the CPU (the benchmark's 200 nodes:
skew up to 23.6 ms per play before, 4-15 ms after). These tests pin the rules that
replace it: the report comes STARTED_REPORT_S after the start (by the node's clock),
carries the start's own stamp, and always precedes the play's final event. The second
half pins arming: at the hand-over, disarmed when the play does not happen.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from protocol.commands import Priority
from protocol.reports import EventKind
from speaker_agent.clock import ManualClock
from speaker_agent.play_thread import STARTED_REPORT_S
from speaker_agent.player import PlayerError
from speaker_agent.timeline import Timeline
from tests.speaker_agent.helpers import wait_until
from tests.speaker_agent.test_timeline import Events, GatePlayer, staged


@pytest.fixture
def clock():
    return ManualClock(datetime(2026, 3, 1, 6, 0, tzinfo=UTC))


@pytest.fixture
def events():
    return Events()


@pytest.fixture
def player(clock):
    return GatePlayer(clock)


def running(tmp_path, clock, player, events):
    """A started timeline over `player`, stopped after the test."""
    t = Timeline("n1", clock, player, events, store_path=tmp_path / "timeline.json")
    t.start()
    yield t
    t.stop()


@pytest.fixture
def timeline(tmp_path, clock, player, events):
    yield from running(tmp_path, clock, player, events)


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


# -- arming: a player's slow set-up happens at the hand-over, before play_at -------------


class ArmingPlayer(GatePlayer):
    """Records arm / play / disarm in order; `fail_arm` makes arming raise."""

    def __init__(self, clock) -> None:
        super().__init__(clock)
        self.log: list[tuple[str, str, object]] = []
        self.fail_arm = False
        self.unarmed: list[str] = []

    def arm(self, path, info):
        if self.fail_arm:
            raise PlayerError("no sound card")
        self.log.append(("arm", info.cmd, self.clock.now()))
        outer = self

        class Armed:
            def play(self, duration_ms, stop_event):
                outer.log.append(("play", info.cmd, outer.clock.now()))
                outer.play(path, duration_ms, stop_event, info)

            def disarm(self):
                outer.log.append(("disarm", info.cmd, outer.clock.now()))

        return Armed()

    def play(self, path, duration_ms, stop_event, info=None):
        if not any(k == "play" and c == info.cmd for k, c, _ in self.log):
            self.unarmed.append(info.cmd)
        super().play(path, duration_ms, stop_event, info)


@pytest.fixture
def arming(clock):
    return ArmingPlayer(clock)


@pytest.fixture
def armed_timeline(tmp_path, clock, arming, events):
    yield from running(tmp_path, clock, arming, events)


def test_a_play_is_armed_at_the_hand_over_and_started_at_play_at(armed_timeline, clock, arming, events, tmp_path):
    play = staged(clock, play_in_s=10)
    armed_timeline.stage(play)
    armed_timeline.ready(play.cmd, tmp_path / "a.opus")
    clock.advance(9.9)  # inside the 0.2 s hand-over window
    assert wait_until(lambda: [k for k, _, _ in arming.log] == ["arm"])
    assert arming.log[0][2] < play.play_at and arming.calls == []
    clock.advance(0.1)
    assert wait_until(lambda: events.of(play.cmd)[-1:] == ["finished"])
    assert [(k, at) for k, _, at in arming.log] == [
        ("arm", play.play_at - timedelta(seconds=0.1)), ("play", play.play_at), ("disarm", play.play_at),
    ]
    assert arming.unarmed == []


def test_an_armed_play_cancelled_before_its_start_is_disarmed(armed_timeline, clock, arming, events, tmp_path):
    play = staged(clock, play_in_s=10)
    armed_timeline.stage(play)
    armed_timeline.ready(play.cmd, tmp_path / "a.opus")
    clock.advance(9.9)
    assert wait_until(lambda: arming.log)
    armed_timeline.cancel(play.announcement, None, "withdrawn")
    assert wait_until(lambda: [k for k, _, _ in arming.log] == ["arm", "disarm"])
    assert events.of(play.cmd) == ["ready", "cancelled"] and arming.calls == []


def test_an_emergency_in_the_hand_over_window_disarms_the_play_it_goes_before(
    armed_timeline, clock, arming, events, tmp_path
):
    arming.block = True
    normal = staged(clock, play_in_s=10)
    armed_timeline.stage(normal)
    armed_timeline.ready(normal.cmd, tmp_path / "a.opus")
    clock.advance(9.9)
    assert wait_until(lambda: arming.log)
    emergency = staged(clock, priority=Priority.EMERGENCY)
    armed_timeline.stage(emergency)
    armed_timeline.ready(emergency.cmd, tmp_path / "b.opus")
    assert wait_until(lambda: [(k, c) for k, c, _ in arming.log][:4] == [
        ("arm", normal.cmd), ("disarm", normal.cmd), ("arm", emergency.cmd), ("play", emergency.cmd),
    ])
    arming.release(emergency.cmd)
    clock.advance(0.1)
    assert wait_until(lambda: ("play", normal.cmd) in [(k, c) for k, c, _ in arming.log])  # re-armed, then played
    arming.release(normal.cmd)
    assert wait_until(lambda: events.of(normal.cmd)[-1:] == ["finished"])
    assert events.of(normal.cmd) == ["ready", "started", "finished"]  # never started before: not preempted


def test_a_player_that_cannot_arm_starts_unarmed(armed_timeline, clock, arming, events, tmp_path):
    arming.fail_arm = True
    play = staged(clock, play_in_s=1)
    armed_timeline.stage(play)
    armed_timeline.ready(play.cmd, tmp_path / "a.opus")
    clock.advance(1)
    assert wait_until(lambda: events.of(play.cmd) == ["ready", "started", "finished"])
    assert arming.unarmed == [play.cmd]
