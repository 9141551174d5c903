"""Editing zones and nodes after they exist: rename, describe, place on the map, move.

`controller.provision` creates zones and nodes (and the node's one-time MQTT password);
this module changes them later, for the `/zones` page. Every change leaves an audit
entry, since moving a node changes which announcements it hears. Callers validate
input first (the web form explains problems per field in Vietnamese); the checks here
only guard the database against what must never be stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from controller.audit import record
from controller.models import Node, Zone
from controller.provision import ProvisionError, create_node, create_zone


def add_zone(session: Session, *, id: str, name: str, parent_id: str | None, actor: str, now: datetime) -> Zone:
    """A commune (no parent) or a hamlet in a commune; audited."""
    kind = "hamlet" if parent_id else "commune"
    zone = create_zone(session, id, name, kind, parent_id)
    record(session, at=now, actor=actor, action="zone.created", target=f"zone:{zone.id}",
           detail={"name": zone.name, "parent": parent_id})  # fmt: skip
    session.commit()
    session.refresh(zone)
    return zone


def rename_zone(session: Session, zone_id: str, name: str, *, actor: str, now: datetime) -> Zone:
    zone = session.get(Zone, zone_id)
    if zone is None:
        raise ProvisionError(f"zone {zone_id!r} does not exist")
    old, zone.name = zone.name, name.strip()
    if not zone.name or len(zone.name) > 200:
        raise ProvisionError("name must be 1-200 characters")
    session.add(zone)
    record(session, at=now, actor=actor, action="zone.renamed", target=f"zone:{zone.id}",
           detail={"from": old, "to": zone.name})  # fmt: skip
    session.commit()
    session.refresh(zone)
    return zone


def add_node(
    session: Session, *, id: str, name: str, zone_id: str, address: str | None, latitude: float | None,
    longitude: float | None, actor: str, now: datetime,
) -> tuple[Node, str]:  # fmt: skip
    """Create a node with its place; returns it and its MQTT password (shown once, never stored)."""
    node, password = create_node(session, id, name, zone_id)
    node.address, node.latitude, node.longitude = address, latitude, longitude
    session.add(node)
    record(session, at=now, actor=actor, action="node.created", target=f"node:{node.id}",
           detail={"name": node.name, "zone": zone_id})  # fmt: skip
    session.commit()
    session.refresh(node)
    return node, password


def update_node(
    session: Session, node_id: str, *, name: str, zone_id: str, address: str | None, latitude: float | None,
    longitude: float | None, actor: str, now: datetime,
) -> tuple[Node, str]:  # fmt: skip
    """Change a node's name, place and zone; returns it and the zone it was in before."""
    node = session.get(Node, node_id)
    if node is None:
        raise ProvisionError(f"node {node_id!r} does not exist")
    if session.get(Zone, zone_id) is None:
        raise ProvisionError(f"zone {zone_id!r} does not exist")
    if (latitude is None) != (longitude is None):
        raise ProvisionError("latitude and longitude go together")
    before = node.zone_id
    changes = {
        key: [getattr(node, key), value]
        for key, value in (("name", name.strip()), ("zone_id", zone_id), ("address", address),
                           ("latitude", latitude), ("longitude", longitude))
        if getattr(node, key) != value
    }  # fmt: skip
    for key, (_old, value) in changes.items():
        setattr(node, key, value)
    if not node.name or len(node.name) > 200:
        raise ProvisionError("name must be 1-200 characters")
    session.add(node)
    if changes:
        record(session, at=now, actor=actor, action="node.moved" if "zone_id" in changes else "node.edited",
               target=f"node:{node.id}", detail=changes)  # fmt: skip
    session.commit()
    session.refresh(node)
    return node, before


__all__ = ["add_node", "add_zone", "rename_zone", "update_node"]
