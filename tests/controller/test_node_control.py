"""Remote node commands: signed, on the node's own topic, audited; the REST endpoint's answers."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from controller.accounts.actor import Actor
from controller.accounts.roles import Role
from controller.models import AuditEntry, NodeEventRecord
from controller.node_control import (
    NodeControlRequest,
    NotPermitted,
    NotPublished,
    UnknownNode,
    command_events,
    send_node_control,
)
from protocol.commands import CommandKind, ControlAction
from protocol.topics import QOS_COMMAND, node_cmd
from tests.controller.conftest import Env


def test_volume_is_signed_published_on_the_node_topic_and_audited(env: Env, verifier) -> None:
    r = env.client.post("/api/v1/nodes/dong-1/control", json={"action": "volume", "volume": 60})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["node"] == "dong-1" and body["action"] == "volume"
    [(topic, payload, qos, retain)] = env.publisher.published
    assert topic == node_cmd("dong-1") and qos == QOS_COMMAND and not retain
    cmd = verifier.open(topic, payload)  # signed for exactly this topic
    assert cmd.id == body["command"] and cmd.kind is CommandKind.CONTROL
    assert cmd.control.action is ControlAction.VOLUME and cmd.control.volume == 60
    assert (cmd.expires_at - cmd.issued_at).total_seconds() == env.ctx.settings.node_control_ttl_s
    assert cmd.issued_at == env.clock()
    with env.session() as session:
        [entry] = session.exec(select(AuditEntry)).all()
    assert (entry.actor, entry.action, entry.target) == ("api", "node.volume", "node:dong-1")
    assert entry.detail == {"command": cmd.id, "action": "volume", "volume": 60}
    assert entry.at == env.clock()


@pytest.mark.parametrize("action", ["test_tone", "restart"])
def test_tone_and_restart_are_control_commands(env: Env, verifier, action: str) -> None:
    r = env.client.post("/api/v1/nodes/tay-2/control", json={"action": action})
    assert r.status_code == 202, r.text
    cmd = verifier.open(node_cmd("tay-2"), env.publisher.published[-1][1])
    assert cmd.kind is CommandKind.CONTROL and cmd.control.action is ControlAction(action) and cmd.control.volume is None


def test_stop_reuses_the_stop_command_for_one_node(env: Env, verifier) -> None:
    r = env.client.post("/api/v1/nodes/bac-1/control", json={"action": "stop", "reason": "thử loa"})
    assert r.status_code == 202, r.text
    [(topic, payload, _, _)] = env.publisher.published
    cmd = verifier.open(topic, payload)
    assert topic == node_cmd("bac-1") and cmd.kind is CommandKind.STOP and cmd.stop.reason == "thử loa"
    assert cmd.control is None


def test_unknown_node_is_404_and_publishes_nothing(env: Env) -> None:
    r = env.client.post("/api/v1/nodes/nope/control", json={"action": "test_tone"})
    assert r.status_code == 404 and r.json() == {"detail": "node 'nope' not found"}
    assert env.publisher.published == []
    with env.session() as session:
        assert session.exec(select(AuditEntry)).all() == []


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"action": "volume"}, "needs `volume`"),
        ({"action": "volume", "volume": 101}, "less than or equal to 100"),
        ({"action": "volume", "volume": -5}, "greater than or equal to 0"),
        ({"action": "test_tone", "volume": 10}, "takes no `volume`"),
        ({"action": "restart", "reason": "x"}, "takes no `reason`"),
        ({"action": "explode"}, "Input should be"),
        ({"action": "stop", "reason": "x" * 201}, "at most 200"),
        ({"action": "volume", "volume": 5, "extra": 1}, "Extra inputs"),
        ({}, "Field required"),
    ],
)
def test_bad_bodies_are_422_with_a_reason(env: Env, body: dict, needle: str) -> None:
    r = env.client.post("/api/v1/nodes/dong-1/control", json=body)
    assert r.status_code == 422
    assert needle in " ".join(e["msg"] for e in r.json()["detail"])
    assert env.publisher.published == []


def test_control_needs_the_token(env: Env) -> None:
    r = env.client.post("/api/v1/nodes/dong-1/control", json={"action": "test_tone"}, headers={"Authorization": "Bearer x"})
    assert r.status_code == 401 and env.publisher.published == []


def test_publish_failure_is_503_and_not_audited(env: Env) -> None:
    env.publisher.fail_topics.add(node_cmd("dong-2"))
    r = env.client.post("/api/v1/nodes/dong-2/control", json={"action": "restart"})
    assert r.status_code == 503 and "could not be published" in r.json()["detail"]
    with env.session() as session:
        assert session.exec(select(AuditEntry)).all() == []


def test_domain_function_checks_permission_and_records_the_actor(env: Env) -> None:
    signer = env.ctx.announcer.signer
    with Session(env.ctx.engine) as session:
        with pytest.raises(NotPermitted):
            send_node_control(
                session, signer=signer, publisher=env.publisher, now=env.clock(), actor=Actor("xem", Role.VIEWER),
                node_id="dong-1", request=NodeControlRequest(action="test_tone"),
            )
        with pytest.raises(UnknownNode):
            send_node_control(
                session, signer=signer, publisher=env.publisher, now=env.clock(), actor=Actor("lan", Role.TECHNICIAN),
                node_id="ghost", request=NodeControlRequest(action="test_tone"),
            )
        cmd_id = send_node_control(
            session, signer=signer, publisher=env.publisher, now=env.clock(), actor=Actor("lan", Role.TECHNICIAN),
            node_id="dong-3", request=NodeControlRequest(action="volume", volume=0), ttl_s=30,
        )
        [entry] = session.exec(select(AuditEntry)).all()
        assert entry.actor == "lan" and entry.detail["command"] == cmd_id
        # The node's answer (ingested from its events topic) is found by command id.
        session.add(NodeEventRecord(node_id="dong-3", cmd=cmd_id, event="applied", at=env.clock(),
                                    received_at=env.clock(), detail="volume 0"))
        session.commit()
        assert [(e.event, e.detail) for e in command_events(session, "dong-3", cmd_id)] == [("applied", "volume 0")]
    assert len(env.publisher.published) == 1


def test_publish_failure_in_the_domain_function_raises(env: Env) -> None:
    env.publisher.fail_topics.add(node_cmd("dong-1"))
    with Session(env.ctx.engine) as session, pytest.raises(NotPublished):
        send_node_control(
            session, signer=env.ctx.announcer.signer, publisher=env.publisher, now=env.clock(), actor=Actor.api(),
            node_id="dong-1", request=NodeControlRequest(action="test_tone"),
        )
