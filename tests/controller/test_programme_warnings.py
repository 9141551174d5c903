"""Conflict warnings from the programme as data: the API's English sentences and the
Vietnamese the web UI shows come from the same codes and parameters."""

from __future__ import annotations

from controller.models import Announcement
from controller.programme import MAX_WARNINGS, conflict_details, conflict_warnings
from controller.topology import ZoneTree
from tests.controller.conftest import Env
from tests.controller.programme_helpers import schedule


def test_details_match_the_api_sentences_and_speak_vietnamese(env: Env) -> None:
    commune = schedule(env, {"kind": "daily", "times": ["06:00"], "start_date": "2025-07-02"},
                       targets={"zones": ["xa-an-binh"]})  # fmt: skip
    hamlet = schedule(env, {"at": "2025-07-03T06:00:00+07:00"}, priority="emergency")
    with env.session() as s:
        ann = s.get(Announcement, hamlet["id"])
        assert ann is not None
        tree = ZoneTree.load(s)
        details = conflict_details(s, ann, tree, env.clock())
        english = conflict_warnings(s, ann, tree, env.clock())
    (w,) = details
    assert english == hamlet["warnings"] == [w.text("en")]
    assert w.code == "overlap" and w.params["effect"] == "existing_waits_for_emergency"
    assert w.params["existing"] == f"{commune['id']}:2025-07-03T06:00+07:00#1"
    assert w.params["zones"] == ["thon-dong"] and w.params["start_at"] == "2025-07-02T23:00:00+00:00"
    vi = w.text("vi")
    assert vi.startswith(f"Lượt phát {hamlet['id']}:") and "trùng với lượt phát thường" in vi
    assert "lượt kia chờ đến khi bản tin khẩn cấp này kết thúc" in vi and "tại thon-dong" in vi and "từ 2025-07-03 06:00:00" in vi


def test_more_than_the_limit_is_summarised_in_both_languages(env: Env) -> None:
    times = [f"{h:02d}:{m:02d}" for h in (6, 7) for m in range(0, 60, 5)]  # 24 plays a day
    schedule(env, {"kind": "daily", "times": times, "start_date": "2025-07-02"})
    again = schedule(env, {"kind": "daily", "times": times, "start_date": "2025-07-02"})
    assert len(again["warnings"]) == MAX_WARNINGS + 1
    with env.session() as s:
        ann = s.get(Announcement, again["id"])
        assert ann is not None
        details = conflict_details(s, ann, ZoneTree.load(s), env.clock())
    last = details[-1]
    assert last.code == "more_overlaps" and last.params["count"] > 0
    assert again["warnings"][-1] == last.text("en") == f"... and {last.params['count']} more overlaps"
    assert last.text("vi") == f"... và {last.params['count']} chỗ trùng khác"
