"""How one node looks on the dashboard: the same words whether the page draws the row or
the live stream updates it.

Why shared: the page renders each row on the server, and the stream sends each change
as JSON that `static/fleet.js` writes into the row's `[data-field]` cells. If the two
formatted values differently, a row would change look the moment it first updated.
So both go through `row_view`, which takes the live hub's node view (the shape of
`controller.ingest.node_view`) and returns display strings in the user's language.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from controller.ingest import node_view
from controller.models import Node
from controller.web.pages import local_time

Tr = Callable[..., str]


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def relative(when: datetime | None, now: datetime, t: Tr) -> str:
    """"3 phút trước": how long ago, rounded down to what a person needs."""
    if when is None:
        return t("fleet.never")
    seconds = (now - when).total_seconds()
    if seconds < 60:
        return t("fleet.rel_now")
    if seconds < 3600:
        return t("fleet.rel_minutes", n=int(seconds // 60))
    if seconds < 86400:
        return t("fleet.rel_hours", n=int(seconds // 3600))
    return t("fleet.rel_days", n=int(seconds // 86400))


def number(value: float, lang: str, digits: int = 1) -> str:
    """1.5 → "1,5" in Vietnamese (comma decimals), "1.5" in English."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "vi" else text


def size(n_bytes: float, lang: str) -> str:
    units = ("B", "KB", "MB", "GB", "TB")
    value, unit = float(n_bytes), 0
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{number(value, lang, 0 if unit == 0 else 1)} {units[unit]}"


def duration(seconds: float, t: Tr) -> str:
    """Uptime as "2 ngày 3 giờ" / "4 giờ 5 phút" / "7 phút"."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return t("fleet.dur_days", d=days, h=hours)
    if hours:
        return t("fleet.dur_hours", h=hours, m=minutes)
    return t("fleet.dur_minutes", m=minutes)


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def telemetry_fields(tel: dict[str, Any] | None, t: Tr, lang: str) -> dict[str, str]:
    """Display strings for the telemetry a node last sent ("—" where it sent nothing)."""
    tel = tel or {}
    dash = "—"
    volume = _num(tel.get("volume"))
    uptime = _num(tel.get("uptime_s"))
    free, total = _num(tel.get("disk_free_kb")), _num(tel.get("disk_total_kb"))
    cache = _num(tel.get("cache_bytes"))
    files = _num(tel.get("cache_files"))
    temp = _num(tel.get("cpu_temp_c"))
    load = _num(tel.get("load1"))
    disk = dash
    if free is not None and total:
        disk = t("fleet.disk_value", free=size(free * 1024, lang), total=size(total * 1024, lang))
    return {
        "volume": f"{int(volume)} %" if volume is not None else dash,
        "uptime": duration(uptime, t) if uptime is not None else dash,
        "disk": disk,
        "cache": t("fleet.cache_value", size=size(cache, lang), files=int(files or 0)) if cache is not None else dash,
        "temp": f"{number(temp, lang)} °C" if temp is not None else dash,
        "load": number(load, lang, 2) if load is not None else dash,
        "playing": t("fleet.playing") if tel.get("now_playing") else "",
    }


def status_of(view: dict[str, Any]) -> str:
    """`online`, `offline`, or `never` (provisioned, never heard: not a fault)."""
    if view.get("online"):
        return "online"
    return "offline" if view.get("last_seen") else "never"


def row_view(view: dict[str, Any], now: datetime, t: Tr, lang: str) -> dict[str, Any]:
    """One dashboard row from a live node view: state for the row's attributes, text per cell."""
    seen = parse_time(view.get("last_seen"))
    status = status_of(view)
    fields = {
        "status": t(f"fleet.status_{status}"),
        "last_seen_rel": relative(seen, now, t),
        "last_seen": local_time(seen) if seen else "",
        "agent_version": str(view.get("agent_version") or "—"),
        **telemetry_fields(view.get("telemetry"), t, lang),
    }
    return {
        "id": view.get("id"),
        "online": bool(view.get("online")),
        "status": status,
        "last_seen": seen.isoformat() if seen else "",
        "fields": fields,
    }


def node_row(node: Node, now: datetime, t: Tr, lang: str) -> dict[str, Any]:
    return row_view(node_view(node), now, t, lang)


def clock_offset(node_at: Any, received_at: datetime) -> float | None:
    """Seconds the node's clock is ahead (+) or behind (−) ours, from one telemetry sample."""
    sent = parse_time(node_at)
    if sent is None:
        return None
    return (sent - received_at) / timedelta(seconds=1)


__all__ = ["clock_offset", "duration", "node_row", "number", "parse_time", "relative", "row_view", "size", "telemetry_fields"]
