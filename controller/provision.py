"""Setting up zones, nodes and the broker accounts that go with them.

Used by `loa demo`, the tests and (later) an admin API. Each function commits its own
work, so a caller can provision step by step without managing transactions. A node's
MQTT password is generated here and returned exactly once; only its Mosquitto hash is
stored, so a database leak does not hand out the fleet's broker credentials.
"""

from __future__ import annotations

import secrets

from sqlmodel import Session, select

from controller.models import Node, Zone, ZoneKind
from controller.topology import TopologyError, ZoneTree
from loa.broker import BrokerUser, controller_user, hash_password, node_user
from protocol.topics import TopicError, check_id


class ProvisionError(ValueError):
    """A zone or node that cannot be created as asked; the message says why."""


def _check_slug(value: str, what: str) -> str:
    try:
        return check_id(value)
    except TopicError as exc:
        raise ProvisionError(f"{what}: {exc}") from None


def _check_name(name: str) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 200:
        raise ProvisionError("name must be 1-200 characters")
    return name


def create_zone(session: Session, id: str, name: str, kind: str, parent_id: str | None = None) -> Zone:
    """Create a commune or hamlet; the parent must already exist."""
    _check_slug(id, "zone id")
    try:
        kind = ZoneKind(kind).value
    except ValueError:
        raise ProvisionError(f"zone kind must be one of {[k.value for k in ZoneKind]}, not {kind!r}") from None
    if session.get(Zone, id) is not None:
        raise ProvisionError(f"zone {id!r} already exists")
    if parent_id is not None and session.get(Zone, parent_id) is None:
        raise ProvisionError(f"parent zone {parent_id!r} does not exist")
    zone = Zone(id=id, name=_check_name(name), kind=kind, parent_id=parent_id)
    session.add(zone)
    session.commit()
    session.refresh(zone)
    return zone


def create_node(session: Session, id: str, name: str, zone_id: str) -> tuple[Node, str]:
    """Create a node in a zone; returns the node and its MQTT password (shown only now)."""
    _check_slug(id, "node id")
    if session.get(Node, id) is not None:
        raise ProvisionError(f"node {id!r} already exists")
    if session.get(Zone, zone_id) is None:
        raise ProvisionError(f"zone {zone_id!r} does not exist")
    password = secrets.token_urlsafe(24)
    node = Node(id=id, name=_check_name(name), zone_id=zone_id, mqtt_password_hash=hash_password(password))
    session.add(node)
    session.commit()
    session.refresh(node)
    return node, password


def zone_chain(session: Session, zone_id: str) -> list[str]:
    """The zone and its ancestors, nearest first: the zone topics a node in it subscribes to."""
    try:
        return ZoneTree.load(session).chain(zone_id)
    except TopologyError as exc:
        raise ProvisionError(str(exc)) from None


def broker_users(session: Session, controller_username: str, controller_password_hash: str) -> list[BrokerUser]:
    """Mosquitto accounts: the controller, then one least-privilege account per node."""
    tree = ZoneTree.load(session)
    users = [controller_user(controller_username, controller_password_hash)]
    for node in session.exec(select(Node).order_by(Node.id)).all():
        if node.id == controller_username:
            raise ProvisionError(f"node id {node.id!r} clashes with the controller's broker username")
        users.append(node_user(node.id, node.mqtt_password_hash, tree.chain(node.zone_id)))
    return users


__all__ = ["ProvisionError", "broker_users", "create_node", "create_zone", "zone_chain"]
