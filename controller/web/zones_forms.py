"""Checking the `/zones` forms: every problem by field, in the user's language, nothing lost.

Why apart from the router: the add-node and edit-node forms share the same fields
(name, zone, address, GPS) and the same rules, and the rules are worth testing alone —
Vietnamese officials type decimal commas ("21,0285"), swap latitude and longitude, or
paste coordinates from a map app with a degree sign.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session

from controller.models import Node, Zone
from protocol.topics import TopicError, check_id

Tr = Callable[..., str]

VIETNAM_LAT = (8.0, 24.0)
VIETNAM_LON = (102.0, 110.0)
"""Roughly Vietnam's mainland and near islands; a point outside is probably a typing slip."""
RESERVED_ZONE_IDS = frozenset({"nodes"})
"""`/zones/nodes/…` are the node forms' paths; a zone named so could not be renamed."""
MAX_NAME = 200
MAX_ADDRESS = 300


@dataclass
class NodeInput:
    """A node form after checking: the values to store, or `errors` by field."""

    name: str = ""
    zone_id: str = ""
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    errors: dict[str, str] = field(default_factory=dict)
    far: bool = False
    """Coordinates outside Vietnam: refused until the user confirms them (`confirm_far`)."""


def check_slug(value: str, t: Tr, what: str) -> str | None:
    """An error message for a bad id (zone or node), or None."""
    if not value:
        return t(f"zones.err.{what}_empty")
    try:
        check_id(value)
    except TopicError:
        return t("zones.err.slug", value=value[:70])
    return None


def check_name(value: str, t: Tr) -> str | None:
    name = value.strip()
    if not name:
        return t("zones.err.name_empty")
    if len(name) > MAX_NAME:
        return t("zones.err.name_long", max=MAX_NAME, n=len(name))
    return None


def parse_coordinate(text: str) -> float | None:
    """"21,0285", "21.0285", "21.0285°" → 21.0285; None when it is not a finite number."""
    cleaned = text.strip().replace("°", "").replace(" ", "")
    if cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _inside(lat: float, lon: float) -> bool:
    return VIETNAM_LAT[0] <= lat <= VIETNAM_LAT[1] and VIETNAM_LON[0] <= lon <= VIETNAM_LON[1]


def check_place(form: NodeInput, lat_text: str, lon_text: str, confirm_far: bool, t: Tr) -> None:
    """Fill `form.latitude`/`longitude` or its errors: both or neither, within ±90/±180, Vietnam or confirmed."""
    lat_text, lon_text = lat_text.strip(), lon_text.strip()
    if not lat_text and not lon_text:
        return
    if not lat_text or not lon_text:
        form.errors["latitude" if not lat_text else "longitude"] = t("zones.err.gps_pair")
        return
    lat, lon = parse_coordinate(lat_text), parse_coordinate(lon_text)
    if lat is not None and lon is not None and _inside(lon, lat):  # typed the other way round
        form.errors["latitude"] = t("zones.err.far_swapped", lat=lat_text[:40], lon=lon_text[:40])
        return
    if lat is None:
        form.errors["latitude"] = t("zones.err.lat_number", value=lat_text[:40])
    elif not -90 <= lat <= 90:
        form.errors["latitude"] = t("zones.err.lat_range", value=lat_text[:40])
    if lon is None:
        form.errors["longitude"] = t("zones.err.lon_number", value=lon_text[:40])
    elif not -180 <= lon <= 180:
        form.errors["longitude"] = t("zones.err.lon_range", value=lon_text[:40])
    if "latitude" in form.errors or "longitude" in form.errors or lat is None or lon is None:
        return
    form.latitude, form.longitude = lat, lon
    if not _inside(lat, lon):
        form.far = True
        if not confirm_far:
            form.errors["latitude"] = t("zones.err.far", lat=lat_text[:40], lon=lon_text[:40])


def check_node(
    session: Session, t: Tr, *, name: str, zone_id: str, address: str, latitude: str, longitude: str,
    confirm_far: bool,
) -> NodeInput:  # fmt: skip
    """The fields both node forms share."""
    form = NodeInput(name=name.strip(), zone_id=zone_id, address=" ".join(address.split()) or None)
    if (error := check_name(name, t)) is not None:
        form.errors["name"] = error
    if not zone_id:
        form.errors["zone_id"] = t("zones.err.zone_pick")
    elif session.get(Zone, zone_id) is None:
        form.errors["zone_id"] = t("zones.err.zone_gone")
    if form.address is not None and len(form.address) > MAX_ADDRESS:
        form.errors["address"] = t("zones.err.address_long", max=MAX_ADDRESS, n=len(form.address))
    check_place(form, latitude, longitude, confirm_far, t)
    return form


def check_new_node_id(session: Session, node_id: str, t: Tr, reserved: str) -> str | None:
    """The id of a node to create: a free slug that is not the controller's own broker account."""
    if (error := check_slug(node_id, t, "node_id")) is not None:
        return error
    if session.get(Node, node_id) is not None:
        return t("zones.err.node_taken", id=node_id)
    if node_id == reserved:
        return t("zones.err.node_reserved", id=node_id)
    return None


def check_new_zone(session: Session, t: Tr, zone_id: str, name: str, parent_id: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if (error := check_slug(zone_id, t, "zone_id")) is not None:
        errors["id"] = error
    elif zone_id in RESERVED_ZONE_IDS:
        errors["id"] = t("zones.err.zone_reserved", id=zone_id)
    elif session.get(Zone, zone_id) is not None:
        errors["id"] = t("zones.err.zone_taken", id=zone_id)
    if (error := check_name(name, t)) is not None:
        errors["name"] = error
    if parent_id:
        parent = session.get(Zone, parent_id)
        if parent is None:
            errors["parent_id"] = t("zones.err.zone_gone")
        elif parent.kind != "commune":
            errors["parent_id"] = t("zones.err.parent_hamlet")
    return errors


__all__ = [
    "MAX_ADDRESS",
    "MAX_NAME",
    "VIETNAM_LAT",
    "VIETNAM_LON",
    "NodeInput",
    "check_name",
    "check_new_node_id",
    "check_new_zone",
    "check_node",
    "check_place",
    "check_slug",
    "parse_coordinate",
]
