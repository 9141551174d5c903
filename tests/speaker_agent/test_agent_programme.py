"""Programme commands through a whole Agent (fake link at the edge, real downloads and
file sink): timeline reports on connect, cancel and stop, one play per occurrence
across re-sends and restarts, expired cancels."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from protocol import topics
from protocol.base import decode
from protocol.reports import EventKind, NodeEvent, NodeTimeline
from speaker_agent.clock import ManualClock
from tests.speaker_agent.helpers import audio_ref, cancel_command, play_command, stop_command, wait_until, wait_reported_start
from tests.speaker_agent.test_agent import CMD_TOPIC, DATA, NODE, events, make_agent, plays
from tests.speaker_agent.test_timeline import idle


# -- through the agent ------------------------------------------------------------------


def timeline_reports(link) -> list[NodeTimeline]:
    return [decode(NodeTimeline, p) for p in link.on(topics.node_timeline(NODE))]


def cancelled_events(link) -> list[NodeEvent]:
    got = [decode(NodeEvent, p) for p in link.on(topics.node_events(NODE))]
    return [e for e in got if e.event is EventKind.CANCELLED]


def test_agent_reports_timeline_on_every_connect(tmp_path, keys, server):
    clock = ManualClock(datetime.now(UTC))
    a, link = make_agent(tmp_path, keys, clock)
    a.start()
    try:
        link.reconnect([a._announce_online])  # what the real link's on_connected hook calls
        assert [r.staged for r in timeline_reports(link)] == [[]]
        ref = audio_ref(DATA, server.add("a.opus", DATA))
        cmd = play_command(ref, now=clock.now(), play_in_s=600, ttl_s=900, announcement=4, occurrence="4:d1")
        link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, cmd))
        assert wait_until(lambda: events(link) == ["received", "ready"])
        link.connected.clear()
        link.reconnect([a._announce_online])
        report = timeline_reports(link)[-1]
        assert report.node == NODE and [(e.cmd, e.announcement, e.occurrence) for e in report.staged] == [
            (cmd.id, 4, "4:d1")
        ]
        assert all(qos == 1 and not retain for t, _, qos, retain in link.published if t == topics.node_timeline(NODE))
    finally:
        a.stop()
    b, link2 = make_agent(tmp_path, keys, clock)  # after a restart: the restored play is reported
    b.start()
    try:
        link2.reconnect([b._announce_online])
        assert [e.cmd for e in timeline_reports(link2)[-1].staged] == [cmd.id]
    finally:
        b.stop()


def test_agent_cancel_and_stop(tmp_path, keys, server):
    clock = ManualClock(datetime.now(UTC))
    a, link = make_agent(tmp_path, keys, clock, player={"backend": "file", "realtime": True})
    link.connected.set()
    a.start()
    try:
        ref = audio_ref(DATA, server.add("a.opus", DATA), duration_ms=60_000)
        staged_cmd = play_command(ref, now=clock.now(), play_in_s=300, ttl_s=900, announcement=8, occurrence="8:x")
        on_air = play_command(ref, now=clock.now(), ttl_s=900, announcement=9)
        for cmd in (staged_cmd, on_air):
            link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, cmd))
        assert wait_reported_start(clock, a.timeline, on_air.id, lambda: events(link, 9) == ["received", "ready", "started"])
        assert wait_until(lambda: events(link, 8) == ["received", "ready"])

        cancel = cancel_command(occurrences=["8:x", "unknown:1"], now=clock.now())
        link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, cancel))
        [event] = cancelled_events(link)
        assert (event.cmd, event.announcement, event.detail) == (staged_cmd.id, 8, f"cancelled by command {cancel.id}")
        assert timeline_reports(link)[-1].staged == []
        assert a.cache.pinned() == {ref.sha256}  # the play on air still holds it

        link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, cancel_command(announcement=999, now=clock.now())))
        assert len(cancelled_events(link)) == 1 and len(timeline_reports(link)) == 2  # no-op, reported

        link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, stop_command(now=clock.now())))
        assert wait_until(lambda: events(link, 9)[-1:] == ["cancelled"])
        assert cancelled_events(link)[-1].detail == "stopped by operator"
        assert [(p["announcement"], p["outcome"]) for p in plays(tmp_path)] == [(9, "cancelled")]
        assert wait_until(lambda: a.cache.pinned() == set())

        # Stop with a reason, against a play that then plays again later (staged ones stay).
        again = play_command(ref, now=clock.now(), ttl_s=900, announcement=10)
        later = play_command(ref, now=clock.now(), play_in_s=100, ttl_s=900, announcement=11)
        for cmd in (again, later):
            link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, cmd))
        assert wait_reported_start(clock, a.timeline, again.id, lambda: events(link, 10)[-1:] == ["started"])
        link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, stop_command("lũ quét", now=clock.now())))
        assert wait_until(lambda: events(link, 10)[-1:] == ["cancelled"])
        assert cancelled_events(link)[-1].detail == "lũ quét"
        assert [p.cmd for p in a.timeline.pending()] == [later.id]
        # A stop with nothing on air is a no-op.
        link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, stop_command(now=clock.now())))
        assert events(link, 11) == ["received", "ready"]
    finally:
        a.stop()


def test_agent_plays_each_occurrence_once_across_resends_and_restarts(tmp_path, keys, server):
    clock = ManualClock(datetime.now(UTC))
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    other = os.urandom(1000)
    ref2 = audio_ref(other, server.add("b.opus", other))
    occ = "12:2025-06-01T07:00"
    first = play_command(ref, now=clock.now(), play_in_s=60, ttl_s=900, announcement=12, occurrence=occ)
    resent = play_command(ref2, now=clock.now(), play_in_s=120, ttl_s=900, announcement=12, occurrence=occ)
    a, link = make_agent(tmp_path, keys, clock)
    a.start()
    try:
        link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, first))
        assert wait_until(lambda: events(link) == ["received", "ready"])
        link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, resent))
        assert wait_until(lambda: len(events(link)) == 5)
        [replaced] = cancelled_events(link)
        assert replaced.cmd == first.id and "replaced by command " + resent.id in replaced.detail
        assert [p.cmd for p in a.timeline.pending()] == [resent.id]
        assert wait_until(lambda: a.cache.pinned() == {ref2.sha256})
        clock.advance(60)
        assert wait_until(lambda: idle(clock)) and plays(tmp_path) == []
    finally:
        a.stop()
    b, link2 = make_agent(tmp_path, keys, clock)  # restart before air time: still one play staged
    b.start()
    try:
        assert [p.cmd for p in b.timeline.pending()] == [resent.id]
        clock.advance(60)
        assert wait_until(lambda: [p["cmd"] for p in plays(tmp_path)] == [resent.id])
        assert wait_until(lambda: events(link2)[-1:] == ["finished"])
        third = play_command(ref, now=clock.now(), ttl_s=900, announcement=12, occurrence=occ)
        link2.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, third))
        assert not wait_until(lambda: len(plays(tmp_path)) > 1, timeout=0.2)
        assert [e for e in events(link2)] == ["ready", "started", "finished"]  # nothing for `third`
    finally:
        b.stop()
    c, link3 = make_agent(tmp_path, keys, clock)  # and after another restart
    c.start()
    try:
        fourth = play_command(ref, now=clock.now(), ttl_s=900, announcement=12, occurrence=occ)
        link3.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, fourth))
        assert not wait_until(lambda: len(plays(tmp_path)) > 1, timeout=0.2)
        assert events(link3) == [] and c.timeline.pending() == []
    finally:
        c.stop()


def test_expired_cancel_is_not_acted_on(tmp_path, keys, server):
    clock = ManualClock(datetime.now(UTC))
    a, link = make_agent(tmp_path, keys, clock)
    a.start()
    try:
        ref = audio_ref(DATA, server.add("a.opus", DATA))
        cmd = play_command(ref, now=clock.now(), play_in_s=600, ttl_s=900, announcement=4)
        link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, cmd))
        assert wait_until(lambda: events(link) == ["received", "ready"])
        old = cancel_command(announcement=4, now=clock.now() - timedelta(seconds=120), ttl_s=60)
        link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, old))
        assert events(link) == ["received", "ready"] and [p.cmd for p in a.timeline.pending()] == [cmd.id]
    finally:
        a.stop()
