"""Remote commands to one node: volume, test tone, restart, stop (the technician's buttons).

Why a domain function and not code in the router: the REST API and the web dashboard
both send these, and both must sign them the same way, check the same permission
(`fleet.command`) and leave the same audit entry. Each call publishes ONE signed
command on the node's own topic (`loa/v1/nodes/{node}/cmd`, QoS 1): `control` for
volume, test tone and restart, the existing `stop` command for stop. A node that is
offline gets it from its persistent session when it returns, as long as the command
has not expired (`LOA_NODE_CONTROL_TTL_S`): a restart or test tone hours later would
surprise everyone. The node answers on its events topic (`applied`, or the play
events of the tone); `command_events` reads those answers back.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session, col, select

from controller.accounts.actor import Actor
from controller.accounts.roles import Perm
from controller.audit import record
from controller.dispatch import Publisher, new_command_id
from controller.models import Node, NodeEventRecord
from protocol.commands import Command, CommandKind, ControlAction, ControlOrder, StopOrder
from protocol.signing import Signer
from protocol.topics import QOS_COMMAND, node_cmd

if TYPE_CHECKING:
    from controller.context import AppContext

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 120.0


class NodeAction(StrEnum):
    VOLUME = "volume"
    TEST_TONE = "test_tone"
    RESTART = "restart"
    STOP = "stop"


class NodeControlRequest(BaseModel):
    """What a technician asks of one node (the body of `POST /api/v1/nodes/{id}/control`)."""

    model_config = ConfigDict(extra="forbid")

    action: NodeAction = Field(
        description="`volume`, `test_tone`, `restart` (the agent process) or `stop` (what plays now)."
    )
    volume: Annotated[int, Field(ge=0, le=100)] | None = Field(
        default=None, description="Output volume in percent; required for `volume`, refused otherwise."
    )
    reason: Annotated[str, Field(max_length=200)] | None = Field(
        default=None, description="Optional note for `stop`, shown in the node's `cancelled` event."
    )

    @model_validator(mode="after")
    def _fields_match_action(self) -> NodeControlRequest:
        if self.action is NodeAction.VOLUME and self.volume is None:
            raise ValueError("action `volume` needs `volume` (0-100)")
        if self.action is not NodeAction.VOLUME and self.volume is not None:
            raise ValueError(f"action `{self.action.value}` takes no `volume`")
        if self.action is not NodeAction.STOP and self.reason is not None:
            raise ValueError(f"action `{self.action.value}` takes no `reason`")
        return self


class NodeControlError(Exception):
    """Refused: `status_code` (403, 404, 503) and `detail` say why, for the API and the pages."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotPermitted(NodeControlError):
    status_code = 403


class UnknownNode(NodeControlError):
    status_code = 404


class NotPublished(NodeControlError):
    status_code = 503


def build_node_command(request: NodeControlRequest, issued_at: datetime, ttl_s: float) -> Command:
    """The unsigned command for a request: `stop` for stop, `control` for the rest."""
    expires_at = issued_at + timedelta(seconds=ttl_s)
    if request.action is NodeAction.STOP:
        return Command(
            id=new_command_id(), kind=CommandKind.STOP, issued_at=issued_at, expires_at=expires_at,
            stop=StopOrder(reason=request.reason or "stopped by technician"),
        )
    order = ControlOrder(action=ControlAction(request.action.value), volume=request.volume)
    return Command(
        id=new_command_id(), kind=CommandKind.CONTROL, issued_at=issued_at, expires_at=expires_at, control=order
    )


def send_node_control(
    session: Session,
    *,
    signer: Signer,
    publisher: Publisher,
    now: datetime,
    actor: Actor,
    node_id: str,
    request: NodeControlRequest,
    ttl_s: float = DEFAULT_TTL_S,
) -> str:
    """Sign and publish one command to `node_id`, record it in the audit log; returns the command id.

    Raises NotPermitted (actor lacks `fleet.command`), UnknownNode, or NotPublished (the
    MQTT client refused it; nothing is recorded then). Commits `session`.
    """
    if not actor.can(Perm.FLEET_COMMAND):
        raise NotPermitted(f"{actor.username} may not command nodes")
    node = session.get(Node, node_id)
    if node is None:
        raise UnknownNode(f"node {node_id[:64]!r} not found")
    command = build_node_command(request, now, ttl_s)
    topic = node_cmd(node.id)
    detail: dict[str, object] = {"command": command.id, "action": request.action.value}
    if request.volume is not None:
        detail["volume"] = request.volume
    if request.reason is not None:
        detail["reason"] = request.reason
    record(session, at=now, actor=actor.username, action=f"node.{request.action.value}", target=f"node:{node.id}",
           detail=detail)
    try:
        publisher.publish(topic, signer.seal(topic, command), qos=QOS_COMMAND, retain=False)
    except Exception as exc:
        session.rollback()
        log.exception("publishing %s to %s failed", request.action.value, node.id)
        raise NotPublished(f"command could not be published: {exc}"[:300]) from None
    session.commit()
    log.info("%s sent %s to node %s (command %s)", actor.username, request.action.value, node.id, command.id)
    return command.id


def send_from_app(ctx: AppContext, session: Session, actor: Actor, node_id: str, request: NodeControlRequest) -> str:
    """`send_node_control` with the running app's signer, MQTT link, clock and TTL setting
    (what the REST endpoint and the web pages both call)."""
    return send_node_control(
        session, signer=ctx.announcer.signer, publisher=ctx.publisher, now=ctx.clock(), actor=actor,
        node_id=node_id, request=request, ttl_s=ctx.settings.node_control_ttl_s,
    )


def command_events(session: Session, node_id: str, command_id: str) -> list[NodeEventRecord]:
    """What the node reported about one command (e.g. `applied`, or the tone's play events), oldest first."""
    query = (
        select(NodeEventRecord)
        .where(col(NodeEventRecord.node_id) == node_id, col(NodeEventRecord.cmd) == command_id)
        .order_by(col(NodeEventRecord.id))
    )
    return list(session.exec(query).all())


__all__ = [
    "DEFAULT_TTL_S",
    "NodeAction",
    "NodeControlError",
    "NodeControlRequest",
    "NotPermitted",
    "NotPublished",
    "UnknownNode",
    "build_node_command",
    "command_events",
    "send_from_app",
    "send_node_control",
]
