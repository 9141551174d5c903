"""Relays (tiếp sóng): a station's live stream, scheduled from T1 to T2 on zones.

A relay is stored (`Relay`), and published like a scheduled occurrence: the dispatcher
sends it `stage_ahead_s` before `start_at` (at once when created inside that horizon),
one signed `relay` command per zone topic of the fan-out plan (controller/dispatch.py),
each expiring at `end_at`. Nodes stage it, play the stream from `start_at` to `end_at`
(joining in progress if late, reconnecting when the stream drops) and report events
carrying `relay`; each node's state is a `RelayDelivery` row.

Exactly once: a relay is claimed by a conditional UPDATE (`scheduled` -> `sent`) before
its commands are built, so two ticks or two controllers never both publish it. On the
node, the relay id (`relay:{id}`) makes a re-sent command replace the staged one.

Cancel publishes `cancel` with `occurrences=[relay_id]` to the nodes it was sent to;
the relay stops if on air and is reported `cancelled`.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from controller.dispatch import (
    OutgoingCommand,
    Publisher,
    TargetError,
    build_control,
    new_command_id,
    plan_fanout,
    plan_topics,
    publish_all,
    resolve_targets,
)
from controller.ingest import CANCEL_SWEEP_DETAIL, SWEEP_DETAIL, should_replace
from controller.models import (
    TERMINAL_STATES,
    DeliveryState,
    Relay,
    RelayCreate,
    RelayDelivery,
    RelayDeliveryPublic,
    RelayPublic,
    RelayStatus,
)
from controller.revisions import CONTROL_MIN_TTL
from controller.settings import ControllerSettings
from controller.topology import ZoneTree
from protocol.commands import MAX_RELAY_S, CancelOrder, Command, CommandKind, Priority, RelayOrder
from protocol.signing import Signer

if TYPE_CHECKING:
    from controller.context import AppContext

log = logging.getLogger(__name__)

MAX_RELAY = timedelta(seconds=MAX_RELAY_S)


class RelayError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def wire_id(relay_id: int) -> str:
    """The relay id nodes see, in commands, events and cancels."""
    return f"relay:{relay_id}"


def parse_wire_id(value: str | None) -> int | None:
    if not value or not value.startswith("relay:"):
        return None
    try:
        return int(value[6:])
    except ValueError:
        return None


def check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RelayError(422, "url must be an http:// or https:// stream URL")
    if any(ch.isspace() for ch in url):
        raise RelayError(422, "url must not contain spaces")
    if not url.isprintable():
        raise RelayError(422, "url must not contain control characters")
    return parts.scheme + url[len(parts.scheme):]  # "HTTPS://…" as "https://…", what RelayOrder accepts


def validate(body: RelayCreate, tree: ZoneTree, now: datetime, grace_s: float) -> tuple[str, set[str]]:
    """(clean url, targeted nodes); RelayError(422) naming what is wrong."""
    url = check_url(body.url)
    if body.title is not None and not body.title.isprintable():
        raise RelayError(422, "title must not contain control characters")
    for name, value in (("start_at", body.start_at), ("end_at", body.end_at)):
        if value.tzinfo is None:
            raise RelayError(422, f"{name} needs a UTC offset, e.g. +07:00")
    if body.end_at <= body.start_at:
        raise RelayError(422, "end_at must be after start_at")
    if body.end_at - body.start_at > MAX_RELAY:
        raise RelayError(422, f"a relay lasts at most {MAX_RELAY_S // 3600} h")
    if body.start_at < now - timedelta(seconds=grace_s):
        raise RelayError(422, f"start_at is in the past (more than {grace_s:g} s ago)")
    if body.priority is Priority.EMERGENCY:
        raise RelayError(422, "a relay's priority is normal or priority")
    try:
        nodes = resolve_targets(tree, body.targets.zones, [], False)
    except TargetError as exc:
        raise RelayError(422, str(exc)) from None
    return url, nodes


def create_relay(engine: Engine, settings: ControllerSettings, body: RelayCreate, now: datetime) -> Relay:
    with Session(engine) as session:
        tree = ZoneTree.load(session)
        url, _nodes = validate(body, tree, now, settings.schedule_grace_s)
        relay = Relay(
            url=url, title=body.title, targets={"zones": list(dict.fromkeys(body.targets.zones))},
            start_at=body.start_at, end_at=body.end_at, priority=body.priority.value,
            status=RelayStatus.SCHEDULED, created_at=now,
        )  # fmt: skip
        session.add(relay)
        session.commit()
        session.refresh(relay)
        session.expunge(relay)
    log.info("relay %s stored: %s from %s to %s", relay.id, url, relay.start_at, relay.end_at)
    return relay


def schedule_relay(ctx: AppContext, body: RelayCreate) -> Relay:
    """Store a relay and, when it starts within the staging horizon, publish it now rather
    than at the dispatcher's next tick (the API and the web page both come here)."""
    now = ctx.clock()
    relay = create_relay(ctx.engine, ctx.settings, body, now)
    with ctx.dispatcher.lock:
        dispatch_due_relays(ctx.engine, ctx.settings, ctx.dispatcher.signer, ctx.publisher, now)
    return relay


def relay_command(relay: Relay, topic: str, members: frozenset[str], signer: Signer, now: datetime) -> OutgoingCommand:
    """One signed `relay` command on `topic` (a new command id; the relay id stays)."""
    order = RelayOrder(
        relay_id=wire_id(relay.id or 0), url=relay.url, start_at=relay.start_at, end_at=relay.end_at,
        priority=Priority(relay.priority),
    )
    command = Command(id=new_command_id(), kind=CommandKind.RELAY, issued_at=now, expires_at=relay.end_at, relay=order)
    return OutgoingCommand(topic=topic, payload=signer.seal(topic, command), command=command, nodes=members)


def build_relay_commands(tree: ZoneTree, nodes: set[str], relay: Relay, signer: Signer,
                         now: datetime) -> list[OutgoingCommand]:  # fmt: skip
    return [relay_command(relay, topic, members, signer, now) for topic, members in plan_topics(plan_fanout(tree, nodes))]


def sweep_relays(session: Session, now: datetime, grace_s: float) -> int:
    """Close relay deliveries still open `grace_s` after their relay's end; returns how many.

    Like `controller.fleet.sweep_expired` for plays: a node that never said how the
    relay ended is marked `expired` (or `cancelled` when the relay was cancelled), with
    the sweep's detail, so its own late report may still replace the guess. The caller
    commits. Conditional UPDATEs: a report landing at the same moment is never overwritten.
    """
    cutoff = now - timedelta(seconds=grace_s)
    open_states = [s.value for s in DeliveryState if s not in TERMINAL_STATES]
    ended = select(Relay.id).where(col(Relay.end_at) < cutoff)
    cancelled = select(Relay.id).where(col(Relay.status) == RelayStatus.CANCELLED)
    count = 0
    for in_cancelled, state, detail in ((True, DeliveryState.CANCELLED, CANCEL_SWEEP_DETAIL),
                                        (False, DeliveryState.EXPIRED, SWEEP_DETAIL)):  # fmt: skip
        which = col(RelayDelivery.relay_id).in_(cancelled)
        result = session.exec(  # type: ignore[call-overload]
            update(RelayDelivery)
            .where(col(RelayDelivery.state).in_(open_states), col(RelayDelivery.relay_id).in_(ended),
                   which if in_cancelled else ~which)
            .values(state=state, detail=detail, updated_at=now)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        count += int(result.rowcount or 0)
    if count:
        log.warning("%d relay deliveries ended without a final report from their node", count)
    return count


def dispatch_due_relays(
    engine: Engine, settings: ControllerSettings, signer: Signer, publisher: Publisher, now: datetime
) -> list[int]:
    """Publish every scheduled relay starting within the staging horizon; returns their ids.

    A relay whose window ended before it could be dispatched is marked `failed`.
    """
    horizon = now + timedelta(seconds=settings.stage_ahead_s)
    sent: list[int] = []
    with Session(engine) as session:
        due = session.exec(
            select(Relay).where(col(Relay.status) == RelayStatus.SCHEDULED, col(Relay.start_at) <= horizon)
        ).all()
        ids = [r.id for r in due if r.id is not None]
    for relay_id in ids:
        if _dispatch_one(engine, signer, publisher, relay_id, now):
            sent.append(relay_id)
    return sent


def _dispatch_one(engine: Engine, signer: Signer, publisher: Publisher, relay_id: int, now: datetime) -> bool:
    with Session(engine) as session:
        claimed = session.exec(  # type: ignore[call-overload]
            update(Relay)
            .where(col(Relay.id) == relay_id, col(Relay.status) == RelayStatus.SCHEDULED)
            .values(status=RelayStatus.SENT, dispatched_at=now)
        )
        if claimed.rowcount != 1:
            session.rollback()
            return False
        relay = session.get(Relay, relay_id)
        assert relay is not None
        if relay.end_at <= now:
            relay.status, relay.detail = RelayStatus.FAILED, "its window ended before it could be dispatched"
            session.add(relay)
            session.commit()
            log.warning("relay %s: %s", relay_id, relay.detail)
            return False
        tree = ZoneTree.load(session)
        try:
            nodes = resolve_targets(tree, relay.targets.get("zones", []), [], False)
        except TargetError as exc:
            relay.status, relay.detail = RelayStatus.FAILED, f"not published: {exc}"[:500]
            session.add(relay)
            session.commit()
            log.warning("relay %s: %s", relay_id, relay.detail)
            return False
        commands = build_relay_commands(tree, nodes, relay, signer, now)
        relay.command_ids = [c.command.id for c in commands]
        session.add(relay)
        for cmd in commands:
            for node_id in sorted(cmd.nodes):
                session.add(RelayDelivery(relay_id=relay_id, node_id=node_id, command_id=cmd.command.id,
                                          state=DeliveryState.PENDING, updated_at=now))  # fmt: skip
        session.commit()
    failed = publish_all(publisher, commands)
    with Session(engine) as session:
        for cmd in commands:
            error = failed.get(cmd.command.id)
            values = {"detail": error, "updated_at": now} if error else {"state": DeliveryState.SENT, "updated_at": now}
            session.exec(  # type: ignore[call-overload]
                update(RelayDelivery)
                .where(col(RelayDelivery.relay_id) == relay_id, col(RelayDelivery.command_id) == cmd.command.id,
                       col(RelayDelivery.state) == DeliveryState.PENDING)
                .values(**values)
            )  # fmt: skip
        if failed:
            session.exec(  # type: ignore[call-overload]
                update(Relay).where(col(Relay.id) == relay_id)
                .values(status=RelayStatus.FAILED, detail=f"{len(failed)} command(s) could not be published")
            )
        session.commit()
    log.info("relay %s dispatched in %d command(s)", relay_id, len(commands))
    return True


def cancel_relay(engine: Engine, signer: Signer, publisher: Publisher, now: datetime, relay_id: int) -> Relay:
    """Cancel (idempotent); a dispatched relay gets a signed cancel on the topics reaching its nodes."""
    with Session(engine) as session:
        relay = session.exec(select(Relay).where(col(Relay.id) == relay_id).with_for_update()).first()
        if relay is None:
            raise RelayError(404, f"relay {relay_id} not found")
        if relay.status == RelayStatus.CANCELLED:
            session.expunge(relay)
            return relay
        was_sent = relay.status == RelayStatus.SENT
        relay.status, relay.cancelled_at = RelayStatus.CANCELLED, now
        session.add(relay)
        session.commit()
        session.refresh(relay)
        rows = session.exec(select(RelayDelivery).where(col(RelayDelivery.relay_id) == relay_id)).all()
        nodes = {d.node_id for d in rows if d.state not in TERMINAL_STATES}
        tree = ZoneTree.load(session)
        session.expunge(relay)
    nodes &= set(tree.node_zone)
    if was_sent and nodes and relay.end_at > now:
        order = CancelOrder(occurrences=[wire_id(relay_id)])
        expiry = max(relay.end_at, now + CONTROL_MIN_TTL)
        commands = [
            build_control(topic, signer=signer, issued_at=now, expires_at=expiry, cancel=order, nodes=members)
            for topic, members in plan_topics(plan_fanout(tree, nodes))
        ]
        failed = publish_all(publisher, commands)
        if failed:
            log.error("cancel of relay %s: %d command(s) not published", relay_id, len(failed))
        log.info("relay %s cancelled (%d command(s))", relay_id, len(commands))
    return relay


def relay_event(session: Session, node_id: str, cmd: str, relay: str | None, event: str, detail: str | None,
                now: datetime) -> bool:  # fmt: skip
    """Apply a node's event to its RelayDelivery; False when no such delivery exists.

    Unlike a play, a preempted relay resumes: `preempted` gives way to later states.
    A state the sweep guessed gives way to a final state the node reports (as for plays).
    """

    query = select(RelayDelivery).where(col(RelayDelivery.node_id) == node_id)
    row = session.exec(query.where(col(RelayDelivery.command_id) == cmd)).first()
    if row is None:
        number = parse_wire_id(relay)
        if number is None:
            return False
        row = session.exec(query.where(col(RelayDelivery.relay_id) == number)).first()
        if row is None:
            return False
    current = row.state
    advance = should_replace(current, row.detail, event) or (
        current == DeliveryState.PREEMPTED and event != DeliveryState.PREEMPTED
    )
    if advance:
        row.state, row.detail, row.updated_at = event, detail, now
        session.add(row)
    return True


def relay_public(session: Session, relay: Relay, with_deliveries: bool = False) -> RelayPublic:
    rows = session.exec(select(RelayDelivery).where(col(RelayDelivery.relay_id) == relay.id)).all()
    return RelayPublic(
        id=relay.id or 0, relay_id=wire_id(relay.id or 0), url=relay.url, title=relay.title, targets=relay.targets,
        start_at=relay.start_at, end_at=relay.end_at, priority=relay.priority, status=relay.status,
        created_at=relay.created_at, dispatched_at=relay.dispatched_at, cancelled_at=relay.cancelled_at,
        detail=relay.detail, summary=dict(Counter(r.state for r in rows)),
        deliveries=[RelayDeliveryPublic.model_validate(r) for r in rows] if with_deliveries else None,
    )  # fmt: skip


__all__ = [
    "MAX_RELAY",
    "RelayError",
    "build_relay_commands",
    "cancel_relay",
    "check_url",
    "create_relay",
    "dispatch_due_relays",
    "parse_wire_id",
    "relay_command",
    "relay_event",
    "relay_public",
    "schedule_relay",
    "sweep_relays",
    "wire_id",
]
