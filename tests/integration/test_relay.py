"""A relay (tiếp sóng) scheduled through the API, played by a real agent from a local
live stream for its window, interrupted by an emergency and resumed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.integration.test_broadcast import post
from tests.speaker_agent.streams import LiveStream, duration_s, make_tone

pytestmark = pytest.mark.integration


def test_relay_plays_its_window_and_yields_to_an_emergency(stack, tap, tmp_path):
    tone = make_tone(tmp_path / "tone.mp3")
    with LiveStream(tone) as stream:
        start = datetime.now(UTC) + timedelta(seconds=3)
        end = start + timedelta(seconds=12)
        vn = ZoneInfo("Asia/Ho_Chi_Minh")
        with stack.api() as api:
            r = api.post("/api/v1/relays", json={
                "url": stream.url, "targets": {"zones": ["thon-tay"]},
                "start_at": start.astimezone(vn).isoformat(), "end_at": end.astimezone(vn).isoformat(),
                "title": "Tiếp sóng Đài Phát thanh tỉnh",
            })
        assert r.status_code == 201, r.text
        relay_id = r.json()["relay_id"]
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 2.0)
        emergency = post(stack, text="Khẩn cấp: nước lũ đang lên, bà con di chuyển lên chỗ cao.",
                         targets={"zones": ["thon-tay"]}, priority="emergency")
        assert tap.wait_for("thon-tay-1", "finished", emergency["id"], timeout=30)
        time.sleep(max(0.0, (end - datetime.now(UTC)).total_seconds()) + 3.0)
    records = stack.plays("thon-tay-1")
    relay_runs = [r for r in records if r.get("relay") == relay_id]
    assert [r["outcome"] for r in relay_runs] == ["preempted", "finished"], records
    e_play = next(r for r in records if r.get("announcement") == emergency["id"])
    assert relay_runs[0]["finished_at"] <= e_play["started_at"] <= relay_runs[1]["started_at"]
    recorded = sum(duration_s(stack.dir / "nodes" / "thon-tay-1" / "state" / "relays" / f) for r in relay_runs for f in r["files"])
    window = (end - start).total_seconds()
    assert window - 6 < recorded <= window + 1, recorded  # minus the emergency and the reconnects
    assert all(r.get("relay") != relay_id for n in ("thon-dong-1", "thon-dong-2") for r in stack.plays(n))
