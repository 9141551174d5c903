"""MQTT topic names of protocol version 1.

Ids become single topic levels, so they are restricted to a slug alphabet: no `/`,
`+`, `#` or whitespace can ever smuggle a wildcard or an extra level into a topic.
"""

from __future__ import annotations

import re

PREFIX = "loa/v1"
ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62})$"
_ID_RE = re.compile(ID_PATTERN)

# Quality of service per topic family (see docs/protocol.md).
QOS_COMMAND = 1
QOS_EVENT = 1
QOS_STATE = 1
QOS_TELEMETRY = 0


class TopicError(ValueError):
    """A topic or an id in it does not follow the protocol."""


def check_id(value: str) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise TopicError(f"invalid id {value!r}: use 1-63 of a-z, 0-9 and '-', not starting with '-'")
    return value


def node_cmd(node: str) -> str:
    return f"{PREFIX}/nodes/{check_id(node)}/cmd"


def zone_cmd(zone: str) -> str:
    return f"{PREFIX}/zones/{check_id(zone)}/cmd"


def node_state(node: str) -> str:
    return f"{PREFIX}/nodes/{check_id(node)}/state"


def node_telemetry(node: str) -> str:
    return f"{PREFIX}/nodes/{check_id(node)}/telemetry"


def node_events(node: str) -> str:
    return f"{PREFIX}/nodes/{check_id(node)}/events"


def node_timeline(node: str) -> str:
    return f"{PREFIX}/nodes/{check_id(node)}/timeline"


# Filters the controller subscribes to.
ALL_STATES = f"{PREFIX}/nodes/+/state"
ALL_TELEMETRY = f"{PREFIX}/nodes/+/telemetry"
ALL_EVENTS = f"{PREFIX}/nodes/+/events"
ALL_TIMELINES = f"{PREFIX}/nodes/+/timeline"


def parse_node_topic(topic: str) -> tuple[str, str]:
    """Split `loa/v1/nodes/{node}/{leaf}` into (node, leaf); raise TopicError otherwise."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != PREFIX or parts[2] != "nodes":
        raise TopicError(f"not a node topic: {topic!r}")
    return check_id(parts[3]), parts[4]
