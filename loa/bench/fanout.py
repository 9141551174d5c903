"""Fan-out benchmark: one controller, N agents (real protocol, download, cache and file
sink code; all agents in this process), announcements to every node.

Times are taken from the nodes' own reports (event timestamps and plays.jsonl), which
share this machine's clock, against the wall time just before each POST.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
WORDS_PER_SECOND = 3.3  # espeak-ng's Vietnamese voice at the controller's default rate, measured


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


def _start_node_procs(stack: Stack, node_specs, procs: int, realtime: bool) -> tuple[list[subprocess.Popen], set[str]]:
    groups = [node_specs[i::procs] for i in range(max(1, min(procs, len(node_specs))))]
    env = {**os.environ, "LOA_BENCH_NODE_RT": "1" if realtime else "0"}
    started = []
    for g in groups:
        argv = [sys.executable, "-m", "loa.bench.nodes", *(str(stack.agent_config_path(n.id)) for n in g)]
        started.append(
            subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        )
    scheduling = set()
    for p in started:
        word, _, mode = p.stdout.readline().decode().strip().partition(" ")
        if word != "started":
            raise RuntimeError("a node process failed to start")
        scheduling.add(mode)
    return started, scheduling


def run_fanout(
    *, nodes: int, hamlets: int, rounds: int, speech_seconds: float, lead_s: float, state_dir: Path | None,
    node_procs: int, node_realtime: bool = True,
) -> dict:
    zones, node_specs = _layout(nodes, hamlets)
    with tempfile.TemporaryDirectory(prefix="loa-bench-") as tmp:
        root = state_dir or Path(tmp)
        stack = Stack(StackOptions(
            state_dir=root, zones=zones, nodes=node_specs, realtime_playback=True,
            telemetry_interval_s=60, play_lead_s=lead_s, keepalive_s=30,
        ))
        workers: list[subprocess.Popen] = []
        tap = None
        try:
            stack.start(agents=False)
            workers, scheduling = _start_node_procs(stack, node_specs, node_procs, node_realtime)
            # On a real deployment the controller and the broker run on another machine than
            # each node; here they share two cores with every simulated node. Lower their
            # priority so that at air time the nodes' wake-ups are not queued behind the
            # controller ingesting the previous reports.
            for pid in (stack.controller.pid, stack.broker.proc.pid):
                os.setpriority(os.PRIO_PROCESS, pid, 10)
            online_s = stack.wait_nodes_online(timeout=120)
            tap = EventTap(stack)
            tap.start()
            cpu0 = _cpu_seconds(stack.controller.pid)
            per_round = [_one_round(stack, tap, node_specs, speech_seconds, r) for r in range(rounds)]
            cpu = _cpu_seconds(stack.controller.pid) - cpu0
        finally:
            if tap is not None:
                tap.stop()
            for w in workers:
                w.stdin.close()
            for w in workers:
                try:
                    w.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    w.kill()
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
        "node_processes": len(workers),
        "node_scheduling": sorted(scheduling),
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
    # Nodes play in real time and write plays.jsonl when a play ends.
    deadline = time.monotonic() + 60 + created["audio"]["duration_ms"] / 1000
    for node in ids:
        tap.wait_for(node, "finished", ann, timeout=max(0.1, deadline - time.monotonic()))
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
