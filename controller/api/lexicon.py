"""`/api/v1/lexicon`: the words and phrases officials teach the speech engine to say.

Edits take effect on the next render (the text filter checks the lexicon's version);
announcements already rendered keep their audio.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from controller.api.deps import CtxDep, SessionDep
from controller.lexicon import store
from controller.lexicon.models import LexiconEntryIn, LexiconEntryPublic, LexiconPage

router = APIRouter(prefix="/lexicon", tags=["lexicon"])

EntryId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("", response_model=LexiconPage)
def list_lexicon(session: SessionDep) -> LexiconPage:
    """Every entry, sorted by term, with the lexicon's current version."""
    items = [LexiconEntryPublic.model_validate(e) for e in store.list_entries(session)]
    return LexiconPage(items=items, version=store.lexicon_version(session))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=LexiconEntryPublic)
def create_entry(body: LexiconEntryIn, session: SessionDep, ctx: CtxDep) -> LexiconEntryPublic:
    """409 when the term (case-insensitive) is already there; 422 for a bad term or spoken form."""
    return LexiconEntryPublic.model_validate(store.create_entry(session, body, ctx.clock()))


@router.get("/{entry_id}", response_model=LexiconEntryPublic)
def get_entry(entry_id: EntryId, session: SessionDep) -> LexiconEntryPublic:
    return LexiconEntryPublic.model_validate(store.get_entry(session, entry_id))


@router.put("/{entry_id}", response_model=LexiconEntryPublic)
def replace_entry(entry_id: EntryId, body: LexiconEntryIn, session: SessionDep, ctx: CtxDep) -> LexiconEntryPublic:
    """Replaces term, spoken and note (a missing `note` clears it)."""
    return LexiconEntryPublic.model_validate(store.update_entry(session, entry_id, body, ctx.clock()))


@router.delete("/{entry_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def delete_entry(entry_id: EntryId, session: SessionDep) -> Response:
    store.delete_entry(session, entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
