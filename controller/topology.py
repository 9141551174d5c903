"""The zone tree and which nodes hang under each zone, as plain in-memory data.

Both provisioning (a node's broker ACL lists its zone chain) and dispatch (fan-out by
zone topic) need the same two answers: "which zones is this node under?" and "which
nodes are under this zone?". A province has a few thousand zones and nodes at most,
so loading them all into dicts once per request is cheaper and far simpler than
recursive SQL, and it behaves the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, select

from controller.models import Node, Zone


class TopologyError(ValueError):
    """The zone tree is inconsistent (unknown parent, a cycle)."""


@dataclass
class ZoneTree:
    parent: dict[str, str | None]
    """zone id -> parent zone id (None for a root)."""
    node_zone: dict[str, str]
    """node id -> the node's own zone."""
    children: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.children = {z: [] for z in self.parent}
        for zone, parent in sorted(self.parent.items()):
            if parent is not None:
                if parent not in self.parent:
                    raise TopologyError(f"zone {zone!r} has unknown parent {parent!r}")
                self.children[parent].append(zone)

    @classmethod
    def build(cls, zones: Iterable[tuple[str, str | None]], nodes: Iterable[tuple[str, str]]) -> "ZoneTree":
        return cls(parent=dict(zones), node_zone=dict(nodes))

    @classmethod
    def load(cls, session: Session) -> "ZoneTree":
        zones = session.exec(select(Zone.id, Zone.parent_id)).all()
        nodes = session.exec(select(Node.id, Node.zone_id)).all()
        return cls.build(((z, p) for z, p in zones), ((n, z) for n, z in nodes))

    def chain(self, zone_id: str) -> list[str]:
        """The zone and its ancestors, nearest first (what a node in it subscribes to)."""
        out: list[str] = []
        current: str | None = zone_id
        while current is not None:
            if current not in self.parent:
                raise TopologyError(f"unknown zone {current!r}")
            if current in out:
                raise TopologyError(f"zone cycle through {current!r}")
            out.append(current)
            current = self.parent[current]
        return out

    def subtree_zones(self, zone_id: str) -> set[str]:
        out: set[str] = set()
        stack = [zone_id]
        while stack:
            zone = stack.pop()
            if zone not in out:
                out.add(zone)
                stack.extend(self.children.get(zone, ()))
        return out

    def nodes_under(self) -> dict[str, frozenset[str]]:
        """zone id -> every node in the zone or below it, for all zones in one pass."""
        direct: dict[str, set[str]] = {z: set() for z in self.parent}
        for node, zone in self.node_zone.items():
            direct.setdefault(zone, set()).add(node)
        under: dict[str, frozenset[str]] = {}

        def collect(zone: str, path: frozenset[str]) -> frozenset[str]:
            if zone in under:
                return under[zone]
            if zone in path:
                raise TopologyError(f"zone cycle through {zone!r}")
            acc = set(direct.get(zone, ()))
            for child in self.children.get(zone, ()):
                acc |= collect(child, path | {zone})
            under[zone] = frozenset(acc)
            return under[zone]

        for zone in self.parent:
            collect(zone, frozenset())
        return under


__all__ = ["TopologyError", "ZoneTree"]
