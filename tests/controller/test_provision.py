"""Provisioning zones, nodes and the broker accounts derived from them."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from sqlmodel import Session

from controller import provision
from controller.db import init_db, make_engine
from controller.models import Node
from controller.provision import ProvisionError
from controller.settings import ControllerSettings
from loa.broker import hash_password
from tests.controller.factories import seed_province


@pytest.fixture
def session(settings: ControllerSettings):
    engine = make_engine(settings)
    init_db(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def _matches(password: str, mosquitto_hash: str) -> bool:
    _, kind, iterations, salt, digest = mosquitto_hash.split("$")
    again = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations))
    return kind == "7" and base64.b64encode(again).decode() == digest


def test_create_node_stores_only_the_hash(session: Session) -> None:
    provision.create_zone(session, "xa-a", "Xã A", "commune")
    provision.create_zone(session, "thon-1", "Thôn 1", "hamlet", "xa-a")
    node, password = provision.create_node(session, "n-1", "Cụm loa 1", "thon-1")
    stored = session.get(Node, "n-1")
    assert stored is not None and node.id == "n-1"
    assert password not in stored.mqtt_password_hash and len(password) >= 24
    assert _matches(password, stored.mqtt_password_hash)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("Bad/Id", "x", "hamlet", None), "zone id"),
        (("ok", "x", "district", None), "kind"),
        (("ok", "x", "hamlet", "nope"), "parent zone"),
        (("ok", "  ", "hamlet", None), "name"),
    ],
)
def test_create_zone_refuses(session: Session, args: tuple, reason: str) -> None:
    with pytest.raises(ProvisionError, match=reason):
        provision.create_zone(session, *args)


def test_duplicates_and_unknown_zone(session: Session) -> None:
    provision.create_zone(session, "xa-a", "Xã A", "commune")
    with pytest.raises(ProvisionError, match="already exists"):
        provision.create_zone(session, "xa-a", "Xã A", "commune")
    with pytest.raises(ProvisionError, match="does not exist"):
        provision.create_node(session, "n-1", "n", "nowhere")
    with pytest.raises(ProvisionError, match="node id"):
        provision.create_node(session, "n+1", "n", "xa-a")


def test_zone_chain_and_broker_users(session: Session) -> None:
    seed_province(session)
    assert provision.zone_chain(session, "thon-dong") == ["thon-dong", "xa-an-binh"]
    assert provision.zone_chain(session, "xa-phu-my") == ["xa-phu-my"]
    with pytest.raises(ProvisionError):
        provision.zone_chain(session, "nowhere")
    users = provision.broker_users(session, "loa-controller", hash_password("x" * 24))
    assert users[0].username == "loa-controller" and users[0].readwrite == ("loa/v1/#",)
    by_name = {u.username: u for u in users[1:]}
    assert set(by_name) == {"dong-1", "dong-2", "dong-3", "tay-1", "tay-2", "bac-1"}
    dong = by_name["dong-1"]
    assert dong.read == ("loa/v1/nodes/dong-1/cmd", "loa/v1/zones/thon-dong/cmd", "loa/v1/zones/xa-an-binh/cmd")
    assert dong.write == (
        "loa/v1/nodes/dong-1/state", "loa/v1/nodes/dong-1/telemetry", "loa/v1/nodes/dong-1/events",
        "loa/v1/nodes/dong-1/timeline",
    )
    assert dong.password_hash == session.get(Node, "dong-1").mqtt_password_hash  # type: ignore[union-attr]


def test_sqlite_is_tuned(settings: ControllerSettings, tmp_path: Path) -> None:
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_schema_compiles_for_postgresql() -> None:
    """PostgreSQL must work through SQLModel too: every table's DDL compiles for it."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable
    from sqlmodel import SQLModel

    ddl = "\n".join(str(CreateTable(t).compile(dialect=postgresql.dialect())) for t in SQLModel.metadata.sorted_tables)
    assert "TIMESTAMP WITH TIME ZONE" in ddl and "ON DELETE CASCADE" in ddl and "uq_delivery_announcement_occurrence_node" in ddl
