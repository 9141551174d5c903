"""Reading and editing the lexicon; every edit bumps the version in its own transaction.

Plain functions over a `Session`, so the API routers stay thin and `loa tts` can read
the same data without the web app. Problems a client can fix raise `LexiconError`
with an HTTP status and an English reason.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from controller.lexicon.models import MAX_ENTRIES, LexiconEntry, LexiconEntryIn, LexiconState, term_key


class LexiconError(Exception):
    """An edit the lexicon refuses; `status_code` and `detail` go to the client."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def lexicon_version(session: Session) -> str:
    """A string that changes whenever the lexicon does, from one small query.

    The counter catches every edit made through this module; the count and the
    newest `updated_at` also catch rows added, removed or changed by hand in SQL.
    """
    counter = select(LexiconState.version).where(LexiconState.id == 1).scalar_subquery()
    count = select(func.count()).select_from(LexiconEntry).scalar_subquery()
    newest = select(func.max(LexiconEntry.updated_at)).scalar_subquery()
    version, entries, latest = session.exec(select(counter, count, newest)).one()  # type: ignore[call-overload]
    stamp = latest.isoformat() if isinstance(latest, datetime) else str(latest or "-")
    return f"{version or 0}.{entries}.{stamp}"


def list_entries(session: Session) -> list[LexiconEntry]:
    return list(session.exec(select(LexiconEntry).order_by(col(LexiconEntry.term_key))).all())


def get_entry(session: Session, entry_id: int) -> LexiconEntry:
    entry = session.get(LexiconEntry, entry_id)
    if entry is None:
        raise LexiconError(404, f"lexicon entry {entry_id} not found")
    return entry


def create_entry(session: Session, data: LexiconEntryIn, now: datetime) -> LexiconEntry:
    count = session.exec(select(func.count()).select_from(LexiconEntry)).one()
    if count >= MAX_ENTRIES:
        raise LexiconError(422, f"the lexicon is full ({MAX_ENTRIES} entries); delete unused entries first")
    entry = LexiconEntry(term=data.term, term_key=term_key(data.term), spoken=data.spoken, note=data.note,
                         updated_at=now)  # fmt: skip
    _check_unique(session, entry.term_key, data.term, None)
    session.add(entry)
    return _commit(session, entry, data.term)


def update_entry(session: Session, entry_id: int, data: LexiconEntryIn, now: datetime) -> LexiconEntry:
    entry = get_entry(session, entry_id)
    key = term_key(data.term)
    _check_unique(session, key, data.term, entry_id)
    entry.term, entry.term_key, entry.spoken, entry.note = data.term, key, data.spoken, data.note
    entry.updated_at = now
    session.add(entry)
    return _commit(session, entry, data.term)


def delete_entry(session: Session, entry_id: int) -> None:
    session.delete(get_entry(session, entry_id))
    _bump(session)
    session.commit()


def _check_unique(session: Session, key: str, term: str, own_id: int | None) -> None:
    other = session.exec(select(LexiconEntry).where(LexiconEntry.term_key == key)).first()
    if other is not None and other.id != own_id:
        raise LexiconError(409, _duplicate(term, other.id))


def _duplicate(term: str, other_id: int | None) -> str:
    where = f" (entry {other_id})" if other_id is not None else ""
    return f"the term {term!r} is already in the lexicon{where}; edit that entry instead"


def _commit(session: Session, entry: LexiconEntry, term: str) -> LexiconEntry:
    _bump(session)
    try:
        session.commit()
    except IntegrityError:  # someone saved the same term between our check and our commit
        session.rollback()
        raise LexiconError(409, _duplicate(term, None)) from None
    session.refresh(entry)
    return entry


def _bump(session: Session) -> None:
    result = session.exec(  # type: ignore[call-overload]
        update(LexiconState).where(col(LexiconState.id) == 1).values(version=col(LexiconState.version) + 1)
    )
    if result.rowcount == 0:  # the row was removed by hand; put it back
        session.add(LexiconState(id=1, version=1))


__all__ = [
    "LexiconError",
    "create_entry",
    "delete_entry",
    "get_entry",
    "lexicon_version",
    "list_entries",
    "update_entry",
]
