"""Reading the compose form: typed strings in, an `AnnouncementCreate` (or messages per field) out.

Why a module of its own: the form has many parts (text or recording, voice, targets
tree, priority, three kinds of "when", repeats) and each must say exactly what to fix,
in Vietnamese, while keeping everything typed. Parsing is pure (no request, no
database writes), so the page handler stays short and the rules are easy to test.

Times are Vietnam's: a `datetime-local` value such as `2026-12-01T06:00` becomes the
aware instant `2026-12-01T06:00:00+07:00`; recurring rules carry wall-clock `HH:MM`
times read in Asia/Ho_Chi_Minh (docs/schedules.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select
from starlette.datastructures import FormData

from controller.models import AnnouncementCreate, Node, Zone
from controller.topology import ZoneTree
from controller.web.pages import LOCAL_TZ
from protocol.commands import Priority
from schedules.rules import MAX_GAP_S, MAX_REPEAT_COUNT, Weekday, parse_rule

RATES = (110, 130, 150, 170, 190)
"""Speaking rates offered (words a minute); 150 is the API's default."""
DEFAULT_RATE = 150
MIN_RATE, MAX_RATE = 80, 300
WEEKDAYS = tuple(w.value for w in Weekday)
PRIORITIES = tuple(p.value for p in Priority)
WHENS = ("now", "at", "recurring")
REC_KINDS = ("daily", "weekly")
_HHMM = re.compile(r"^([01]?[0-9]|2[0-3])[:hH.]([0-5][0-9])$")
SHA_PATTERN = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class ComposeForm:
    """What the official typed, as strings (kept verbatim to re-render the form)."""

    mode: str = "text"
    text: str = ""
    title: str = ""
    recording_sha256: str = ""
    recording_url: str = ""
    recording_duration_ms: str = ""
    voice: str = ""
    rate: str = str(DEFAULT_RATE)
    zones: set[str] = field(default_factory=set)
    nodes: set[str] = field(default_factory=set)
    priority: str = Priority.NORMAL.value
    when: str = "now"
    at: str = ""
    rec_kind: str = "daily"
    rec_times: str = ""
    rec_days: set[str] = field(default_factory=set)
    rec_start: str = ""
    rec_end: str = ""
    repeat_count: str = "1"
    repeat_gap: str = "0"
    chime: bool = False
    confirm_emergency: bool = False

    @classmethod
    def from_form(cls, data: FormData | Mapping[str, Any]) -> ComposeForm:
        def one(name: str, default: str = "", limit: int = 200) -> str:
            value = data.get(name, default)
            return value[:limit] if isinstance(value, str) else default

        def many(name: str) -> set[str]:
            values = data.getlist(name) if isinstance(data, FormData) else data.get(name, [])
            return {v[:200] for v in values if isinstance(v, str) and v}

        return cls(
            mode="recording" if one("mode") == "recording" else "text",
            text=one("text", limit=100_000),
            title=one("title", limit=2000),
            recording_sha256=one("recording_sha256", limit=64),
            recording_url=one("recording_url", limit=500),
            recording_duration_ms=one("recording_duration_ms", limit=12),
            voice=one("voice", limit=64),
            rate=one("rate", str(DEFAULT_RATE), 8),
            zones=many("zones"),
            nodes=many("nodes"),
            priority=one("priority", Priority.NORMAL.value, 16),
            when=one("when", "now", 16),
            at=one("at", limit=32),
            rec_kind=one("rec_kind", "daily", 16),
            rec_times=one("rec_times", limit=400),
            rec_days=many("rec_days"),
            rec_start=one("rec_start", limit=16),
            rec_end=one("rec_end", limit=16),
            repeat_count=one("repeat_count", "1", 8),
            repeat_gap=one("repeat_gap", "0", 8),
            chime=one("chime") in ("1", "on", "true"),
            confirm_emergency=one("confirm_emergency") in ("1", "on", "true"),
        )


# -- the targets tree ---------------------------------------------------------------


@dataclass
class TreeZone:
    id: str
    name: str
    kind: str
    children: list[TreeZone] = field(default_factory=list)
    nodes: list[tuple[str, str]] = field(default_factory=list)
    """(node id, node name) of nodes whose own zone is this one."""


@dataclass
class Topology:
    """Zones and nodes as the form shows them (commune → hamlet → node) and checks them."""

    roots: list[TreeZone]
    tree: ZoneTree
    zone_names: dict[str, str]
    node_names: dict[str, str]

    @classmethod
    def load(cls, session: Session) -> Topology:
        zones = session.exec(select(Zone)).all()
        nodes = session.exec(select(Node.id, Node.name, Node.zone_id)).all()
        by_id = {z.id: TreeZone(z.id, z.name, z.kind) for z in zones}
        roots: list[TreeZone] = []
        for z in sorted(zones, key=lambda z: (z.name, z.id)):
            parent = by_id.get(z.parent_id) if z.parent_id else None
            (parent.children if parent is not None else roots).append(by_id[z.id])
        for node_id, name, zone_id in sorted(nodes, key=lambda n: (n[1], n[0])):
            if zone_id in by_id:
                by_id[zone_id].nodes.append((node_id, name))
        tree = ZoneTree.build(((z.id, z.parent_id) for z in zones), ((n, z) for n, _, z in nodes))
        return cls(roots, tree, {z.id: z.name for z in zones}, {n: name for n, name, _ in nodes})

    def normalise(self, zones: set[str], nodes: set[str]) -> tuple[list[str], list[str], list[str]]:
        """(zones, nodes, unknown ids): drop what a checked ancestor zone already covers."""
        unknown = sorted((zones - set(self.tree.parent)) | (nodes - set(self.tree.node_zone)))
        zones = zones & set(self.tree.parent)
        nodes = nodes & set(self.tree.node_zone)
        kept_zones = [z for z in sorted(zones) if not (set(self.tree.chain(z)[1:]) & zones)]
        kept_nodes = [n for n in sorted(nodes) if not (set(self.tree.chain(self.tree.node_zone[n])) & zones)]
        return kept_zones, kept_nodes, unknown

    def describe(self, targets: Mapping[str, Any]) -> list[str]:
        """Target names for people (zone and node names instead of ids)."""
        if targets.get("all"):
            return [name for z, name in self.zone_names.items() if self.tree.parent.get(z) is None]
        out = [self.zone_names.get(z, z) for z in targets.get("zones") or ()]
        out += [self.node_names.get(n, n) for n in targets.get("nodes") or ()]
        return out


# -- parsing --------------------------------------------------------------------------


@dataclass
class Parsed:
    request: AnnouncementCreate | None
    errors: dict[str, str]


def parse(form: ComposeForm, topo: Topology, *, now: datetime, grace_s: float, max_chars: int,
          title_max: int, voices: list[str], t: Callable[..., str]) -> Parsed:
    """Check every part of the form at once (one round trip fixes all) and build the request."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"chime": form.chime}
    if form.mode == "recording":
        title = form.title.strip()
        if not title:
            errors["title"] = t("compose.err.title_empty")
        elif len(title) > title_max:
            errors["title"] = t("compose.err.title_too_long", count=len(title), limit=title_max)
        if not SHA_PATTERN.match(form.recording_sha256):
            errors["recording"] = t("compose.err.recording_missing")
        body.update(text=title, recording={"sha256": form.recording_sha256})
        body.pop("chime")  # a recording's chime was decided when it was uploaded
    else:
        text = form.text.strip()
        if not text:
            errors["text"] = t("compose.err.text_empty")
        elif len(text) > max_chars:
            errors["text"] = t("compose.err.text_too_long", count=len(text), limit=max_chars)
        elif any(ord(c) < 32 and c not in "\n\r\t" for c in text):
            errors["text"] = t("compose.err.text_control")
        if form.voice and form.voice not in voices:
            errors["voice"] = t("compose.err.unknown_voice")
        rate = _int(form.rate)
        if rate is None or not MIN_RATE <= rate <= MAX_RATE:
            errors["rate"] = t("compose.err.rate", low=MIN_RATE, high=MAX_RATE)
        body.update(text=text, rate=rate or DEFAULT_RATE)
        if form.voice:
            body["voice"] = form.voice
    zones, nodes, unknown = topo.normalise(form.zones, form.nodes)
    if unknown:
        errors["targets"] = t("compose.err.targets_unknown", ids=", ".join(unknown[:5]))
    elif not zones and not nodes:
        errors["targets"] = t("compose.err.targets_empty")
    body["targets"] = {"zones": zones, "nodes": nodes}
    if form.priority not in PRIORITIES:
        errors["priority"] = t("compose.err.priority")
    body["priority"] = form.priority if form.priority in PRIORITIES else Priority.NORMAL.value
    schedule = _schedule(form, now=now, grace_s=grace_s, t=t, errors=errors)
    if schedule is not None:
        body["schedule"] = schedule
    if errors:
        return Parsed(None, errors)
    try:
        return Parsed(AnnouncementCreate.model_validate(body), {})
    except ValidationError as exc:
        return Parsed(None, _validation_errors(exc, t))


def _schedule(form: ComposeForm, *, now: datetime, grace_s: float, t: Callable[..., str],
              errors: dict[str, str]) -> dict[str, Any] | None:
    """The schedule rule (docs/schedules.md) for "at" and "recurring"; None plays now."""
    if form.when not in WHENS:
        errors["when"] = t("compose.err.when")
        return None
    count, gap_min = _int(form.repeat_count), _float(form.repeat_gap)
    if count is None or not 1 <= count <= MAX_REPEAT_COUNT:
        errors["repeat_count"] = t("compose.err.repeat_count", high=MAX_REPEAT_COUNT)
    if gap_min is None or not 0 <= gap_min * 60 <= MAX_GAP_S:
        errors["repeat_gap"] = t("compose.err.repeat_gap", high=int(MAX_GAP_S // 60))
    if form.when == "now":
        if count is not None and count > 1:
            errors["repeat_count"] = t("compose.err.repeat_now")
        return None
    repeat = {"count": count or 1, "gap_s": (gap_min or 0) * 60}
    if form.when == "at":
        at = _local_datetime(form.at)
        if at is None:
            errors["at"] = t("compose.err.at_invalid")
            return None
        if at < now - timedelta(seconds=grace_s):
            errors["at"] = t("compose.err.at_past", now=now.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M"))
            return None
        return {"at": at.isoformat(), "repeat": repeat}
    rule: dict[str, Any] = {"kind": form.rec_kind if form.rec_kind in REC_KINDS else "daily", "repeat": repeat}
    times, bad = _times(form.rec_times)
    if bad:
        errors["rec_times"] = t("compose.err.times_invalid", value=bad)
    elif not times:
        errors["rec_times"] = t("compose.err.times_empty")
    rule["times"] = times
    if rule["kind"] == "weekly":
        days = [d for d in WEEKDAYS if d in form.rec_days]
        if not days:
            errors["rec_days"] = t("compose.err.days_empty")
        rule["days"] = days
    today = now.astimezone(LOCAL_TZ).date()
    start = _date(form.rec_start) if form.rec_start else today
    if start is None:
        errors["rec_start"] = t("compose.err.date_invalid")
    elif start < today:
        errors["rec_start"] = t("compose.err.start_past")
    end = _date(form.rec_end) if form.rec_end else None
    if form.rec_end and end is None:
        errors["rec_end"] = t("compose.err.date_invalid")
    elif end is not None and start is not None and end < start:
        errors["rec_end"] = t("compose.err.end_before_start")
    elif end is not None and end < today:
        errors["rec_end"] = t("compose.err.end_past")
    rule["start_date"] = (start or today).isoformat()
    if end is not None:
        rule["end_date"] = end.isoformat()
    if any(k in errors for k in ("rec_times", "rec_days", "rec_start", "rec_end", "repeat_count", "repeat_gap")):
        return None
    try:
        parse_rule(rule)
    except ValidationError as exc:
        errors["when"] = t("compose.err.rule_invalid", detail="; ".join(str(e.get("msg")) for e in exc.errors()))
        return None
    return rule


def _validation_errors(exc: ValidationError, t: Callable[..., str]) -> dict[str, str]:
    """A last net under the checks above: pydantic's complaint, placed on the nearest field."""
    errors: dict[str, str] = {}
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        where = {"text": "text", "voice": "voice", "rate": "rate", "targets": "targets", "schedule": "when",
                 "recording": "recording", "priority": "priority"}.get(loc[0] if loc else "", "form")
        errors.setdefault(where, t("compose.err.invalid", detail=str(e.get("msg"))))
    return errors


def _local_datetime(value: str) -> datetime | None:
    """`datetime-local` (Vietnam's wall clock) as an aware instant; None when unreadable."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return parsed
    return parsed.replace(tzinfo=LOCAL_TZ)


def _times(value: str) -> tuple[list[str], str]:
    """("HH:MM" list, the first unreadable piece or ""); accepts 6:00, 06h00, 17.30."""
    out: list[str] = []
    for piece in re.split(r"[,;\s]+", value.strip()):
        if not piece:
            continue
        m = _HHMM.match(piece)
        if m is None:
            return out, piece
        out.append(f"{int(m.group(1)):02d}:{m.group(2)}")
    return sorted(set(out)), ""


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _int(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None


def _float(value: str) -> float | None:
    try:
        number = float(value.strip().replace(",", "."))
    except ValueError:
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


__all__ = ["RATES", "REC_KINDS", "SHA_PATTERN", "WEEKDAYS", "ComposeForm", "Parsed", "Topology", "TreeZone", "parse"]
