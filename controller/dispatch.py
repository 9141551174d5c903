"""From an announcement to signed play commands, fanned out by zone topic.

Fan-out rule (every targeted node receives exactly one command, no other node any):

1. Resolve the targets (zones -> every node in their subtree, nodes, or all) into a
   set T of node ids.
2. A zone is *fully covered* when it has at least one node below it and every node
   below it is in T. Each top-most fully covered zone (its parent is not fully
   covered) gets ONE command on `loa/v1/zones/{zone}/cmd`; nodes subscribe to their
   hamlet and every ancestor zone, so that single publish reaches all of them. When a
   child zone reaches exactly the same nodes (the only populated hamlet of a commune),
   the child's topic is used: the narrowest topic that does the job.
3. Nodes of T not under any such zone get one command each on their node topic.

A zone topic that would also reach untargeted nodes is never used, not even with the
protocol's `Command.nodes` narrowing: the untargeted nodes would still download the
command over their paid SIMs, and keeping them out should not depend on every agent
honouring the narrowing. Per-node publishes only cost the controller-to-broker hop.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from controller.topology import ZoneTree
from protocol.commands import AudioRef, CancelOrder, Command, CommandKind, PlayOrder, Priority, StopOrder
from protocol.signing import Signer
from protocol.topics import QOS_COMMAND, node_cmd, zone_cmd

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime (injected so tests can freeze it)."""


class Publisher(Protocol):
    """What dispatch needs from MQTT; `protocol.link.MqttLink` is the production one."""

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> Any: ...


class TargetError(ValueError):
    """Targets that name unknown zones or nodes, or reach no node at all."""


def resolve_targets(tree: ZoneTree, zones: Iterable[str], nodes: Iterable[str], everything: bool) -> set[str]:
    """The set of node ids an announcement is for; raises TargetError naming what is wrong."""
    zones, nodes = list(dict.fromkeys(zones)), list(dict.fromkeys(nodes))
    unknown_zones = [z for z in zones if z not in tree.parent]
    unknown_nodes = [n for n in nodes if n not in tree.node_zone]
    problems = []
    if unknown_zones:
        problems.append("unknown zone(s): " + ", ".join(_quote(unknown_zones)))
    if unknown_nodes:
        problems.append("unknown node(s): " + ", ".join(_quote(unknown_nodes)))
    if problems:
        raise TargetError("; ".join(problems))
    if not (zones or nodes or everything):
        raise TargetError("no targets: give zones, nodes or all=true")
    if everything:
        selected = set(tree.node_zone)
    else:
        under = tree.nodes_under()
        selected = set(nodes)
        for zone in zones:
            selected |= under[zone]
    if not selected:
        raise TargetError("the targets contain no nodes yet")
    return selected


def _quote(values: list[str], limit: int = 10) -> list[str]:
    shown = [repr(v[:64]) for v in values[:limit]]
    if len(values) > limit:
        shown.append(f"and {len(values) - limit} more")
    return shown


@dataclass(frozen=True)
class FanoutPlan:
    zones: dict[str, frozenset[str]]
    """Zone id -> the targeted nodes its one zone command reaches."""
    nodes: tuple[str, ...]
    """Nodes addressed on their own topic, sorted."""

    def reach(self) -> dict[str, str | None]:
        """node id -> the zone whose command reaches it (None: its node topic)."""
        out: dict[str, str | None] = {n: None for n in self.nodes}
        for zone, members in self.zones.items():
            out.update({n: zone for n in members})
        return out


def plan_fanout(tree: ZoneTree, targets: set[str]) -> FanoutPlan:
    """Apply the module's fan-out rule to a resolved target set.

    Among zones reaching the same nodes the most specific one is used: a commune whose
    only populated hamlet is targeted gets its command on the hamlet's topic.
    """
    under = tree.nodes_under()
    covered = {z for z, members in under.items() if members and members <= targets}
    chosen: list[str] = []
    for zone in sorted(z for z in covered if tree.parent.get(z) not in covered):
        while True:  # descend while a single child already reaches every node of the zone
            same = [c for c in tree.children.get(zone, ()) if under[c] == under[zone]]
            if len(same) != 1:
                break
            zone = same[0]
        chosen.append(zone)
    reached: set[str] = set()
    for zone in chosen:
        reached |= under[zone]
    return FanoutPlan(zones={z: under[z] for z in sorted(chosen)}, nodes=tuple(sorted(targets - reached)))


@dataclass(frozen=True)
class OutgoingCommand:
    topic: str
    payload: bytes
    """The signed envelope, ready to publish."""
    command: Command
    nodes: frozenset[str]
    """Targeted nodes this command reaches."""


def new_command_id() -> str:
    return uuid.uuid4().hex


def build_commands(
    plan: FanoutPlan,
    *,
    signer: Signer,
    announcement_id: int,
    audio: AudioRef,
    play_at: datetime,
    priority: Priority,
    issued_at: datetime,
    expires_at: datetime,
    occurrence: str | None = None,
) -> list[OutgoingCommand]:
    """One signed play command per zone topic and per individually addressed node.

    `occurrence` (`{announcement}:{key}`) lets a node replace a re-sent play instead of
    staging it twice.
    """
    order = PlayOrder(
        announcement=announcement_id, audio=audio, play_at=play_at, priority=priority, occurrence=occurrence
    )
    routes = [(zone_cmd(z), members) for z, members in sorted(plan.zones.items())]
    routes += [(node_cmd(n), frozenset({n})) for n in plan.nodes]
    out = []
    for topic, members in routes:
        command = Command(
            id=new_command_id(),
            kind=CommandKind.PLAY,
            issued_at=issued_at,
            expires_at=expires_at,
            play=order,
        )
        out.append(OutgoingCommand(topic=topic, payload=signer.seal(topic, command), command=command, nodes=members))
    return out


def plan_topics(plan: FanoutPlan) -> list[tuple[str, frozenset[str]]]:
    """(topic, nodes it reaches) for a plan: zone topics first, then node topics, sorted."""
    routes = [(zone_cmd(z), members) for z, members in sorted(plan.zones.items())]
    return routes + [(node_cmd(n), frozenset({n})) for n in plan.nodes]


def build_control(
    topic: str,
    *,
    signer: Signer,
    issued_at: datetime,
    expires_at: datetime,
    cancel: CancelOrder | None = None,
    stop: StopOrder | None = None,
    nodes: frozenset[str] = frozenset(),
) -> OutgoingCommand:
    """A signed `cancel` or `stop` command for one topic (exactly one of the two bodies)."""
    kind = CommandKind.CANCEL if cancel is not None else CommandKind.STOP
    command = Command(
        id=new_command_id(), kind=kind, issued_at=issued_at, expires_at=expires_at, cancel=cancel, stop=stop
    )
    return OutgoingCommand(topic=topic, payload=signer.seal(topic, command), command=command, nodes=nodes)


def audio_ref(public_url: str, sha256: str, size: int, duration_ms: int, data: bytes | None = None) -> AudioRef:
    """The command's reference to a stored file; with `data`, the file travels inline too.

    The URL is always there: it is the fallback when inline bytes are unusable, and what
    an agent that does not know `data` fetches.
    """
    return AudioRef(
        url=f"{public_url}/audio/{sha256}.opus", sha256=sha256, size=size, duration_ms=duration_ms,
        data=base64.b64encode(data).decode("ascii") if data is not None else None,
    )


def inline_audio(audio_dir: Path, sha256: str, size: int, priority: Priority, max_bytes: int) -> bytes | None:
    """The bytes to send inside an emergency's commands, or None to send the URL only.

    Only `emergency` plays, and only up to `max_bytes` (0: never): an emergency must not
    wait for 200 nodes to fetch a new file over 4G round trips, and each node receives the
    same audio bytes as its download would bring (a third more as base64, no HTTP request
    or TLS handshake), once. Normal, priority and scheduled plays
    stay URL-only: they are staged ahead anyway, and a node that has the file cached (a
    repeated announcement) downloads nothing, which inline bytes would undo. A file that
    is missing or not what its name says is logged and sent as a URL (nodes then fetch it).
    """
    if priority is not Priority.EMERGENCY or max_bytes <= 0 or size > max_bytes:
        return None
    try:
        data = (Path(audio_dir) / f"{sha256}.opus").read_bytes()
    except OSError as exc:
        log.warning("emergency audio %s unreadable (%s); sending its URL only", sha256[:12], exc)
        return None
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        log.error("stored audio %s does not match its name or size; sending its URL only", sha256[:12])
        return None
    return data


def publish_all(publisher: Publisher, commands: Iterable[OutgoingCommand]) -> dict[str, str]:
    """Hand every command to MQTT at QoS 1; returns {command id: error} for those that failed.

    A link that is briefly offline does not fail here: paho queues QoS 1 messages and
    sends them on reconnect. Failures are programming or resource errors, and one bad
    command must not stop the others.
    """
    failed: dict[str, str] = {}
    for cmd in commands:
        try:
            publisher.publish(cmd.topic, cmd.payload, qos=QOS_COMMAND, retain=False)
        except Exception as exc:
            log.exception("publishing command %s on %s failed", cmd.command.id, cmd.topic)
            failed[cmd.command.id] = f"publish failed: {exc}"[:500]
    return failed


__all__ = [
    "Clock",
    "FanoutPlan",
    "OutgoingCommand",
    "Publisher",
    "TargetError",
    "audio_ref",
    "build_commands",
    "build_control",
    "inline_audio",
    "plan_topics",
    "new_command_id",
    "plan_fanout",
    "publish_all",
    "resolve_targets",
]
