"""The relays page (`/relays`, "Tiếp sóng"): a station's live stream on zones from T1 to T2.

- `GET /relays` (Perm.HISTORY_VIEW): the form and the relays, latest start first, each
  with its window, zones, status and how many speakers are in each state.
- `POST /relays` (Perm.ANNOUNCE_APPROVE: leaders and admins; a relay airs without a
  second approval): checked by `relays_forms.parse_relay`, stored by
  `controller.relays.create_relay` and, inside the staging horizon, published at once by
  `dispatch_due_relays` (`schedule_relay`, what `POST /api/v1/relays` calls). Audit-logged.
- `POST /relays/{id}/cancel` (Perm.ANNOUNCE_CANCEL): `cancel_relay` (idempotent; a relay
  on air stops). Audit-logged when it changes something.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlalchemy import func
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from controller.accounts.roles import Perm
from controller.api.deps import CtxDep
from controller.audit import record
from controller.context import AppContext
from controller.models import Relay, RelayCreate, RelayDelivery, RelayStatus
from controller.relays import RelayError, cancel_relay, schedule_relay
from controller.web.compose_form import Topology
from controller.web.deps import WebUser, require
from controller.web.history_views import STATES
from controller.web.i18n import translator
from controller.web.pages import LOCAL_TZ, flash, redirect, render
from controller.web.relays_forms import PRIORITIES, RelayForm, max_hours, parse_relay

router = APIRouter(include_in_schema=False)

Reader = Annotated[WebUser, require(Perm.HISTORY_VIEW)]
Scheduler = Annotated[WebUser, require(Perm.ANNOUNCE_APPROVE)]
Canceller = Annotated[WebUser, require(Perm.ANNOUNCE_CANCEL)]
RelayId = Annotated[int, Path(ge=1, le=2**63 - 1)]
LIST_SIZE = 50
OPEN = (RelayStatus.SCHEDULED, RelayStatus.SENT)


async def read_form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def _counts(session: Session, ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """Per relay: how many speakers are in each state (one grouped query for the page)."""
    if not ids:
        return {}
    found: dict[int, dict[str, int]] = {}
    rows = session.exec(
        select(RelayDelivery.relay_id, RelayDelivery.state, func.count())
        .where(col(RelayDelivery.relay_id).in_(ids))
        .group_by(RelayDelivery.relay_id, RelayDelivery.state)
    ).all()
    for relay_id, state, n in rows:
        found.setdefault(relay_id, {})[state] = n
    return {r: [(s, by[s]) for s in STATES if s in by] for r, by in found.items()}


def _rows(ctx: AppContext, topo: Topology) -> list[dict[str, Any]]:
    now = ctx.clock()
    with Session(ctx.engine) as session:
        relays = session.exec(
            select(Relay).order_by(col(Relay.start_at).desc(), col(Relay.id).desc()).limit(LIST_SIZE)
        ).all()
        counts = _counts(session, [r.id for r in relays if r.id is not None])
    out = []
    for r in relays:
        status = r.status
        if status in OPEN and r.end_at <= now:
            status = "ended"
        out.append({
            "id": r.id, "title": r.title, "url": r.url, "start_at": r.start_at, "end_at": r.end_at,
            "priority": r.priority, "status": status, "detail": r.detail,
            "zones": topo.describe(r.targets), "counts": counts.get(r.id or 0, []),
            "cancellable": r.status in OPEN and r.end_at > now,
        })  # fmt: skip
    return out


def _page(request: Request, ctx: AppContext, me: WebUser, form: RelayForm | None = None,
          errors: dict[str, str] | None = None, status_code: int = 200) -> Response:  # fmt: skip
    with Session(ctx.engine) as session:
        topo = Topology.load(session)
    now_local = ctx.clock().astimezone(LOCAL_TZ)
    return render(request, "relays.html", {
        "form": form or RelayForm(),
        "errors": errors or {},
        "topology": topo.roots,
        "relays": _rows(ctx, topo),
        "priorities": PRIORITIES,
        "max_hours": max_hours(),
        "now_local": now_local.strftime("%Y-%m-%dT%H:%M"),
        "can_schedule": me.can(Perm.ANNOUNCE_APPROVE),
        "can_cancel": me.can(Perm.ANNOUNCE_CANCEL),
    }, status_code=status_code)  # fmt: skip


@router.get("/relays")
def relays_page(request: Request, ctx: CtxDep, me: Reader) -> Response:
    return _page(request, ctx, me)


def _store(ctx: AppContext, body: RelayCreate, actor: str) -> Relay:
    """`controller.relays.schedule_relay` (as `POST /api/v1/relays`), then the audit entry."""
    relay = schedule_relay(ctx, body)
    with Session(ctx.engine) as session:
        record(session, at=ctx.clock(), actor=actor, action="relay.created", target=f"relay:{relay.id}", detail={
            "url": relay.url, "zones": relay.targets.get("zones", []), "start_at": relay.start_at.isoformat(),
            "end_at": relay.end_at.isoformat(), "priority": relay.priority,
        })  # fmt: skip
        session.commit()
        stored = session.get(Relay, relay.id)
        assert stored is not None
        session.expunge(stored)
    return stored


@router.post("/relays")
def create(request: Request, ctx: CtxDep, me: Scheduler, data: FormDep) -> Response:
    t = translator(me.lang)
    form = RelayForm.from_form(data)
    with Session(ctx.engine) as session:
        topo = Topology.load(session)
    body, errors = parse_relay(form, topo, now=ctx.clock(), grace_s=ctx.settings.schedule_grace_s, t=t)
    if body is None:
        return _page(request, ctx, me, form, errors, 422)
    try:
        relay = _store(ctx, body, me.username)
    except RelayError as exc:  # changed between the check and the insert (a zone removed, time passed)
        return _page(request, ctx, me, form, {"form": t("relays.err.other", detail=exc.detail)}, 422)
    if relay.status == RelayStatus.FAILED:  # stored, but the broker refused its commands
        flash(request, "error", "relays.created_failed", id=relay.id)
    else:
        flash(request, "success", "relays.created_sent" if relay.status == RelayStatus.SENT else "relays.created",
              id=relay.id)  # fmt: skip
    return redirect(f"/relays#relay-{relay.id}")


def _cancel(ctx: AppContext, relay_id: int, actor: str) -> str:
    """'cancelled', 'already' or 'missing'; as `POST /api/v1/relays/{id}/cancel`, then audited."""
    with Session(ctx.engine) as session:
        before = session.get(Relay, relay_id)
        if before is None:
            return "missing"
        already = before.status == RelayStatus.CANCELLED
    now = ctx.clock()
    with ctx.dispatcher.lock:
        cancel_relay(ctx.engine, ctx.dispatcher.signer, ctx.publisher, now, relay_id)
    if already:
        return "already"
    with Session(ctx.engine) as session:
        record(session, at=now, actor=actor, action="relay.cancelled", target=f"relay:{relay_id}")
        session.commit()
    return "cancelled"


@router.post("/relays/{relay_id}/cancel")
def cancel(request: Request, ctx: CtxDep, me: Canceller, relay_id: RelayId) -> Response:
    try:
        outcome = _cancel(ctx, relay_id, me.username)
    except RelayError:  # removed meanwhile
        outcome = "missing"
    if outcome == "missing":
        flash(request, "error", "relays.not_found", id=relay_id)
        return redirect("/relays")
    flash(request, "success" if outcome == "cancelled" else "info",
          "relays.cancelled" if outcome == "cancelled" else "relays.already_cancelled", id=relay_id)  # fmt: skip
    return redirect(f"/relays#relay-{relay_id}")


__all__ = ["router"]
