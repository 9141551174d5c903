"""Migrations: an empty database reaches head, the models and the migrations agree, a
database made by `create_all` before migrations is brought up (old delivery key gone),
and a database this release cannot read is refused without being touched."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from controller import migrations
from controller.db import SchemaError, engine_for_url, init_db
from controller.migrations import autogen
from controller.migrations.__main__ import main as migrations_main
from controller.migrations.baseline import baseline_metadata
from controller.models import Announcement, AnnouncementStatus, Delivery

T0 = datetime(2025, 3, 1, 7, 0, tzinfo=UTC)

# The two tables as `create_all` made them before scheduled announcements and approvals:
# no schedule/approval columns, `status` 16 wide, and delivery's unique key without the occurrence.
OLD_ANNOUNCEMENT = """CREATE TABLE announcement (
    id {serial} NOT NULL, text VARCHAR NOT NULL, voice VARCHAR(64) NOT NULL, rate INTEGER NOT NULL,
    priority VARCHAR(16) NOT NULL, chime BOOLEAN NOT NULL, targets JSON NOT NULL, status VARCHAR(16) NOT NULL,
    created_at {ts} NOT NULL, play_at {ts} NOT NULL, expires_at {ts} NOT NULL, audio_sha256 VARCHAR(64) NOT NULL,
    audio_size INTEGER NOT NULL, audio_duration_ms INTEGER NOT NULL, fallback_reason VARCHAR(500),
    command_ids JSON NOT NULL, PRIMARY KEY (id))"""
OLD_DELIVERY = """CREATE TABLE delivery (
    id {serial} NOT NULL, announcement_id INTEGER NOT NULL, node_id VARCHAR(63) NOT NULL,
    command_id VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, updated_at {ts} NOT NULL, detail VARCHAR(500),
    PRIMARY KEY (id),
    CONSTRAINT uq_delivery_announcement_node UNIQUE (announcement_id, node_id),
    FOREIGN KEY(announcement_id) REFERENCES announcement (id) ON DELETE CASCADE,
    FOREIGN KEY(node_id) REFERENCES node (id) ON DELETE CASCADE)"""
OLD_INDEXES = ("announcement_id", "command_id", "node_id", "state")
OLDER_TABLES = ("zone", "node", "node_event", "lexicon_entry")
"""Tables the old database has besides those two; the rest came later and must be created."""


def make_pre_migration_database(engine: Engine) -> None:
    """A database as an old release left it: no alembic_version, old shapes, one delivery."""
    pg = engine.dialect.name == "postgresql"
    shape = {"serial": "SERIAL" if pg else "INTEGER", "ts": "TIMESTAMP WITH TIME ZONE" if pg else "DATETIME"}
    baseline = baseline_metadata()
    with engine.begin() as conn:
        baseline.create_all(conn, tables=[baseline.tables[name] for name in OLDER_TABLES])
        conn.execute(sa.text(OLD_ANNOUNCEMENT.format(**shape)))
        conn.execute(sa.text(OLD_DELIVERY.format(**shape)))
        for column in OLD_INDEXES:
            conn.execute(sa.text(f"CREATE INDEX ix_delivery_{column} ON delivery ({column})"))
        at = "'2025-01-01 00:00:00'"
        conn.execute(sa.text("INSERT INTO zone (id, name, kind) VALUES ('thon-a', 'Thôn A', 'hamlet')"))
        conn.execute(sa.text(
            "INSERT INTO node (id, name, zone_id, mqtt_password_hash, online)"
            " VALUES ('a-1', 'Cụm A', 'thon-a', 'x', false)"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO announcement (text, voice, rate, priority, chime, targets, status, created_at, play_at,"
            f" expires_at, audio_sha256, audio_size, audio_duration_ms, command_ids) VALUES ('Họp thôn', 'vi', 150,"
            f" 'normal', false, '{{}}', 'sent', {at}, {at}, {at}, 'ab', 1, 1, '[]')"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO delivery (announcement_id, node_id, command_id, state, updated_at)"
            f" VALUES (1, 'a-1', 'c0', 'finished', {at})"
        ))  # fmt: skip


def assert_brought_up(engine: Engine) -> None:
    """After init_db: at head, nothing left to autogenerate, old rows kept, the new key in force."""
    with engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.head_revision()
        assert autogen.differences(conn) == []
        assert conn.execute(sa.text("SELECT id, version FROM lexicon_state")).all() == [(1, 0)]
    with Session(engine) as s:
        announcement = s.get(Announcement, 1)
        assert announcement is not None
        assert (announcement.source, announcement.skipped_approval) == ("text", False)
        announcement.status = AnnouncementStatus.AWAITING_APPROVAL  # 17 characters: the widened column takes it
        s.add(announcement)
        for occurrence in ("2025-03-01T07:00", "2025-03-02T07:00"):  # one node, two occurrences
            s.add(Delivery(announcement_id=1, node_id="a-1", command_id=occurrence, updated_at=T0, occurrence=occurrence))
        s.commit()
        assert len(s.exec(select(Delivery).where(Delivery.node_id == "a-1")).all()) == 3
    with Session(engine) as s, pytest.raises(IntegrityError):
        again = Delivery(announcement_id=1, node_id="a-1", command_id="again", updated_at=T0, occurrence="2025-03-01T07:00")
        s.add(again)
        s.commit()


@pytest.fixture
def engine(tmp_path: Path):
    engine = engine_for_url(f"sqlite:///{tmp_path / 'loa.db'}")
    yield engine
    engine.dispose()


def test_an_empty_database_reaches_head_and_matches_the_models(engine: Engine) -> None:
    init_db(engine)
    with engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.head_revision()
        assert autogen.differences(conn) == []
        assert set(sa.inspect(conn).get_table_names()) == set(autogen.target_metadata().tables) | {"alembic_version"}
        assert conn.execute(sa.text("SELECT id, version FROM lexicon_state")).all() == [(1, 0)]


def test_init_db_again_leaves_a_current_database_and_its_rows_alone(engine: Engine) -> None:
    init_db(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE lexicon_state SET version = 7"))
    init_db(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version FROM lexicon_state")).scalar_one() == 7


def test_sqlite_tuning_holds_after_migrating(engine: Engine) -> None:
    """Foreign keys are switched off for the migration only; WAL stays on."""
    make_pre_migration_database(engine)
    init_db(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []


def test_a_pre_migration_database_is_brought_up(engine: Engine) -> None:
    make_pre_migration_database(engine)
    init_db(engine)
    with engine.connect() as conn:
        keys = sa.inspect(conn).get_unique_constraints("delivery")
    assert [k["column_names"] for k in keys] == [["announcement_id", "occurrence", "node_id"]]
    assert_brought_up(engine)


def init_db_at_once(make_engine: Callable[[], Engine], processes: int = 3) -> list[BaseException]:
    """Several controllers (own engines) starting on one new database at the same moment."""
    engines = [make_engine() for _ in range(processes)]
    start, errors = threading.Barrier(processes), []

    def run(engine: Engine) -> None:
        start.wait()
        try:
            init_db(engine)
        except BaseException as exc:  # collected and asserted on in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    return errors


def test_controllers_starting_together_migrate_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'loa.db'}"
    assert init_db_at_once(lambda: engine_for_url(url)) == []
    engine = engine_for_url(url)
    with engine.connect() as conn:
        assert migrations.current_revision(conn) == migrations.head_revision()
        assert conn.execute(sa.text("SELECT count(*) FROM lexicon_state")).scalar_one() == 1
    engine.dispose()


def test_a_database_from_a_newer_release_is_refused(engine: Engine) -> None:
    init_db(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaError, match="9999"):
        init_db(engine)


def test_a_failed_bring_up_changes_nothing(engine: Engine) -> None:
    """One transaction: a database that cannot be brought up stays exactly as it was."""
    make_pre_migration_database(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE node DROP COLUMN name"))  # required, and no release lacked it
        before = sorted(sa.inspect(conn).get_table_names())
    with pytest.raises(SchemaError, match="node lacks the required column name"):
        init_db(engine)
    with engine.connect() as conn:
        assert sorted(sa.inspect(conn).get_table_names()) == before
        assert "alembic_version" not in before


def test_check_and_revision_helpers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert migrations_main(["check"]) == 0
    assert migrations_main(["revision", "-m", "nothing new", "--versions-dir", str(tmp_path)]) == 0
    written = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert written.parent == tmp_path and written.name == f"{int(migrations.head_revision()) + 1:04d}_nothing_new.py"
    assert f"down_revision = '{migrations.head_revision()}'" in written.read_text()


def test_rows_pointing_nowhere_after_migrating_are_refused(engine: Engine) -> None:
    """Foreign keys are off while migrating on SQLite; the result is checked before commit."""
    make_pre_migration_database(engine)
    with engine.connect() as conn:
        conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        with conn.begin():
            conn.execute(sa.text("DELETE FROM node"))  # the delivery's node is gone
        conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
    with pytest.raises(SchemaError, match="delivery row 1 -> node"):
        init_db(engine)
    with engine.connect() as conn:
        assert "alembic_version" not in sa.inspect(conn).get_table_names()


def test_a_model_table_without_a_revision_is_named_at_start_up(engine: Engine) -> None:
    """Someone added a table to the models and forgot the revision: say so, and how to fix it."""
    metadata = autogen.target_metadata()
    table = sa.Table("forgotten_thing", metadata, sa.Column("id", sa.Integer, primary_key=True))
    try:
        with pytest.raises(SchemaError, match="forgotten_thing.*controller.migrations revision"):
            init_db(engine)
    finally:
        metadata.remove(table)
    init_db(engine)
