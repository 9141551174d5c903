"""`/api/v1/nodes`: the fleet as the technicians see it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from sqlmodel import select

from controller.api.deps import Page, SessionDep
from controller.models import Node, NodePublic

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
