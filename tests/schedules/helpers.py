"""Small builders shared by the schedules tests: local times, rules from dicts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from schedules.rules import AnyRule, parse_rule

VN = ZoneInfo("Asia/Ho_Chi_Minh")
BERLIN = ZoneInfo("Europe/Berlin")


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware wall-clock time in Vietnam."""
    return datetime(year, month, day, hour, minute, tzinfo=VN)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def rule(kind: str, **fields: Any) -> AnyRule:
    """A rule from JSON-like fields, with a start_date default for recurring kinds."""
    data: dict[str, Any] = {"kind": kind, **fields}
    if kind != "once":
        data.setdefault("start_date", "2026-01-01")
    return parse_rule(data)
