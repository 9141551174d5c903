"""The programme page (`/programme`, "Lịch phát") and stop-now (`/programme/stop`, "Dừng phát ngay").

- `GET /programme?zone=…&from=YYYY-MM-DD&days=1|7` (Perm.HISTORY_VIEW): what will play in
  one zone over a day or a week, from `controller.programme.zone_programme` (what
  `GET /api/v1/zones/{zone}/programme` answers), in Vietnam time, with the overlaps
  between its plays (`programme_conflicts`) worded for officials. A bad choice is
  explained next to its field and the page falls back to a default, never a 500.
- `GET /programme/stop`, `POST /programme/stop` (Perm.ANNOUNCE_CANCEL): pick zones, then
  a confirmation step (nothing is stopped by one click), then
  `controller.revisions.stop_zones` as `POST /api/v1/zones/stop` does; audit-logged.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from controller.accounts.roles import Perm
from controller.api.deps import CtxDep
from controller.audit import record
from controller.context import AppContext
from controller.models import Announcement, Relay
from controller.programme import ConflictWarning, Programme, programme_conflicts, zone_programme
from controller.revisions import NotFound, stop_zones
from controller.web.compose_form import Topology
from controller.web.deps import WebUser, require
from controller.web.i18n import translator
from controller.web.pages import LOCAL_TZ, flash, redirect, render
from controller.web.relays_forms import StopForm, parse_stop
from schedules.messages import PRIORITY_WORDS, Lang, effect_text

router = APIRouter(include_in_schema=False)

Reader = Annotated[WebUser, require(Perm.HISTORY_VIEW)]
Stopper = Annotated[WebUser, require(Perm.ANNOUNCE_CANCEL)]
DAYS = ("1", "7")
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
MAX_SHOWN_WARNINGS = 10


async def read_form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def zone_choices(topo: Topology) -> list[tuple[str, str]]:
    """Communes, each followed by its hamlets ("— Thôn Đông")."""
    out: list[tuple[str, str]] = []

    def walk(zones: list[Any], depth: int) -> None:
        for z in zones:
            out.append((z.id, "— " * depth + z.name))
            walk(z.children, depth + 1)

    walk(topo.roots, 0)
    return out


def _label(occurrence: str, t: Any) -> str:
    """`12:2025-07-02T06:00+07:00#1` → "bản tin số 12"; `relay:3` → "tiếp sóng số 3"."""
    if occurrence.startswith("relay:"):
        return t("programme.label.relay", id=occurrence[6:])
    return t("programme.label.announcement", id=occurrence.split(":", 1)[0])


def word_warnings(warnings: list[ConflictWarning], zone_names: dict[str, str], lang: str) -> list[str]:
    """Overlaps in the user's words: item numbers, Vietnam times and zone names."""
    t = translator(lang)
    words: Lang = "en" if lang == "en" else "vi"
    overlaps = [w for w in warnings if w.code == "overlap"]
    more = max(0, len(overlaps) - MAX_SHOWN_WARNINGS) + sum(
        int(w.params.get("count", 0)) for w in warnings if w.code == "more_overlaps"
    )
    out = []
    for w in overlaps[:MAX_SHOWN_WARNINGS]:
        p = w.params
        prio = str(p.get("existing_priority", "normal"))
        start = datetime.fromisoformat(str(p["start_at"])).astimezone(LOCAL_TZ)
        out.append(t(
            "programme.overlap", time=start.strftime("%H:%M %d/%m/%Y"), new=_label(str(p.get("new", "")), t),
            existing=_label(str(p.get("existing", "")), t), priority=PRIORITY_WORDS[words].get(prio, prio),
            zones=", ".join(zone_names.get(z, z.removeprefix("node:")) for z in p.get("zones") or ()),
            effect=effect_text(str(p.get("effect", "")), words, prio),
        ))  # fmt: skip
    if more:
        out.append(t("programme.overlap_more", count=more))
    return out


def _items(programme: Programme, session: Session) -> list[dict[str, Any]]:
    """Programme items with their current status, grouped by local day: [{day, items}]."""
    ann_ids = {i.announcement for i in programme.items if i.announcement is not None}
    relay_ids = {i.relay for i in programme.items if i.relay is not None}
    ann_status = dict(session.exec(select(Announcement.id, Announcement.status).where(col(Announcement.id).in_(ann_ids))).all())
    relay_status = dict(session.exec(select(Relay.id, Relay.status).where(col(Relay.id).in_(relay_ids))).all())
    days: list[dict[str, Any]] = []
    for item in programme.items:
        day = item.local.date()
        if not days or days[-1]["day"] != day:
            days.append({"day": day, "items": []})
        if item.kind == "relay":
            status, link = relay_status.get(item.relay, "scheduled"), f"/relays#relay-{item.relay}"
        else:
            status, link = ann_status.get(item.announcement, "scheduled"), f"/announcements/{item.announcement}"
        days[-1]["items"].append({"item": item, "status": status, "link": link})
    for group in days:  # the programme is in priority order; a day reads best in time order
        group["items"].sort(key=lambda e: e["item"].play_at)
    return days


@router.get("/programme")
def programme_page(request: Request, ctx: CtxDep, me: Reader) -> Response:
    t = translator(me.lang)
    q = request.query_params
    typed = {"zone": q.get("zone", "")[:64], "from": q.get("from", "")[:32], "days": q.get("days", "1")[:4]}
    errors: dict[str, str] = {}
    today = ctx.clock().astimezone(LOCAL_TZ).date()
    start = today
    if typed["from"]:
        try:
            start = date.fromisoformat(typed["from"])
        except ValueError:
            errors["from"] = t("programme.err.date")
        if not FIRST_DAY <= start <= LAST_DAY:  # far dates would overflow the window's arithmetic
            errors["from"], start = t("programme.err.date"), today
    days = int(typed["days"]) if typed["days"] in DAYS else 1
    if typed["days"] not in DAYS:
        errors["days"] = t("programme.err.days")
    context: dict[str, Any] = {"groups": [], "warnings": [], "zone_name": ""}
    with Session(ctx.engine) as session:
        topo = Topology.load(session)
        choices = zone_choices(topo)
        zone = typed["zone"] or (choices[0][0] if choices else "")
        if typed["zone"] and zone not in topo.zone_names:
            errors["zone"] = t("programme.err.zone")
            zone = choices[0][0] if choices else ""
        if zone:
            programme = zone_programme(session, zone, start, days)
            context["groups"] = _items(programme, session)
            context["count"] = len(programme.items)
            warnings = programme_conflicts(session, zone, start, days)
            context["warnings"] = word_warnings(warnings, topo.zone_names, me.lang)
            context["zone_name"] = topo.zone_names.get(zone, zone)
    step = timedelta(days=days)
    nav = {"zone": zone, "days": str(days)}
    context.update({
        "typed": {**typed, "zone": zone, "from": typed["from"] if "from" in errors else start.isoformat(),
                  "days": typed["days"] if "days" in errors else str(days)},
        "errors": errors, "zone_options": choices, "start": start, "last": start + step - timedelta(days=1),
        "days": days, "day_options": [(d, t(f"programme.days.{d}")) for d in DAYS],
        "prev_url": "/programme?" + urlencode({**nav, "from": (start - step).isoformat()}),
        "next_url": "/programme?" + urlencode({**nav, "from": (start + step).isoformat()}),
        "today_url": "/programme?" + urlencode({**nav, "from": today.isoformat()}),
        "can_stop": me.can(Perm.ANNOUNCE_CANCEL),
    })  # fmt: skip
    return render(request, "programme.html", context, status_code=422 if errors else 200)


# -- Dừng phát ngay ----------------------------------------------------------------------


def _stop_page(request: Request, ctx: AppContext, form: StopForm | None = None, errors: dict[str, str] | None = None,
               confirm: list[tuple[str, str]] | None = None, reason: str | None = None,
               status_code: int = 200) -> Response:  # fmt: skip
    with Session(ctx.engine) as session:
        topo = Topology.load(session)
    return render(request, "programme_stop.html", {
        "form": form or StopForm(), "errors": errors or {}, "topology": topo.roots, "confirm": confirm,
        "reason": reason,
    }, status_code=status_code)  # fmt: skip


@router.get("/programme/stop")
def stop_page(request: Request, ctx: CtxDep, me: Stopper) -> Response:
    return _stop_page(request, ctx)


@router.post("/programme/stop")
def stop(request: Request, ctx: CtxDep, me: Stopper, data: FormDep) -> Response:
    t = translator(me.lang)
    form = StopForm.from_form(data)
    with Session(ctx.engine) as session:
        topo = Topology.load(session)
    zones, reason, errors = parse_stop(form, topo, t)
    if errors:
        return _stop_page(request, ctx, form, errors, status_code=422)
    if not form.confirm:  # the confirmation step: say exactly where it will stop
        return _stop_page(request, ctx, form, confirm=[(z, topo.zone_names.get(z, z)) for z in zones], reason=reason)
    now = ctx.clock()
    try:
        sent = stop_zones(ctx.engine, ctx.announcer.signer, ctx.publisher, now, zones, reason)
    except NotFound:  # a zone removed since the form was shown
        return _stop_page(request, ctx, form, {"zones": t("stop.err.zones_unknown", ids=", ".join(zones[:5]))}, status_code=422)
    except RuntimeError:
        return _stop_page(request, ctx, form, {"form": t("stop.err.publish")}, status_code=503)
    with Session(ctx.engine) as session:
        record(session, at=now, actor=me.username, action="zones.stop", target=("zones:" + ",".join(zones))[:200],
               detail={"zones": zones, "reason": reason, "commands": [c.command.id for c in sent]})  # fmt: skip
        session.commit()
    flash(request, "success", "stop.done", zones=", ".join(topo.zone_names.get(z, z) for z in zones))
    return redirect("/programme?" + urlencode({"zone": zones[0]}))


__all__ = ["router", "word_warnings", "zone_choices"]
