"""Relays (tiếp sóng): a live stream played from start_at to end_at, through the Agent.

The stream is real: a paced endless MP3 served on 127.0.0.1 (tests/speaker_agent/
streams.py), recorded by the FileSinkPlayer with real ffmpeg, so durations, reconnects
and interruptions are measured on actual files.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from protocol import topics
from protocol.base import decode
from protocol.commands import Command, CommandKind, Priority, RelayOrder
from protocol.reports import NodeEvent, NodeTimeline
from speaker_agent.agent import Agent
from speaker_agent.clock import ManualClock
from speaker_agent.config import AgentSettings
from speaker_agent.player import FileSinkPlayer, PlayerError, PlayInfo, RelayOptions
from speaker_agent.timeline import StagedPlay, Timeline
from tests.speaker_agent.helpers import FakeLink, audio_ref, cancel_command, play_command, wait_until, wait_reported_start
from tests.speaker_agent.streams import LiveStream, duration_s, make_tone

NODE = "thon-1-loa-1"
CMD_TOPIC = topics.node_cmd(NODE)
FAST = RelayOptions(backoff_s=0.05, backoff_max_s=0.2, max_failures=3, healthy_s=1.0)


@pytest.fixture(scope="module")
def tone(tmp_path_factory):
    return make_tone(tmp_path_factory.mktemp("tone") / "tone.mp3")


def relay_command(url: str, start: datetime, end: datetime, *, relay_id: str = "relay:7",
                  priority: Priority = Priority.NORMAL) -> Command:  # fmt: skip
    now = min(datetime.now(UTC), start)
    return Command(
        id=uuid.uuid4().hex, kind=CommandKind.RELAY, issued_at=now, expires_at=end,
        relay=RelayOrder(relay_id=relay_id, url=url, start_at=start, end_at=end, priority=priority),
    )


def make_agent(tmp_path, keys, options: RelayOptions = FAST) -> tuple[Agent, FakeLink]:
    settings = AgentSettings(
        node_id=NODE, zones=["thon-1"], state_dir=tmp_path / "state", public_key_files=[keys[1]],
        telemetry_interval_s=3600, download_attempts=2, download_timeout_s=2,
        player={"backend": "file", "realtime": True},
    )  # fmt: skip
    player = FileSinkPlayer(tmp_path / "state", node_id=NODE, realtime=True, relay_options=options)
    agent = Agent(settings, player=player, download_backoff_s=0.01)
    link = FakeLink()
    agent.link = link
    return agent, link


def relay_events(link: FakeLink, relay: str = "relay:7") -> list[str]:
    got = [decode(NodeEvent, p) for p in link.on(topics.node_events(NODE))]
    return [e.event.value for e in got if e.relay == relay]


def ann_events(link: FakeLink, announcement: int) -> list[str]:
    got = [decode(NodeEvent, p) for p in link.on(topics.node_events(NODE))]
    return [e.event.value for e in got if e.announcement == announcement]


def plays(tmp_path) -> list[dict]:
    path = tmp_path / "state" / "plays.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def recorded(tmp_path, record: dict) -> float:
    return sum(duration_s(tmp_path / "state" / "relays" / name) for name in record["files"])


def send(agent_link: FakeLink, keys, cmd: Command) -> None:
    agent_link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, cmd))


def test_relay_plays_for_its_window(tmp_path, keys, tone):
    a, link = make_agent(tmp_path, keys)
    a.start()
    try:
        with LiveStream(tone) as stream:
            now = datetime.now(UTC)
            send(link, keys, relay_command(stream.url, now + timedelta(seconds=0.5), now + timedelta(seconds=3.5)))
            assert wait_until(lambda: relay_events(link)[:3] == ["received", "ready", "started"], timeout=3)
            assert a.telemetry().now_playing.relay == "relay:7"
            assert wait_until(lambda: relay_events(link)[-1:] == ["finished"], timeout=8)
        (rec,) = plays(tmp_path)
        assert rec["relay"] == "relay:7" and rec["url"] == stream.url and rec["outcome"] == "finished"
        assert rec["bytes"] > 3000
        started = datetime.fromisoformat(rec["started_at"])
        assert abs((started - (now + timedelta(seconds=0.5))).total_seconds()) < 0.5
        assert abs(recorded(tmp_path, rec) - 3.0) < 1.5
    finally:
        a.stop()


def test_relay_joins_in_progress_and_is_idempotent(tmp_path, keys, tone):
    a, link = make_agent(tmp_path, keys)
    a.start()
    try:
        with LiveStream(tone) as stream:
            now = datetime.now(UTC)
            start, end = now - timedelta(minutes=5), now + timedelta(seconds=2)
            send(link, keys, relay_command(stream.url, start, end))
            assert wait_until(lambda: "started" in relay_events(link), timeout=3)
            send(link, keys, relay_command(stream.url, start, end))  # re-sent: same relay id, ignored
            assert wait_until(lambda: relay_events(link)[-1:] == ["finished"], timeout=6)
        assert relay_events(link) == ["received", "ready", "started", "finished"]
        (rec,) = plays(tmp_path)
        assert abs(recorded(tmp_path, rec) - 2.0) < 1.5
    finally:
        a.stop()


def test_relay_survives_a_dropped_connection(tmp_path, keys, tone):
    a, link = make_agent(tmp_path, keys)
    a.start()
    try:
        with LiveStream(tone, drop_first_after_s=1.0) as stream:
            now = datetime.now(UTC)
            send(link, keys, relay_command(stream.url, now, now + timedelta(seconds=4)))
            assert wait_until(lambda: relay_events(link)[-1:] == ["finished"], timeout=9)
            assert stream.connections >= 2
        (rec,) = plays(tmp_path)
        assert rec["outcome"] == "finished"
        assert abs(recorded(tmp_path, rec) - 4.0) < 2.0
    finally:
        a.stop()


def test_emergency_interrupts_the_relay_which_resumes(tmp_path, keys, tone, server):
    a, link = make_agent(tmp_path, keys)
    a.start()
    try:
        with LiveStream(tone) as stream:
            now = datetime.now(UTC)
            end = now + timedelta(seconds=5)
            send(link, keys, relay_command(stream.url, now, end))
            assert wait_until(lambda: "started" in relay_events(link), timeout=3)
            data = b"emergency" * 1000
            ref = audio_ref(data, server.add("e.opus", data), duration_ms=1000)
            send(link, keys, play_command(ref, announcement=9, priority=Priority.EMERGENCY))
            assert wait_until(lambda: ann_events(link, 9)[-1:] == ["finished"], timeout=5)
            assert wait_until(lambda: relay_events(link)[-1:] == ["finished"], timeout=8)
        assert relay_events(link) == ["received", "ready", "started", "preempted", "ready", "started", "finished"]
        records = plays(tmp_path)
        assert [(r.get("relay"), r.get("announcement"), r["outcome"]) for r in records] == [
            ("relay:7", None, "preempted"), (None, 9, "finished"), ("relay:7", None, "finished"),
        ]
        first, _, second = records
        assert datetime.fromisoformat(second["finished_at"]) >= end - timedelta(seconds=0.5)
        total = recorded(tmp_path, first) + recorded(tmp_path, second)
        assert 2.0 < total < 5.5  # the window minus the emergency's second (and restart latency)
    finally:
        a.stop()


def test_cancel_stops_the_relay_and_timeline_reports_relays(tmp_path, keys, tone):
    a, link = make_agent(tmp_path, keys)
    a.start()
    try:
        with LiveStream(tone) as stream:
            now = datetime.now(UTC)
            later = relay_command(stream.url, now + timedelta(hours=1), now + timedelta(hours=2), relay_id="relay:8")
            send(link, keys, later)
            send(link, keys, relay_command(stream.url, now, now + timedelta(seconds=30)))
            assert wait_until(lambda: "started" in relay_events(link), timeout=3)
            send(link, keys, cancel_command(occurrences=["relay:7"]))
            assert wait_until(lambda: relay_events(link)[-1:] == ["cancelled"], timeout=3)
        (rec,) = plays(tmp_path)
        assert rec["outcome"] == "cancelled"
        report = decode(NodeTimeline, link.on(topics.node_timeline(NODE))[-1])
        assert report.staged == [] and [(r.relay, r.cmd) for r in report.relays] == [("relay:8", later.id)]
    finally:
        a.stop()


def test_unreachable_stream_fails_after_retries(tmp_path, keys, tone):
    a, link = make_agent(tmp_path, keys)
    a.start()
    try:
        with LiveStream(tone) as stream:
            now = datetime.now(UTC)
            send(link, keys, relay_command(stream.missing_url, now, now + timedelta(seconds=30)))
            assert wait_until(lambda: relay_events(link)[-1:] == ["failed"], timeout=8)
        detail = [decode(NodeEvent, p) for p in link.on(topics.node_events(NODE))][-1].detail
        assert "unreachable after 3 attempts" in detail
        assert plays(tmp_path)[0]["outcome"] == "failed"
    finally:
        a.stop()


# -- the timeline's relay rules, with a manual clock and a fake relay player ----------------


class FakeRelayPlayer:
    def __init__(self, clock) -> None:
        self.clock = clock
        self.calls: list[str] = []

    def play(self, path, duration_ms, stop_event, info=None) -> None:
        self.calls.append(f"play:{info.announcement}")
        self.clock.wait(stop_event, duration_ms / 1000)

    def relay(self, url: str, end_at: datetime, stop_event: threading.Event, info: PlayInfo | None = None) -> None:
        self.calls.append(f"relay:{info.relay}")
        self.clock.wait(stop_event, (end_at - self.clock.now()).total_seconds())


def relay_play(clock, start_s: float, end_s: float, priority=Priority.NORMAL) -> StagedPlay:
    now = clock.now()
    cmd = relay_command("http://127.0.0.1:9/x", now + timedelta(seconds=start_s), now + timedelta(seconds=end_s),
                        priority=priority)  # fmt: skip
    return StagedPlay.from_command(cmd)


@pytest.mark.parametrize(
    ("relay_priority", "ann_priority", "preempts"),
    [
        (Priority.NORMAL, Priority.NORMAL, False),
        (Priority.NORMAL, Priority.PRIORITY, True),
        (Priority.PRIORITY, Priority.PRIORITY, False),
        (Priority.PRIORITY, Priority.EMERGENCY, True),
    ],
)
def test_which_announcements_interrupt_a_relay(tmp_path, relay_priority, ann_priority, preempts):
    clock = ManualClock(datetime(2025, 6, 1, 7, 0, tzinfo=UTC))
    player = FakeRelayPlayer(clock)
    seen: list[tuple[str, str]] = []
    timeline = Timeline("n", clock, player, lambda p, k, d, at=None: seen.append((p.cmd, k.value)),
                        store_path=tmp_path / "timeline.json")  # fmt: skip
    timeline.start()
    try:
        relay = relay_play(clock, 0, 600, relay_priority)
        timeline.stage(relay)
        timeline.ready(relay.cmd, tmp_path)
        assert wait_reported_start(clock, timeline, relay.cmd, lambda: (relay.cmd, "started") in seen)
        ann = StagedPlay.from_command(
            play_command(audio_ref(b"x", duration_ms=10_000), now=clock.now(), ttl_s=3600, priority=ann_priority)
        )
        timeline.stage(ann)
        timeline.ready(ann.cmd, tmp_path)
        if preempts:
            assert wait_reported_start(clock, timeline, ann.cmd, lambda: (ann.cmd, "started") in seen and (relay.cmd, "preempted") in seen)
            clock.advance(10)
            assert wait_reported_start(clock, timeline, relay.cmd, lambda: [k for c, k in seen if c == relay.cmd][-1:] == ["started"])
            assert player.calls == [f"relay:{relay.relay}", f"play:{ann.announcement}", f"relay:{relay.relay}"]
        else:
            assert not wait_until(lambda: (now := timeline.now_playing()) is not None and now.cmd == ann.cmd, timeout=0.2)
            clock.advance(600)  # the relay ends; the waiting announcement plays (still unexpired)
            assert wait_reported_start(clock, timeline, ann.cmd, lambda: (relay.cmd, "finished") in seen and (ann.cmd, "started") in seen)
    finally:
        timeline.stop()


def test_relay_interrupted_by_agent_stop_is_restored(tmp_path):
    clock = ManualClock(datetime(2025, 6, 1, 7, 0, tzinfo=UTC))
    seen: list[tuple[str, str]] = []
    timeline = Timeline("n", clock, FakeRelayPlayer(clock), lambda p, k, d, at=None: seen.append((p.cmd, k.value)),
                        store_path=tmp_path / "timeline.json")  # fmt: skip
    timeline.start()
    relay = relay_play(clock, -60, 600)
    timeline.stage(relay)
    timeline.ready(relay.cmd, tmp_path)
    assert wait_reported_start(clock, timeline, relay.cmd, lambda: (relay.cmd, "started") in seen)
    timeline.stop()
    assert (relay.cmd, "failed") not in seen
    again = Timeline("n", clock, FakeRelayPlayer(clock), lambda p, k, d, at=None: None, store_path=tmp_path / "timeline.json")
    assert [p.relay for p in again.load()] == ["relay:7"]


def test_player_without_relay_support_fails_the_relay(tmp_path):
    clock = ManualClock(datetime(2025, 6, 1, 7, 0, tzinfo=UTC))
    seen: list[tuple[str, str, str | None]] = []

    class PlayOnly:
        def play(self, *args, **kw) -> None:
            raise AssertionError("not a play")

    timeline = Timeline("n", clock, PlayOnly(), lambda p, k, d, at=None: seen.append((p.cmd, k.value, d)))
    timeline.start()
    try:
        relay = relay_play(clock, 0, 60)
        timeline.stage(relay)
        timeline.ready(relay.cmd, tmp_path)
        assert wait_until(lambda: any(k == "failed" for _, k, _ in seen))
        assert "cannot relay" in seen[-1][2]
    finally:
        timeline.stop()


def test_alsa_relay_command_line():
    from speaker_agent.alsa import AlsaPlayer

    argv = AlsaPlayer(device="hw:1", volume=50).relay_command("https://radio.example.vn/vov1", 120.0)
    assert argv[:3] == ["ffmpeg", "-nostdin", "-loglevel"]
    joined = " ".join(argv)
    assert "-reconnect 1 -reconnect_streamed 1 -reconnect_delay_max 5 -i https://radio.example.vn/vov1" in joined
    assert joined.endswith("-f alsa hw:1") and "-t 120.000" in joined and "volume=0.50" in joined
    assert PlayerError  # re-exported for callers
