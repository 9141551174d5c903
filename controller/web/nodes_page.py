"""One node's page (`/nodes/{id}`, Perm.FLEET_VIEW) and its remote commands (Perm.FLEET_COMMAND).

What a technician needs before driving out to a cluster: where it is, what it last said
about itself (a telemetry table with small server-drawn sparklines — no chart library,
no script), what it did lately and when it was offline. The command buttons post plain
forms; `controller.node_control.send_from_app` signs, publishes and audits exactly as
the REST API does, and the page then shows the node's own answers to that command id.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from controller.accounts.roles import Perm
from controller.alerts import alert_history
from controller.api.deps import CtxDep
from controller.fleet_view import ancestors, load_zones, recent_events, recent_telemetry
from controller.models import Node
from controller.node_control import (
    NodeAction,
    NodeControlError,
    NodeControlRequest,
    NotPublished,
    UnknownNode,
    command_events,
    send_from_app,
)
from controller.web.deps import WebUser, require
from controller.web.fleet_format import clock_offset, node_row, number, telemetry_fields
from controller.web.i18n import translator
from controller.web.pages import flash, redirect, render

router = APIRouter(include_in_schema=False)

Viewer = Annotated[WebUser, require(Perm.FLEET_VIEW)]
Commander = Annotated[WebUser, require(Perm.FLEET_COMMAND)]

HISTORY = 60
"""Telemetry samples on the page (an hour at one a minute)."""
CHART_W, CHART_H = 300, 60


def sparkline(values: list[float | None]) -> dict[str, Any] | None:
    """SVG polyline points for `values` (gaps skipped), scaled into the chart box; None if < 2 points."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 2:
        return None
    low, high = min(v for _, v in known), max(v for _, v in known)
    span = high - low
    step = CHART_W / max(1, len(values) - 1)

    def y(v: float) -> float:  # a flat series is drawn across the middle
        return CHART_H / 2 if span == 0 else CHART_H - 4 - (v - low) / span * (CHART_H - 8)

    points = " ".join(f"{i * step:.1f},{y(v):.1f}" for i, v in known)
    return {"points": points, "low": low, "high": high, "w": CHART_W, "h": CHART_H}


def _num(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _chart(chart: dict[str, Any] | None, lang: str, unit: str) -> dict[str, Any] | None:
    """The chart with its range as the caption shows it ("50,0 – 57,0 °C")."""
    if chart is not None:
        chart["range"] = f"{number(chart['low'], lang)} – {number(chart['high'], lang)} {unit}"
    return chart


def _history(samples: list[Any], me: WebUser) -> dict[str, Any]:
    t = translator(me.lang)
    rows = []
    for s in samples:
        offset = clock_offset(s.data.get("at"), s.at)
        offset = round(offset, 1) + 0.0 if offset is not None else None  # + 0.0: no "-0,0"
        rows.append({
            "at": s.at,
            **telemetry_fields(s.data, t, me.lang),
            "clock": t("node.clock_value", seconds=("+" if offset and offset > 0 else "") + number(offset, me.lang))
            if offset is not None else "—",
        })  # fmt: skip
    return {
        "rows": list(reversed(rows)),  # newest first in the table
        "volume": _chart(sparkline([_num(s.data, "volume") for s in samples]), me.lang, "%"),
        "temp": _chart(sparkline([_num(s.data, "cpu_temp_c") for s in samples]), me.lang, "°C"),
    }


def _page(
    request: Request, ctx: CtxDep, me: WebUser, node_id: str, *, command: str = "", form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None, page_error: str | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    t = translator(me.lang)
    with Session(ctx.engine) as session:  # closed before render(), which opens its own
        node = session.get(Node, node_id)
        if node is not None:
            zones = load_zones(session)
            chain = [zones[z].name for z in reversed(ancestors(zones, node.zone_id))]
            row = node_row(node, ctx.clock(), t, me.lang)
            history = _history(recent_telemetry(session, node.id, limit=HISTORY), me)
            events = recent_events(session, node.id)
            alerts = alert_history(session, node_id=node.id, limit=20)
            answers = command_events(session, node.id, command[:64]) if command else []
    if node is None:
        return _unknown(request, me, node_id)
    info = {"id": node.id, "name": node.name, "zone": " › ".join(chain), "address": node.address,
            "latitude": node.latitude, "longitude": node.longitude}  # fmt: skip
    volume = (node.last_telemetry or {}).get("volume")
    return render(
        request,
        "node.html",
        {
            "node": info,
            "row": row,
            "history": history,
            "events": events,
            "alerts": alerts,
            "command": command[:64],
            "answers": answers,
            "can_command": me.can(Perm.FLEET_COMMAND),
            "ttl_min": max(1, round(ctx.settings.node_control_ttl_s / 60)),
            "form": form or {"volume": str(volume) if isinstance(volume, int) else "50"},
            "errors": errors or {},
            "page_error": page_error,
            "now_iso": ctx.clock().isoformat(),
        },
        status_code=status_code,
    )


def _unknown(request: Request, me: WebUser, node_id: str) -> Response:
    t = translator(me.lang)
    body = t("node.err.unknown", node=node_id[:64])
    return render(request, "error.html", {"title": t("error.404.title"), "body": body}, status_code=404)


@router.get("/nodes/{node_id}")
def node_page(
    request: Request, ctx: CtxDep, me: Viewer, node_id: str,
    command: Annotated[str, Query()] = "",
) -> Response:  # fmt: skip
    return _page(request, ctx, me, node_id, command=command)


@router.post("/nodes/{node_id}/command")
def node_command(
    request: Request, ctx: CtxDep, me: Commander, node_id: str,
    action: Annotated[str, Form()] = "", volume: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    t = translator(me.lang)
    typed = {"volume": volume[:20]}
    try:
        chosen = NodeAction(action)
    except ValueError:
        return _page(request, ctx, me, node_id, form=typed, page_error=t("node.err.action"), status_code=422)
    level: int | None = None
    if chosen is NodeAction.VOLUME:
        text = volume.strip()
        if not text:
            return _page(request, ctx, me, node_id, form=typed, errors={"volume": t("node.err.volume_empty")},
                         status_code=422)  # fmt: skip
        try:
            level = int(text)
        except ValueError:
            level = -1
        if not 0 <= level <= 100:
            error = t("node.err.volume_range", value=text[:20])
            return _page(request, ctx, me, node_id, form=typed, errors={"volume": error}, status_code=422)
    try:
        with Session(ctx.engine) as session:
            command_id = send_from_app(ctx, session, me.actor, node_id, NodeControlRequest(action=chosen, volume=level))
    except UnknownNode:
        return _unknown(request, me, node_id)
    except NotPublished:
        return _page(request, ctx, me, node_id, form=typed, page_error=t("node.err.unpublished"), status_code=503)
    except NodeControlError:
        return _page(request, ctx, me, node_id, form=typed, page_error=t("node.err.forbidden"), status_code=403)
    flash(request, "success", "node.sent", action=t(f"node.action_{chosen.value}"), command=command_id)
    return redirect(f"/nodes/{quote(node_id, safe='')}?command={quote(command_id, safe='')}#answers")


__all__ = ["router", "sparkline"]
