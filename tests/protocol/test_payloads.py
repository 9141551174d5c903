from datetime import datetime

import pytest

from protocol import topics
from protocol.base import ProtocolError, decode
from protocol.commands import Command
from protocol.reports import NodeEvent, NodeState, Telemetry


def test_timestamps_without_offset_are_refused():
    with pytest.raises(ProtocolError, match="at"):
        decode(NodeEvent, b'{"v":1,"node":"n","cmd":"c","event":"started","at":"2026-01-01T00:00:00"}')


def test_timestamps_are_kept_in_utc():
    e = decode(NodeEvent, b'{"v":1,"node":"n","cmd":"c","event":"started","at":"2026-01-01T07:00:00+07:00"}')
    assert e.at == datetime.fromisoformat("2026-01-01T00:00:00+00:00")


def test_unknown_fields_are_ignored_for_forward_compatibility():
    s = decode(NodeState, b'{"v":1,"state":"online","future_field":42}')
    assert s.state == "online"


def test_last_will_payload_is_a_valid_state():
    assert decode(NodeState, NodeState(state="offline").to_json()).at is None


@pytest.mark.parametrize("raw", [b"{}", b'{"v":2,"state":"online"}', b'{"v":1,"state":"sleeping"}', b"x" * 70_000])
def test_invalid_state_payloads(raw):
    with pytest.raises(ProtocolError):
        decode(NodeState, raw)


def test_command_expiry_must_follow_issue():
    raw = b'{"v":1,"id":"abcdefgh","kind":"play","issued_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-01T00:00:00Z"}'
    with pytest.raises(ProtocolError):
        decode(Command, raw)


def test_telemetry_minimum():
    t = decode(Telemetry, b'{"v":1,"node":"n","at":"2026-01-01T00:00:00Z","agent_version":"1","uptime_s":1}')
    assert t.cpu_temp_c is None and t.now_playing is None


@pytest.mark.parametrize("bad", ["", "A", "-x", "a/b", "a+b", "#", "x" * 64, "thôn"])
def test_ids_that_could_break_topics_are_refused(bad):
    with pytest.raises(topics.TopicError):
        topics.node_cmd(bad)


def test_parse_node_topic():
    assert topics.parse_node_topic("loa/v1/nodes/thon-1/events") == ("thon-1", "events")
    with pytest.raises(topics.TopicError):
        topics.parse_node_topic("loa/v1/zones/thon-1/cmd")


CMD_HEAD = '"v":1,"id":"abcdefgh","issued_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-01T00:10:00Z"'


@pytest.mark.parametrize(
    "body",
    [
        '"kind":"cancel","cancel":{"announcement":3}',
        '"kind":"cancel","cancel":{"occurrences":["3:2026-12-01T06:00+07:00#1"]}',
        '"kind":"stop","stop":{}',
    ],
)
def test_cancel_and_stop_commands(body):
    cmd = decode(Command, "{" + CMD_HEAD + "," + body + "}")
    assert cmd.kind.value in ("cancel", "stop")


@pytest.mark.parametrize(
    "body",
    [
        '"kind":"cancel","cancel":{}',  # names nothing
        '"kind":"cancel"',  # no body
        '"kind":"stop","stop":{},"cancel":{"announcement":1}',  # two bodies
        '"kind":"reboot","stop":{}',  # unknown kind
    ],
)
def test_malformed_cancel_and_stop_commands(body):
    with pytest.raises(ProtocolError):
        decode(Command, "{" + CMD_HEAD + "," + body + "}")


def test_timeline_report():
    from protocol.reports import NodeTimeline

    t = decode(
        NodeTimeline,
        b'{"v":1,"node":"n","at":"2026-01-01T00:00:00Z","staged":[{"cmd":"c","announcement":1,"occurrence":"1:k#1","play_at":"2026-01-01T06:00:00+07:00"}]}',
    )
    assert t.staged[0].occurrence == "1:k#1"


# -- relays ---------------------------------------------------------------------------------


def _relay_cmd(**relay: object):
    from datetime import UTC, datetime, timedelta

    from protocol.commands import Command

    now = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
    body = {"relay_id": "relay:1", "url": "http://radio.example.vn/vov1", "start_at": now.isoformat(),
            "end_at": (now + timedelta(hours=1)).isoformat()}  # fmt: skip
    body.update(relay)
    return Command.model_validate({
        "id": "abcdef123456", "kind": "relay", "issued_at": now.isoformat(),
        "expires_at": (now + timedelta(hours=1)).isoformat(), "relay": body,
    })  # fmt: skip


def test_relay_command_round_trips():
    from protocol.base import decode
    from protocol.commands import Command, CommandKind, Priority

    cmd = _relay_cmd(priority="priority")
    again = decode(Command, cmd.to_json())
    assert again == cmd and again.kind is CommandKind.RELAY and again.relay.priority is Priority.PRIORITY


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"url": "ftp://x.example/a"}, "pattern"),
        ({"url": "http://x y"}, "pattern"),
        ({"end_at": "2026-01-01T06:00:00Z"}, "after start_at"),
        ({"end_at": "2026-01-01T12:00:01Z"}, "at most 6 h"),
        ({"priority": "emergency"}, "normal or priority"),
        ({"relay_id": ""}, "relay_id"),
    ],
)
def test_relay_order_validation(over, needle):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=needle):
        _relay_cmd(**over)


def test_relay_keeps_the_exactly_one_body_rule():
    from datetime import UTC, datetime, timedelta

    from pydantic import ValidationError

    from protocol.commands import CancelOrder, Command

    relay = _relay_cmd().relay
    now = datetime(2026, 1, 1, 6, 0, tzinfo=UTC)
    common = {"id": "abcdef123456", "issued_at": now, "expires_at": now + timedelta(hours=1)}
    with pytest.raises(ValidationError, match="needs `relay`"):
        Command(kind="relay", cancel=CancelOrder(occurrences=["relay:1"]), **common)
    with pytest.raises(ValidationError, match="carries only `relay`"):
        Command(kind="relay", relay=relay, cancel=CancelOrder(occurrences=["relay:1"]), **common)
    with pytest.raises(ValidationError, match="carries only `cancel`"):
        Command(kind="cancel", relay=relay, cancel=CancelOrder(occurrences=["relay:1"]), **common)
    assert Command(kind="cancel", cancel=CancelOrder(occurrences=["relay:1"]), **common).cancel.occurrences == ["relay:1"]
