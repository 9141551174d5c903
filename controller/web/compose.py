"""The compose page (`/compose`, Perm.ANNOUNCE_DRAFT) and its JSON helpers.

- `GET /compose`, `POST /compose`: the form; `announcer.submit` decides by the user's
  rights whether it airs (leader, admin), waits for approval (editor) or, for an
  emergency by a leader, airs at once flagged `skipped_approval` (after an explicit
  confirmation box, so nobody skips approval by a slip of the finger).
- `POST /ui/preview`: "Nghe thử" — the same render the submission will use, so the
  official hears exactly what will air, and the text as the normaliser will read it.
- `POST /ui/recordings`: a recorded file streamed to disk with the size limit counted
  as it arrives (`controller.api.recordings.receive_upload`), then mastered; the page's
  JavaScript sends it with the `X-CSRF-Token` header (README: uploads) and keeps the
  answer's `sha256` in the form, so nothing typed is lost while a file is checked.

Domain errors never become a 500: each code maps to a Vietnamese message on the field
it concerns (`compose.code.<code>` in the catalogue).
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import anyio.from_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select
from starlette.datastructures import FormData

from controller import recordings
from controller.accounts.roles import Perm
from controller.api.deps import CtxDep
from controller.api.recordings import receive_upload
from controller.context import AppContext
from controller.models import Announcement, AnnouncementPreview, AnnouncementPublic, Zone
from controller.programme import conflict_details
from controller.speech_checks import AnnouncementError
from controller.topology import ZoneTree
from schedules.messages import PRIORITY_WORDS, Lang, effect_text
from controller.web.compose_form import RATES, SHA_PATTERN, WEEKDAYS, ComposeForm, Topology, parse
from controller.web.deps import WebUser, require
from controller.web.i18n import translator
from controller.web.pages import LOCAL_TZ, flash, redirect, render

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

Editor = Annotated[WebUser, require(Perm.ANNOUNCE_DRAFT)]

CODE_FIELDS = {
    "text_too_long": "text", "tts_refused": "text", "tts_unavailable": "text", "unknown_voice": "voice",
    "no_voices": "voice", "title_too_long": "title", "schedule_invalid": "when", "targets_invalid": "targets",
    "recording_not_found": "recording", "recording_chime_mismatch": "recording", "recording_with_voice": "recording",
}  # fmt: skip
"""Which form field a domain error code belongs to; others are shown at the top of the form."""

REGION_KEYS = {"north": "compose.region.north", "central": "compose.region.central", "south": "compose.region.south"}


def audio_path(sha256: str) -> str:
    """Audio as the browser fetches it: same origin (the CSP allows `media-src 'self'`),
    whatever host `LOA_PUBLIC_URL` names for the nodes."""
    return f"/audio/{sha256}.opus"


async def read_form(request: Request) -> FormData:
    """The posted form (parsed once: Starlette caches it for the CSRF check too)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def code_message(lang: str, code: str, ctx: AppContext, detail: str = "") -> str:
    """A domain error code in the user's words, saying what to fix."""
    t = translator(lang)
    key = f"compose.code.{code}"
    from controller.web.i18n import catalogue

    if key not in catalogue():
        return t("compose.code.other", detail=detail)
    s = ctx.settings
    return t(key, mb=f"{s.recording_max_mb:g}", duration=max_duration(lang, ctx), limit=s.max_text_chars,
             title_limit=s.recording_title_max_chars)


def max_duration(lang: str, ctx: AppContext) -> str:
    """The longest recording accepted, in words ("10 phút 0 giây")."""
    total = int(ctx.settings.recording_max_seconds)
    return translator(lang)("compose.duration", minutes=total // 60, seconds=total % 60)


def voice_options(ctx: AppContext, lang: str) -> list[tuple[str, str]]:
    t = translator(lang)
    out = []
    for v in ctx.voices:
        region = t(REGION_KEYS[v.region]) if v.region in REGION_KEYS else v.region
        out.append((v.id, f"{region} — {v.label}"))
    return out


def _page(request: Request, ctx: AppContext, me: WebUser, form: ComposeForm | None = None,
          errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    t = translator(me.lang)
    with Session(ctx.engine) as session:
        topo = Topology.load(session)
    now_local = ctx.clock().astimezone(LOCAL_TZ)
    form = form or ComposeForm(rec_start=now_local.date().isoformat())
    return render(request, "compose.html", {
        "form": form,
        "errors": errors or {},
        "me": me,
        "topology": topo.roots,
        "voice_options": voice_options(ctx, me.lang),
        "rate_options": [(str(r), t(f"compose.rate.{r}")) for r in RATES],
        "weekdays": WEEKDAYS,
        "can_emergency": me.can(Perm.ANNOUNCE_EMERGENCY),
        "can_publish": me.can(Perm.ANNOUNCE_APPROVE),
        "max_chars": ctx.settings.max_text_chars,
        "title_max": ctx.settings.recording_title_max_chars,
        "recording_max_mb": f"{ctx.settings.recording_max_mb:g}",
        "recording_max_duration": max_duration(me.lang, ctx),
        "recording_max_bytes": recordings.max_upload_bytes(ctx.settings),
        "too_large_message": code_message(me.lang, "too_large", ctx),
        "now_local": now_local.strftime("%Y-%m-%dT%H:%M"),
        "today": now_local.date().isoformat(),
        "recording_audio": audio_path(form.recording_sha256) if SHA_PATTERN.match(form.recording_sha256) else None,
    }, status_code=status_code)  # fmt: skip


@router.get("/compose")
def compose_page(request: Request, ctx: CtxDep, me: Editor) -> Response:
    return _page(request, ctx, me)


@router.post("/compose")
def compose_submit(request: Request, ctx: CtxDep, me: Editor, data: FormDep) -> Response:
    t = translator(me.lang)
    form = ComposeForm.from_form(data)
    with Session(ctx.engine) as session:
        topo = Topology.load(session)
    parsed = parse(
        form, topo, now=ctx.clock(), grace_s=ctx.settings.schedule_grace_s, max_chars=ctx.settings.max_text_chars,
        title_max=ctx.settings.recording_title_max_chars, voices=[v.id for v in ctx.voices], t=t,
    )  # fmt: skip
    errors = parsed.errors
    req = parsed.request
    emergency_now = req is not None and req.priority.value == "emergency" and me.can(Perm.ANNOUNCE_EMERGENCY)
    if emergency_now and not form.confirm_emergency:
        errors["confirm_emergency"] = t("compose.err.confirm_emergency")
    if errors or req is None:
        return _page(request, ctx, me, form, errors, 422)
    try:
        view = anyio.from_thread.run(ctx.announcer.submit, req, me.actor)
    except AnnouncementError as exc:
        if exc.code == "publish_failed":  # stored, but the broker refused some commands
            flash(request, "error", "compose.code.publish_failed")
            return redirect("/announcements")
        field = CODE_FIELDS.get(exc.code, "form")
        return _page(request, ctx, me, form, {field: code_message(me.lang, exc.code, ctx, exc.detail)}, 422)
    _flash_result(request, ctx, me, view)
    return redirect(f"/announcements/{view.id}")


def _flash_result(request: Request, ctx: AppContext, me: WebUser, view: AnnouncementPublic) -> None:
    """Say what happened (aired, scheduled, waiting) and, for schedules, the overlaps in Vietnamese."""
    if view.status == "awaiting_approval":
        flash(request, "success", "compose.done.awaiting", id=view.id)
    elif view.skipped_approval:
        flash(request, "success", "compose.done.emergency", id=view.id)
    elif view.status == "scheduled":
        flash(request, "success", "compose.done.scheduled", id=view.id)
    else:
        flash(request, "success", "compose.done.sent", id=view.id)
    if view.schedule is None:
        return
    for text in _warnings(ctx, view.id, me.lang):
        flash(request, "info", "compose.conflict", warning=text)


MAX_FLASHED_WARNINGS = 5


def _warnings(ctx: AppContext, ann_id: int, lang: str) -> list[str]:
    """Overlaps of the new bulletin's plays in the user's words: bulletin numbers, Vietnam
    times and zone names instead of occurrence keys and ids; at most a few, then a count."""
    t = translator(lang)
    words: Lang = "en" if lang == "en" else "vi"
    try:
        with Session(ctx.engine) as session:
            ann = session.get(Announcement, ann_id)
            if ann is None:
                return []
            tree = ZoneTree.load(session)
            details = conflict_details(session, ann, tree, ctx.clock())
            names = dict(session.exec(select(Zone.id, Zone.name)).all())
    except Exception:  # a warning that cannot be computed must not hide that the bulletin was saved
        log.exception("conflict warnings for announcement %s failed", ann_id)
        return []
    overlaps = [w for w in details if w.code == "overlap"]
    more = len(overlaps) - MAX_FLASHED_WARNINGS + sum(int(w.params.get("count", 0)) for w in details if w.code == "more_overlaps")
    out = []
    for w in overlaps[:MAX_FLASHED_WARNINGS]:
        p = w.params
        prio = str(p.get("existing_priority", "normal"))
        out.append(t(
            "compose.overlap",
            time=_local_words(str(p.get("start", ""))),
            existing=str(p.get("existing", "")).split(":", 1)[0],
            priority=PRIORITY_WORDS[words].get(prio, prio),
            zones=", ".join(names.get(z, z.removeprefix("node:")) for z in p.get("zones") or ()),
            effect=effect_text(str(p.get("effect", "")), words, prio),
        ))  # fmt: skip
    if more > 0:
        out.append(t("compose.overlap_more", count=more))
    return out


def _local_words(value: str) -> str:
    """'2025-07-02 06:00:00' (already Vietnam time) as '06:00 02/07/2025'."""
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").strftime("%H:%M %d/%m/%Y")
    except ValueError:
        return value


# -- JSON helpers for static/compose.js ---------------------------------------------------


def _json_error(lang: str, ctx: AppContext, status: int, code: str, detail: str = "") -> JSONResponse:
    return JSONResponse({"detail": code_message(lang, code, ctx, detail), "code": code}, status_code=status)


@router.post("/ui/preview")
async def preview(ctx: CtxDep, me: Editor, body: dict[str, Any]) -> Response:
    """Render as the submission would and answer where to listen and what will be said."""
    t = translator(me.lang)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return JSONResponse({"detail": t("compose.err.text_empty"), "code": "text_empty"}, status_code=422)
    fields: dict[str, Any] = {"text": text, "chime": bool(body.get("chime"))}
    if body.get("voice"):
        fields["voice"] = body["voice"]
    try:
        fields["rate"] = int(body.get("rate") or 150)
        req = AnnouncementPreview.model_validate(fields)
    except (ValueError, TypeError, ValidationError):
        return JSONResponse({"detail": t("compose.err.preview_invalid"), "code": "invalid"}, status_code=422)
    try:
        result = await ctx.announcer.preview(req)
    except AnnouncementError as exc:
        return _json_error(me.lang, ctx, exc.status_code, exc.code, exc.detail)
    seconds = result.audio.duration_ms / 1000
    return JSONResponse({
        "spoken_text": result.spoken_text,
        "voice": result.voice,
        "audio_url": audio_path(result.audio.sha256),
        "duration_ms": result.audio.duration_ms,
        "duration_text": t("compose.duration", minutes=int(seconds // 60), seconds=round(seconds % 60)),
        "fallback_reason": result.fallback_reason,
        "fallback_text": t("compose.fallback", reason=result.fallback_reason) if result.fallback_reason else None,
    })  # fmt: skip


@router.post("/ui/recordings")
async def upload(request: Request, ctx: CtxDep, me: Editor) -> Response:
    """Stream a recorded file (multipart `file`, optional `chime`) with the size limit, then master it."""
    if not request.headers.get("x-csrf-token"):  # the body must stream untouched (README: uploads)
        await (await request.form()).close()  # parsed by the CSRF check: release its spooled files
        return _json_error(me.lang, ctx, 422, "not_multipart")
    settings = ctx.settings
    scratch = recordings.scratch_dir(settings)
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=scratch, prefix="web-upload-") as tmp:
            path = Path(tmp) / "file"
            fields = await receive_upload(request, path, recordings.max_upload_bytes(settings))
            chime = fields.get("chime", "").strip().lower() in ("1", "true", "on", "yes")
            stored = await recordings.upload_recording(ctx.announcer, path, me.actor, chime=chime)
    except AnnouncementError as exc:
        return _json_error(me.lang, ctx, exc.status_code, exc.code, exc.detail)
    seconds = stored.duration_ms / 1000
    t = translator(me.lang)
    return JSONResponse({
        "sha256": stored.sha256, "url": audio_path(stored.sha256), "duration_ms": stored.duration_ms, "chime": stored.chime,
        "duration_text": t("compose.duration", minutes=int(seconds // 60), seconds=round(seconds % 60)),
    }, status_code=201)  # fmt: skip


__all__ = ["CODE_FIELDS", "audio_path", "code_message", "router", "voice_options"]
