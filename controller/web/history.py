"""The history pages (Perm.HISTORY_VIEW): the list with filters, one announcement with its
state on every speaker, cancelling (Perm.ANNOUNCE_CANCEL), and the playback-log export.

Filters come from the query string as strings and are checked here: a bad date or an
unknown choice is explained next to its field (the list then ignores that filter) rather
than answered with a bare 422. The export (`history_csv.py`) honours the same filters.
Above the list, everyone sees their own bulletins that wait for approval or were
rejected, with the leader's comment: that is where an editor learns what to fix.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import func
from sqlmodel import Session, col, select

from controller import history
from controller.accounts.roles import Perm
from controller.api.deps import CtxDep
from controller.models import TERMINAL_STATES, Announcement, Delivery, Zone
from controller.speech_checks import AnnouncementError
from controller.web.compose import code_message, voice_options
from controller.web.compose_form import Topology
from controller.web.deps import WebUser, require
from controller.web.history_csv import csv_filename, csv_rows
from controller.web.history_views import CANCELLABLE, PRIORITIES, AnnId, STATES, STATUSES, card, display_names
from controller.web.i18n import translator
from controller.web.pages import error_page, flash, redirect, render

router = APIRouter(include_in_schema=False)

Reader = Annotated[WebUser, require(Perm.HISTORY_VIEW)]
Canceller = Annotated[WebUser, require(Perm.ANNOUNCE_CANCEL)]
PAGE_SIZE = 25
FILTER_FIELDS = ("from", "to", "zone", "state", "priority", "status")


def read_filters(request: Request, zones: set[str], lang: str) -> tuple[history.Filters, dict[str, str], dict[str, str]]:
    """(filters to apply, what was typed, messages per field); a bad value is dropped, not fatal."""
    t = translator(lang)
    typed = {k: request.query_params.get(k, "")[:64] for k in FILTER_FIELDS}
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for key in ("from", "to"):
        days[key] = None
        if typed[key]:
            try:
                days[key] = date.fromisoformat(typed[key])
            except ValueError:
                errors[key] = t("history.err.date")
    if days["from"] and days["to"] and days["from"] > days["to"]:
        errors["to"] = t("history.err.range")
        days["to"] = None
    choices = {"zone": zones, "state": set(STATES), "priority": set(PRIORITIES), "status": set(STATUSES)}
    chosen: dict[str, str | None] = {}
    for key, allowed in choices.items():
        value = typed[key]
        chosen[key] = value if value in allowed else None
        if value and value not in allowed:
            errors[key] = t("history.err.choice")
    filters = history.Filters(
        date_from=days["from"], date_to=days["to"], zone=chosen["zone"], state=chosen["state"],
        priority=chosen["priority"], status=chosen["status"],
    )  # fmt: skip
    return filters, typed, errors


def _zone_options(session: Session) -> list[tuple[str, str]]:
    tree_order = sorted(session.exec(select(Zone)).all(), key=lambda z: (z.parent_id or z.id, z.parent_id is not None, z.name))
    return [(z.id, ("— " if z.parent_id else "") + z.name) for z in tree_order]


@router.get("/announcements")
def history_page(request: Request, ctx: CtxDep, me: Reader) -> Response:
    t = translator(me.lang)
    with Session(ctx.engine) as session:
        zone_options = _zone_options(session)
        filters, typed, errors = read_filters(request, {z for z, _ in zone_options}, me.lang)
        try:
            number = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            number = 1
        topo = Topology.load(session)
        rows, total = history.page(session, filters, topo.tree, number, PAGE_SIZE)
        names = display_names(session)
        items = [card(a, topo, names, t) for a in rows]
        summaries = _summaries(session, [c["id"] for c in items])
        for c in items:
            c["summary"] = summaries.get(c["id"], [])
        mine = [card(a, topo, names, t) for a in history.own_open(session, me.username)]
    pages = max(1, math.ceil(total / PAGE_SIZE))
    query = {k: v for k, v in typed.items() if v and k not in errors}
    return render(request, "announcements.html", {
        "items": items, "mine": mine, "total": total, "page": min(number, pages), "pages": pages,
        "typed": typed, "errors": errors, "zone_options": zone_options,
        "states": STATES, "priorities": PRIORITIES, "statuses": STATUSES,
        "prev_url": _url("/announcements", query, number - 1) if number > 1 else None,
        "next_url": _url("/announcements", query, number + 1) if number < pages else None,
        "export_url": "/announcements/export.csv" + (f"?{urlencode(query)}" if query else ""),
    }, status_code=422 if errors else 200)  # fmt: skip


def _url(path: str, query: dict[str, str], number: int) -> str:
    return f"{path}?{urlencode({**query, 'page': number})}"


@router.get("/announcements/export.csv")
def export_csv(request: Request, ctx: CtxDep, me: Reader) -> Response:
    """The playback log, streamed (one row per delivery), with the list's filters."""
    with Session(ctx.engine) as session:
        zones = {z for z in session.exec(select(Zone.id)).all()}
    filters, _typed, errors = read_filters(request, zones, me.lang)
    if errors:
        return error_page(request, 422, "error.other")
    return StreamingResponse(
        csv_rows(ctx.engine, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{csv_filename(ctx.clock())}"'},
    )


@router.get("/announcements/{ann_id:int}")
def detail_page(request: Request, ctx: CtxDep, me: Reader, ann_id: AnnId) -> Response:
    t = translator(me.lang)
    with Session(ctx.engine) as session:
        ann = session.get(Announcement, ann_id)
        if ann is not None:
            topo = Topology.load(session)
            item = card(ann, topo, display_names(session), t)
            rows = history.deliveries(session, [ann_id])[ann_id]
            # a play-now bulletin every speaker has finished with has nothing left to cancel
            cancellable = ann.status in CANCELLABLE and (
                ann.schedule is not None or ann.status == "awaiting_approval"
                or any(r.state not in TERMINAL_STATES for r in rows)
            )
    if ann is None:  # the session is closed first: the error page opens its own (README: database)
        return error_page(request, 404, "error.404")
    summary: dict[str, int] = {}
    for row in rows:
        summary[row.state] = summary.get(row.state, 0) + 1
    return render(request, "announcements_detail.html", {
        "c": item,
        "rows": rows,
        "summary": sorted(summary.items(), key=lambda kv: STATES.index(kv[0]) if kv[0] in STATES else 99),
        "zone_names": topo.zone_names,
        "voice_label": t("history.recording") if item["source"] == "recording"
        else dict(voice_options(ctx, me.lang)).get(item["voice"], item["voice"]),
        "can_cancel": me.can(Perm.ANNOUNCE_CANCEL) and cancellable,
    })  # fmt: skip


def _summaries(session: Session, ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """Per announcement of the page: how many speakers are in each state, in STATES order —
    so the list answers "did it play everywhere?" without opening each one."""
    if not ids:
        return {}
    found: dict[int, dict[str, int]] = {}
    rows = session.exec(
        select(Delivery.announcement_id, Delivery.state, func.count())
        .where(col(Delivery.announcement_id).in_(ids))
        .group_by(Delivery.announcement_id, Delivery.state)
    ).all()
    for ann_id, state, n in rows:
        found.setdefault(ann_id, {})[state] = n
    return {a: [(st, by[st]) for st in STATES if st in by] for a, by in found.items()}


@router.post("/announcements/{ann_id:int}/cancel")
def cancel(request: Request, ctx: CtxDep, me: Canceller, ann_id: AnnId) -> Response:
    try:
        ctx.announcer.cancel(ann_id)
    except AnnouncementError as exc:
        flash(request, "error", "history.cancel_failed", id=ann_id, reason=code_message(me.lang, exc.code, ctx, exc.detail))
        return redirect(f"/announcements/{ann_id}" if exc.status_code != 404 else "/announcements")
    flash(request, "success", "history.cancelled", id=ann_id)
    return redirect(f"/announcements/{ann_id}")


__all__ = ["read_filters", "router"]
