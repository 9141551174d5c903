"""Checking the relay form (`/relays`) and the stop-now form (`/programme/stop`).

Why apart from the routers: each problem must be explained next to its own field, in
the user's language, with everything typed kept — a bad address, an end before the
start, a start already past, a window over the limit, no zone or a zone that is gone —
and all of them at once, so one round trip fixes the form. The rules are the domain's
(`controller.relays.check_url`, `MAX_RELAY`, the schedule grace); the domain checks
again when the relay is stored, and anything it still refuses comes back as a message.
Times are Vietnam's: a `datetime-local` value `2026-12-01T06:00` is 06:00 +07:00.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from controller.models import RelayCreate
from controller.relays import MAX_RELAY, RelayError, check_url
from controller.web.compose_form import Topology
from controller.web.pages import LOCAL_TZ

Tr = Callable[..., str]

MAX_URL = 2048
MAX_TITLE = 200
MAX_REASON = 200
PRIORITIES = ("normal", "priority")
"""A relay is never an emergency (the domain refuses it)."""


def _one(data: Mapping[str, Any], name: str, limit: int) -> str:
    value = data.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def _many(data: Any, name: str) -> set[str]:
    values = data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])
    return {v[:200] for v in values if isinstance(v, str) and v}


def has_control(value: str) -> bool:
    """Control characters (a NUL cannot even be stored in PostgreSQL) are never meant."""
    return any(ord(c) < 32 or ord(c) == 127 for c in value)


def local_datetime(value: str) -> datetime | None:
    """`datetime-local` (Vietnam's wall clock) as an aware instant; None when unreadable."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if not 2000 <= parsed.year <= 2100:  # far years overflow when converted to UTC
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=LOCAL_TZ)


def zone_targets(topo: Topology, zones: set[str], t: Tr, prefix: str) -> tuple[list[str], str | None]:
    """(zones to target, without those a ticked commune already covers; an error or None)."""
    kept, _nodes, unknown = topo.normalise(zones, set())
    if unknown:
        return [], t(f"{prefix}.err.zones_unknown", ids=", ".join(u[:40] for u in unknown[:5]))
    if not kept:
        return [], t(f"{prefix}.err.zones_empty")
    return kept, None


@dataclass
class RelayForm:
    """What the official typed, as strings (kept verbatim to re-render the form)."""

    url: str = ""
    title: str = ""
    start: str = ""
    end: str = ""
    zones: set[str] = field(default_factory=set)
    priority: str = "normal"

    @classmethod
    def from_form(cls, data: Mapping[str, Any]) -> RelayForm:
        return cls(
            url=_one(data, "url", MAX_URL + 100), title=_one(data, "title", MAX_TITLE + 100),
            start=_one(data, "start", 40), end=_one(data, "end", 40), zones=_many(data, "zones"),
            priority=_one(data, "priority", 16) or "normal",
        )  # fmt: skip


def _time(value: str, t: Tr) -> tuple[datetime | None, str | None]:
    if not value.strip():
        return None, t("relays.err.time_empty")
    parsed = local_datetime(value)
    return (parsed, None) if parsed is not None else (None, t("relays.err.time_invalid"))


def parse_relay(form: RelayForm, topo: Topology, *, now: datetime, grace_s: float,
                t: Tr) -> tuple[RelayCreate | None, dict[str, str]]:  # fmt: skip
    """(the request to store, or None; messages by field)."""
    errors: dict[str, str] = {}
    url = form.url.strip()
    if not url:
        errors["url"] = t("relays.err.url_empty")
    elif len(url) > MAX_URL:
        errors["url"] = t("relays.err.url_long", max=MAX_URL)
    else:
        try:
            url = check_url(url)
            if has_control(url):
                raise RelayError(422, "control characters")
        except RelayError:
            errors["url"] = t("relays.err.url")
    title = " ".join(form.title.split())
    if len(title) > MAX_TITLE:
        errors["title"] = t("relays.err.name_long", max=MAX_TITLE, n=len(title))
    elif has_control(title):
        errors["title"] = t("relays.err.control")
    start, error = _time(form.start, t)
    if error:
        errors["start"] = error
    elif start is not None and start < now - timedelta(seconds=grace_s):
        errors["start"] = t("relays.err.start_past", now=now.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M"))
    end, error = _time(form.end, t)
    if error:
        errors["end"] = error
    elif start is not None and end is not None and end <= start:
        errors["end"] = t("relays.err.end_before_start")
    elif start is not None and end is not None and end - start > MAX_RELAY:
        errors["end"] = t("relays.err.too_long", hours=max_hours())
    zones, error = zone_targets(topo, form.zones, t, "relays")
    if error:
        errors["zones"] = error
    if form.priority not in PRIORITIES:
        errors["priority"] = t("relays.err.priority")
    if errors:
        return None, errors
    body = {"url": url, "title": title or None, "start_at": start, "end_at": end, "targets": {"zones": zones},
            "priority": form.priority}  # fmt: skip
    try:
        return RelayCreate.model_validate(body), {}
    except ValidationError as exc:  # a last net under the checks above
        return None, {"form": t("relays.err.other", detail="; ".join(str(e.get("msg")) for e in exc.errors()))}


def max_hours() -> int:
    return int(MAX_RELAY.total_seconds() // 3600)


@dataclass
class StopForm:
    zones: set[str] = field(default_factory=set)
    reason: str = ""
    confirm: bool = False

    @classmethod
    def from_form(cls, data: Mapping[str, Any]) -> StopForm:
        return cls(zones=_many(data, "zones"), reason=_one(data, "reason", MAX_REASON + 100),
                   confirm=_one(data, "confirm", 8) == "1")  # fmt: skip


def parse_stop(form: StopForm, topo: Topology, t: Tr) -> tuple[list[str], str | None, dict[str, str]]:
    """(zones to stop, the reason or None, messages by field)."""
    errors: dict[str, str] = {}
    zones, error = zone_targets(topo, form.zones, t, "stop")
    if error:
        errors["zones"] = error
    reason = " ".join(form.reason.split())
    if len(reason) > MAX_REASON:
        errors["reason"] = t("stop.err.reason_long", max=MAX_REASON, n=len(reason))
    elif has_control(reason):
        errors["reason"] = t("relays.err.control")
    return zones, reason or None, errors


__all__ = ["MAX_REASON", "MAX_TITLE", "MAX_URL", "PRIORITIES", "RelayForm", "StopForm", "local_datetime",
           "max_hours", "parse_relay", "parse_stop", "zone_targets"]  # fmt: skip
