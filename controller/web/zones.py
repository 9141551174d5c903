"""The zones page (`/zones`): communes, hamlets and their nodes; edits for Perm.ZONES_MANAGE.

Everyone with the fleet view may read the tree (a viewer can look up where a cluster
hangs); technicians and admins add and rename zones, add nodes — whose MQTT password is
shown once, on the answer to the form, and never again — and edit, place and move
them. Forms follow the README's pattern: a refused form comes back with what was typed
and a Vietnamese message per field (checks in `zones_forms.py`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from controller.accounts.roles import Perm
from controller.api.deps import CtxDep
from controller.fleet_view import zone_options
from controller.models import Node, Zone
from controller.provision import ProvisionError
from controller.web import zones_forms as forms
from controller.web.deps import WebUser, require
from controller.web.i18n import translator
from controller.web.pages import flash, redirect, render
from controller.zones_admin import add_node, add_zone, rename_zone, update_node

router = APIRouter(include_in_schema=False)

Viewer = Annotated[WebUser, require(Perm.FLEET_VIEW)]
Manager = Annotated[WebUser, require(Perm.ZONES_MANAGE)]

EMPTY_NODE = {"id": "", "name": "", "zone_id": "", "address": "", "latitude": "", "longitude": ""}


def _coord(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}".rstrip("0").rstrip(".")


def _tree(session: Session) -> tuple[list[dict[str, Any]], list[tuple[str, str]], list[tuple[str, str]]]:
    """The zone tree (each zone with its nodes and children), the zone choices, the commune choices."""
    options = zone_options(session)
    nodes: dict[str, list[Node]] = {}
    for node in session.exec(select(Node).order_by(col(Node.name), col(Node.id))).all():
        nodes.setdefault(node.zone_id, []).append(node)
    items: dict[str, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for zone, _depth in options:
        item = {"zone": zone, "nodes": nodes.get(zone.id, []), "children": []}
        items[zone.id] = item
        parent = items.get(zone.parent_id or "")
        (parent["children"] if parent is not None else roots).append(item)
    choices = [(z.id, ("— " * depth) + z.name) for z, depth in options]
    communes = [(z.id, z.name) for z, _ in options if z.kind == "commune"]
    return roots, choices, communes


def _page(
    request: Request, ctx: CtxDep, me: WebUser, *, zone_form: dict[str, str] | None = None,
    zone_errors: dict[str, str] | None = None, node_form: dict[str, str] | None = None,
    node_errors: dict[str, str] | None = None, node_far: bool = False, row: dict[str, Any] | None = None,
    page_error: str | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    """The page; `row` re-opens one zone's or node's edit form with its typed values and errors."""
    t = translator(me.lang)
    with Session(ctx.engine) as session:
        tree, choices, communes = _tree(session)
    return render(
        request,
        "zones.html",
        {
            "tree": tree,
            "zone_choices": choices,
            "parent_choices": [("", t("zones.parent_none"))] + [(z, t("zones.parent_of", name=n)) for z, n in communes],
            "can_manage": me.can(Perm.ZONES_MANAGE),
            "zone_form": zone_form or {"id": "", "name": "", "parent_id": ""},
            "zone_errors": zone_errors or {},
            "node_form": node_form or dict(EMPTY_NODE),
            "node_errors": node_errors or {},
            "node_far": node_far,
            "row": row or {},
            "page_error": page_error,
            "coord": _coord,
        },
        status_code=status_code,
    )


@router.get("/zones")
def zones_page(request: Request, ctx: CtxDep, me: Viewer) -> Response:
    return _page(request, ctx, me)


@router.post("/zones")
def create_zone(
    request: Request, ctx: CtxDep, me: Manager, id: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
    parent_id: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    t = translator(me.lang)
    zone_id = id.strip()
    typed = {"id": id[:100], "name": name[:300], "parent_id": parent_id[:100]}
    with Session(ctx.engine) as session:
        errors = forms.check_new_zone(session, t, zone_id, name, parent_id)
        if not errors:
            try:
                zone = add_zone(session, id=zone_id, name=name.strip(), parent_id=parent_id or None,
                                actor=me.username, now=ctx.clock())  # fmt: skip
            except ProvisionError:  # created by someone else between the check and the insert
                errors["id"] = t("zones.err.zone_taken", id=zone_id)
    if errors:
        return _page(request, ctx, me, zone_form=typed, zone_errors=errors, status_code=422)
    flash(request, "success", "zones.zone_added", name=zone.name)
    return redirect(f"/zones#zone-{zone.id}")


@router.post("/zones/{zone_id}/rename")
def rename(request: Request, ctx: CtxDep, me: Manager, zone_id: str, name: Annotated[str, Form()] = "") -> Response:
    t = translator(me.lang)
    row = {"kind": "zone", "id": zone_id, "form": {"name": name[:300]}, "errors": {}}
    if (error := forms.check_name(name, t)) is not None:
        row["errors"]["name"] = error
        return _page(request, ctx, me, row=row, status_code=422)
    try:
        with Session(ctx.engine) as session:
            zone = rename_zone(session, zone_id, name, actor=me.username, now=ctx.clock())
    except ProvisionError:
        return _page(request, ctx, me, page_error=t("zones.err.zone_gone"), status_code=404)
    flash(request, "success", "zones.zone_renamed", name=zone.name)
    return redirect(f"/zones#zone-{zone.id}")


@router.post("/zones/nodes")
def create_node(
    request: Request, ctx: CtxDep, me: Manager, id: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
    zone_id: Annotated[str, Form()] = "", address: Annotated[str, Form()] = "",
    latitude: Annotated[str, Form()] = "", longitude: Annotated[str, Form()] = "",
    confirm_far: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    t = translator(me.lang)
    node_id = id.strip()
    typed = {"id": id[:100], "name": name[:300], "zone_id": zone_id[:100], "address": address[:400],
             "latitude": latitude[:50], "longitude": longitude[:50]}  # fmt: skip
    with Session(ctx.engine) as session:
        checked = forms.check_node(session, t, name=name, zone_id=zone_id, address=address, latitude=latitude,
                                   longitude=longitude, confirm_far=confirm_far == "1")  # fmt: skip
        errors = dict(checked.errors)
        if (error := forms.check_new_node_id(session, node_id, t, ctx.settings.mqtt_username)) is not None:
            errors = {"id": error, **errors}
        password = ""
        if not errors:
            try:
                node, password = add_node(
                    session, id=node_id, name=checked.name, zone_id=checked.zone_id, address=checked.address,
                    latitude=checked.latitude, longitude=checked.longitude, actor=me.username, now=ctx.clock(),
                )
                created = {"id": node.id, "name": node.name, "zone_id": node.zone_id}
            except ProvisionError:  # the id was taken meanwhile
                errors["id"] = t("zones.err.node_taken", id=node_id)
    if errors:
        return _page(request, ctx, me, node_form=typed, node_errors=errors, node_far=checked.far, status_code=422)
    settings = ctx.settings
    return render(
        request,
        "zones_node_created.html",
        {"node": created, "password": password, "mqtt_host": settings.mqtt_host, "mqtt_port": settings.mqtt_port,
         "far": checked.far},
    )  # fmt: skip


@router.post("/zones/nodes/{node_id}")
def edit_node(
    request: Request, ctx: CtxDep, me: Manager, node_id: str, name: Annotated[str, Form()] = "",
    zone_id: Annotated[str, Form()] = "", address: Annotated[str, Form()] = "",
    latitude: Annotated[str, Form()] = "", longitude: Annotated[str, Form()] = "",
    confirm_far: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    t = translator(me.lang)
    typed = {"name": name[:300], "zone_id": zone_id[:100], "address": address[:400], "latitude": latitude[:50],
             "longitude": longitude[:50]}  # fmt: skip
    with Session(ctx.engine) as session:
        exists = session.get(Node, node_id) is not None
        checked = forms.check_node(session, t, name=name, zone_id=zone_id, address=address, latitude=latitude,
                                   longitude=longitude, confirm_far=confirm_far == "1")  # fmt: skip
        moved_from = ""
        if exists and not checked.errors:
            try:
                node, moved_from = update_node(
                    session, node_id, name=checked.name, zone_id=checked.zone_id, address=checked.address,
                    latitude=checked.latitude, longitude=checked.longitude, actor=me.username, now=ctx.clock(),
                )
                saved = {"name": node.name, "zone": node.zone_id}
            except ProvisionError:
                exists = False
        zone = session.get(Zone, checked.zone_id) if checked.zone_id else None
        zone_name = zone.name if zone is not None else ""
    if not exists:
        return _page(request, ctx, me, page_error=t("zones.err.node_gone", id=node_id[:64]), status_code=404)
    if checked.errors:
        row = {"kind": "node", "id": node_id, "form": typed, "errors": checked.errors, "far": checked.far}
        return _page(request, ctx, me, row=row, status_code=422)
    if moved_from != saved["zone"]:
        flash(request, "info", "zones.node_moved", name=saved["name"], zone=zone_name)
    flash(request, "success", "zones.node_saved", name=saved["name"])
    return redirect(f"/zones#node-{node_id}")


__all__ = ["router"]
