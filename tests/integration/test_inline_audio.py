"""Inline emergency audio end to end: real Mosquitto, controller and agent processes.

The emergency's audio reaches the nodes inside the signed command, so it plays even
when no node can fetch anything over HTTP; a normal announcement (URL only) under the
same conditions fails, which proves the audio URL really was unreachable.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from loa.broker import BrokerConfig, Mosquitto, controller_user, free_port, hash_password, node_user
from loa.stack import DEMO_NODES
from protocol import topics
from protocol.commands import MAX_INLINE_AUDIO_BYTES, AudioRef, Command, CommandKind, PlayOrder, Priority
from protocol.link import LinkOptions, MqttLink
from protocol.signing import Signer, Verifier, generate_keypair, load_private_key, load_public_key

pytestmark = pytest.mark.integration

EMERGENCY = "Khẩn cấp: nước sông đang lên nhanh, bà con di chuyển ngay lên chỗ cao."
ROUTINE = "Thông báo: chiều nay họp thôn lúc ba giờ tại nhà văn hóa."
NODES = [n.id for n in DEMO_NODES]


@pytest.fixture
def stack_options(stack_options):
    # Nodes are told to fetch audio from a port where nothing listens (connection refused),
    # and give up after one attempt: no download can succeed in this system.
    stack_options.controller_env = {"LOA_PUBLIC_URL": "http://127.0.0.1:9"}
    stack_options.agent_overrides = {"download_attempts": 1, "download_timeout_s": 2}
    return stack_options


def post(stack, **body) -> dict:
    body.setdefault("targets", {"all": True})
    with stack.api() as api:
        r = api.post("/api/v1/announcements", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def audio_requests(stack) -> list[str]:
    log = (stack.dir / "logs" / "controller.log").read_text(errors="replace")
    return [line for line in log.splitlines() if "GET /audio/" in line]


def test_emergency_plays_with_the_audio_server_unreachable(stack, tap):
    created = post(stack, text=EMERGENCY, priority="emergency")
    ann = created["id"]
    assert created["audio"]["size"] <= 96 * 1024  # small enough to travel inline by default
    for node in NODES:
        assert tap.wait_for(node, "finished", ann, timeout=60), (node, tap.of(node, ann))
        assert tap.of(node, ann)[:4] == ["received", "ready", "started", "finished"]
        [play] = [p for p in stack.plays(node) if p["announcement"] == ann]
        assert play["sha256"] == created["audio"]["sha256"] and play["outcome"] == "finished"

    routine = post(stack, text=ROUTINE, priority="normal")
    for node in NODES:
        assert tap.wait_for(node, "failed", routine["id"], timeout=30), (node, tap.of(node, routine["id"]))
    assert audio_requests(stack) == []  # nothing ever reached the controller's /audio/


def test_largest_inline_command_passes_loas_mosquitto_config(tmp_path):
    """Loa's generated broker config sets no message size limit below a command's 192 KiB."""
    generate_keypair(tmp_path / "c.key", tmp_path / "c.pub")
    signer, verifier = Signer(load_private_key(tmp_path / "c.key")), Verifier([load_public_key(tmp_path / "c.pub")])
    audio = os.urandom(MAX_INLINE_AUDIO_BYTES)
    now = datetime.now(UTC)
    ref = AudioRef(url="http://127.0.0.1:9/a.opus", sha256=hashlib.sha256(audio).hexdigest(), size=len(audio),
                   duration_ms=40_000, data=base64.b64encode(audio).decode())
    cmd = Command(id=uuid.uuid4().hex, kind=CommandKind.PLAY, issued_at=now, expires_at=now + timedelta(minutes=5),
                  play=PlayOrder(announcement=1, audio=ref, play_at=now, priority=Priority.EMERGENCY))
    topic = topics.zone_cmd("xa")
    envelope = signer.seal(topic, cmd)

    users = [controller_user("ctl", hash_password("ctl-pw")), node_user("n1", hash_password("n1-pw"), ["xa"])]
    broker = Mosquitto(BrokerConfig(port=free_port(), directory=tmp_path / "broker", users=users))
    broker.start()
    got: list[bytes] = []
    arrived = threading.Event()
    node = MqttLink(LinkOptions("127.0.0.1", broker.port, "n1", "n1", "n1-pw", persistent_session=False, keepalive=5))
    ctl = MqttLink(LinkOptions("127.0.0.1", broker.port, "ctl", "ctl", "ctl-pw", persistent_session=False, keepalive=5))
    node.subscribe(topic, lambda t, p: (got.append(p), arrived.set()))
    try:
        node.start()
        ctl.start()
        assert node.wait_connected(10) and ctl.wait_connected(10)
        for _ in range(20):  # until the node's subscription is in place (sent on its connect)
            ctl.publish(topic, envelope, qos=1)
            if arrived.wait(0.5):
                break
    finally:
        ctl.stop()
        node.stop()
        broker.stop()
    assert got and got[0] == envelope
    opened = verifier.open(topic, got[0])
    assert opened.play is not None and opened.play.audio.inline_bytes() == audio
