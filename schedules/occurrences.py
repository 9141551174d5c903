"""Expanding a schedule rule into the instants it plays at.

The controller asks "what does this announcement play between A and B?" every time it
stages the programme ahead, and it must get the same answer every time: each play
carries a stable `key` (the local start with its UTC offset, plus the repeat number)
from which the controller derives an idempotent occurrence id. Nothing here reads the
clock; the window is always passed in.

Time zones: wall-clock times are read in the rule's zone through zoneinfo, never by
adding a fixed offset, so the code is right in zones with daylight saving time even
though Vietnam has none:

* a local time that does not exist (the spring-forward gap) is shifted forward by the
  length of the gap, i.e. read with the offset in force before the change (PEP 495
  fold=0): 02:30 on the day Berlin jumps from 02:00 to 03:00 plays at 03:30 CEST;
  if that lands on another start of the same rule, it plays once;
* a local time that happens twice (the autumn fall-back) plays once, at its first
  occurrence (the earlier instant, still in summer time).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from schedules.rules import AnyRule, OnceRule

MAX_OCCURRENCES = 10_000
"""Most plays one expansion may return; ask for a shorter window instead."""
MAX_WINDOW = timedelta(days=3700)
"""Longest window one expansion may cover (about ten years), so a rule that rarely
fires cannot make an expansion walk millions of days."""
MAX_DURATION_S = 6 * 3600.0
"""Longest play the expansion accepts (a relayed provincial programme is under an hour)."""


class TooManyOccurrences(ValueError):
    """The window would hold more than MAX_OCCURRENCES plays."""


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One play of a rule: when it starts, and the stable name of that start."""

    key: str
    """Stable id: the local start of the occurrence with its offset, then `#` and the
    repeat number, e.g. "2026-12-01T06:00+07:00#2". Same rule, same key, whatever window
    it was computed in."""
    play_at: datetime
    """Start instant in UTC (aware)."""
    local: datetime
    """The same instant in the rule's time zone (aware), for display."""
    repeat_index: int
    """1 for the first reading of an occurrence, up to the rule's repeat count."""

    @property
    def slot(self) -> str:
        """The key without the repeat number: all readings of one occurrence share it."""
        return self.key.rsplit("#", 1)[0]


def _stamp(local: datetime) -> str:
    """Local time with offset, minutes precision unless the rule has seconds."""
    if local.microsecond:
        spec = "microseconds"
    elif local.second:
        spec = "seconds"
    else:
        spec = "minutes"
    return local.isoformat(timespec=spec)


def localize(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The aware instant for wall-clock `at` on `day` in `zone`, by the gap/fold rules above.

    Nonexistent times come out shifted forward by the gap; ambiguous ones as the first
    (earlier) instant. The result is normalised: its wall time and offset are real.
    """
    naive = datetime.combine(day, at)
    # fold=0: in a gap the pre-transition offset applies (shift forward); in an
    # overlap it selects the first of the two instants.
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


def _require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (naive datetimes are ambiguous)")


def _check_duration(duration_s: float) -> float:
    if not (isinstance(duration_s, int | float) and math.isfinite(duration_s)):
        raise ValueError("duration_s must be a finite number of seconds")
    if not 0 <= duration_s <= MAX_DURATION_S:
        raise ValueError(f"duration_s must be within [0, {MAX_DURATION_S:g}]")
    return float(duration_s)


def _slots(rule: AnyRule, lo: datetime, hi: datetime) -> Iterator[datetime]:
    """Local starts of the rule's occurrences around [lo, hi), one day of margin each side."""
    if isinstance(rule, OnceRule):
        yield rule.at.astimezone(rule.zone)
        return
    zone = rule.zone
    try:
        first = lo.astimezone(zone).date() - timedelta(days=1)
        last = hi.astimezone(zone).date() + timedelta(days=1)
    except OverflowError:
        raise ValueError("window is outside the supported calendar range") from None
    first = max(first, rule.start_date)
    if rule.end_date is not None:
        last = min(last, rule.end_date)
    times = rule.times_of_day()
    day = first
    while day <= last:
        if rule.fires_on(day):
            for at in times:
                yield localize(day, at, zone)
        day += timedelta(days=1)


def occurrences(rule: AnyRule, *, start: datetime, end: datetime, duration_s: float = 0.0) -> list[Occurrence]:
    """Every play of `rule` whose start lies in [start, end), sorted by (play_at, key).

    `duration_s` is the audio's length, which the pure rule cannot know; it places the
    repeats: reading k of an occurrence starts at its start + (k-1) × (duration_s + gap_s).
    A repeat belongs to the window its own start falls in, so an occurrence just before
    `start` can contribute its later readings. Splitting a window never changes the
    union: occurrences(r, start=a, end=c) == occurrences(r, start=a, end=b) +
    occurrences(r, start=b, end=c).

    Raises ValueError for naive or reversed windows, a window longer than MAX_WINDOW or
    a bad duration, and TooManyOccurrences beyond MAX_OCCURRENCES.
    """
    _require_aware("start", start)
    _require_aware("end", end)
    if end < start:
        raise ValueError(f"window end {end.isoformat()} is before its start {start.isoformat()}")
    if end - start > MAX_WINDOW:
        raise ValueError(f"window longer than {MAX_WINDOW.days} days; expand the programme in pieces")
    duration = _check_duration(duration_s)
    if end == start:
        return []
    count = rule.repeat.count
    step = timedelta(seconds=duration + rule.repeat.gap_s)
    zone = rule.zone
    found: list[Occurrence] = []
    seen: set[str] = set()
    try:
        lookback = start - step * (count - 1)
    except OverflowError:
        raise ValueError("window is outside the supported calendar range") from None
    for local in _slots(rule, lookback, end):
        slot = _stamp(local)
        if slot in seen:  # a shifted nonexistent time that met another start
            continue
        seen.add(slot)
        base = local.astimezone(UTC)
        for index in range(count):
            play_at = base + step * index
            if start <= play_at < end:
                found.append(
                    Occurrence(
                        key=f"{slot}#{index + 1}",
                        play_at=play_at,
                        local=play_at.astimezone(zone),
                        repeat_index=index + 1,
                    )
                )
                if len(found) > MAX_OCCURRENCES:
                    raise TooManyOccurrences(
                        f"more than {MAX_OCCURRENCES} plays between {start.isoformat()} and "
                        f"{end.isoformat()}; ask for a shorter window"
                    )
    found.sort(key=lambda o: (o.play_at, o.key))
    return found


def next_occurrence(
    rule: AnyRule,
    after: datetime,
    *,
    duration_s: float = 0.0,
    horizon: timedelta = MAX_WINDOW,
) -> Occurrence | None:
    """The first play that starts strictly after `after`, or None within `horizon`.

    Searches month-sized windows so a dense rule stays cheap and a sparse one (29
    February) is still found.
    """
    _require_aware("after", after)
    if horizon > MAX_WINDOW:
        raise ValueError(f"horizon longer than {MAX_WINDOW.days} days")
    lo = after + timedelta(microseconds=1)
    stop = after + horizon
    chunk = timedelta(days=32)
    while lo < stop:
        hi = min(lo + chunk, stop)
        found = occurrences(rule, start=lo, end=hi, duration_s=duration_s)
        if found:
            return found[0]
        lo = hi
    return None


__all__ = [
    "MAX_DURATION_S",
    "MAX_OCCURRENCES",
    "MAX_WINDOW",
    "Occurrence",
    "TooManyOccurrences",
    "localize",
    "next_occurrence",
    "occurrences",
]
