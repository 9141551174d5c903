"""The Agent wired together, with a stand-in MQTT link (the real broker is in test_integration)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from protocol import topics
from protocol.base import decode
from protocol.commands import Priority
from protocol.reports import NodeEvent, NodeState, Telemetry
from speaker_agent.agent import Agent
from speaker_agent.clock import ManualClock
from speaker_agent.config import AgentSettings, ConfigError
from tests.speaker_agent.helpers import FakeLink, audio_ref, play_command, wait_until, wait_reported_start

NODE = "thon-1-loa-1"
CMD_TOPIC = topics.node_cmd(NODE)
DATA = os.urandom(50_000)


def settings(tmp_path, keys, **kw) -> AgentSettings:
    values = dict(
        node_id=NODE, zones=["thon-1"], state_dir=tmp_path / "state", public_key_files=[keys[1]],
        telemetry_interval_s=3600, download_attempts=2, download_timeout_s=2,
        player={"backend": "file", "realtime": False},
    )
    values.update(kw)
    return AgentSettings(**values)


def make_agent(tmp_path, keys, clock=None, **kw) -> tuple[Agent, FakeLink]:
    agent = Agent(settings(tmp_path, keys, **kw), clock=clock, download_backoff_s=0.01)
    link = FakeLink()
    agent.link = link  # no broker here: the MQTT side is covered by the integration test
    return agent, link


def events(link: FakeLink, announcement: int | None = None) -> list[str]:
    got = [decode(NodeEvent, p) for p in link.on(topics.node_events(NODE))]
    return [e.event.value for e in got if announcement is None or e.announcement == announcement]


def plays(tmp_path) -> list[dict]:
    path = tmp_path / "state" / "plays.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def agent(tmp_path, keys):
    a, link = make_agent(tmp_path, keys)
    a.start()
    yield a, link
    a.stop()


def test_play_command_goes_through(agent, keys, server, tmp_path):
    a, link = agent
    signer = keys[0]
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    cmd = play_command(ref, announcement=7)
    link.deliver(CMD_TOPIC, signer.seal(CMD_TOPIC, cmd))
    assert wait_until(lambda: events(link) == ["received", "ready", "started", "finished"])
    [record] = plays(tmp_path)
    assert record["node"] == NODE and record["announcement"] == 7 and record["cmd"] == cmd.id
    assert record["sha256"] == ref.sha256 and record["outcome"] == "finished"
    # `started` is published after the start but says when it was: the player's own stamp.
    [started] = [e for e in (decode(NodeEvent, p) for p in link.on(topics.node_events(NODE))) if e.event == "started"]
    assert started.at.isoformat().replace("+00:00", "Z") == record["started_at"]
    # Same audio again: from the cache, no second download.
    link.deliver(CMD_TOPIC, signer.seal(CMD_TOPIC, play_command(ref, announcement=8)))
    assert wait_until(lambda: events(link, 8) == ["received", "ready", "started", "finished"])
    assert len(server.requests) == 1


def test_expired_command_gets_expired_event(agent, keys, server):
    a, link = agent
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    cmd = play_command(ref, now=datetime(2020, 1, 1, tzinfo=UTC), ttl_s=60, announcement=3)
    link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, cmd))
    assert events(link) == ["expired"] and server.requests == []


def test_garbage_is_counted_and_the_agent_carries_on(agent, keys, server, caplog):
    a, link = agent
    for payload in (b"\x00\x01", b"{" * 100_000, b"[" * 60_000, b'{"v":1}', CMD_TOPIC.encode()):
        link.deliver(CMD_TOPIC, payload)
    assert a.rejected_commands == 5 and events(link) == []
    assert a.telemetry().rejected_commands == 5
    assert not any(r.exc_info for r in caplog.records)
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, play_command(ref)))
    assert wait_until(lambda: events(link)[-1:] == ["finished"])


def test_download_404_is_a_failed_event_with_reason(agent, keys, server):
    a, link = agent
    ref = audio_ref(DATA, server.url("missing.opus"))
    link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, play_command(ref)))
    assert wait_until(lambda: events(link) == ["received", "failed"])
    detail = decode(NodeEvent, link.on(topics.node_events(NODE))[-1]).detail
    assert "404" in detail
    assert a.cache.pinned() == set()


def test_staged_play_survives_restart(tmp_path, keys, server):
    clock = ManualClock(datetime.now(UTC))
    ref = audio_ref(DATA, server.add("a.opus", DATA))
    cmd = play_command(ref, now=clock.now(), play_in_s=600, ttl_s=900, announcement=5)
    first, link = make_agent(tmp_path, keys, clock)
    first.start()
    link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, cmd))
    assert wait_until(lambda: events(link) == ["received", "ready"])
    first.stop()
    second, link2 = make_agent(tmp_path, keys, clock)
    second.start()
    try:
        link2.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, cmd))  # broker redelivery: a replay
        assert [p.cmd for p in second.timeline.pending()] == [cmd.id]
        assert wait_until(lambda: events(link2) == ["ready"])
        clock.advance(600)
        assert wait_until(lambda: events(link2) == ["ready", "started", "finished"])
        assert [p["announcement"] for p in plays(tmp_path)] == [5]
    finally:
        second.stop()


def test_emergency_preempts_through_the_agent(tmp_path, keys, server):
    clock = ManualClock(datetime.now(UTC))
    a, link = make_agent(tmp_path, keys, clock, player={"backend": "file", "realtime": True})
    a.start()
    try:
        ref = audio_ref(DATA, server.add("a.opus", DATA), duration_ms=60_000)
        normal = play_command(ref, now=clock.now(), announcement=1)
        link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, normal))
        assert wait_reported_start(clock, a.timeline, normal.id, lambda: events(link, 1) == ["received", "ready", "started"])
        assert a.telemetry().now_playing.announcement == 1
        urgent = play_command(ref, now=clock.now(), announcement=2, priority=Priority.EMERGENCY)
        link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, urgent))
        assert wait_reported_start(clock, a.timeline, urgent.id, lambda: events(link, 1)[-2:] == ["preempted", "ready"] and events(link, 2)[-1:] == ["started"])
        clock.advance(60)  # the emergency ends as the re-staged normal play expires: it is dropped
        assert wait_until(lambda: events(link, 2)[-1:] == ["finished"] and events(link, 1)[-1:] == ["expired"])
        assert [(p["announcement"], p["outcome"]) for p in plays(tmp_path)] == [(1, "preempted"), (2, "finished")]
    finally:
        a.stop()


def test_online_and_telemetry_on_connect_and_offline_on_stop(tmp_path, keys):
    a, link = make_agent(tmp_path, keys)
    a.start()
    try:
        a._announce_online()  # what the real link's on_connected hook calls
        [(topic, state, qos, retain)] = [m for m in link.published if m[0] == topics.node_state(NODE)]
        assert decode(NodeState, state).state == "online" and retain and qos == 1
        telemetry = link.on(topics.node_telemetry(NODE))  # the reporter's first one may also be there
        assert telemetry and decode(Telemetry, telemetry[-1]).node == NODE
    finally:
        a.stop()
    a.stop()  # idempotent
    topic, payload, retain = link.final
    assert topic == topics.node_state(NODE) and retain and decode(NodeState, payload).state == "offline"


def test_telemetry(tmp_path, keys):
    a, link = make_agent(tmp_path, keys, telemetry_interval_s=0.05, volume=65)
    a.start()
    try:
        assert wait_until(lambda: len(link.on(topics.node_telemetry(NODE))) >= 2)
        t = decode(Telemetry, link.on(topics.node_telemetry(NODE))[-1])
        assert t.node == NODE and t.volume == 65 and t.uptime_s >= 0 and t.cache_files == 0
        assert t.mem_total_kb and t.disk_free_kb and t.agent_version
        assert len(link.on(topics.node_telemetry(NODE))[-1]) < 600  # small: it rides a paid SIM
    finally:
        a.stop()


def test_stop_is_quick_while_playing(tmp_path, keys, server):
    a, link = make_agent(tmp_path, keys, player={"backend": "file", "realtime": True})
    a.start()
    ref = audio_ref(DATA, server.add("a.opus", DATA), duration_ms=120_000)
    link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, play_command(ref)))
    assert wait_until(lambda: "started" in events(link))
    t0 = time.monotonic()
    a.stop()
    assert time.monotonic() - t0 < 3
    assert events(link)[-1] == "failed" and plays(tmp_path)[0]["outcome"] == "stopped"


def test_bad_public_key_is_a_config_error(tmp_path, keys):
    (tmp_path / "bad.pub").write_text("not a key")
    with pytest.raises(ConfigError, match="bad.pub"):
        Agent(settings(tmp_path, keys, public_key_files=[tmp_path / "bad.pub"]))
    with pytest.raises(ConfigError, match="public_key_files"):
        Agent(settings(tmp_path, keys, public_key_files=[]))


def test_agent_imports_only_what_a_pi_has():
    code = (
        "import sys, speaker_agent.cli, speaker_agent.agent;"
        "bad = [m for m in sys.modules if m.split('.')[0] in"
        " ('controller', 'audio', 'fastapi', 'sqlmodel', 'loa', 'schedules', 'httpx', 'pydub', 'pyttsx3')];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
