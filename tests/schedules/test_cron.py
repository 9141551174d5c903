"""The five-field cron parser: syntax, Vixie day matching, and the errors people will meet."""

from __future__ import annotations

import re
from datetime import date, time

import pytest

from schedules.cron import CronError, parse_cron


@pytest.mark.parametrize(
    ("expression", "field", "expected"),
    [
        ("*/15 6 * * *", "minutes", set(range(0, 60, 15))),
        ("0,30 6 * * *", "minutes", {0, 30}),
        ("10-12 6 * * *", "minutes", {10, 11, 12}),
        ("0 6 1-10/3 * *", "days_of_month", {1, 4, 7, 10}),
        ("0 6,17 * * *", "hours", {6, 17}),
        ("0 */6 * * *", "hours", {0, 6, 12, 18}),
        ("0 6 * * 1-5", "days_of_week", {1, 2, 3, 4, 5}),
        ("0 6 * * 0", "days_of_week", {0}),
        ("0 6 * * 7", "days_of_week", {0}),
        ("0 6 * * 5-7", "days_of_week", {5, 6, 0}),
        ("0 6 * * */2", "days_of_week", {0, 2, 4, 6}),
        ("0 6 * * *", "days_of_week", set(range(7))),
        ("0 6 * * MON-fri", "days_of_week", {1, 2, 3, 4, 5}),
        ("0 6 * * sun,sat", "days_of_week", {0, 6}),
        ("0 6 * jan,jul *", "months", {1, 7}),
        ("0 6 * jun-aug *", "months", {6, 7, 8}),
        ("0 6 1,15,31 * *", "days_of_month", {1, 15, 31}),
        ("  0   6  *  *  *  ", "hours", {6}),
    ],
)
def test_field_syntax(expression, field, expected):
    assert getattr(parse_cron(expression), field) == expected


def test_times_of_day_are_every_hour_minute_pair_ascending():
    assert parse_cron("30,0 17,6 * * *").times_of_day() == (time(6, 0), time(6, 30), time(17, 0), time(17, 30))


@pytest.mark.parametrize(
    ("expression", "day", "fires"),
    [
        # 2026-12-07 is a Monday, 2026-12-01 a Tuesday, 2026-12-06 a Sunday.
        ("0 6 * * 1-5", date(2026, 12, 7), True),
        ("0 6 * * 1-5", date(2026, 12, 6), False),
        ("0 6 * * 0", date(2026, 12, 6), True),
        ("0 6 * * 7", date(2026, 12, 6), True),
        # Vixie: both day fields restricted -> either matches.
        ("0 6 1 * mon", date(2026, 12, 1), True),
        ("0 6 1 * mon", date(2026, 12, 7), True),
        ("0 6 1 * mon", date(2026, 12, 8), False),
        # One of them starts with * -> both must match (the * one always does).
        ("0 6 1 * *", date(2026, 12, 7), False),
        ("0 6 * * mon", date(2026, 12, 1), False),
        # `*/2` counts as unrestricted, as in Vixie cron: odd days that are Mondays.
        ("0 6 */2 * mon", date(2026, 12, 7), True),
        ("0 6 */2 * mon", date(2026, 12, 14), False),
        ("0 6 */2 * mon", date(2026, 12, 3), False),
        ("0 6 29 2 *", date(2028, 2, 29), True),
        ("0 6 29 2 *", date(2027, 3, 1), False),
        ("0 6 * 12 *", date(2026, 11, 30), False),
    ],
)
def test_day_matching(expression, day, fires):
    assert parse_cron(expression).matches_date(day) is fires


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "5 fields"),
        ("0 6 * *", "got 4"),
        ("0 0 6 * * *", "got 6"),
        ("60 6 * * *", "minute field: 60 is outside 0-59"),
        ("0 24 * * *", "hour field: 24 is outside 0-23"),
        ("0 6 0 * *", "day-of-month field: 0 is outside 1-31"),
        ("0 6 32 * *", "day-of-month field: 32"),
        ("0 6 * 13 *", "month field: 13 is outside 1-12"),
        ("0 6 * 0 *", "month field: 0"),
        ("0 6 * * 8", "day-of-week field: 8 is outside 0-7"),
        ("*/0 6 * * *", "step 0"),
        ("5-1 6 * * *", "runs backwards"),
        ("5/10 6 * * *", "'5-59/10'"),
        ("a 6 * * *", "minute field: 'a' is not a number"),
        ("0 6 * * funday", "day-of-week field: 'funday'"),
        ("0 6 * jan-foo *", "month field: 'foo'"),
        ("0 mon * * *", "hour field: 'mon' is not a number"),
        ("1,,2 6 * * *", "cannot read ''"),
        ("0 6 L * *", "day-of-month field: 'l'"),
        ("0 6 ? * *", "cannot read '?'"),
        ("0 6 * * 1#2", "cannot read '1#2'"),
        ("-1 6 * * *", "cannot read '-1'"),
        ("@daily", "macros"),
        ("0 6 30 2 *", "never fires"),
        ("0 6 31 4,6,9,11 *", "never fires"),
        ("0 6 " + "1," * 100 + "2 * *", "longer than"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expression, message):
    with pytest.raises(CronError, match=re.escape(message)):
        parse_cron(expression)


def test_impossible_day_is_fine_when_a_weekday_can_fire_instead():
    # 30 February never happens, but with a restricted weekday the OR rule still fires on Mondays.
    assert parse_cron("0 6 30 2 mon").matches_date(date(2027, 2, 1))


def test_expression_is_normalised():
    assert parse_cron("0  6 * * MON").expression == "0 6 * * mon"
