"""Properties that must hold for every rule and window, not just the hand-picked ones.

The controller expands the programme in consecutive windows and derives ids from keys,
so the expansion must be sorted, inside its window, free of duplicate keys, and the
same whether a span is expanded at once or in pieces. The planner must never put two
plays on one speaker at once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.commands import Priority
from schedules.occurrences import occurrences
from schedules.priority import Play, SegmentEnd, resolve
from schedules.rules import parse_rule

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ZONES = ["Asia/Ho_Chi_Minh", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]
CRONS = ["0 6,17 * * 1-5", "*/15 2 * * *", "30 2 29 2 *", "0 6 1 * mon", "0 3 * * 0", "0 0 31 * *"]

times = st.lists(
    st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.sampled_from([0, 1, 2, 3, 6, 17, 23]), st.sampled_from([0, 30, 59])),
    min_size=1,
    max_size=4,
)
common = st.fixed_dictionaries(
    {
        "start_date": st.dates(date(2027, 12, 1), date(2028, 4, 1)).map(str),
        "timezone": st.sampled_from(ZONES),
        "repeat": st.fixed_dictionaries(
            {"count": st.integers(1, 10), "gap_s": st.sampled_from([0, 30, 120, 3600])}
        ),
        "except_dates": st.lists(st.dates(date(2027, 12, 1), date(2028, 5, 1)).map(str), max_size=3),
    },
    optional={"end_date": st.dates(date(2028, 4, 1), date(2028, 6, 1)).map(str)},
)
kinds = st.one_of(
    st.fixed_dictionaries({"kind": st.just("daily"), "times": times, "every_days": st.integers(1, 4)}),
    st.fixed_dictionaries(
        {"kind": st.just("weekly"), "times": times, "days": st.lists(st.integers(1, 7), min_size=1, max_size=7)}
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("monthly"),
            "times": times,
            "days_of_month": st.lists(st.sampled_from([1, 15, 28, 29, 30, 31, -1]), min_size=1, max_size=3),
        }
    ),
    st.fixed_dictionaries({"kind": st.just("cron"), "cron": st.sampled_from(CRONS)}),
)
recurring = st.builds(lambda c, k: parse_rule({**c, **k}), common, kinds)
once = st.builds(
    lambda at, zone, count: parse_rule(
        {"at": at.isoformat(), "timezone": zone, "repeat": {"count": count, "gap_s": 60}}
    ),
    st.datetimes(datetime(2028, 1, 1), datetime(2028, 4, 1), timezones=st.just(UTC)),
    st.sampled_from(ZONES),
    st.integers(1, 3),
)
rules = st.one_of(recurring, once)

instants = st.datetimes(datetime(2027, 12, 20), datetime(2028, 5, 10), timezones=st.just(UTC))
durations = st.sampled_from([0.0, 45.5, 600.0, 6 * 3600.0])


@SETTINGS
@given(rules, instants, instants, instants, durations)
def test_expansion_is_sorted_bounded_unique_and_stable_under_splitting(rule, x, y, z, duration_s):
    a, b, c = sorted([x, y, z])
    whole = occurrences(rule, start=a, end=c, duration_s=duration_s)
    assert whole == occurrences(rule, start=a, end=b, duration_s=duration_s) + occurrences(
        rule, start=b, end=c, duration_s=duration_s
    )
    assert [o.play_at for o in whole] == sorted(o.play_at for o in whole)
    assert all(a <= o.play_at < c and o.play_at.utcoffset() == timedelta(0) for o in whole)
    assert len({o.key for o in whole}) == len(whole)
    for o in whole:
        # (compare in UTC: PEP 495 makes inter-zone == False for times in a DST fold)
        assert o.local.astimezone(UTC) == o.play_at and o.local.tzinfo is not None
        assert 1 <= o.repeat_index <= rule.repeat.count
        assert o.key.endswith(f"#{o.repeat_index}")


@SETTINGS
@given(recurring, instants, durations)
def test_every_first_reading_is_on_a_day_the_rule_fires(rule, start, duration_s):
    for o in occurrences(rule, start=start, end=start + timedelta(days=40), duration_s=duration_s):
        if o.repeat_index == 1:
            day = date.fromisoformat(o.key[:10])
            assert rule.fires_on(day) or rule.fires_on(day - timedelta(days=1))  # a DST shift may cross midnight


base = datetime(2026, 12, 1, tzinfo=UTC)
plays = st.lists(
    st.builds(
        lambda i, start, length, created, prio, ttl: Play(
            id=f"p{i}",
            play_at=base + timedelta(seconds=start),
            duration_s=length,
            created_at=base + timedelta(seconds=start - created),
            priority=prio,
            expires_at=None if ttl is None else base + timedelta(seconds=start + ttl),
        ),
        st.integers(0, 10_000),
        st.integers(0, 1800),
        st.sampled_from([0.0, 30.0, 90.0, 300.0]),
        st.sampled_from([-60, 0, 600, 86_400]),
        st.sampled_from(list(Priority)),
        st.one_of(st.none(), st.integers(1, 1200)),
    ),
    max_size=12,
    unique_by=lambda p: p.id,
)


@SETTINGS
@given(plays, st.sampled_from(["restart", "drop"]))
def test_resolved_timeline_never_overlaps_and_accounts_for_every_play(given_plays, policy):
    plan = resolve(given_plays, policy=policy)
    segments = plan.segments
    for earlier, later in zip(segments, segments[1:]):
        assert earlier.end <= later.start
    for s in segments:
        assert s.start >= s.play.play_at
        assert s.play.expires_at is None or s.start < s.play.expires_at
        if s.outcome is SegmentEnd.INTERRUPTED:
            assert s.play.priority is not Priority.EMERGENCY
    finished = [s.play.id for s in segments if s.outcome is SegmentEnd.FINISHED]
    dropped = [d.play.id for d in plan.dropped]
    assert sorted(finished + dropped) == sorted(p.id for p in given_plays)
