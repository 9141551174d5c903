"""Technician commands on the agent: volume (persisted, applied, reported), test tone, restart."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta

from protocol import topics
from protocol.base import decode
from protocol.commands import Command, CommandKind, ControlAction, ControlOrder, Priority
from protocol.reports import NodeEvent, NodeTimeline, Telemetry
from protocol.signing import key_id, load_private_key
from speaker_agent import cli
from speaker_agent.agent import Agent
from speaker_agent.clock import ManualClock
from speaker_agent.config import write_settings
from speaker_agent.control import VOLUME_FILE, tone_wav
from speaker_agent.alsa import AlsaPlayer
from tests.speaker_agent.helpers import FakeLink, audio_ref, play_command, wait_reported_start, wait_until
from tests.speaker_agent.test_agent import CMD_TOPIC, DATA, NODE, make_agent, plays, settings

TONE_SHA = hashlib.sha256(tone_wav()).hexdigest()


def control(action: str, volume: int | None = None, *, now: datetime | None = None, ttl_s: float = 120) -> Command:
    now = now or datetime.now(UTC)
    return Command(
        id=uuid.uuid4().hex, kind=CommandKind.CONTROL, issued_at=now, expires_at=now + timedelta(seconds=ttl_s),
        control=ControlOrder(action=ControlAction(action), volume=volume),
    )


def node_events(link: FakeLink, cmd: str | None = None) -> list[NodeEvent]:
    got = [decode(NodeEvent, p) for p in link.on(topics.node_events(NODE))]
    return [e for e in got if cmd is None or e.cmd == cmd]


def kinds(link: FakeLink, cmd: str) -> list[str]:
    return [e.event.value for e in node_events(link, cmd)]


def send(link: FakeLink, keys, cmd: Command) -> None:
    link.deliver(CMD_TOPIC, keys[0].seal(CMD_TOPIC, cmd))


def test_volume_is_persisted_applied_to_plays_and_reported(tmp_path, keys, server):
    a, link = make_agent(tmp_path, keys, volume=80)
    a.start()
    try:
        cmd = control("volume", 35)
        send(link, keys, cmd)
        [ack] = node_events(link, cmd.id)
        assert ack.event.value == "applied" and ack.detail == "volume 35" and ack.announcement is None
        assert json.loads((tmp_path / "state" / VOLUME_FILE).read_text()) == {"volume": 35}
        # Reported at once (not only at the next telemetry interval) and from then on.
        assert decode(Telemetry, link.on(topics.node_telemetry(NODE))[-1]).volume == 35
        assert a.telemetry().volume == 35
        ref = audio_ref(DATA, server.add("a.opus", DATA))
        send(link, keys, play_command(ref, announcement=4))
        assert wait_until(lambda: len(plays(tmp_path)) == 1)
        assert plays(tmp_path)[0]["volume"] == 35
    finally:
        a.stop()
    # A new run (after a power cut or restart) keeps the technician's volume over the config's.
    b, link2 = make_agent(tmp_path, keys, volume=80)
    assert b.telemetry().volume == 35 and b.player.volume == 35


def test_unreadable_volume_file_falls_back_to_config(tmp_path, keys):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / VOLUME_FILE).write_text('{"volume": 250}')
    a, _ = make_agent(tmp_path, keys, volume=60)
    assert a.telemetry().volume == 60
    (tmp_path / "state" / VOLUME_FILE).write_bytes(b"\xff garbage")
    a, _ = make_agent(tmp_path, keys, volume=61)
    assert a.telemetry().volume == 61


def test_alsa_player_uses_the_volume_in_its_ffmpeg_filter(tmp_path):
    player = AlsaPlayer(device="hw:1", volume=80)
    player.set_volume(35)
    assert "volume=0.35" in player.command()
    assert "volume=0.35" in player.relay_command("http://127.0.0.1/s", 10)


def test_test_tone_is_generated_played_and_reported(tmp_path, keys):
    a, link = make_agent(tmp_path, keys)
    a.start()
    try:
        cmd = control("test_tone")
        send(link, keys, cmd)
        assert wait_until(lambda: kinds(link, cmd.id) == ["received", "ready", "started", "finished"])
        [record] = plays(tmp_path)
        assert record["cmd"] == cmd.id and record["sha256"] == TONE_SHA and record["outcome"] == "finished"
        assert record["announcement"] is None
        kept = tmp_path / "state" / "played" / f"{TONE_SHA}.wav"
        assert kept.read_bytes() == tone_wav()
        a.publish_timeline()  # a tone is never reported as a staged programme play
        timeline = decode(NodeTimeline, link.on(topics.node_timeline(NODE))[-1])
        assert timeline.staged == []
    finally:
        a.stop()


def test_tone_is_a_real_two_second_1khz_wav():
    import io
    import wave

    with wave.open(io.BytesIO(tone_wav())) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        assert w.getnframes() == 32000
        frames = w.readframes(w.getnframes())
    samples = [int.from_bytes(frames[i : i + 2], "little", signed=True) for i in range(0, len(frames), 2)]
    crossings = sum(1 for x, y in zip(samples, samples[1:]) if x < 0 <= y)
    assert 1990 <= crossings <= 2010  # 1 kHz for 2 s
    assert max(samples) > 15000 and abs(samples[0]) < 100 and abs(samples[-1]) < 100


def test_test_tone_waits_for_an_emergency_instead_of_preempting_it(tmp_path, keys, server):
    clock = ManualClock(datetime.now(UTC))
    a, link = make_agent(tmp_path, keys, clock, player={"backend": "file", "realtime": True})
    a.start()
    try:
        ref = audio_ref(DATA, server.add("a.opus", DATA), duration_ms=30_000)
        urgent = play_command(ref, now=clock.now(), announcement=9, priority=Priority.EMERGENCY, ttl_s=600)
        send(link, keys, urgent)
        assert wait_reported_start(clock, a.timeline, urgent.id, lambda: kinds(link, urgent.id)[-1:] == ["started"])
        tone = control("test_tone", now=clock.now(), ttl_s=600)
        send(link, keys, tone)
        assert wait_until(lambda: kinds(link, tone.id) == ["received", "ready"])
        clock.advance(30)
        assert wait_until(lambda: kinds(link, urgent.id)[-1:] == ["finished"])
        assert wait_reported_start(clock, a.timeline, tone.id, lambda: kinds(link, tone.id)[-1:] == ["started"])
        clock.advance(2)
        assert wait_until(lambda: kinds(link, tone.id)[-1:] == ["finished"])
        assert [(p["cmd"], p["outcome"]) for p in plays(tmp_path)] == [(urgent.id, "finished"), (tone.id, "finished")]
    finally:
        a.stop()


def _sign_raw(key_file, topic: str, cmd_json: str) -> bytes:
    """An envelope with a valid signature over an arbitrary (invalid) command string."""
    key = load_private_key(key_file)
    sig = base64.urlsafe_b64encode(key.sign(topic.encode() + b"\n" + cmd_json.encode())).rstrip(b"=").decode()
    return json.dumps({"v": 1, "kid": key_id(key.public_key()), "sig": sig, "cmd": cmd_json}).encode()


def test_garbage_control_is_counted_and_ignored(tmp_path, keys):
    a, link = make_agent(tmp_path, keys)
    a.start()
    try:
        now = datetime.now(UTC)
        head = {"v": 1, "kind": "control", "issued_at": now.isoformat(), "expires_at": (now + timedelta(60)).isoformat()}
        bodies = [{"action": "volume"}, {"action": "volume", "volume": 300}, {"action": "reboot-the-world"}, None, "x"]
        for n, body in enumerate(bodies):
            raw = dict(head, id=f"garbage-{n:04d}", **({"control": body} if body is not None else {}))
            # Signed by the real key, so only the body is wrong: still refused, counted, no event.
            link.deliver(CMD_TOPIC, _sign_raw(tmp_path / "controller.key", CMD_TOPIC, json.dumps(raw)))
        forged = json.loads(keys[0].seal(CMD_TOPIC, control("volume", 10)))
        forged["cmd"] = forged["cmd"].replace('"volume":10', '"volume":99')
        link.deliver(CMD_TOPIC, json.dumps(forged).encode())
        assert a.rejected_commands == len(bodies) + 1 and node_events(link) == []
        assert a.telemetry().volume == 80
        cmd = control("volume", 20)
        send(link, keys, cmd)
        assert kinds(link, cmd.id) == ["applied"] and a.telemetry().volume == 20
    finally:
        a.stop()


def test_embedded_agent_refuses_restart(tmp_path, keys):
    a, link = make_agent(tmp_path, keys)
    a.start()
    try:
        cmd = control("restart")
        send(link, keys, cmd)
        [event] = node_events(link, cmd.id)
        assert event.event.value == "failed" and "embedded" in event.detail
    finally:
        a.stop()


def test_restart_stops_cleanly_reexecs_and_a_replay_does_not_loop(tmp_path, keys):
    config = tmp_path / "agent.toml"
    write_settings(settings(tmp_path, keys), config)
    made: list[tuple[Agent, FakeLink]] = []

    def make(settings_, on_restart):
        agent = Agent(settings_, on_restart=on_restart, download_backoff_s=0.01)
        link = FakeLink()
        agent.link = link
        made.append((agent, link))
        return agent

    execs: list[tuple[str, list[str]]] = []
    cmd = control("restart")
    payload = keys[0].seal(CMD_TOPIC, cmd)

    def deliver() -> None:
        assert wait_until(lambda: made and made[-1][1].connected.is_set(), timeout=10)
        made[-1][1].deliver(CMD_TOPIC, payload)

    sender = threading.Thread(target=deliver, name="test-deliver-restart")
    sender.start()
    rc = cli.main(["run", "--config", str(config)], exec_fn=lambda path, argv: execs.append((path, argv)), make_agent=make)
    sender.join(5)
    agent, link = made[0]
    assert rc == 0 and execs == [(sys.executable, [sys.executable, *sys.orig_argv[1:]])]
    assert kinds(link, cmd.id) == ["applied"] and node_events(link, cmd.id)[0].detail == "restarting"
    assert link.final is not None and b"offline" in link.final[1]  # stopped cleanly before the exec
    # The "new process": same state dir; the broker redelivers (or someone replays) the restart.
    restarted: list[int] = []
    again = Agent(settings(tmp_path, keys), on_restart=lambda: restarted.append(1))
    again.link = link2 = FakeLink()
    again.start()
    try:
        link2.deliver(CMD_TOPIC, payload)
        assert restarted == [] and again.rejected_commands == 1 and node_events(link2) == []
    finally:
        again.stop()


def test_expired_control_is_reported_and_not_acted_on(tmp_path, keys):
    a, link = make_agent(tmp_path, keys)
    a.start()
    try:
        old = control("volume", 5, now=datetime(2020, 1, 1, tzinfo=UTC))
        send(link, keys, old)
        assert kinds(link, old.id) == ["expired"] and a.telemetry().volume == 80
    finally:
        a.stop()


def test_a_waiting_tone_survives_an_agent_restart(tmp_path, keys, server):
    clock = ManualClock(datetime.now(UTC))
    a, link = make_agent(tmp_path, keys, clock, player={"backend": "file", "realtime": True})
    a.start()
    try:
        ref = audio_ref(DATA, server.add("a.opus", DATA), duration_ms=30_000)
        first = play_command(ref, now=clock.now(), announcement=3, ttl_s=600)
        send(link, keys, first)
        assert wait_reported_start(clock, a.timeline, first.id, lambda: kinds(link, first.id)[-1:] == ["started"])  # on air: the tone must wait
        tone = control("test_tone", now=clock.now(), ttl_s=600)
        send(link, keys, tone)
        assert wait_until(lambda: kinds(link, tone.id) == ["received", "ready"])
    finally:
        a.stop()
    (tmp_path / "state" / "tone").joinpath(next((tmp_path / "state" / "tone").iterdir()).name).unlink()
    b, link2 = make_agent(tmp_path, keys, clock, player={"backend": "file", "realtime": True})
    b.start()
    try:  # restored from timeline.json; the tone file is generated again, nothing is downloaded
        assert wait_reported_start(clock, b.timeline, tone.id, lambda: kinds(link2, tone.id)[:2] == ["ready", "started"])
        clock.advance(2)
        assert wait_until(lambda: kinds(link2, tone.id)[-1:] == ["finished"])
        assert [p["sha256"] for p in plays(tmp_path) if p["cmd"] == tone.id] == [TONE_SHA]
    finally:
        b.stop()
