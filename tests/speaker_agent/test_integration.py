"""A real agent against a real Mosquitto (generated auth + ACL) and a local HTTP server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loa.broker import BrokerConfig, Mosquitto, controller_user, free_port, hash_password, node_user
from protocol import topics
from protocol.base import decode
from protocol.link import LinkOptions, MqttLink
from protocol.reports import NodeEvent, NodeState, NodeTimeline, Telemetry
from speaker_agent.agent import Agent
from speaker_agent.config import AgentSettings, write_settings
from tests.speaker_agent.helpers import audio_ref, cancel_command, play_command, wait_until

pytestmark = pytest.mark.integration

NODE, ZONES = "thon-1-loa-1", ["thon-1", "xa"]
DATA = os.urandom(40_000)


class Controller:
    """The controller's side of MQTT, enough to send commands and watch reports."""

    def __init__(self, port: int) -> None:
        self.messages: list[tuple[str, bytes, float]] = []
        self._lock = threading.Lock()
        self.link = MqttLink(
            LinkOptions("127.0.0.1", port, f"ctl-{uuid.uuid4().hex[:6]}", "ctl", "pw", persistent_session=False)
        )
        self.link.subscribe(f"loa/v1/nodes/{NODE}/#", self._on)

    def _on(self, topic: str, payload: bytes) -> None:
        with self._lock:
            self.messages.append((topic, payload, time.monotonic()))

    def on(self, leaf: str) -> list[bytes]:
        with self._lock:
            return [p for t, p, _ in self.messages if t == f"loa/v1/nodes/{NODE}/{leaf}"]

    def events(self, announcement: int | None = None) -> list[str]:
        got = [decode(NodeEvent, p) for p in self.on("events")]
        return [e.event.value for e in got if announcement is None or e.announcement == announcement]

    def states(self) -> list[str]:
        return [decode(NodeState, p).state.value for p in self.on("state")]

    def send(self, topic: str, payload: bytes) -> None:
        self.link.publish(topic, payload, qos=1).wait_for_publish(5)


@pytest.fixture
def broker(tmp_path):
    users = [controller_user("ctl", hash_password("pw")), node_user(NODE, hash_password("pw2"), ZONES)]
    mosquitto = Mosquitto(BrokerConfig(port=free_port(), directory=tmp_path / "broker", users=users))
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def controller(broker):
    c = Controller(broker.port)
    c.link.start()
    assert c.link.wait_connected(10)
    yield c
    c.link.stop()


def agent_settings(tmp_path: Path, keys, port: int) -> AgentSettings:
    return AgentSettings(
        node_id=NODE, zones=ZONES, state_dir=tmp_path / "state", public_key_files=[keys[1]],
        telemetry_interval_s=0.5, download_attempts=3, download_timeout_s=5,
        mqtt={"host": "127.0.0.1", "port": port, "password": "pw2", "keepalive": 5},
        player={"backend": "file", "realtime": True},
    )


def plays(tmp_path: Path) -> list[dict]:
    path = tmp_path / "state" / "plays.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_agent_plays_signed_command_and_survives_garbage(tmp_path, keys, broker, controller, server):
    signer = keys[0]
    agent = Agent(agent_settings(tmp_path, keys, broker.port), download_backoff_s=0.05)
    agent.start()
    try:
        assert agent.wait_connected(10)
        assert wait_until(lambda: controller.states()[-1:] == ["online"], 10)
        node_topic, zone_topic = topics.node_cmd(NODE), topics.zone_cmd("xa")
        ref = audio_ref(DATA, server.add("a.opus", DATA), duration_ms=300)
        server.faults = ["truncate"]

        for garbage in (b"\xff\xfe garbage", b"{" * 70_000, b"[1,2]", signer.seal(zone_topic, play_command(ref))):
            controller.send(node_topic, garbage)
        controller.send(zone_topic, b"\x00\x01")
        assert wait_until(lambda: agent.rejected_commands == 5, 10)

        cmd = play_command(ref, play_in_s=0.5, announcement=11)
        controller.send(zone_topic, signer.seal(zone_topic, cmd))
        assert wait_until(lambda: "finished" in controller.events(11), 15), controller.events()
        assert controller.events(11) == ["received", "ready", "started", "finished"]
        [record] = plays(tmp_path)
        assert record["cmd"] == cmd.id and record["sha256"] == ref.sha256
        assert [r for _, r in server.requests][:2] == [None, f"bytes={len(DATA) // 2}-"]

        assert wait_until(lambda: controller.on("telemetry"), 5)
        telemetry = decode(Telemetry, controller.on("telemetry")[-1])
        assert telemetry.rejected_commands == 5 and telemetry.cache_files == 1
    finally:
        t0 = time.monotonic()
        agent.stop()
        assert time.monotonic() - t0 < 3
    assert wait_until(lambda: controller.states()[-1:] == ["offline"], 5)


def test_command_sent_while_offline_arrives_on_return(tmp_path, keys, broker, controller, server):
    settings = agent_settings(tmp_path, keys, broker.port)
    first = Agent(settings)
    first.start()
    assert first.wait_connected(10)
    first.stop()  # clean disconnect; the persistent session stays on the broker
    ref = audio_ref(DATA, server.add("a.opus", DATA), duration_ms=100)
    cmd = play_command(ref, announcement=12)
    controller.send(topics.node_cmd(NODE), keys[0].seal(topics.node_cmd(NODE), cmd))
    second = Agent(settings)
    second.start()
    try:
        assert wait_until(lambda: "finished" in controller.events(12), 15), controller.events()
    finally:
        second.stop()


def test_staged_play_survives_agent_restart(tmp_path, keys, broker, controller, server):
    """Reported `ready` before the restart, played after it: the timeline is on disk and
    events made before the link is up are queued, not lost."""
    settings = agent_settings(tmp_path, keys, broker.port)
    ref = audio_ref(DATA, server.add("a.opus", DATA), duration_ms=100)
    cmd = play_command(ref, play_in_s=2.0, announcement=13)
    first = Agent(settings)
    first.start()
    try:
        # `online` is published after the subscriptions on the same connection, so once the
        # controller sees it the broker has them (wait_connected alone does not promise that).
        assert wait_until(lambda: controller.states()[-1:] == ["online"], 10)
        controller.send(topics.node_cmd(NODE), keys[0].seal(topics.node_cmd(NODE), cmd))
        assert wait_until(lambda: controller.events(13) == ["received", "ready"], 10), controller.events()
    finally:
        first.stop()
    second = Agent(settings)
    second.start()
    try:
        assert wait_until(lambda: "finished" in controller.events(13), 10), controller.events()
        assert controller.events(13) == ["received", "ready", "ready", "started", "finished"]
        assert [p["announcement"] for p in plays(tmp_path)] == [13]
    finally:
        second.stop()


def test_cli_process_stops_cleanly_on_sigterm(tmp_path, keys, broker, controller):
    config = tmp_path / "agent.toml"
    write_settings(agent_settings(tmp_path, keys, broker.port), config)
    proc = subprocess.Popen(
        [sys.executable, "-m", "speaker_agent", "run", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert wait_until(lambda: controller.states()[-1:] == ["online"], 15)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        output = proc.stdout.read().decode() if proc.stdout else ""
        if proc.stdout:
            proc.stdout.close()
    assert wait_until(lambda: controller.states()[-1:] == ["offline"], 5)
    assert "Traceback" not in output


def timelines(controller: Controller) -> list[NodeTimeline]:
    return [decode(NodeTimeline, p) for p in controller.on("timeline")]


def test_timeline_report_on_connect_and_cancel_of_a_staged_play(tmp_path, keys, broker, controller, server):
    settings = agent_settings(tmp_path, keys, broker.port)
    node_topic = topics.node_cmd(NODE)
    ref = audio_ref(DATA, server.add("a.opus", DATA), duration_ms=100)
    cmd = play_command(ref, play_in_s=2.5, ttl_s=120, announcement=21, occurrence="21:2026-11-27T16:00")
    first = Agent(settings)
    first.start()
    try:
        assert wait_until(lambda: controller.states()[-1:] == ["online"], 10)
        assert wait_until(lambda: timelines(controller), 5) and timelines(controller)[-1].staged == []
        controller.send(node_topic, keys[0].seal(node_topic, cmd))
        assert wait_until(lambda: controller.events(21) == ["received", "ready"], 10), controller.events()
    finally:
        first.stop()
    second = Agent(settings)
    second.start()
    try:
        # The report after the (re)connect lists the staged play with its occurrence.
        assert wait_until(lambda: len(timelines(controller)) == 2, 10)
        [entry] = timelines(controller)[-1].staged
        assert (entry.cmd, entry.announcement, entry.occurrence) == (cmd.id, 21, "21:2026-11-27T16:00")
        cancel = cancel_command(occurrences=["21:2026-11-27T16:00"])
        controller.send(node_topic, keys[0].seal(node_topic, cancel))
        assert wait_until(lambda: controller.events(21)[-1:] == ["cancelled"], 10), controller.events()
        assert wait_until(lambda: len(timelines(controller)) == 3, 5) and timelines(controller)[-1].staged == []
        time.sleep(max(0.0, (cmd.play.play_at - datetime.now(UTC)).total_seconds()) + 0.3)
        assert plays(tmp_path) == [] and controller.events(21) == ["received", "ready", "ready", "cancelled"]
    finally:
        second.stop()


def test_duplicate_occurrence_resend_plays_once(tmp_path, keys, broker, controller, server):
    node_topic, zone_topic = topics.node_cmd(NODE), topics.zone_cmd("xa")
    ref = audio_ref(DATA, server.add("a.opus", DATA), duration_ms=100)
    occ = "22:2026-11-27T16:05"
    agent = Agent(agent_settings(tmp_path, keys, broker.port))
    agent.start()
    try:
        assert wait_until(lambda: controller.states()[-1:] == ["online"], 10)
        first = play_command(ref, play_in_s=1.5, announcement=22, occurrence=occ)
        controller.send(zone_topic, keys[0].seal(zone_topic, first))
        assert wait_until(lambda: controller.events(22) == ["received", "ready"], 10), controller.events()
        resent = play_command(ref, play_in_s=1.0, announcement=22, occurrence=occ)  # e.g. a controller restart
        controller.send(node_topic, keys[0].seal(node_topic, resent))
        assert wait_until(lambda: "finished" in controller.events(22), 10), controller.events()
        late = play_command(ref, announcement=22, occurrence=occ)  # after it played: ignored
        controller.send(node_topic, keys[0].seal(node_topic, late))
        time.sleep(0.5)
        assert [p["cmd"] for p in plays(tmp_path)] == [resent.id]
        by_cmd = {}
        for event in (decode(NodeEvent, p) for p in controller.on("events")):
            by_cmd.setdefault(event.cmd, []).append(event.event.value)
        assert by_cmd[first.id] == ["received", "ready", "cancelled"]
        assert by_cmd[resent.id] == ["received", "ready", "started", "finished"]
        assert late.id not in by_cmd
    finally:
        agent.stop()
