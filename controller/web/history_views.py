"""How an announcement is shown on the officials' pages (approval queue, history, detail).

Shared by `approvals.py` and `history.py` so a bulletin reads the same everywhere: targets
by zone and speaker names, the schedule in a Vietnamese sentence ("Thứ Hai, Thứ Tư lúc
06:00 từ 02/07/2025"), authors by display name, statuses and per-speaker states in
words (`history.status.*`, `history.state.*`), and the audio at its same-origin URL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Path

from sqlmodel import Session, select

from controller.accounts.models import User
from controller.models import Announcement, AnnouncementPublic
from controller.web.compose import audio_path
from controller.web.compose_form import Topology
from controller.web.pages import LOCAL_TZ

STATUSES = ("awaiting_approval", "rejected", "scheduled", "pending", "sent", "done", "failed", "cancelled")
STATES = ("pending", "sent", "received", "ready", "started", "finished", "failed", "expired", "preempted", "cancelled")
PRIORITIES = ("normal", "priority", "emergency")
AnnId = Annotated[int, Path(ge=1, le=2**63 - 1)]
"""An announcement id in a URL: a number the database can hold (a longer one is a 422 page, not a 500)."""
CANCELLABLE = ("awaiting_approval", "scheduled", "pending", "sent")
"""Statuses the cancel button is offered for (a cancel of anything else changes nothing)."""


def display_names(session: Session) -> dict[str, str]:
    """username → display name, for "who wrote / approved it"."""
    return {u.username: u.display_name for u in session.exec(select(User)).all()}


def describe_schedule(schedule: Mapping[str, Any] | None, t: Callable[..., str]) -> str:
    """The schedule as a sentence; "play now" when there is none."""
    if not schedule:
        return t("history.when.now")
    repeat = schedule.get("repeat") or {}
    if "at" in schedule and schedule.get("kind", "once") == "once":
        at = datetime.fromisoformat(str(schedule["at"])).astimezone(LOCAL_TZ)
        text = t("history.when.at", time=at.strftime("%H:%M %d/%m/%Y"))
    else:
        kind = schedule.get("kind")
        times = ", ".join(schedule.get("times") or ())
        if kind == "daily":
            text = t("history.when.daily", times=times)
        elif kind == "weekly":
            days = ", ".join(t(f"compose.day.{d}") for d in schedule.get("days") or ())
            text = t("history.when.weekly", days=days, times=times)
        elif kind == "monthly":
            days = ", ".join(str(d) if d != -1 else t("history.when.last_day") for d in schedule.get("days_of_month") or ())
            text = t("history.when.monthly", days=days, times=times)
        else:
            text = t("history.when.cron", cron=schedule.get("cron", ""))
        text += " " + t("history.when.from", start=_day(schedule.get("start_date")))
        if schedule.get("end_date"):
            text += " " + t("history.when.until", end=_day(schedule.get("end_date")))
    count = int(repeat.get("count", 1) or 1)
    if count > 1:
        gap = float(repeat.get("gap_s", 0) or 0) / 60
        text += "; " + t("history.when.repeat", count=count, gap=f"{gap:g}")
    return text


def _day(value: Any) -> str:
    try:
        return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


def card(ann: Announcement | AnnouncementPublic, topo: Topology, names: Mapping[str, str], t: Callable[..., str]) -> dict[str, Any]:
    """The values every announcement template shows (plain data; the template escapes it)."""
    sha = ann.audio.sha256 if isinstance(ann, AnnouncementPublic) else ann.audio_sha256
    duration_ms = ann.audio.duration_ms if isinstance(ann, AnnouncementPublic) else ann.audio_duration_ms
    seconds = round(duration_ms / 1000)
    return {
        "id": ann.id,
        "text": ann.text,
        "priority": ann.priority,
        "status": ann.status,
        "source": ann.source or "text",
        "created_at": ann.created_at,
        "play_at": ann.play_at,
        "targets": topo.describe(ann.targets),
        "when": describe_schedule(ann.schedule, t),
        "scheduled": ann.schedule is not None,
        "audio_url": audio_path(sha),
        "duration": t("compose.duration", minutes=seconds // 60, seconds=seconds % 60),
        "created_by": names.get(ann.created_by or "", ann.created_by or "—"),
        "approved_by": names.get(ann.approved_by or "", ann.approved_by) if ann.approved_by else None,
        "approved_at": ann.approved_at,
        "review_comment": ann.review_comment,
        "skipped_approval": bool(ann.skipped_approval),
        "fallback_reason": ann.fallback_reason,
        "voice": ann.voice,
    }


__all__ = ["CANCELLABLE", "AnnId", "PRIORITIES", "STATES", "STATUSES", "card", "describe_schedule", "display_names"]
