"""Fan-out benchmark: one controller, N agents (real protocol, download, cache and file
sink code; all agents in this process), announcements to every node.

Times are taken from the nodes' own reports (event timestamps and plays.jsonl), which
share this machine's clock, against the wall time just before each POST.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

from loa.bench.stats import summary
from loa.stack import NodeSpec, Stack, StackOptions, ZoneSpec
from loa.tap import EventTap

SENTENCE = (
    "Ủy ban nhân dân xã thông báo: từ ngày mai, bà con các thôn mang sổ hộ khẩu đến nhà văn hóa "
    "để đăng ký tiêm phòng cho trẻ em dưới năm tuổi, thời gian từ bảy giờ sáng đến mười một giờ trưa. "
)
WORDS_PER_SECOND = 150 / 60  # espeak-ng default rate used by the controller


def _text(seconds: float, round_no: int) -> str:
    words = SENTENCE.split()
    n = max(5, int(seconds * WORDS_PER_SECOND))
    body = " ".join((words * (n // len(words) + 1))[:n])
    return f"Bản tin số {round_no + 1}. {body}."


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _parse(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def _layout(nodes: int, hamlets: int) -> tuple[tuple[ZoneSpec, ...], tuple[NodeSpec, ...]]:
    hamlets = max(1, min(hamlets, nodes))
    zones = [ZoneSpec("xa-bench", "Xã Thử Nghiệm", "commune")]
    zones += [ZoneSpec(f"thon-{h + 1}", f"Thôn {h + 1}", "hamlet", "xa-bench") for h in range(hamlets)]
    specs = tuple(NodeSpec(f"loa-{i + 1:04d}", f"Cụm loa {i + 1}", f"thon-{i % hamlets + 1}") for i in range(nodes))
    return tuple(zones), specs


def run_fanout(*, nodes: int, hamlets: int, rounds: int, speech_seconds: float, lead_s: float, state_dir: Path | None) -> dict:
    from speaker_agent.agent import Agent

    zones, node_specs = _layout(nodes, hamlets)
    with tempfile.TemporaryDirectory(prefix="loa-bench-") as tmp:
        root = state_dir or Path(tmp)
        stack = Stack(StackOptions(
            state_dir=root, zones=zones, nodes=node_specs, realtime_playback=False,
            telemetry_interval_s=60, play_lead_s=lead_s, keepalive_s=30,
        ))
        agents: list[Agent] = []
        tap = None
        try:
            stack.start(agents=False)
            agents = [Agent(stack.agent_settings(n.id)) for n in node_specs]
            for agent in agents:
                agent.start()
            online_s = stack.wait_nodes_online(timeout=120)
            tap = EventTap(stack)
            tap.start()
            cpu0 = _cpu_seconds(stack.controller.pid)
            per_round = [_one_round(stack, tap, node_specs, speech_seconds, r) for r in range(rounds)]
            cpu = _cpu_seconds(stack.controller.pid) - cpu0
        finally:
            if tap is not None:
                tap.stop()
            for agent in agents:
                agent.stop()
            stack.stop()

    ok = [r for r in per_round if r["complete"]]
    skews = [r["start_skew_ms"] for r in ok]
    late = [x for r in ok for x in r["start_late_ms"]]
    return {
        "benchmark": "fanout",
        "nodes": nodes,
        "hamlets": hamlets,
        "rounds": rounds,
        "rounds_complete": len(ok),
        "play_lead_s": lead_s,
        "speech_seconds": summary([r["duration_ms"] / 1000 for r in per_round], 2),
        "nodes_online_after_start_s": round(online_s, 2),
        "post_seconds": summary([r["post_s"] for r in per_round], 3),
        "post_to_all_ready_s": summary([r["all_ready_s"] for r in ok], 3),
        "post_to_all_started_s": summary([r["all_started_s"] for r in ok], 3),
        "start_skew_across_nodes_ms": summary(skews, 2),
        "start_late_vs_play_at_ms": summary(late, 2),
        "audio_bytes_per_minute": round(sum(r["bytes_per_minute"] for r in per_round) / len(per_round)),
        "controller_cpu_s": round(cpu, 2),
        "controller_cpu_s_per_announcement": round(cpu / rounds, 3),
    }


def _one_round(stack: Stack, tap, node_specs, speech_seconds: float, round_no: int) -> dict:
    """POST one announcement to all nodes; collect when each got ready and started."""
    t0 = time.time()
    with stack.api() as api:
        r = api.post("/api/v1/announcements", json={"text": _text(speech_seconds, round_no), "targets": {"all": True}})
    post_s = time.time() - t0
    r.raise_for_status()
    created = r.json()
    ann = created["id"]
    ids = [n.id for n in node_specs]
    deadline = time.monotonic() + 60
    for node in ids:
        tap.wait_for(node, "started", ann, timeout=max(0.1, deadline - time.monotonic()))
    ready = [e.at.timestamp() for e in tap.events_for(ann) if e.event.value == "ready"]
    starts = {}
    for node in ids:
        for play in stack.plays(node):
            if play["announcement"] == ann:
                starts[node] = _parse(play["started_at"])
    play_at = _parse(created["play_at"])
    complete = len(starts) == len(ids) and len(ready) >= len(ids)
    return {
        "complete": complete,
        "post_s": post_s,
        "duration_ms": created["audio"]["duration_ms"],
        "bytes_per_minute": created["audio"]["size"] / (created["audio"]["duration_ms"] / 60000),
        "all_ready_s": (max(ready) - t0) if ready else float("nan"),
        "all_started_s": (max(starts.values()) - t0) if starts else float("nan"),
        "start_skew_ms": ((max(starts.values()) - min(starts.values())) * 1000) if starts else float("nan"),
        "start_late_ms": [(s - play_at) * 1000 for s in starts.values()],
    }
