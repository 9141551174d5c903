"""Fan-out benchmark: one controller, N agents (real protocol, download, cache and file
sink code; all agents in this process), announcements to every node.

Times are taken from the nodes' own reports (event timestamps and plays.jsonl), which
share this machine's clock, against the wall time just before each POST.
"""

from __future__ import annotations

import time
from pathlib import Path

from loa.bench.stats import summary
from loa.bench.system import bench_system, cpu_seconds, parse_ts
from loa.stack import Stack

SENTENCE = (
    "Ủy ban nhân dân xã thông báo: từ ngày mai, bà con các thôn mang sổ hộ khẩu đến nhà văn hóa "
    "để đăng ký tiêm phòng cho trẻ em dưới năm tuổi, thời gian từ bảy giờ sáng đến mười một giờ trưa. "
)
WORDS_PER_SECOND = 3.3  # espeak-ng's Vietnamese voice at the controller's default rate, measured


def bulletin_text(seconds: float, round_no: int) -> str:
    words = SENTENCE.split()
    n = max(5, int(seconds * WORDS_PER_SECOND))
    body = " ".join((words * (n // len(words) + 1))[:n])
    return f"Bản tin số {round_no + 1}. {body}."


def run_fanout(
    *, nodes: int, hamlets: int, rounds: int, speech_seconds: float, lead_s: float, state_dir: Path | None,
    node_procs: int, node_realtime: bool = True,
) -> dict:
    with bench_system(nodes=nodes, hamlets=hamlets, node_procs=node_procs, node_realtime=node_realtime,
                      lead_s=lead_s, state_dir=state_dir) as system:
        stack, tap, node_specs = system.stack, system.tap, system.node_specs
        cpu0 = cpu_seconds(stack.controller.pid)
        per_round = [_one_round(stack, tap, node_specs, speech_seconds, r) for r in range(rounds)]
        cpu = cpu_seconds(stack.controller.pid) - cpu0

    ok = [r for r in per_round if r["complete"]]
    skews = [r["start_skew_ms"] for r in ok]
    late = [x for r in ok for x in r["start_late_ms"]]
    return {
        "benchmark": "fanout",
        "nodes": nodes,
        "hamlets": hamlets,
        "rounds": rounds,
        "rounds_complete": len(ok),
        "node_processes": system.node_processes,
        "node_scheduling": system.scheduling,
        "play_lead_s": lead_s,
        "speech_seconds": summary([r["duration_ms"] / 1000 for r in per_round], 2),
        "nodes_online_after_start_s": round(system.online_s, 2),
        "post_seconds": summary([r["post_s"] for r in per_round], 3),
        "post_to_all_ready_s": summary([r["all_ready_s"] for r in ok], 3),
        "post_response_to_all_ready_s": summary([r["all_ready_s"] - r["post_s"] for r in ok], 3),
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
        r = api.post("/api/v1/announcements", json={"text": bulletin_text(speech_seconds, round_no), "targets": {"all": True}})
    post_s = time.time() - t0
    r.raise_for_status()
    created = r.json()
    ann = created["id"]
    ids = [n.id for n in node_specs]
    # Nodes play in real time and write plays.jsonl when a play ends.
    deadline = time.monotonic() + 60 + created["audio"]["duration_ms"] / 1000
    for node in ids:
        tap.wait_for(node, "finished", ann, timeout=max(0.1, deadline - time.monotonic()))
    ready = [e.at.timestamp() for e in tap.events_for(ann) if e.event.value == "ready"]
    starts = {}
    for node in ids:
        for play in stack.plays(node):
            if play["announcement"] == ann:
                starts[node] = parse_ts(play["started_at"])
    play_at = parse_ts(created["play_at"])
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
