"""The fleet dashboard (`/fleet`, Perm.FLEET_VIEW): every node by commune and hamlet, live.

The page is complete without JavaScript (server-rendered rows, filters as a GET form);
`static/fleet.js` then keeps it current from the event stream of `fleet_stream.py`, so a
node that drops off shows as offline within a second or two without a reload.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from controller.accounts.roles import Perm
from controller.alerts import open_alerts
from controller.api.deps import CtxDep
from controller.fleet_view import fleet_groups, zone_options
from controller.web.deps import WebUser, require
from controller.web.fleet_format import node_row
from controller.web.i18n import translator
from controller.web.pages import local_time, render

router = APIRouter(include_in_schema=False)

Viewer = Annotated[WebUser, require(Perm.FLEET_VIEW)]

STATUS_FILTERS = ("", "online", "offline")


def alert_items(alerts: list[Any]) -> list[dict[str, str]]:
    """The banner's lines (also what the stream sends when the open alerts change)."""
    return [
        {"node_id": a.node_id, "node_name": a.node_name or a.node_id, "since": local_time(a.offline_since)}
        for a in alerts
    ]


@router.get("/fleet")
def fleet_page(
    request: Request,
    ctx: CtxDep,
    me: Viewer,
    zone: Annotated[str, Query()] = "",
    status: Annotated[str, Query()] = "",
) -> Response:
    t = translator(me.lang)
    now = ctx.clock()
    status = status if status in STATUS_FILTERS else ""
    online = {"online": True, "offline": False}.get(status)
    with Session(ctx.engine) as session:
        options = zone_options(session)
        known = {z.id for z, _ in options}
        chosen = zone if zone in known else ""
        groups = fleet_groups(session, zone_id=chosen or None, online=online)
        rows = {n.id: node_row(n, now, t, me.lang) for g in groups for h in g.hamlets for n in h.nodes}
        alerts = alert_items(open_alerts(session))
    total = len(rows)
    online_count = sum(1 for r in rows.values() if r["online"])
    return render(
        request,
        "fleet.html",
        {
            "groups": groups,
            "rows": rows,
            "alerts": alerts,
            "zone_options": [(z.id, ("— " * depth) + z.name) for z, depth in options],
            "status_options": [("", t("fleet.filter_all")), ("online", t("fleet.status_online")),
                               ("offline", t("fleet.status_offline"))],
            "filters": {"zone": chosen, "status": status},
            "unknown_zone": bool(zone) and not chosen,
            "total": total,
            "online_count": online_count,
            "offline_after_min": max(1, round(ctx.settings.alert_offline_after_s / 60)),
            "now_iso": now.isoformat(),
            "can_command": me.can(Perm.FLEET_COMMAND),
        },
    )


__all__ = ["STATUS_FILTERS", "Viewer", "alert_items", "router"]
