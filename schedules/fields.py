"""The bounded fields schedule rules are built from: limits, weekdays, "HH:MM", time zones, repeats.

Split out of `schedules.rules` (which re-exports everything here) so the rule shapes
there read without the field checks; both are the API's `"schedule"` contract.
"""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
MAX_REPEAT_COUNT = 10
"""A reminder is read a few times ("three times" is the custom); ten is already a lot."""
MAX_GAP_S = 3600.0
"""Silence between repeats; more than an hour apart is a second schedule time, not a repeat."""
MAX_PLAYS_PER_DAY = 48
"""Scheduled times × repeat count on one day: at most every half hour around the clock."""
MAX_EXCEPT_DATES = 366
MAX_EVERY_DAYS = 366
MAX_TIMEZONE_LEN = 64

HHMM_PATTERN = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"
_HHMM = re.compile(HHMM_PATTERN)


class Weekday(StrEnum):
    """Days of the week by English three-letter name; ISO numbers 1 (Mon) … 7 (Sun) are accepted too."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def iso(self) -> int:
        """ISO weekday: Monday 1 … Sunday 7, as `date.isoweekday()` returns."""
        return list(Weekday).index(self) + 1


def _check_hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f"time {value!r} must be HH:MM between 00:00 and 23:59 (24-hour clock)")
    return value


Hhmm = Annotated[
    str,
    AfterValidator(_check_hhmm),
    WithJsonSchema({"type": "string", "pattern": HHMM_PATTERN, "examples": ["06:00", "17:00"]}),
]
"""A wall-clock time of day, "HH:MM", in the rule's time zone."""


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'Asia/Ho_Chi_Minh'") from None
    return value


@lru_cache(maxsize=64)
def clock_times(values: tuple[str, ...]) -> tuple[time, ...]:
    return tuple(time(int(v[:2]), int(v[3:])) for v in values)


class Repeat(BaseModel):
    """How many times each occurrence is read out, and the silence between readings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(
        default=1, ge=1, le=MAX_REPEAT_COUNT, description="How many times each occurrence plays (1 = no repeat)."
    )
    gap_s: float = Field(
        default=0.0,
        ge=0,
        le=MAX_GAP_S,
        allow_inf_nan=False,
        description=(
            "Seconds of silence between the END of one reading and the START of the next. "
            "Reading k starts at start + (k-1) × (duration + gap)."
        ),
    )


__all__ = [
    "DEFAULT_TIMEZONE", "HHMM_PATTERN", "MAX_EVERY_DAYS", "MAX_EXCEPT_DATES", "MAX_GAP_S", "MAX_PLAYS_PER_DAY",
    "MAX_REPEAT_COUNT", "MAX_TIMEZONE_LEN", "Hhmm", "Repeat", "Weekday",
]  # fmt: skip
