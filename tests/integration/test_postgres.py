"""PostgreSQL for real: migrations reach head and match the models, an old database is
brought up, and the controller runs an announcement end to end on it.

Why on a real server: PostgreSQL enforces what SQLite lets slide (column widths,
booleans vs integers, named constraints), so "works on SQLite" proves little for the
larger deployments that use it. The server is the session's throwaway one (tests/pg.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from controller import migrations
from controller.app import create_app
from controller.db import engine_for_url, init_db
from controller.migrations import autogen
from controller.models import Delivery, NodeEventRecord
from protocol.reports import EventKind, NodeEvent
from protocol.signing import generate_keypair
from protocol.topics import node_events
from tests.controller.conftest import AUTH, make_settings
from tests.controller.factories import FakeClock, FakePipeline, FakePublisher, seed_province
from tests.controller.test_migrations import assert_brought_up, init_db_at_once, make_pre_migration_database
from tests.pg import postgres_server, postgres_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _no_loa_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read LOA_* from the environment; a developer's shell must not leak in."""
    for key in list(os.environ):
        if key.startswith("LOA_"):
            monkeypatch.delenv(key)


def test_migrations_reach_head_and_match_the_models(postgres_url: str) -> None:  # noqa: F811
    engine = engine_for_url(postgres_url)
    try:
        init_db(engine)
        init_db(engine)  # idempotent
        with engine.connect() as conn:
            assert conn.dialect.name == "postgresql"
            assert migrations.current_revision(conn) == migrations.head_revision()
            assert autogen.differences(conn) == []
    finally:
        engine.dispose()


def test_controllers_starting_together_migrate_once(postgres_url: str) -> None:  # noqa: F811
    """The advisory lock: without it two `CREATE TABLE`s race and one start fails."""
    assert init_db_at_once(lambda: engine_for_url(postgres_url)) == []
    engine = engine_for_url(postgres_url)
    try:
        with engine.connect() as conn:
            assert migrations.current_revision(conn) == migrations.head_revision()
    finally:
        engine.dispose()


def test_a_pre_migration_database_is_brought_up(postgres_url: str) -> None:  # noqa: F811
    engine = engine_for_url(postgres_url)
    try:
        make_pre_migration_database(engine)
        init_db(engine)
        with engine.connect() as conn:
            status = sa.inspect(conn).get_columns("announcement")
        assert next(c["type"].length for c in status if c["name"] == "status") == 32
        assert_brought_up(engine)
    finally:
        engine.dispose()


def test_controller_runs_on_postgresql(postgres_url: str, tmp_path: Path) -> None:  # noqa: F811
    """Zones and nodes, an announcement over the API, a node's report ingested and read back."""
    private, public = tmp_path / "keys" / "controller.key", tmp_path / "keys" / "controller.pub"
    generate_keypair(private, public)
    settings = make_settings(tmp_path, private, database_url=postgres_url)
    publisher, clock = FakePublisher(), FakeClock()
    app = create_app(settings, pipeline=FakePipeline(tmp_path / "audio"), publisher=publisher, clock=clock)
    with TestClient(app, headers=AUTH) as client:
        engine = app.state.ctx.engine
        assert engine.dialect.name == "postgresql"
        with Session(engine) as session:
            seed_province(session)
        announcement = {"text": "Họp thôn lúc 8 giờ", "targets": {"zones": ["thon-dong"]}}
        res = client.post("/api/v1/announcements", json=announcement)
        assert res.status_code == 201, res.text
        body = res.json()
        assert publisher.published, "the announcement was not published"
        with Session(engine) as session:
            deliveries = session.exec(select(Delivery).where(Delivery.announcement_id == body["id"])).all()
        assert deliveries and {d.state for d in deliveries} == {"sent"}
        first = min(deliveries, key=lambda d: d.node_id)
        report = NodeEvent(
            node=first.node_id, cmd=first.command_id, announcement=body["id"], event=EventKind.FINISHED, at=clock()
        )
        app.state.ctx.fleet.on_event(node_events(first.node_id), report.to_json())
        got = client.get(f"/api/v1/announcements/{body['id']}").json()
        assert {d["node_id"]: d["state"] for d in got["deliveries"]}[first.node_id] == "finished"
        assert got["created_at"].endswith(("Z", "+00:00"))  # aware UTC back from PostgreSQL
        with Session(engine) as session:
            events = session.exec(select(NodeEventRecord)).all()
        assert [(e.node_id, e.event) for e in events] == [(first.node_id, "finished")]
