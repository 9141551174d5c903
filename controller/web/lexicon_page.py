"""The pronunciation lexicon page (`/lexicon`, Perm.LEXICON_MANAGE): search, add, edit, delete.

Officials teach the speech engine local names and abbreviations ("Ea H'leo" → "Ê a Hơ
lê ô", "UBND" → "ủy ban nhân dân"). The store (`controller.lexicon.store`) keeps the
rules and answers in English for the REST API; this page checks the same rules first
so each problem is explained next to its field in Vietnamese, and keeps what was
typed. "Nghe thử" (listen) posts the term to `/ui/preview`, which reads it through the
lexicon exactly as an announcement would be read.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from controller.accounts.roles import Perm
from controller.api.deps import CtxDep
from controller.lexicon import store
from controller.lexicon.models import (
    MAX_ENTRIES,
    MAX_NOTE_CHARS,
    MAX_SPOKEN_CHARS,
    MAX_TERM_CHARS,
    LexiconEntry,
    LexiconEntryIn,
    clean_phrase,
    term_key,
)
from controller.web.deps import WebUser, require
from controller.web.i18n import translator
from controller.web.pages import flash, redirect, render

router = APIRouter(include_in_schema=False)

Manager = Annotated[WebUser, require(Perm.LEXICON_MANAGE)]

EMPTY = {"term": "", "spoken": "", "note": ""}


def _phrase_error(value: str, limit: int, field: str, t: Any) -> str | None:
    """Why `clean_phrase` refuses `value`, in the user's language (None when it accepts it)."""
    try:
        clean_phrase(value, field, limit)
    except ValueError:
        pass
    else:
        return None
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if not text:
        return t(f"lexicon.err.{field}_empty")
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\r\t" for ch in value):
        return t("lexicon.err.control")
    if len(text) > limit:
        return t("lexicon.err.too_long", max=limit, n=len(text))
    return t("lexicon.err.no_letters")


def check_entry(session: Session, t: Any, term: str, spoken: str, note: str, own_id: int | None) -> tuple[LexiconEntryIn | None, dict[str, str]]:
    """The validated entry, or the problems by field (a duplicate term names the entry to edit)."""
    errors: dict[str, str] = {}
    if (error := _phrase_error(term, MAX_TERM_CHARS, "term", t)) is not None:
        errors["term"] = error
    if (error := _phrase_error(spoken, MAX_SPOKEN_CHARS, "spoken", t)) is not None:
        errors["spoken"] = error
    if len(note.strip()) > MAX_NOTE_CHARS:
        errors["note"] = t("lexicon.err.too_long", max=MAX_NOTE_CHARS, n=len(note.strip()))
    elif any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\r\t" for ch in note):
        errors["note"] = t("lexicon.err.control")
    if "term" not in errors:
        other = session.exec(select(LexiconEntry).where(col(LexiconEntry.term_key) == term_key(term))).first()
        if other is not None and other.id != own_id:
            errors["term"] = t("lexicon.err.duplicate", term=other.term, spoken=other.spoken)
    if errors:
        return None, errors
    return LexiconEntryIn(term=term, spoken=spoken, note=note or None), {}


def _matches(entry: LexiconEntry, query: str) -> bool:
    wanted = unicodedata.normalize("NFC", query).casefold()
    return any(wanted in (value or "").casefold() for value in (entry.term, entry.spoken, entry.note))


def _page(
    request: Request, ctx: CtxDep, me: WebUser, *, q: str = "", form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None, row: dict[str, Any] | None = None, page_error: str | None = None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    with Session(ctx.engine) as session:
        entries = store.list_entries(session)
    total = len(entries)
    query = q.strip()
    shown = [e for e in entries if _matches(e, query)] if query else entries
    return render(
        request,
        "lexicon.html",
        {
            "entries": shown,
            "total": total,
            "q": query,
            "form": form or dict(EMPTY),
            "errors": errors or {},
            "row": row or {},
            "page_error": page_error,
            "can_preview": me.can(Perm.ANNOUNCE_DRAFT),
            "limits": {"term": MAX_TERM_CHARS, "spoken": MAX_SPOKEN_CHARS, "note": MAX_NOTE_CHARS},
        },
        status_code=status_code,
    )


def _typed(term: str, spoken: str, note: str) -> dict[str, str]:
    return {"term": term[: 4 * MAX_TERM_CHARS], "spoken": spoken[: 4 * MAX_SPOKEN_CHARS], "note": note[:MAX_NOTE_CHARS * 2]}


def _entry_id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 2**63 else None


@router.get("/lexicon")
def lexicon_page(request: Request, ctx: CtxDep, me: Manager, q: Annotated[str, Query()] = "") -> Response:
    return _page(request, ctx, me, q=q[:200])  # a hand-made URL gets a search, not an error page


@router.post("/lexicon")
def add_entry(
    request: Request, ctx: CtxDep, me: Manager, term: Annotated[str, Form()] = "",
    spoken: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    t = translator(me.lang)
    with Session(ctx.engine) as session:
        data, errors = check_entry(session, t, term, spoken, note, None)
        if data is not None:
            try:
                saved = store.create_entry(session, data, ctx.clock()).term
            except store.LexiconError as exc:  # full, or the same term saved a moment ago
                errors["term"] = (t("lexicon.err.full", max=MAX_ENTRIES) if exc.status_code == 422
                                  else t("lexicon.err.duplicate_now"))
    if errors:
        return _page(request, ctx, me, form=_typed(term, spoken, note), errors=errors, status_code=422)
    flash(request, "success", "lexicon.added", term=saved)
    return redirect("/lexicon")


@router.post("/lexicon/{entry_id}")
def edit_entry(
    request: Request, ctx: CtxDep, me: Manager, entry_id: str, term: Annotated[str, Form()] = "",
    spoken: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
) -> Response:  # fmt: skip
    t = translator(me.lang)
    number = _entry_id(entry_id)
    saved = ""
    with Session(ctx.engine) as session:
        exists = number is not None and session.get(LexiconEntry, number) is not None
        data, errors = check_entry(session, t, term, spoken, note, number) if exists else (None, {})
        if exists and data is not None and number is not None:
            try:
                saved = store.update_entry(session, number, data, ctx.clock()).term
            except store.LexiconError as exc:
                if exc.status_code == 404:
                    exists = False
                else:
                    errors["term"] = t("lexicon.err.duplicate_now")
    if not exists:
        return _page(request, ctx, me, page_error=t("lexicon.err.gone"), status_code=404)
    if errors:
        row = {"id": number, "form": _typed(term, spoken, note), "errors": errors}
        return _page(request, ctx, me, row=row, status_code=422)
    flash(request, "success", "lexicon.saved", term=saved)
    return redirect(f"/lexicon#entry-{number}")


@router.post("/lexicon/{entry_id}/delete")
def delete_entry(request: Request, ctx: CtxDep, me: Manager, entry_id: str) -> Response:
    t = translator(me.lang)
    number = _entry_id(entry_id)
    term = ""
    with Session(ctx.engine) as session:
        entry = session.get(LexiconEntry, number) if number is not None else None
        if entry is not None and number is not None:
            term = entry.term
            try:
                store.delete_entry(session, number)
            except store.LexiconError:
                entry = None
    if entry is None:
        return _page(request, ctx, me, page_error=t("lexicon.err.gone"), status_code=404)
    flash(request, "success", "lexicon.deleted", term=term)
    return redirect("/lexicon")


__all__ = ["check_entry", "router"]
