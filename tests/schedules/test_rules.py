"""Schedule rules as the API receives them: accepted shapes, normalisation, refusals."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time

import pytest
from pydantic import BaseModel, ValidationError

from schedules.rules import (
    MAX_PLAYS_PER_DAY,
    CronRule,
    DailyRule,
    MonthlyRule,
    OnceRule,
    Rule,
    Weekday,
    WeeklyRule,
    parse_rule,
)

EXAMPLES = [
    ({"at": "2026-12-01T06:00:00+07:00"}, OnceRule),
    ({"kind": "once", "at": "2026-11-30T23:00:00Z"}, OnceRule),
    (
        {
            "kind": "weekly",
            "days": ["mon", "wed", "fri"],
            "times": ["06:00", "17:00"],
            "start_date": "2026-12-01",
            "end_date": "2027-01-31",
            "except_dates": ["2026-12-25"],
            "timezone": "Asia/Ho_Chi_Minh",
        },
        WeeklyRule,
    ),
    ({"kind": "weekly", "days": [1, 3, 5], "times": ["06:00"], "start_date": "2026-12-01"}, WeeklyRule),
    ({"kind": "daily", "times": ["05:30"], "start_date": "2026-12-01"}, DailyRule),
    ({"kind": "daily", "every_days": 2, "times": ["05:30"], "start_date": "2026-12-01"}, DailyRule),
    ({"kind": "monthly", "days_of_month": [1, 15, -1], "times": ["06:00"], "start_date": "2026-12-01"}, MonthlyRule),
    ({"kind": "cron", "cron": "0 6,17 * * 1-5", "start_date": "2026-12-01"}, CronRule),
    (
        {
            "kind": "daily",
            "times": ["06:00", "17:00"],
            "start_date": "2026-12-01",
            "repeat": {"count": 3, "gap_s": 120},
        },
        DailyRule,
    ),
    ({"at": "2026-12-01T06:00:00+07:00", "repeat": {"count": 3}}, OnceRule),
]


@pytest.mark.parametrize(("data", "model"), EXAMPLES)
def test_documented_shapes_are_accepted_and_round_trip(data, model):
    parsed = parse_rule(data)
    assert type(parsed) is model
    again = parse_rule(parsed.model_dump_json())
    assert again == parsed
    assert parse_rule(json.dumps(data)) == parsed


def test_rule_type_works_as_a_field_of_another_model():
    class Announcement(BaseModel):
        schedule: Rule

    a = Announcement.model_validate({"schedule": {"kind": "cron", "cron": "0 6 * * *", "start_date": "2026-12-01"}})
    assert isinstance(a.schedule, CronRule)


def test_once_keeps_the_instant_and_defaults_to_vietnam():
    r = parse_rule({"at": "2026-12-01T06:00:00+07:00"})
    assert r.at == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert r.timezone == "Asia/Ho_Chi_Minh"
    assert r.repeat.count == 1 and r.repeat.gap_s == 0


def test_lists_are_normalised():
    r = parse_rule(
        {
            "kind": "weekly",
            "days": ["fri", 1, "Mon", 7],
            "times": ["17:00", "06:00", "17:00"],
            "start_date": "2026-12-01",
            "except_dates": ["2026-12-25", "2026-12-24", "2026-12-25"],
        }
    )
    assert r.days == (Weekday.MON, Weekday.FRI, Weekday.SUN)
    assert r.times == ("06:00", "17:00")
    assert r.times_of_day() == (time(6), time(17))
    assert r.except_dates == (date(2026, 12, 24), date(2026, 12, 25))
    m = parse_rule({"kind": "monthly", "days_of_month": [-1, 15, 1, 15], "times": ["06:00"], "start_date": "2026-12-01"})
    assert m.days_of_month == (1, 15, -1)


def test_python_callers_may_omit_kind():
    r = DailyRule(times=("06:00",), start_date=date(2026, 12, 1))
    assert r.kind == "daily" and r.every_days == 1


def _error(data) -> str:
    with pytest.raises(ValidationError) as info:
        parse_rule(data)
    return str(info.value)


BASE = {"start_date": "2026-12-01", "times": ["06:00"]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"at": "2026-12-01T06:00:00"}, "has no UTC offset"),
        ({"at": "2026-12-01"}, "has no UTC offset"),
        ({"at": 1795000000}, "ISO 8601"),
        ({"at": "tomorrow"}, "valid datetime"),
        ({}, 'a schedule is either {"at"'),
        ({"kind": "yearly", **BASE}, 'a "kind" of daily, weekly, monthly or cron'),
        ({"kind": 3, **BASE}, "a schedule is either"),
        ({"at": "2026-12-01T06:00:00+07:00", "times": ["06:00"]}, "Extra inputs are not permitted"),
        ({"kind": "daily", **BASE, "days": ["mon"]}, "Extra inputs are not permitted"),
        ({"kind": "daily", "times": ["06:00"]}, "start_date"),
        ({"kind": "daily", **BASE, "times": []}, "at least 1"),
        ({"kind": "daily", **BASE, "times": ["24:00"]}, "between 00:00 and 23:59"),
        ({"kind": "daily", **BASE, "times": ["6:00"]}, "must be HH:MM"),
        ({"kind": "daily", **BASE, "times": ["06:60"]}, "must be HH:MM"),
        ({"kind": "daily", **BASE, "times": ["06:00:00"]}, "must be HH:MM"),
        ({"kind": "daily", **BASE, "start_date": "2026-02-30"}, "start_date"),
        ({"kind": "daily", **BASE, "end_date": "2026-11-30"}, "end_date 2026-11-30 is before start_date 2026-12-01"),
        ({"kind": "daily", **BASE, "except_dates": ["2026-13-01"]}, "except_dates"),
        ({"kind": "daily", **BASE, "every_days": 0}, "every_days"),
        ({"kind": "daily", **BASE, "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"kind": "daily", **BASE, "timezone": "../../etc/passwd"}, "unknown time zone"),
        ({"kind": "daily", **BASE, "repeat": {"count": 0}}, "repeat.count"),
        ({"kind": "daily", **BASE, "repeat": {"count": 11}}, "repeat.count"),
        ({"kind": "daily", **BASE, "repeat": {"count": 2, "gap_s": -1}}, "repeat.gap_s"),
        ({"kind": "daily", **BASE, "repeat": {"count": 2, "gap_s": "nan"}}, "repeat.gap_s"),
        ({"kind": "daily", **BASE, "repeat": {"count": 2, "every": 5}}, "Extra inputs"),
        ({"kind": "weekly", **BASE}, "days"),
        ({"kind": "weekly", **BASE, "days": []}, "at least 1"),
        ({"kind": "weekly", **BASE, "days": [0]}, "outside 1 (Monday)"),
        ({"kind": "weekly", **BASE, "days": ["monday"]}, "unknown weekday 'monday'"),
        ({"kind": "weekly", **BASE, "days": [True]}, "a weekday is a name"),
        ({"kind": "monthly", **BASE, "days_of_month": [0]}, "-1 for the last day"),
        ({"kind": "monthly", **BASE, "days_of_month": [32]}, "-1 for the last day"),
        ({"kind": "monthly", **BASE, "days_of_month": [-2]}, "-1 for the last day"),
        ({"kind": "cron", "start_date": "2026-12-01", "cron": "0 6 * *"}, "5 fields"),
        ({"kind": "cron", "start_date": "2026-12-01", "cron": "0 6 * * *", "times": ["06:00"]}, "Extra inputs"),
        ({"kind": "cron", "start_date": "2026-12-01", "cron": "*/15 * * * *"}, "96 times a day"),
        (
            {"kind": "daily", **BASE, "times": [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30)],
             "repeat": {"count": 2}},
            "96 times a day",
        ),
        ({"kind": "daily", **BASE, "except_dates": ["2026-12-01"] * 367}, "except_dates"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(data, message):
    assert message in _error(data)


def test_forty_eight_plays_a_day_is_the_limit_not_beyond():
    times = [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30)]
    assert len(times) == MAX_PLAYS_PER_DAY
    parse_rule({"kind": "daily", **BASE, "times": times})
    parse_rule({"kind": "cron", "start_date": "2026-12-01", "cron": "*/30 * * * *"})
    parse_rule({"kind": "daily", **BASE, "times": times[:16], "repeat": {"count": 3}})
    assert "49 times a day" in _error({"kind": "daily", **BASE, "times": times[:7], "repeat": {"count": 7}})


def test_rules_are_immutable():
    r = parse_rule({"kind": "daily", **BASE})
    with pytest.raises(ValidationError):
        r.every_days = 3  # type: ignore[misc]


def test_every_field_is_described_in_the_json_schema():
    from schedules.rules import ScheduleRule

    schema = ScheduleRule.model_json_schema()
    for name, model in schema["$defs"].items():
        for field, spec in model.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field} has no description"
