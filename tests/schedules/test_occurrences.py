"""Expanding rules into plays: calendars, time zones, repeats, windows and limits.

Expectations are written as the local keys an official would read off a printed
programme ("2026-12-31T06:00+07:00#1"), so a failing case shows the calendar mistake.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schedules.occurrences import (
    MAX_OCCURRENCES,
    MAX_WINDOW,
    TooManyOccurrences,
    localize,
    next_occurrence,
    occurrences,
)
from tests.schedules.helpers import BERLIN, VN, rule, utc, vn


def keys(r, start, end, duration_s=0.0) -> list[str]:
    return [o.key for o in occurrences(r, start=start, end=end, duration_s=duration_s)]


def k(*stamps: str) -> list[str]:
    """Keys of single plays at local Vietnamese times given as 'YYYY-MM-DD HH:MM'."""
    return [f"{s.replace(' ', 'T')}+07:00#1" for s in stamps]


CALENDAR_CASES = [
    pytest.param(
        rule("monthly", days_of_month=[31], times=["06:00"]),
        vn(2026, 1, 1), vn(2026, 8, 1),
        k("2026-01-31 06:00", "2026-03-31 06:00", "2026-05-31 06:00", "2026-07-31 06:00"),
        id="day-31-skipped-in-short-months",
    ),
    pytest.param(
        rule("monthly", days_of_month=[-1], times=["06:00"]),
        vn(2026, 1, 1), vn(2026, 5, 1),
        k("2026-01-31 06:00", "2026-02-28 06:00", "2026-03-31 06:00", "2026-04-30 06:00"),
        id="last-day-31-28-31-30",
    ),
    pytest.param(
        rule("monthly", days_of_month=[-1], times=["06:00"]),
        vn(2028, 2, 1), vn(2028, 3, 1),
        k("2028-02-29 06:00"),
        id="last-day-in-leap-february",
    ),
    pytest.param(
        rule("monthly", days_of_month=[30, -1], times=["06:00"]),
        vn(2026, 4, 1), vn(2026, 5, 1),
        k("2026-04-30 06:00"),
        id="day-30-and-last-day-coincide-once",
    ),
    pytest.param(
        rule("monthly", days_of_month=[29], times=["06:00"]),
        vn(2028, 1, 1), vn(2028, 4, 1),
        k("2028-01-29 06:00", "2028-02-29 06:00", "2028-03-29 06:00"),
        id="day-29-in-leap-year",
    ),
    pytest.param(
        rule("monthly", days_of_month=[29], times=["06:00"]),
        vn(2027, 1, 1), vn(2027, 4, 1),
        k("2027-01-29 06:00", "2027-03-29 06:00"),
        id="day-29-skipped-in-common-february",
    ),
    pytest.param(
        rule("cron", cron="0 6 29 2 *"),
        vn(2026, 1, 1), vn(2033, 1, 1),
        k("2028-02-29 06:00", "2032-02-29 06:00"),
        id="cron-leap-day-only-in-leap-years",
    ),
    pytest.param(
        rule("weekly", days=["thu", "fri"], times=["06:00"], start_date="2026-12-20"),
        vn(2026, 12, 28), vn(2027, 1, 5),
        k("2026-12-31 06:00", "2027-01-01 06:00"),
        id="weekly-across-year-end",
    ),
    pytest.param(
        rule("daily", times=["17:00"], start_date="2026-12-30", end_date="2027-01-01"),
        vn(2026, 12, 1), vn(2027, 2, 1),
        k("2026-12-30 17:00", "2026-12-31 17:00", "2027-01-01 17:00"),
        id="end-date-inclusive-across-year-end",
    ),
    pytest.param(
        rule("daily", times=["06:00", "17:00"], start_date="2026-12-01", end_date="2026-12-02"),
        vn(2026, 11, 1), vn(2026, 12, 31),
        k("2026-12-01 06:00", "2026-12-01 17:00", "2026-12-02 06:00", "2026-12-02 17:00"),
        id="several-times-a-day-between-start-and-end-date",
    ),
    pytest.param(
        rule("weekly", days=[1, 3, 5], times=["06:00"], start_date="2026-12-01",
             except_dates=["2026-12-02", "2026-12-25"]),
        vn(2026, 11, 30), vn(2026, 12, 7),
        k("2026-12-04 06:00"),
        id="start-date-and-exception-dates",
    ),
    pytest.param(
        rule("weekly", days=["fri"], times=["06:00"], start_date="2026-12-01", except_dates=["2026-12-25"]),
        vn(2026, 12, 18), vn(2027, 1, 2),
        k("2026-12-18 06:00", "2027-01-01 06:00"),
        id="christmas-excepted",
    ),
    pytest.param(
        rule("daily", every_days=3, times=["06:00"], start_date="2026-12-30"),
        vn(2026, 12, 30), vn(2027, 1, 8),
        k("2026-12-30 06:00", "2027-01-02 06:00", "2027-01-05 06:00"),
        id="every-three-days-anchored-on-start-date",
    ),
    pytest.param(
        rule("cron", cron="0 6,17 * * 1-5", start_date="2026-12-01"),
        vn(2026, 12, 4), vn(2026, 12, 8),
        k("2026-12-04 06:00", "2026-12-04 17:00", "2026-12-07 06:00", "2026-12-07 17:00"),
        id="cron-weekdays-twice-a-day",
    ),
    pytest.param(
        rule("cron", cron="*/15 6 * * 0"),
        vn(2026, 12, 5), vn(2026, 12, 7),
        k("2026-12-06 06:00", "2026-12-06 06:15", "2026-12-06 06:30", "2026-12-06 06:45"),
        id="cron-every-quarter-hour-on-sunday",
    ),
    pytest.param(
        rule("cron", cron="30 5 1 * mon", start_date="2026-11-29"),
        vn(2026, 11, 29), vn(2026, 12, 9),
        k("2026-11-30 05:30", "2026-12-01 05:30", "2026-12-07 05:30"),
        id="cron-vixie-day-or-weekday",
    ),
    pytest.param(
        rule("daily", times=["06:00"]),
        vn(2026, 12, 1, 6), vn(2026, 12, 3, 6),
        k("2026-12-01 06:00", "2026-12-02 06:00"),
        id="window-start-inclusive-end-exclusive",
    ),
    pytest.param(
        rule("daily", times=["06:00"]),
        vn(2026, 12, 1, 6, 1), vn(2026, 12, 2, 5, 59),
        [],
        id="window-between-occurrences",
    ),
    pytest.param(
        rule("once", at="2026-12-01T06:00:00+07:00"),
        vn(2026, 12, 1), vn(2026, 12, 2),
        k("2026-12-01 06:00"),
        id="once",
    ),
    pytest.param(
        rule("once", at="2026-12-01T06:00:00+07:00"),
        vn(2026, 12, 1, 6, 1), vn(2026, 12, 2),
        [],
        id="once-before-window",
    ),
]


@pytest.mark.parametrize(("r", "start", "end", "expected"), CALENDAR_CASES)
def test_calendar(r, start, end, expected):
    assert keys(r, start, end) == expected


def test_six_in_the_morning_in_vietnam_is_eleven_at_night_utc_the_day_before():
    [o] = occurrences(rule("daily", times=["06:00"]), start=vn(2026, 12, 1), end=vn(2026, 12, 2))
    assert o.play_at == utc(2026, 11, 30, 23, 0)
    assert o.play_at.tzinfo is UTC
    assert o.local == vn(2026, 12, 1, 6) and o.local.tzinfo == VN
    assert o.repeat_index == 1 and o.slot == "2026-12-01T06:00+07:00"


def test_window_may_be_given_in_any_zone():
    r = rule("daily", times=["06:00"])
    assert occurrences(r, start=utc(2026, 11, 30, 23), end=utc(2026, 11, 30, 23, 1)) == occurrences(
        r, start=vn(2026, 12, 1, 6), end=vn(2026, 12, 1, 6, 1)
    )


def test_once_key_does_not_depend_on_how_the_instant_was_written():
    a = rule("once", at="2026-12-01T06:00:00+07:00")
    b = rule("once", at="2026-11-30T23:00:00Z")
    window = {"start": utc(2026, 11, 1), "end": utc(2026, 12, 31)}
    assert occurrences(a, **window) == occurrences(b, **window)
    seconds = rule("once", at="2026-12-01T06:00:30+07:00")
    assert keys(seconds, **window) == ["2026-12-01T06:00:30+07:00#1"]


def test_rule_time_zone_changes_local_keys_and_instants():
    r = rule("daily", times=["06:00"], timezone="Europe/Berlin", start_date="2026-12-01")
    [o] = occurrences(r, start=utc(2026, 12, 1), end=utc(2026, 12, 2))
    assert o.key == "2026-12-01T06:00+01:00#1"
    assert o.play_at == utc(2026, 12, 1, 5)


@pytest.mark.parametrize(
    ("duration_s", "gap_s", "expected_minutes"),
    [
        (60, 120, [0, 3, 6]),  # gap = silence between end and next start
        (0, 120, [0, 2, 4]),  # unknown duration: gaps only
        (90, 0, [0, 1.5, 3]),  # back to back
    ],
)
def test_repeats_are_spaced_by_duration_plus_gap(duration_s, gap_s, expected_minutes):
    r = rule("daily", times=["06:00"], repeat={"count": 3, "gap_s": gap_s})
    found = occurrences(r, start=vn(2026, 12, 1), end=vn(2026, 12, 2), duration_s=duration_s)
    assert [o.play_at - vn(2026, 12, 1, 6) for o in found] == [timedelta(minutes=m) for m in expected_minutes]
    assert [o.key for o in found] == [f"2026-12-01T06:00+07:00#{i}" for i in (1, 2, 3)]
    assert [o.repeat_index for o in found] == [1, 2, 3]
    assert {o.slot for o in found} == {"2026-12-01T06:00+07:00"}


def test_a_repeat_belongs_to_the_window_its_own_start_is_in():
    r = rule("daily", times=["23:59"], repeat={"count": 3, "gap_s": 60})
    found = occurrences(r, start=vn(2026, 12, 2), end=vn(2026, 12, 2, 1), duration_s=30)
    assert [o.key for o in found] == ["2026-12-01T23:59+07:00#2", "2026-12-01T23:59+07:00#3"]
    assert found[0].local == vn(2026, 12, 2, 0, 0) + timedelta(seconds=30)


def test_repeats_of_several_times_interleave_in_play_order():
    r = rule("daily", times=["06:00", "06:01"], repeat={"count": 2, "gap_s": 0})
    found = occurrences(r, start=vn(2026, 12, 1), end=vn(2026, 12, 2), duration_s=90)
    assert [o.key[11:] for o in found] == ["06:00+07:00#1", "06:01+07:00#1", "06:00+07:00#2", "06:01+07:00#2"]


# --- daylight saving time (Europe/Berlin: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00) ---


def test_nonexistent_local_time_is_shifted_forward_by_the_gap():
    r = rule("daily", times=["02:30"], timezone="Europe/Berlin", start_date="2026-03-28")
    found = occurrences(r, start=utc(2026, 3, 28), end=utc(2026, 3, 31))
    assert [o.key for o in found] == [
        "2026-03-28T02:30+01:00#1",
        "2026-03-29T03:30+02:00#1",
        "2026-03-30T02:30+02:00#1",
    ]
    assert found[1].play_at == utc(2026, 3, 29, 1, 30)


def test_shifted_time_meeting_another_start_plays_once():
    r = rule("daily", times=["02:30", "03:30"], timezone="Europe/Berlin", start_date="2026-03-29")
    found = occurrences(r, start=utc(2026, 3, 29), end=utc(2026, 3, 30))
    assert [o.key for o in found] == ["2026-03-29T03:30+02:00#1"]


def test_ambiguous_local_time_plays_once_at_its_first_occurrence():
    r = rule("daily", times=["02:30"], timezone="Europe/Berlin", start_date="2026-10-24")
    found = occurrences(r, start=utc(2026, 10, 24), end=utc(2026, 10, 27))
    assert [o.key for o in found] == [
        "2026-10-24T02:30+02:00#1",
        "2026-10-25T02:30+02:00#1",
        "2026-10-26T02:30+01:00#1",
    ]
    assert found[1].play_at == utc(2026, 10, 25, 0, 30)


def test_daily_rule_keeps_wall_clock_time_across_dst():
    r = rule("daily", times=["06:00"], timezone="Europe/Berlin", start_date="2026-03-28")
    found = occurrences(r, start=utc(2026, 3, 28), end=utc(2026, 3, 31))
    assert [o.local.hour for o in found] == [6, 6, 6]
    assert [o.play_at.hour for o in found] == [5, 4, 4]


def test_localize_normalises_gap_and_fold():
    from datetime import date, time

    assert localize(date(2026, 3, 29), time(2, 30), BERLIN).isoformat() == "2026-03-29T03:30:00+02:00"
    assert localize(date(2026, 10, 25), time(2, 30), BERLIN).isoformat() == "2026-10-25T02:30:00+02:00"
    assert localize(date(2026, 12, 1), time(6), VN).isoformat() == "2026-12-01T06:00:00+07:00"


# --- windows and limits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        (datetime(2026, 12, 1), vn(2026, 12, 2), "start must be timezone-aware"),
        (vn(2026, 12, 1), datetime(2026, 12, 2), "end must be timezone-aware"),
        (vn(2026, 12, 2), vn(2026, 12, 1), "before its start"),
        (vn(2026, 1, 1), vn(2026, 1, 1) + MAX_WINDOW + timedelta(seconds=1), "window longer"),
    ],
)
def test_bad_windows_are_refused(start, end, error):
    with pytest.raises(ValueError, match=error):
        occurrences(rule("daily", times=["06:00"]), start=start, end=end)


@pytest.mark.parametrize("duration_s", [-1, float("nan"), float("inf"), 6 * 3600 + 1])
def test_bad_durations_are_refused(duration_s):
    with pytest.raises(ValueError, match="duration_s"):
        occurrences(rule("daily", times=["06:00"]), start=vn(2026, 12, 1), end=vn(2026, 12, 2), duration_s=duration_s)


def test_empty_window_is_empty():
    assert occurrences(rule("daily", times=["06:00"]), start=vn(2026, 12, 1, 6), end=vn(2026, 12, 1, 6)) == []


def test_expansion_is_bounded():
    times = [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30)]
    r = rule("daily", times=times)
    # 48 a day: about 208 days fit under the cap, a year does not.
    assert len(occurrences(r, start=vn(2026, 1, 1), end=vn(2026, 7, 1))) == 181 * 48
    with pytest.raises(TooManyOccurrences, match=str(MAX_OCCURRENCES)):
        occurrences(r, start=vn(2026, 1, 1), end=vn(2027, 1, 1))


def test_sparse_rule_over_the_longest_window_is_cheap_and_bounded():
    r = rule("cron", cron="0 6 29 2 *")
    found = occurrences(r, start=vn(2026, 1, 1), end=vn(2026, 1, 1) + MAX_WINDOW)
    assert [o.local.year for o in found] == [2028, 2032]


# --- next_occurrence --------------------------------------------------------------------


def test_next_occurrence_is_strictly_after():
    r = rule("daily", times=["06:00", "17:00"])
    assert next_occurrence(r, vn(2026, 12, 1, 5, 59)).local == vn(2026, 12, 1, 6)
    assert next_occurrence(r, vn(2026, 12, 1, 6)).local == vn(2026, 12, 1, 17)
    assert next_occurrence(r, vn(2026, 12, 1, 17)).local == vn(2026, 12, 2, 6)


def test_next_occurrence_finds_a_distant_leap_day_and_the_next_repeat():
    assert next_occurrence(rule("cron", cron="0 6 29 2 *"), vn(2028, 3, 1)).key == "2032-02-29T06:00+07:00#1"
    r = rule("once", at="2026-12-01T06:00:00+07:00", repeat={"count": 3, "gap_s": 120})
    nxt = next_occurrence(r, vn(2026, 12, 1, 6), duration_s=60)
    assert nxt.key == "2026-12-01T06:00+07:00#2" and nxt.local == vn(2026, 12, 1, 6, 3)


@pytest.mark.parametrize(
    ("r", "after"),
    [
        (rule("once", at="2026-12-01T06:00:00+07:00"), vn(2026, 12, 1, 6)),
        (rule("daily", times=["06:00"], end_date="2026-12-01"), vn(2026, 12, 1, 6)),
    ],
)
def test_next_occurrence_none_when_the_rule_is_over(r, after):
    assert next_occurrence(r, after) is None


def test_next_occurrence_refuses_naive_and_too_long_horizons():
    r = rule("daily", times=["06:00"])
    with pytest.raises(ValueError, match="aware"):
        next_occurrence(r, datetime(2026, 12, 1))
    with pytest.raises(ValueError, match="horizon"):
        next_occurrence(r, vn(2026, 12, 1), horizon=MAX_WINDOW * 2)


def test_repeats_reaching_days_past_their_occurrence_are_still_found():
    # 10 readings of a 6-hour relay with an hour between them span 63 hours.
    r = rule(
        "daily", times=["06:00"], start_date="2026-12-01", end_date="2026-12-01", repeat={"count": 10, "gap_s": 3600}
    )
    found = occurrences(r, start=vn(2026, 12, 3), end=vn(2026, 12, 5), duration_s=6 * 3600)
    assert [(o.repeat_index, o.local.day, o.local.hour) for o in found] == [(7, 3, 0), (8, 3, 7), (9, 3, 14), (10, 3, 21)]
    assert {o.slot for o in found} == {"2026-12-01T06:00+07:00"}
