"""End-to-end broadcasts through real Mosquitto, controller and agent processes."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

pytestmark = pytest.mark.integration

TEXT = "Thông báo của ủy ban nhân dân xã: chiều nay họp thôn lúc ba giờ tại nhà văn hóa."


def post(stack, **body) -> dict:
    body.setdefault("text", TEXT)
    with stack.api() as api:
        r = api.post("/api/v1/announcements", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def wait_states(stack, ann_id: int, wanted: set[str], timeout: float = 30) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    with stack.api() as api:
        while True:
            got = api.get(f"/api/v1/announcements/{ann_id}").json()
            states = {d["node_id"]: d["state"] for d in got["deliveries"]}
            if set(states.values()) <= wanted or time.monotonic() > deadline:
                return states
            time.sleep(0.2)


def test_hamlet_broadcast_plays_on_exactly_that_hamlets_nodes(stack, tap):
    created = post(stack, voice="vi", targets={"zones": ["thon-dong"]}, priority="normal")
    ann = created["id"]
    assert created["audio"]["sha256"] and created["audio"]["duration_ms"] > 2000

    states = wait_states(stack, ann, {"finished"}, timeout=20 + created["audio"]["duration_ms"] / 1000)
    assert states == {"thon-dong-1": "finished", "thon-dong-2": "finished"}

    for node in ("thon-dong-1", "thon-dong-2"):
        plays = [p for p in stack.plays(node) if p["announcement"] == ann]
        assert len(plays) == 1, plays
        assert plays[0]["node"] == node and plays[0]["sha256"] == created["audio"]["sha256"]
        assert plays[0]["started_at"] <= plays[0]["finished_at"]
        assert tap.of(node, ann)[:4] == ["received", "ready", "started", "finished"]
    assert stack.plays("thon-tay-1") == []
    assert tap.of("thon-tay-1") == []


def test_node_offline_at_send_plays_if_back_before_expiry(stack, tap):
    stack.stop_agent("thon-tay-1")
    stack.wait_nodes_online(["thon-tay-1"], online=False, timeout=15)
    created = post(stack, targets={"all": True}, expires_in_s=60)
    time.sleep(1.0)
    stack.start_agent("thon-tay-1")
    assert tap.wait_for("thon-tay-1", "finished", created["id"], timeout=40)
    assert [p["announcement"] for p in stack.plays("thon-tay-1")] == [created["id"]]
    states = wait_states(stack, created["id"], {"finished"})
    assert set(states.values()) == {"finished"} and len(states) == 3


def test_node_back_after_expiry_does_not_play_and_reports_expired(stack, tap):
    stack.stop_agent("thon-tay-1")
    stack.wait_nodes_online(["thon-tay-1"], online=False, timeout=15)
    created = post(stack, targets={"zones": ["thon-tay"]}, expires_in_s=10)
    time.sleep(11.0)
    stack.start_agent("thon-tay-1")
    assert tap.wait_for("thon-tay-1", "expired", created["id"], timeout=30)
    assert "started" not in tap.of("thon-tay-1", created["id"])
    assert stack.plays("thon-tay-1") == []
    assert wait_states(stack, created["id"], {"expired"}) == {"thon-tay-1": "expired"}


def test_broker_restart_nodes_reconnect_and_next_broadcast_arrives(stack, tap):
    stack.broker.restart()
    time.sleep(0.5)
    stack.wait_nodes_online(timeout=45)
    created = post(stack, targets={"zones": ["xa-an-binh"]})
    states = wait_states(stack, created["id"], {"finished"}, timeout=45)
    assert states == {"thon-dong-1": "finished", "thon-dong-2": "finished", "thon-tay-1": "finished"}


@pytest.mark.parametrize("keepalive", [2])
def test_killed_node_shown_offline_within_one_and_a_half_keepalives(stack_options, keepalive, tmp_path):
    from loa.stack import Stack

    stack_options.keepalive_s = keepalive
    stack_options.telemetry_interval_s = 60  # only keepalive pings reach the broker
    with Stack(stack_options) as stack:
        stack.wait_nodes_online(timeout=60)
        time.sleep(keepalive)  # let the keepalive rhythm settle
        t0 = time.monotonic()
        stack.stop_agent("thon-dong-2", kill=True)
        waited = stack.wait_nodes_online(["thon-dong-2"], online=False, timeout=10 * keepalive)
        elapsed = time.monotonic() - t0
        # The broker fires the last will 1.5 x keepalive after the last packet it got,
        # which was at or before the kill; poll interval and processing add a little.
        assert elapsed <= 1.5 * keepalive + 0.5, (elapsed, waited)
        with stack.api() as api:
            nodes = {n["id"]: n for n in api.get("/api/v1/nodes").json()["items"]}
        assert nodes["thon-dong-1"]["online"] is True and nodes["thon-dong-2"]["online"] is False


def test_served_audio_is_mono_opus_at_the_loudness_target(stack, tmp_path):
    created = post(stack, targets={"nodes": ["thon-tay-1"]})
    with stack.api() as api:
        data = api.get(created["audio"]["url"].removeprefix(stack.url)).content
    path = tmp_path / "a.opus"
    path.write_bytes(data)
    probe = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
            check=True, capture_output=True, text=True,
        ).stdout
    )
    stream = probe["streams"][0]
    assert stream["codec_name"] == "opus" and stream["channels"] == 1
    bitrate = int(probe["format"]["bit_rate"])
    assert 12_000 <= bitrate <= 40_000, bitrate
    out = subprocess.run(
        ["ffmpeg", "-nostats", "-hide_banner", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr
    summary = out[out.rindex("Summary:"):]
    lufs = float(summary.split("I:")[1].split("LUFS")[0])
    assert abs(lufs - (-16.0)) <= 1.0, lufs
