"""`/api/v1/nodes`: the fleet as the technicians see it, and remote commands to one node."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel
from sqlmodel import select

from controller.accounts.actor import Actor
from controller.api.deps import CtxDep, Page, SessionDep
from controller.models import Node, NodePublic
from controller.node_control import NodeControlError, NodeControlRequest, send_from_app

router = APIRouter(prefix="/nodes", tags=["nodes"])


def node_view(node: Node) -> NodePublic:
    return NodePublic(
        id=node.id,
        name=node.name,
        zone_id=node.zone_id,
        online=node.online,
        last_seen=node.last_seen,
        agent_version=node.agent_version,
        telemetry=node.last_telemetry,
    )


@router.get("", response_model=Page[NodePublic])
def list_nodes(session: SessionDep) -> Page[NodePublic]:
    return Page(items=[node_view(n) for n in session.exec(select(Node).order_by(Node.id)).all()])


@router.get("/{node_id}", response_model=NodePublic)
def get_node(node_id: Annotated[str, Path(max_length=200)], session: SessionDep) -> NodePublic:
    node = session.get(Node, node_id)
    if node is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"node {node_id!r} not found")
    return node_view(node)


class NodeControlAccepted(BaseModel):
    node: str
    action: str
    command: str
    """Id of the signed command; the node's events about it carry the same id."""


@router.post("/{node_id}/control", response_model=NodeControlAccepted, status_code=status.HTTP_202_ACCEPTED)
def control_node(
    node_id: Annotated[str, Path(max_length=200)], body: NodeControlRequest, session: SessionDep, ctx: CtxDep
) -> NodeControlAccepted:
    """Volume, test tone, restart or stop on one node: 202 once the signed command is published."""
    try:
        command_id = send_from_app(ctx, session, Actor.api(), node_id, body)
    except NodeControlError as exc:
        raise HTTPException(exc.status_code, exc.detail) from None
    return NodeControlAccepted(node=node_id, action=body.action.value, command=command_id)
