"""What the technician pages read: the fleet grouped by commune and hamlet, one node's history.

Why a module of its own: the web pages need the fleet arranged the way a technician
thinks of it (commune, then hamlet, then the clusters there), while the REST API lists
flat rows. Keeping these queries here leaves the page routers thin and lets the live
stream and the page share one definition of what a row shows.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from controller.ingest_history import telemetry_history
from controller.models import Node, NodeEventRecord, TelemetrySample, Zone


@dataclass
class HamletGroup:
    zone: Zone
    nodes: list[Node] = field(default_factory=list)


@dataclass
class CommuneGroup:
    zone: Zone
    hamlets: list[HamletGroup] = field(default_factory=list)

    @property
    def node_count(self) -> int:
        return sum(len(h.nodes) for h in self.hamlets)


def load_zones(session: Session) -> dict[str, Zone]:
    return {z.id: z for z in session.exec(select(Zone)).all()}


def ancestors(zones: dict[str, Zone], zone_id: str) -> list[str]:
    """The zone and its parents, nearest first (a cycle or a missing parent ends the walk)."""
    chain: list[str] = []
    current: str | None = zone_id
    while current is not None and current in zones and current not in chain:
        chain.append(current)
        current = zones[current].parent_id
    return chain


def sort_key(name: str) -> str:
    """Vietnamese-ish order: letters without their tone marks, Đ right after D."""
    folded = unicodedata.normalize("NFD", name.casefold().replace("đ", "d\uffff"))
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def _key(zone: Zone) -> tuple[str, str]:
    return (sort_key(zone.name), zone.id)


def fleet_groups(session: Session, *, zone_id: str | None = None, online: bool | None = None) -> list[CommuneGroup]:
    """Every node (optionally only under `zone_id`, only online or offline), commune → hamlet → node.

    A node sits in the group of its own zone, under that zone's top-most ancestor; a node
    placed directly on a commune gets a group named after the commune itself.
    """
    zones = load_zones(session)
    query = select(Node).order_by(col(Node.name), col(Node.id))
    if online is not None:
        query = query.where(col(Node.online) == online)
    communes: dict[str, CommuneGroup] = {}
    hamlets: dict[str, HamletGroup] = {}
    for node in session.exec(query).all():
        chain = ancestors(zones, node.zone_id)
        if not chain or (zone_id is not None and zone_id not in chain):
            continue
        top = zones[chain[-1]]
        group = communes.setdefault(top.id, CommuneGroup(top))
        hamlet = hamlets.get(node.zone_id)
        if hamlet is None:
            hamlet = hamlets[node.zone_id] = HamletGroup(zones[node.zone_id])
            group.hamlets.append(hamlet)
        hamlet.nodes.append(node)
    ordered = sorted(communes.values(), key=lambda g: _key(g.zone))
    for group in ordered:
        group.hamlets.sort(key=lambda h: (h.zone.id != group.zone.id, _key(h.zone)))
    return ordered


def zone_options(session: Session) -> list[tuple[Zone, int]]:
    """Every zone with its depth (0 for a commune), communes each followed by their hamlets."""
    zones = load_zones(session)
    children: dict[str | None, list[Zone]] = {}
    for zone in zones.values():
        parent = zone.parent_id if zone.parent_id in zones else None
        children.setdefault(parent, []).append(zone)
    out: list[tuple[Zone, int]] = []
    seen: set[str] = set()

    def walk(parent: str | None, depth: int) -> None:
        for zone in sorted(children.get(parent, []), key=_key):
            if zone.id in seen:
                continue  # a cycle made by hand in SQL: show each zone once
            seen.add(zone.id)
            out.append((zone, depth))
            walk(zone.id, depth + 1)

    walk(None, 0)
    return out


def recent_events(session: Session, node_id: str, limit: int = 50) -> list[NodeEventRecord]:
    """A node's latest events (what it reported about plays and commands), newest first."""
    query = (
        select(NodeEventRecord)
        .where(col(NodeEventRecord.node_id) == node_id)
        .order_by(col(NodeEventRecord.received_at).desc(), col(NodeEventRecord.id).desc())
        .limit(limit)
    )
    return list(session.exec(query).all())


def recent_telemetry(session: Session, node_id: str, since: datetime | None = None, limit: int = 60) -> list[TelemetrySample]:
    """The node's latest samples, oldest first (the order a chart reads)."""
    return list(reversed(telemetry_history(session, node_id, since=since, limit=limit)))


__all__ = [
    "CommuneGroup",
    "HamletGroup",
    "ancestors",
    "fleet_groups",
    "load_zones",
    "recent_events",
    "recent_telemetry",
    "sort_key",
    "zone_options",
]
