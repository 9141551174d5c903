"""The controller against a REAL Mosquitto (generated config, per-node accounts and ACL).

A test MQTT client logs in as node `dong-1` and behaves like an agent: its state,
telemetry and events must reach the database through fleet.py, the signed command
must reach it on its hamlet topic, and all of it must survive a broker restart and a
controller restart (persistent session: events sent while the controller is away).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from controller import provision
from controller.app import create_app
from controller.db import init_db, make_engine
from controller.settings import ControllerSettings
from loa.broker import BrokerConfig, Mosquitto, free_port, hash_password, wait_port
from protocol.link import LinkOptions, MqttLink, Will
from protocol.reports import EventKind, NodeEvent, NodeState, NodeStatus, Telemetry
from protocol.signing import Verifier
from protocol.topics import node_cmd, node_events, node_state, node_telemetry, zone_cmd
from tests.controller.conftest import AUTH, MQTT_PASSWORD, TOKEN, TestClient, make_settings
from tests.controller.factories import FakePipeline, seed_province

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def wait_until(check: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def broker_setup(tmp_path: Path, keys: tuple[Path, Path]) -> Iterator[tuple[ControllerSettings, Mosquitto, dict[str, str]]]:
    port = free_port()
    settings = make_settings(
        tmp_path, keys[0], mqtt_port=port, mqtt_keepalive=5, mqtt_client_id="loa-controller-test"
    )
    engine = make_engine(settings)
    init_db(engine)
    with Session(engine) as s:
        passwords = seed_province(s)
        users = provision.broker_users(s, settings.mqtt_username, hash_password(MQTT_PASSWORD))
    engine.dispose()
    broker = Mosquitto(BrokerConfig(port=port, directory=tmp_path / "broker", users=users))
    broker.start()
    try:
        yield settings, broker, passwords
    finally:
        broker.stop()


def node_link(port: int, node_id: str, password: str) -> MqttLink:
    return MqttLink(
        LinkOptions(
            host="127.0.0.1",
            port=port,
            client_id=node_id,
            username=node_id,
            password=password,
            keepalive=5,
            will=Will(node_state(node_id), NodeState(state=NodeStatus.OFFLINE).to_json()),
        )
    )


def test_fleet_ingestion_dispatch_and_reconnects(
    broker_setup: tuple[ControllerSettings, Mosquitto, dict[str, str]], verifier: Verifier, tmp_path: Path
) -> None:
    settings, broker, passwords = broker_setup
    commands: queue.Queue[tuple[str, bytes]] = queue.Queue()
    node = node_link(broker.port, "dong-1", passwords["dong-1"])
    node.subscribe(zone_cmd("thon-dong"), lambda t, p: commands.put((t, p)))
    node.subscribe(node_cmd("dong-1"), lambda t, p: commands.put((t, p)))
    node.start()

    def new_app():
        return create_app(settings, pipeline=FakePipeline(tmp_path / "state" / "audio"))

    def delivery(client: TestClient, ann_id: int) -> str:
        rows = client.get(f"/api/v1/announcements/{ann_id}").json()["deliveries"]
        return {d["node_id"]: d["state"] for d in rows}["dong-1"]

    def send_event(cmd_id: str, ann_id: int, kind: EventKind) -> None:
        msg = NodeEvent(node="dong-1", cmd=cmd_id, announcement=ann_id, event=kind, at=datetime.now(UTC))
        node.publish(node_events("dong-1"), msg.to_json(), qos=1)

    try:
        app = new_app()
        with TestClient(app, headers=AUTH) as client:
            ctx = app.state.ctx
            wait_until(lambda: ctx.mqtt_connected() and node.connected.is_set(), what="both links up")
            assert client.get("/healthz").json() == {"status": "ok", "db": True, "mqtt": True}

            # state (retained) and telemetry
            node.publish(node_state("dong-1"), NodeState(state=NodeStatus.ONLINE, at=datetime.now(UTC), agent_version="9.9").to_json(), qos=1, retain=True)
            wait_until(lambda: client.get("/api/v1/nodes/dong-1").json()["online"], what="node online")
            t = Telemetry(node="dong-1", at=datetime.now(UTC), agent_version="9.9", uptime_s=3.0, volume=70)
            node.publish(node_telemetry("dong-1"), t.to_json(), qos=0)
            wait_until(lambda: (client.get("/api/v1/nodes/dong-1").json()["telemetry"] or {}).get("volume") == 70, what="telemetry")

            # a command reaches the node on its hamlet topic, signed
            ann = client.post("/api/v1/announcements", json={"text": "Họp thôn", "targets": {"zones": ["thon-dong"]}}).json()
            topic, payload = commands.get(timeout=10)
            assert topic == zone_cmd("thon-dong")
            cmd = verifier.open(topic, payload)
            assert cmd.play is not None and cmd.play.announcement == ann["id"]
            send_event(cmd.id, ann["id"], EventKind.RECEIVED)
            wait_until(lambda: delivery(client, ann["id"]) == "received", what="received")

            # a node cannot speak for another: the ACL drops it, fleet.py never sees it
            spoof = NodeEvent(node="dong-2", cmd=cmd.id, announcement=ann["id"], event=EventKind.FAILED, at=datetime.now(UTC))
            node.publish(node_events("dong-2"), spoof.to_json(), qos=1)

            # broker restart that also forgets every session: only a link that resubscribes
            # on reconnect hears the node again
            broker.stop()
            wait_until(lambda: not ctx.mqtt_connected(), what="controller notices the broker is gone")
            for f in (tmp_path / "broker" / "data").iterdir():
                f.unlink()
            broker.start()
            wait_until(lambda: ctx.mqtt_connected() and node.connected.is_set(), what="reconnect after broker restart")
            send_event(cmd.id, ann["id"], EventKind.STARTED)
            wait_until(lambda: delivery(client, ann["id"]) == "started", what="event after broker restart")
            states = {d["node_id"]: d["state"] for d in client.get(f"/api/v1/announcements/{ann['id']}").json()["deliveries"]}
            assert states["dong-2"] == "sent"

        # controller down: the broker queues the node's QoS 1 event in the controller's session
        send_event(cmd.id, ann["id"], EventKind.FINISHED)
        time.sleep(0.3)
        app = new_app()
        with TestClient(app, headers=AUTH) as client:
            wait_until(lambda: delivery(client, ann["id"]) == "finished", what="queued event after controller restart")
    finally:
        node.stop()


def test_serve_command_runs_the_real_thing(
    broker_setup: tuple[ControllerSettings, Mosquitto, dict[str, str]], keys: tuple[Path, Path], tmp_path: Path
) -> None:
    """`loa controller serve` as a process: lifespan, MQTT, health, clean SIGTERM exit."""
    settings, broker, _ = broker_setup
    http_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOA_")},
        "LOA_STATE_DIR": str(settings.state_dir),
        "LOA_API_TOKENS": TOKEN,
        "LOA_MQTT_PORT": str(broker.port),
        "LOA_MQTT_PASSWORD": MQTT_PASSWORD,
        "LOA_SIGNING_KEY_FILE": str(keys[0]),
        "LOA_PUBLIC_URL": f"http://127.0.0.1:{http_port}",
    }
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "serve", "--port", str(http_port), "--log-level", "info"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        assert wait_port("127.0.0.1", http_port, 30), (tmp_path / "serve.log").read_text()
        with httpx.Client(base_url=f"http://127.0.0.1:{http_port}") as http:
            wait_until(lambda: http.get("/healthz").status_code == 200, what="healthy")
            assert http.get("/api/v1/zones").status_code == 401
            zones = http.get("/api/v1/zones", headers={"Authorization": f"Bearer {TOKEN}"}).json()["items"]
            assert len(zones) == 6
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        log.close()
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught
    output = (tmp_path / "serve.log").read_text()
    assert code in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output and "Traceback" not in output
