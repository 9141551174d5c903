"""The `control` command (volume, test tone, restart) and the `applied` event on the wire."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from protocol.base import ProtocolError, decode
from protocol.commands import Command, CommandKind, ControlAction, ControlOrder
from protocol.reports import TERMINAL_EVENTS, EventKind, NodeEvent, Telemetry
from protocol.signing import Signer, SignatureError, Verifier, generate_keypair, load_private_key, load_public_key
from protocol.topics import node_cmd

NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def wire(control: dict | None, **extra) -> str:
    body = {
        "v": 1, "id": "c0ffee00c0ffee00", "kind": "control", "issued_at": "2026-11-27T06:00:00Z",
        "expires_at": "2026-11-27T06:02:00Z", **extra,
    }
    if control is not None:
        body["control"] = control
    return json.dumps(body)


@pytest.mark.parametrize(
    "control",
    [{"action": "volume", "volume": 0}, {"action": "volume", "volume": 100}, {"action": "test_tone"}, {"action": "restart"}],
)
def test_control_commands_round_trip(control):
    cmd = decode(Command, wire(control))
    assert cmd.kind is CommandKind.CONTROL and cmd.control is not None
    assert cmd.control.action is ControlAction(control["action"])
    assert cmd.play is None and cmd.stop is None
    again = decode(Command, cmd.to_json())
    assert again == cmd
    assert json.loads(cmd.to_json())["control"] == control


@pytest.mark.parametrize(
    "control, extra, needle",
    [
        (None, {}, "needs `control`"),
        ({"action": "volume"}, {}, "needs `volume`"),
        ({"action": "volume", "volume": 101}, {}, "less than or equal to 100"),
        ({"action": "volume", "volume": -1}, {}, "greater than or equal to 0"),
        ({"action": "volume", "volume": "loud"}, {}, "integer"),
        ({"action": "test_tone", "volume": 50}, {}, "carries no `volume`"),
        ({"action": "self_destruct"}, {}, "control.action"),
        ({"action": "restart"}, {"stop": {"reason": "x"}}, "carries only `control`"),
    ],
)
def test_bad_control_bodies_are_refused(control, extra, needle):
    with pytest.raises(ProtocolError, match=needle):
        decode(Command, wire(control, **extra))


def test_other_kinds_cannot_smuggle_a_control_body():
    raw = json.loads(wire({"action": "restart"}))
    raw["kind"] = "stop"
    raw["stop"] = {}
    with pytest.raises(ProtocolError, match="carries only `stop`"):
        decode(Command, json.dumps(raw))


def test_control_commands_are_signed_like_any_other(tmp_path):
    generate_keypair(tmp_path / "c.key", tmp_path / "c.pub")
    signer = Signer(load_private_key(tmp_path / "c.key"))
    verifier = Verifier([load_public_key(tmp_path / "c.pub")])
    cmd = Command(
        id="c0ffee00c0ffee01", kind=CommandKind.CONTROL, issued_at=NOW, expires_at=NOW + timedelta(minutes=2),
        control=ControlOrder(action=ControlAction.VOLUME, volume=35),
    )
    topic = node_cmd("thon-1-loa-1")
    assert verifier.open(topic, signer.seal(topic, cmd)) == cmd
    with pytest.raises(SignatureError):
        verifier.open(node_cmd("thon-1-loa-2"), signer.seal(topic, cmd))
    env = json.loads(signer.seal(topic, cmd))
    env["cmd"] = env["cmd"].replace('"volume":35', '"volume":100')
    with pytest.raises(SignatureError):
        verifier.open(topic, json.dumps(env).encode())


def test_applied_event_is_terminal_and_round_trips():
    event = NodeEvent(node="thon-1-loa-1", cmd="c0ffee00c0ffee00", event=EventKind.APPLIED, at=NOW, detail="volume 35")
    assert decode(NodeEvent, event.to_json()) == event
    assert EventKind.APPLIED in TERMINAL_EVENTS


def test_telemetry_volume_is_optional():
    old = '{"v":1,"node":"n1","at":"2026-11-27T06:00:00Z","agent_version":"0.1.0","uptime_s":1}'
    assert decode(Telemetry, old).volume is None
    assert decode(Telemetry, old[:-1] + ',"volume":35}').volume == 35
