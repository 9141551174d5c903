"""Conflict warnings as codes: every effect is worded in Vietnamese and English, and the
English wording is exactly the sentence `find_conflicts` has always produced."""

from __future__ import annotations

import pytest

from schedules.messages import EFFECTS, WARNINGS, effect_text, warning_text
from schedules.priority import find_conflicts
from tests.schedules.test_priority import E, P, play

CASES = [
    (play("n", 0, 5, P), play("o", 1, 5), "restart", "existing_pushed_back"),
    (play("n", 0, 5), play("o", 1, 5, P), "restart", "new_pushed_back"),
    (play("n", 0, 5), play("o", 1, 5), "restart", "new_first"),
    (play("n", 1, 5), play("o", 0, 5), "restart", "new_waits"),
    (play("n", 1, 5, E), play("o", 0, 5), "restart", "existing_interrupted"),
    (play("n", 1, 5, E), play("o", 0, 5), "drop", "existing_interrupted_dropped"),
    (play("n", 0, 5), play("o", 1, 5, E), "restart", "new_interrupted"),
    (play("n", 0, 5), play("o", 1, 5, E), "drop", "new_interrupted_dropped"),
    (play("n", 0, 5, E), play("o", 0, 5), "restart", "existing_waits_for_emergency"),
    (play("n", 2, 5), play("o", 1, 5, E), "restart", "new_waits_for_emergency"),
]


@pytest.mark.parametrize(("new", "old", "policy", "code"), CASES)
def test_each_effect_has_a_code_and_both_languages(new, old, policy, code) -> None:
    [c] = find_conflicts(new, [old], policy=policy)
    assert c.effect == code
    english = effect_text(code, "en", old.priority.value)
    assert c.warning.endswith(f"; {english}.")
    vietnamese = effect_text(code, "vi", old.priority.value)
    assert vietnamese != english and vietnamese.isprintable()


def test_every_code_is_covered_by_a_case() -> None:
    assert {case[3] for case in CASES} == set(EFFECTS)


def test_overlap_warning_rebuilds_the_english_sentence_and_says_it_in_vietnamese() -> None:
    new = play("ann-9", 0, 5, zones=frozenset({"thon-1", "thon-2", "thon-3"}))
    old = play("ann-7", 3, 4, P, zones=frozenset({"thon-2", "thon-1"}))
    [c] = find_conflicts(new, [old])
    params = {
        "new": "ann-9", "existing": "ann-7", "existing_priority": "priority", "zones": ["thon-1", "thon-2"],
        "start": "2026-12-01 06:03:00", "end": "2026-12-01 06:05:00", "timezone": "Asia/Ho_Chi_Minh",
        "effect": c.effect,
    }  # fmt: skip
    assert warning_text("overlap", params, "en") == f"Play 'ann-9': {c.warning}"
    assert warning_text("overlap", params, "vi") == (
        "Lượt phát ann-9: trùng với lượt phát ưu tiên ann-7 tại thon-1, thon-2 từ 2026-12-01 06:03:00 "
        "đến 2026-12-01 06:05:00 (giờ Asia/Ho_Chi_Minh); lượt phát này lùi lại đến khi lượt phát ưu tiên kết thúc."
    )
    assert warning_text("more_overlaps", {"count": 3}, "vi") == "... và 3 chỗ trùng khác"
    assert set(WARNINGS) == {"overlap", "more_overlaps"}


def test_unknown_codes_and_missing_params_never_raise() -> None:
    assert effect_text("no_such_effect", "vi") == "no_such_effect"
    assert warning_text("no_such_warning", {"a": 1}).startswith("no_such_warning")
    assert warning_text("more_overlaps", {}).startswith("more_overlaps")
