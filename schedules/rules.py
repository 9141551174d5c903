"""Schedule rules exactly as the announcement API's `"schedule"` field carries them.

One rule says WHEN an announcement airs; `schedules.occurrences` expands it into
instants. The shapes are chosen for the people who write them (a commune official's
form, a technician's curl): a one-off is just `{"at": ...}`, recurring rules name
their `kind`. Wall-clock fields (`times`, dates) are read in the rule's `timezone`
(Asia/Ho_Chi_Minh unless told otherwise) so "06:00" means 06:00 in the commune; the
controller stores the resulting instants in UTC.

Every field is bounded (see the limits below): a rule comes from the network, and one
that could generate millions of plays must be refused here, not discovered later.
See docs/schedules.md for the JSON shapes and examples.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
    field_validator,
    model_validator,
)

from schedules.cron import CronSpec, parse_cron
from schedules.fields import (
    DEFAULT_TIMEZONE,
    HHMM_PATTERN,
    MAX_EVERY_DAYS,
    MAX_EXCEPT_DATES,
    MAX_GAP_S,
    MAX_PLAYS_PER_DAY,
    MAX_REPEAT_COUNT,
    MAX_TIMEZONE_LEN,
    Hhmm,
    Repeat,
    Weekday,
    check_timezone,
    clock_times,
)

class _RuleBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(description="Which kind of rule; each subclass narrows it to one literal.")
    timezone: Annotated[str, Field(max_length=MAX_TIMEZONE_LEN), AfterValidator(check_timezone)] = Field(
        default=DEFAULT_TIMEZONE,
        description="IANA time zone in which times and dates are read; also the zone of `local` times.",
    )
    repeat: Repeat = Field(
        default_factory=Repeat,
        description="Repeat each occurrence `count` times with `gap_s` of silence in between.",
    )

    @property
    def zone(self) -> ZoneInfo:
        """The rule's time zone (ZoneInfo caches instances, so this is cheap)."""
        return ZoneInfo(self.timezone)


class OnceRule(_RuleBase):
    """One play at one instant: `{"at": "2026-12-01T06:00:00+07:00"}`."""

    kind: Literal["once"] = Field(default="once", description="Optional; a rule with `at` and no kind is a one-off.")
    at: datetime = Field(
        description="ISO 8601 instant WITH its UTC offset, e.g. 2026-12-01T06:00:00+07:00.",
        examples=["2026-12-01T06:00:00+07:00"],
    )

    @field_validator("at", mode="before")
    @classmethod
    def _iso_string(cls, value: Any) -> Any:
        # pydantic would read a bare number as Unix seconds; the API promises ISO 8601.
        if not isinstance(value, str | datetime):
            raise ValueError("`at` must be an ISO 8601 date-time string such as 2026-12-01T06:00:00+07:00")
        return value

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        # A naive time is a guess about the zone; a wrong guess airs seven hours off.
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                "`at` has no UTC offset; write it with one, e.g. 2026-12-01T06:00:00+07:00 for 06:00 in Vietnam"
            )
        return value


class _Recurring(_RuleBase):
    """What every recurring kind shares: a date range, exceptions, and per-day times."""

    start_date: date = Field(
        description="First calendar day (in `timezone`) on which the rule may fire; also anchors `every_days`.",
        examples=["2026-12-01"],
    )
    end_date: date | None = Field(
        default=None,
        description="Last calendar day (inclusive) on which the rule may fire; absent = no end.",
        examples=["2027-01-31"],
    )
    except_dates: tuple[date, ...] = Field(
        default=(),
        max_length=MAX_EXCEPT_DATES,
        description="Calendar days on which the rule does not fire (holidays, a funeral, ...).",
    )

    @field_validator("except_dates")
    @classmethod
    def _sorted_dates(cls, value: tuple[date, ...]) -> tuple[date, ...]:
        return tuple(sorted(set(value)))

    @model_validator(mode="after")
    def _bounds(self) -> _Recurring:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        per_day = len(self.times_of_day()) * self.repeat.count
        if per_day > MAX_PLAYS_PER_DAY:
            raise ValueError(
                f"the rule would play {per_day} times a day (times × repeat count); "
                f"at most {MAX_PLAYS_PER_DAY} are allowed"
            )
        return self

    def times_of_day(self) -> tuple[time, ...]:
        """Wall-clock start times on a day the rule fires, ascending."""
        raise NotImplementedError

    def matches(self, day: date) -> bool:
        """Whether the rule's pattern fires on `day` (date range and exceptions are applied elsewhere)."""
        raise NotImplementedError

    def fires_on(self, day: date) -> bool:
        """Whether the rule fires on this calendar day, all conditions included."""
        if day < self.start_date or (self.end_date is not None and day > self.end_date):
            return False
        excepted = self.except_dates  # sorted: a binary search keeps long windows cheap
        i = bisect_left(excepted, day)
        return not (i < len(excepted) and excepted[i] == day) and self.matches(day)


class _Timed(_Recurring):
    """Recurring kinds that list their `times` (all but cron)."""

    times: tuple[Hhmm, ...] = Field(
        min_length=1,
        max_length=MAX_PLAYS_PER_DAY,
        description='Start times on each day the rule fires, "HH:MM" in `timezone`.',
        examples=[["06:00", "17:00"]],
    )

    @field_validator("times")
    @classmethod
    def _sorted_times(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted(set(value)))

    def times_of_day(self) -> tuple[time, ...]:
        return clock_times(self.times)


class DailyRule(_Timed):
    """Every day (or every N days from `start_date`) at the given times."""

    kind: Literal["daily"] = Field(default="daily", description='"daily" (required in JSON).')
    every_days: int = Field(
        default=1,
        ge=1,
        le=MAX_EVERY_DAYS,
        description="Fire every N days counted from start_date (1 = every day, 2 = every other day).",
    )

    def matches(self, day: date) -> bool:
        return (day - self.start_date).days % self.every_days == 0


def _weekday(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a weekday is a name such as 'mon' or an ISO number 1 (Monday) … 7 (Sunday)")
    if isinstance(value, int):
        if not 1 <= value <= 7:
            raise ValueError(f"weekday number {value} is outside 1 (Monday) … 7 (Sunday)")
        return list(Weekday)[value - 1]
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered not in {w.value for w in Weekday}:
            raise ValueError(f"unknown weekday {value!r}; use mon, tue, wed, thu, fri, sat, sun or 1..7")
        return Weekday(lowered)
    return value


class WeeklyRule(_Timed):
    """On the named weekdays at the given times."""

    kind: Literal["weekly"] = Field(default="weekly", description='"weekly" (required in JSON).')
    days: tuple[Annotated[Weekday, Field(description="mon … sun, or ISO 1 … 7")], ...] = Field(
        min_length=1,
        max_length=7,
        description='Weekdays on which the rule fires: ["mon","wed","fri"] or ISO numbers [1,3,5].',
        examples=[["mon", "wed", "fri"]],
    )

    @field_validator("days", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [_weekday(v) for v in value]
        return value

    @field_validator("days")
    @classmethod
    def _sorted_days(cls, value: tuple[Weekday, ...]) -> tuple[Weekday, ...]:
        return tuple(sorted(set(value), key=lambda w: w.iso))

    def matches(self, day: date) -> bool:
        return day.isoweekday() in {w.iso for w in self.days}


def _day_of_month(value: int) -> int:
    if not (1 <= value <= 31 or value == -1):
        raise ValueError(f"day of month {value} must be 1..31, or -1 for the last day of the month")
    return value


class MonthlyRule(_Timed):
    """On the given days of every month; a day the month lacks (31 in April) is skipped."""

    kind: Literal["monthly"] = Field(default="monthly", description='"monthly" (required in JSON).')
    days_of_month: tuple[Annotated[int, AfterValidator(_day_of_month)], ...] = Field(
        min_length=1,
        max_length=32,
        description="Days 1..31; -1 = the last day of each month. A day the month lacks is skipped.",
        examples=[[1, 15, -1]],
    )

    @field_validator("days_of_month")
    @classmethod
    def _sorted_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted(set(value), key=lambda d: (d < 0, d)))

    def matches(self, day: date) -> bool:
        if day.day in self.days_of_month:
            return True
        return -1 in self.days_of_month and day.day == calendar.monthrange(day.year, day.month)[1]


class CronRule(_Recurring):
    """A classic five-field cron expression, read in `timezone` (see schedules.cron)."""

    kind: Literal["cron"] = Field(default="cron", description='"cron" (required in JSON).')
    cron: str = Field(
        max_length=200,
        description="minute hour day-of-month month day-of-week, e.g. '0 6,17 * * 1-5'.",
        examples=["0 6,17 * * 1-5"],
    )

    @field_validator("cron")
    @classmethod
    def _parse(cls, value: str) -> str:
        return parse_cron(value).expression

    @property
    def spec(self) -> CronSpec:
        """The parsed expression (cached by parse_cron)."""
        return parse_cron(self.cron)

    def times_of_day(self) -> tuple[time, ...]:
        return self.spec.times_of_day()

    def matches(self, day: date) -> bool:
        return self.spec.matches_date(day)


RecurringRule = DailyRule | WeeklyRule | MonthlyRule | CronRule
AnyRule = OnceRule | RecurringRule
"""A validated rule of any kind (plain union, for type hints)."""

_KINDS = ("once", "daily", "weekly", "monthly", "cron")


def _rule_kind(value: Any) -> str | None:
    """The discriminator: `kind` if present, else "once" for a bare `{"at": ...}`."""
    if isinstance(value, Mapping):
        kind = value.get("kind")
        if kind is None:
            return "once" if "at" in value else None
        return kind if isinstance(kind, str) else None
    return getattr(value, "kind", None)


Rule = Annotated[
    Annotated[OnceRule, Tag("once")]
    | Annotated[DailyRule, Tag("daily")]
    | Annotated[WeeklyRule, Tag("weekly")]
    | Annotated[MonthlyRule, Tag("monthly")]
    | Annotated[CronRule, Tag("cron")],
    Discriminator(
        _rule_kind,
        custom_error_type="schedule_kind",
        custom_error_message=(
            'a schedule is either {"at": "<ISO 8601 with offset>"} or has a "kind" of '
            "daily, weekly, monthly or cron"
        ),
    ),
]
"""Any schedule rule; use as a pydantic field type (`schedule: Rule`) or via parse_rule."""



class ScheduleRule(RootModel[Rule]):
    """A rule on its own (the API's `"schedule"` value); names errors "ScheduleRule"."""


def parse_rule(data: Mapping[str, Any] | str | bytes) -> AnyRule:
    """Validate a rule from a mapping or a JSON document; raises pydantic.ValidationError."""
    if isinstance(data, str | bytes):
        return ScheduleRule.model_validate_json(data).root
    return ScheduleRule.model_validate(data).root


__all__ = [
    "DEFAULT_TIMEZONE", "HHMM_PATTERN", "MAX_EVERY_DAYS", "MAX_EXCEPT_DATES", "MAX_GAP_S",
    "MAX_PLAYS_PER_DAY", "MAX_REPEAT_COUNT", "AnyRule", "CronRule", "DailyRule", "MonthlyRule",
    "OnceRule", "RecurringRule", "Repeat", "Rule", "ScheduleRule", "Weekday", "WeeklyRule", "parse_rule",
]  # fmt: skip
