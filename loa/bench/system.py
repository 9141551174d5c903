"""The system every load benchmark runs: broker, controller and N simulated nodes.

Nodes run in a few separate processes (see loa/bench/nodes.py for why), each agent
exactly the code a Pi runs, with the file sink as its speaker.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from loa.stack import NodeSpec, Stack, StackOptions, ZoneSpec
from loa.tap import EventTap


@dataclass
class BenchSystem:
    stack: Stack
    tap: EventTap
    node_specs: tuple[NodeSpec, ...]
    online_s: float
    node_processes: int
    scheduling: list[str] = field(default_factory=list)


def parse_ts(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


@contextmanager
def bench_system(
    *, nodes: int, hamlets: int, node_procs: int, node_realtime: bool, lead_s: float, state_dir: Path | None,
    controller_env: dict[str, str] | None = None,
) -> Iterator[BenchSystem]:
    """`controller_env`: extra LOA_* settings for the controller (e.g. to compare a feature off and on)."""
    zones, node_specs = _layout(nodes, hamlets)
    with tempfile.TemporaryDirectory(prefix="loa-bench-") as tmp:
        stack = Stack(StackOptions(
            state_dir=state_dir or Path(tmp), zones=zones, nodes=node_specs, realtime_playback=True,
            telemetry_interval_s=60, play_lead_s=lead_s, keepalive_s=30, controller_env=dict(controller_env or {}),
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
            yield BenchSystem(stack, tap, node_specs, online_s, len(workers), sorted(scheduling))
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
