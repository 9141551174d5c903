"""Priority levels, conflict warnings and the resolved timeline of one zone."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from protocol.commands import Priority
from schedules.priority import (
    DropReason,
    Play,
    PreemptPolicy,
    SegmentEnd,
    find_conflicts,
    order_plays,
    rank,
    resolve,
)
from tests.schedules.helpers import utc

T0 = utc(2026, 11, 30, 23, 0)  # 06:00 in Vietnam
EARLY = T0 - timedelta(days=1)  # "created long before"

N, P, E = Priority.NORMAL, Priority.PRIORITY, Priority.EMERGENCY


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def play(
    id: str,
    start_min: float,
    length_min: float,
    priority: Priority = N,
    *,
    created_min: float | None = None,
    expires_min: float | None = None,
    zones: frozenset[str] = frozenset({"thon-1"}),
) -> Play:
    return Play(
        id=id,
        play_at=at(start_min),
        duration_s=length_min * 60,
        created_at=EARLY if created_min is None else at(created_min),
        priority=priority,
        zones=zones,
        expires_at=None if expires_min is None else at(expires_min),
    )


def test_levels_are_ordered_normal_priority_emergency():
    assert rank(N) < rank(P) < rank(E)
    assert rank("emergency") == rank(E)
    # The enum's own string order is alphabetical and must not be used.
    assert sorted([N, P, E], key=rank) == [N, P, E]


def test_order_plays_breaks_ties_deterministically():
    plays = [
        Play("b", at(0), 60, EARLY, N),
        Play("a", at(0), 60, EARLY, N),
        Play("c", at(0), 60, EARLY - timedelta(seconds=1), N),
        Play("late-normal", at(5), 60, EARLY, N),
        Play("prio", at(9), 60, EARLY, P),
        Play("emerg", at(10), 60, EARLY, E),
    ]
    expected = ["emerg", "prio", "c", "a", "b", "late-normal"]
    for seed in range(5):
        shuffled = plays[:]
        random.Random(seed).shuffle(shuffled)
        assert [p.id for p in order_plays(shuffled)] == expected


def test_play_refuses_naive_times_and_bad_durations():
    with pytest.raises(ValueError, match="aware"):
        Play("x", datetime(2026, 12, 1, 6), 60, EARLY)
    with pytest.raises(ValueError, match="duration"):
        Play("x", at(0), float("nan"), EARLY)
    with pytest.raises(ValueError, match="duration"):
        Play("x", at(0), -1, EARLY)


def test_play_times_are_normalised_to_utc():
    from tests.schedules.helpers import vn

    p = Play("x", vn(2026, 12, 1, 6), 60, vn(2026, 12, 1, 5), "priority")
    assert p.play_at == T0 and p.play_at.utcoffset() == timedelta(0)
    assert p.priority is P and p.ends_at == at(1)


# --- conflicts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "other", "conflict"),
    [
        (play("new", 0, 5), play("old", 4, 5), True),
        (play("new", 0, 5), play("old", 5, 5), False),  # touching is not overlapping
        (play("new", 5, 5), play("old", 0, 5), False),
        (play("new", 1, 1), play("old", 0, 5), True),  # inside
        (play("new", 0, 0), play("old", 0, 0), True),  # unknown lengths, same instant
        (play("new", 0, 5), play("old", 0, 5, zones=frozenset({"thon-2"})), False),
        (play("new", 0, 5), play("new", 0, 5), False),  # its own earlier version
    ],
)
def test_overlap_needs_shared_zone_and_time(new, other, conflict):
    assert bool(find_conflicts(new, [other])) is conflict


def test_conflict_reports_the_overlap_and_a_readable_warning():
    new = play("ann-9", 0, 5, zones=frozenset({"thon-1", "thon-2", "thon-3"}))
    old = play("ann-7", 3, 4, P, zones=frozenset({"thon-2", "thon-1"}))
    [c] = find_conflicts(new, [old])
    assert (c.new, c.existing, c.zones) == (new, old, ("thon-1", "thon-2"))
    assert (c.start, c.end) == (at(3), at(5))
    assert c.warning == (
        "Overlaps priority play 'ann-7' on zones thon-1, thon-2 from 2026-12-01 06:03:00 to "
        "2026-12-01 06:05:00 (Asia/Ho_Chi_Minh); this play is pushed back until the priority play ends."
    )


@pytest.mark.parametrize(
    ("new", "old", "policy", "effect"),
    [
        (play("n", 0, 5, P), play("o", 1, 5), "restart", "the normal play is pushed back until this one ends"),
        (play("n", 0, 5), play("o", 1, 5), "restart", "this play starts first and the other waits until it ends"),
        (play("n", 1, 5), play("o", 0, 5), "restart", "this play waits until the other ends"),
        (play("n", 1, 5, E), play("o", 0, 5), "restart", "the emergency interrupts it, which restarts"),
        (play("n", 1, 5, E), play("o", 0, 5), "drop", "the emergency interrupts it, which is then dropped"),
        (play("n", 0, 5, E), play("o", 0, 5), "restart", "it waits until this emergency ends"),
        (play("n", 0, 5), play("o", 1, 5, E), "restart", "the emergency interrupts this play"),
        (play("n", 2, 5), play("o", 1, 5, E), "restart", "this play waits until the emergency ends"),
        (play("n", 2, 5, E), play("o", 1, 5, E), "restart", "this play waits until the other ends"),
    ],
)
def test_warning_states_what_the_policy_will_do(new, old, policy, effect):
    [c] = find_conflicts(new, [old], policy=policy)
    assert effect in c.warning


def test_zone_overlap_function_decides_what_shares_a_speaker():
    # A commune-wide zone reaches every hamlet.
    def overlap(a: Play, b: Play) -> set[str]:
        expand = lambda zs: {"thon-1", "thon-2"} if "xa" in zs else set(zs)  # noqa: E731
        return expand(a.zones) & expand(b.zones)

    commune = play("all", 0, 5, zones=frozenset({"xa"}))
    hamlet = play("h2", 1, 5, zones=frozenset({"thon-2"}))
    assert find_conflicts(commune, [hamlet]) == []
    [c] = find_conflicts(commune, [hamlet], overlap)
    assert c.zones == ("thon-2",)


def test_conflicts_are_sorted_and_times_shown_in_the_chosen_zone():
    new = play("new", 0, 60)
    found = find_conflicts(new, [play("z", 30, 5), play("a", 30, 5), play("m", 10, 5)], timezone="UTC")
    assert [c.existing.id for c in found] == ["m", "a", "z"]
    assert "from 2026-11-30 23:10:00 to 2026-11-30 23:15:00 (UTC)" in found[0].warning


# --- resolve ---------------------------------------------------------------------------------


def timeline(plan) -> list[tuple[str, float, float, str]]:
    """(id, start min, end min, outcome) per segment, for readable expectations."""
    return [
        (s.play.id, (s.start - T0) / timedelta(minutes=1), (s.end - T0) / timedelta(minutes=1), s.outcome.value)
        for s in plan.segments
    ]


def drops(plan) -> list[tuple[str, str, float]]:
    return [(d.play.id, d.reason.value, (d.at - T0) / timedelta(minutes=1)) for d in plan.dropped]


RESOLVE_CASES = [
    pytest.param(
        [play("a", 0, 5), play("b", 10, 5)],
        "restart",
        [("a", 0, 5, "finished"), ("b", 10, 15, "finished")],
        [],
        id="apart-nothing-moves",
    ),
    pytest.param(
        [play("a", 0, 5), play("b", 2, 5)],
        "restart",
        [("a", 0, 5, "finished"), ("b", 5, 10, "finished")],
        [],
        id="same-level-later-one-waits",
    ),
    pytest.param(
        [play("b", 0, 5, created_min=-1), play("a", 0, 5, created_min=-2)],
        "restart",
        [("a", 0, 5, "finished"), ("b", 5, 10, "finished")],
        [],
        id="same-instant-earlier-created-first",
    ),
    pytest.param(
        [play("b", 0, 5), play("a", 0, 5)],
        "restart",
        [("a", 0, 5, "finished"), ("b", 5, 10, "finished")],
        [],
        id="same-instant-same-creation-id-decides",
    ),
    pytest.param(
        [play("normal", 0, 5), play("prio", 2, 1, P)],
        "restart",
        [("prio", 2, 3, "finished"), ("normal", 3, 8, "finished")],
        [],
        id="normal-pushed-after-known-priority",
    ),
    pytest.param(
        [play("normal", 0, 5), play("short", 0.5, 1), play("prio", 2, 1, P)],
        "restart",
        [("short", 0.5, 1.5, "finished"), ("prio", 2, 3, "finished"), ("normal", 3, 8, "finished")],
        [],
        id="short-normal-fills-the-gap-before-priority",
    ),
    pytest.param(
        [play("normal", 0, 5), play("prio", 2, 1, P, created_min=1)],
        "restart",
        [("normal", 0, 5, "finished"), ("prio", 5, 6, "finished")],
        [],
        id="priority-never-cuts-a-play-on-air",
    ),
    pytest.param(
        [play("normal", 0, 5), play("prio", 0, 1, P)],
        "restart",
        [("prio", 0, 1, "finished"), ("normal", 1, 6, "finished")],
        [],
        id="priority-first-at-the-same-instant",
    ),
    pytest.param(
        [play("normal", 0, 5), play("alarm", 2, 1, E, created_min=1)],
        "restart",
        [("normal", 0, 2, "interrupted"), ("alarm", 2, 3, "finished"), ("normal", 3, 8, "finished")],
        [],
        id="emergency-interrupts-then-restart-from-the-beginning",
    ),
    pytest.param(
        [play("normal", 0, 5), play("alarm", 2, 1, E, created_min=1)],
        "drop",
        [("normal", 0, 2, "interrupted"), ("alarm", 2, 3, "finished")],
        [("normal", "preempted", 2)],
        id="emergency-interrupts-drop-policy",
    ),
    pytest.param(
        [play("normal", 0, 5, expires_min=3), play("alarm", 2, 1, E, created_min=1)],
        "restart",
        [("normal", 0, 2, "interrupted"), ("alarm", 2, 3, "finished")],
        [("normal", "expired", 3)],
        id="no-restart-after-expiry",
    ),
    pytest.param(
        [play("normal", 0, 5, expires_min=3.5), play("alarm", 2, 1, E, created_min=1)],
        "restart",
        [("normal", 0, 2, "interrupted"), ("alarm", 2, 3, "finished"), ("normal", 3, 8, "finished")],
        [],
        id="restart-while-still-before-expiry",
    ),
    pytest.param(
        [play("prio", 0, 5, P), play("alarm", 1, 1, E, created_min=0.5)],
        "restart",
        [("prio", 0, 1, "interrupted"), ("alarm", 1, 2, "finished"), ("prio", 2, 7, "finished")],
        [],
        id="emergency-interrupts-priority-too",
    ),
    pytest.param(
        [play("normal", 0, 5), play("alarm", 2, 1, E)],
        "restart",
        [("alarm", 2, 3, "finished"), ("normal", 3, 8, "finished")],
        [],
        id="known-emergency-pushes-instead-of-interrupting",
    ),
    pytest.param(
        [play("e1", 0, 5, E), play("e2", 1, 1, E, created_min=0.5)],
        "restart",
        [("e1", 0, 5, "finished"), ("e2", 5, 6, "finished")],
        [],
        id="emergencies-queue-never-interrupt-each-other",
    ),
    pytest.param(
        [
            play("normal", 0, 5),
            play("alarm1", 1, 1, E, created_min=0.5),
            play("alarm2", 4, 1, E, created_min=3.5),
        ],
        "restart",
        [
            ("normal", 0, 1, "interrupted"),
            ("alarm1", 1, 2, "finished"),
            ("normal", 2, 4, "interrupted"),
            ("alarm2", 4, 5, "finished"),
            ("normal", 5, 10, "finished"),
        ],
        [],
        id="interrupted-twice",
    ),
    pytest.param(
        [play("prio", 0, 10, P), play("normal", 1, 1, expires_min=5)],
        "restart",
        [("prio", 0, 10, "finished")],
        [("normal", "expired", 10)],
        id="pushed-past-its-expiry-is-dropped",
    ),
    pytest.param(
        [play("stale", 0, 1, expires_min=0)],
        "restart",
        [],
        [("stale", "expired", 0)],
        id="expired-at-its-own-start",
    ),
    pytest.param([], "restart", [], [], id="nothing"),
]


@pytest.mark.parametrize(("plays", "policy", "expected", "expected_drops"), RESOLVE_CASES)
def test_resolve(plays, policy, expected, expected_drops):
    plan = resolve(plays, policy=policy)
    assert timeline(plan) == expected
    assert drops(plan) == expected_drops


def test_resolve_defaults_to_restart_and_counts_attempts():
    plan = resolve([play("normal", 0, 5), play("alarm", 2, 1, E, created_min=1)])
    assert [(s.play.id, s.attempt) for s in plan.segments] == [("normal", 1), ("alarm", 1), ("normal", 2)]
    assert plan.segments[-1].delay == timedelta(minutes=3)
    assert plan.starts() == {"alarm": at(2), "normal": at(3)}
    assert plan.segments[0].outcome is SegmentEnd.INTERRUPTED
    assert PreemptPolicy("restart") is PreemptPolicy.RESTART
    assert DropReason.PREEMPTED.value == "preempted"


def test_resolve_is_independent_of_input_order():
    plays = [play("a", 0, 5), play("b", 1, 2, P), play("c", 1, 3), play("d", 2, 1, E, created_min=1.5)]
    expected = resolve(plays)
    for seed in range(10):
        shuffled = plays[:]
        random.Random(seed).shuffle(shuffled)
        assert resolve(shuffled) == expected


def test_resolve_refuses_duplicate_ids_and_unknown_policies():
    with pytest.raises(ValueError, match="unique"):
        resolve([play("a", 0, 1), play("a", 2, 1)])
    with pytest.raises(ValueError):
        resolve([play("a", 0, 1)], policy="resume")
