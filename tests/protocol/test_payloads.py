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
