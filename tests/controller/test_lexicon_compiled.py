"""The compiled lexicon: how terms match, and when the cache reloads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from controller.db import engine_for_url, init_db
from controller.lexicon import store
from controller.lexicon.compiled import CompiledLexicon, LexiconCache
from controller.lexicon.models import LexiconEntryIn

NOW = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)

ENTRIES = [
    ("Ea H'leo", "Ê a Hơ lê ô"),
    ("Ea", "Ê a"),
    ("Vinaphone", "vi na phôn"),
    ("KBNN", "kho bạc nhà nước"),
    ("Đắk Lắk", "Đắc Lắc"),
    ("kho", "KHO"),  # appears inside another entry's spoken form: must not be re-matched
]


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Huyện Ea H'leo", "Huyện Ê a Hơ lê ô"),
        ("Huyện Ea H’leo và Ea Kar", "Huyện Ê a Hơ lê ô và Ê a Kar"),  # typographic apostrophe; longest first
        ("ea  h'LEO", "Ê a Hơ lê ô"),  # any case, any whitespace run
        ("Eakar, Ea.", "Eakar, Ê a."),  # whole words only
        ("Gọi VINAPHONE hoặc vinaphone.", "Gọi vi na phôn hoặc vi na phôn."),
        ("KBNN-tỉnh", "kho bạc nhà nước-tỉnh"),
        ("ĐẮK LẮK", "Đắc Lắc"),  # Vietnamese upper case
        ("KBNNX", "KBNNX"),
        ("KBNN kho", "kho bạc nhà nước KHO"),  # one pass: "kho" in the replacement is left alone
    ],
)
def test_matching(text: str, spoken: str) -> None:
    assert CompiledLexicon.build("v", ENTRIES).apply(text) == spoken


def test_empty_lexicon_changes_nothing() -> None:
    assert CompiledLexicon.build("v", []).apply("KBNN") == "KBNN"


def test_regex_metacharacters_in_terms_are_literal() -> None:
    lexicon = CompiledLexicon.build("v", [("C++", "xê cộng cộng"), ("a.b", "a chấm b")])
    assert lexicon.apply("Học C++ và a.b, không phải axb") == "Học xê cộng cộng và a chấm b, không phải axb"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = engine_for_url(f"sqlite:///{tmp_path / 'loa.db'}")
    init_db(engine)
    yield engine
    engine.dispose()


def _add(engine: Engine, term: str, spoken: str) -> int:
    with Session(engine) as session:
        entry = store.create_entry(session, LexiconEntryIn(term=term, spoken=spoken), NOW)
        assert entry.id is not None
        return entry.id


def test_cache_compiles_once_and_refreshes_after_an_edit(db: Engine) -> None:
    cache = LexiconCache(db)
    entry_id = _add(db, "KBNN", "kho bạc nhà nước")
    for _ in range(20):
        assert cache.apply("KBNN mở cửa") == "kho bạc nhà nước mở cửa"
    assert cache.compilations == 1  # one version query per call, no reload

    with Session(db) as session:  # same timestamp: the counter still moves
        store.update_entry(session, entry_id, LexiconEntryIn(term="KBNN", spoken="kho bạc"), NOW)
    assert cache.apply("KBNN mở cửa") == "kho bạc mở cửa"
    with Session(db) as session:
        store.delete_entry(session, entry_id)
    assert cache.apply("KBNN mở cửa") == "KBNN mở cửa"
    assert cache.compilations == 3


def test_cache_sees_edits_made_by_hand_in_sql(db: Engine) -> None:
    cache = LexiconCache(db)
    _add(db, "KBNN", "kho bạc nhà nước")
    assert cache.apply("KBNN") == "kho bạc nhà nước"
    with db.begin() as conn:
        conn.execute(text("UPDATE lexicon_entry SET spoken = 'kho bạc', updated_at = '2025-07-02 00:00:00'"))
    assert cache.apply("KBNN") == "kho bạc"


def test_cache_keeps_the_last_lexicon_when_the_database_fails(db: Engine, caplog: pytest.LogCaptureFixture) -> None:
    cache = LexiconCache(db)
    _add(db, "KBNN", "kho bạc nhà nước")
    assert cache.apply("KBNN") == "kho bạc nhà nước"
    with db.begin() as conn:
        conn.execute(text("DROP TABLE lexicon_state"))
    assert cache.apply("KBNN") == "kho bạc nhà nước"
    assert "cannot read the lexicon" in caplog.text
    assert LexiconCache(db).apply("KBNN") == "KBNN"  # nothing loaded yet: the empty lexicon
