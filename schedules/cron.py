"""A small five-field cron parser: `minute hour day-of-month month day-of-week`.

Why our own: the schedules package must stay stdlib + pydantic (it may run on a Pi),
and a programme only needs the classic Vixie-cron dialect that technicians already
know from crontab(5). This module only answers two questions about an expression:
"does it fire on this calendar day?" and "at which wall-clock times of such a day?".
Turning those into instants (time zones, DST, repeats) is `schedules.occurrences`' job.

Supported per field: `*`, a value, a range `a-b`, a step `*/n` or `a-b/n`, and
comma-separated lists of those. Months and weekdays also take English three-letter
names (`jan`, `mon`, case-insensitive). Day-of-week 0 and 7 are both Sunday.

Deliberately refused, each with a message saying what to write instead: macros
(`@daily`), `L`/`W`/`#`/`?`, six-field (seconds) expressions, a step on a single value
(`5/10`: write `5-59/10`), backwards ranges (`5-1`), step 0, and day-of-month/month
combinations that can never happen (`0 6 30 2 *`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache

MONTH_NAMES = {
    n: i
    for i, n in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
"""`jan` → 1 … `dec` → 12 (fixed English names, independent of the process locale)."""
DOW_NAMES = {n: i for i, n in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
"""`sun` → 0 … `sat` → 6, as in crontab(5)."""

_MAX_EXPRESSION_LEN = 200
_LONGEST_MONTH = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
_ITEM = re.compile(r"^(?P<base>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")


class CronError(ValueError):
    """A cron expression that cannot be used; the message names the field and the fix."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, MONTH_NAMES),
    _Field("day-of-week", 0, 7, DOW_NAMES),
)


@dataclass(frozen=True)
class CronSpec:
    """A parsed expression: the allowed values of each field, Sunday folded to 0."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    """0 = Sunday … 6 = Saturday (a 7 in the expression is stored as 0)."""
    dom_star: bool
    """The day-of-month field begins with `*` (so `*/2` counts too, as in Vixie cron)."""
    dow_star: bool
    """The day-of-week field begins with `*`."""

    def matches_date(self, day: date) -> bool:
        """Whether the expression fires at all on this calendar day.

        Vixie rule: when both day fields are restricted (neither begins with `*`), a
        day matches if EITHER matches (`0 6 1 * mon` = the 1st and every Monday);
        otherwise both must match, which makes the `*` one irrelevant.
        """
        if day.month not in self.months:
            return False
        dom = day.day in self.days_of_month
        dow = (day.isoweekday() % 7) in self.days_of_week
        if self.dom_star or self.dow_star:
            return dom and dow
        return dom or dow

    def times_of_day(self) -> tuple[time, ...]:
        """The wall-clock times the expression fires on a matching day, ascending."""
        return tuple(time(h, m) for h in sorted(self.hours) for m in sorted(self.minutes))


def _value(token: str, field: _Field) -> int:
    if token.isdigit():
        number = int(token)
    elif field.names is not None and token in field.names:
        number = field.names[token]
    else:
        hint = f" (or a name such as {next(iter(field.names))!r})" if field.names else ""
        raise CronError(f"{field.name} field: {token!r} is not a number{hint}")
    if not field.low <= number <= field.high:
        raise CronError(f"{field.name} field: {number} is outside {field.low}-{field.high}")
    return number


def _parse_field(text: str, field: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.match(item)
        if match is None:
            raise CronError(
                f"{field.name} field: cannot read {item!r}; use *, a value, a range a-b, "
                "a step */n or a-b/n, or a comma-separated list of those"
            )
        base, step_text = match["base"], match["step"]
        step = 1
        if step_text is not None:
            step = int(step_text)
            if step == 0:
                raise CronError(f"{field.name} field: step 0 in {item!r} never advances")
        if base == "*":
            low, high = field.low, field.high
            if field.name == "day-of-week":
                high = 6  # 7 is only an alias of Sunday; `*/2` must mean sun,tue,thu,sat
        elif "-" in base:
            left, right = base.split("-", 1)
            low, high = _value(left, field), _value(right, field)
            if low > high:
                raise CronError(
                    f"{field.name} field: range {item!r} runs backwards; write it as two "
                    f"ranges, e.g. '{left}-{field.high},{field.low}-{right}'"
                )
        else:
            if step_text is not None:
                raise CronError(
                    f"{field.name} field: a step needs a range or *: write "
                    f"'{base}-{field.high}/{step}' instead of {item!r}"
                )
            low = high = _value(base, field)
        values.update(range(low, high + 1, step))
    if field.name == "day-of-week" and 7 in values:
        values.discard(7)
        values.add(0)
    return frozenset(values)


@lru_cache(maxsize=512)
def parse_cron(expression: str) -> CronSpec:
    """Parse a five-field expression or raise CronError saying exactly what is wrong.

    Cached: a rule's expression is re-read for every expansion of the programme.
    """
    if not isinstance(expression, str):
        raise CronError("a cron expression must be a string")
    if len(expression) > _MAX_EXPRESSION_LEN:
        raise CronError(f"cron expression longer than {_MAX_EXPRESSION_LEN} characters")
    text = expression.strip().lower()
    if text.startswith("@"):
        raise CronError(
            f"macros such as {text.split()[0]!r} are not supported; "
            "write the five fields, e.g. '0 6 * * *'"
        )
    parts = text.split()
    if len(parts) != len(_FIELDS):
        raise CronError(
            f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(parts)} in {expression!r}"
        )
    minutes, hours, doms, months, dows = (_parse_field(p, f) for p, f in zip(parts, _FIELDS))
    spec = CronSpec(
        expression=" ".join(parts),
        minutes=minutes,
        hours=hours,
        days_of_month=doms,
        months=months,
        days_of_week=dows,
        dom_star=parts[2].startswith("*"),
        dow_star=parts[4].startswith("*"),
    )
    # Only a restricted day-of-month with an unrestricted weekday can be impossible
    # (`30 2` = 30 February); a rule that never fires is a mistake worth telling.
    if not spec.dom_star and spec.dow_star:
        if not any(d <= _LONGEST_MONTH[m] for m in months for d in doms):
            raise CronError(f"{expression!r} never fires: no month it names has those days of the month")
    return spec


__all__ = ["CronError", "CronSpec", "DOW_NAMES", "MONTH_NAMES", "parse_cron"]
