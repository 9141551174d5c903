"""Programme benchmark: start skew of one scheduled play over many nodes, and how fast an
emergency cuts into a normal play.

Preemption latency is measured per node from just before the emergency's POST (the
official presses "send") to the moment the node stopped the normal play, as written in
its plays.jsonl; the emergency's own start is reported beside it.

So that the figure can be attributed, the report says how the emergency's audio
travelled: how many of its commands carried the audio inline (seen on the command
topics) and how many HTTP requests for its file reached the controller (its access log).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from loa.bench.commands import CommandTap
from loa.bench.fanout import bulletin_text
from loa.bench.stats import summary
from loa.bench.system import bench_system, parse_ts

EMERGENCY = "Khẩn cấp: bão số chín sắp đổ bộ, bà con khẩn trương vào nơi trú ẩn an toàn."


def run_programme(
    *, nodes: int, hamlets: int, rounds: int, lead_s: float, state_dir: Path | None, node_procs: int,
    node_realtime: bool = True, schedule_ahead_s: float = 20.0, inline_audio_max_bytes: int | None = None,
    emergency_rounds: int | None = None,
) -> dict:
    env = {} if inline_audio_max_bytes is None else {"LOA_INLINE_AUDIO_MAX_BYTES": str(inline_audio_max_bytes)}
    with bench_system(nodes=nodes, hamlets=hamlets, node_procs=node_procs, node_realtime=node_realtime,
                      lead_s=lead_s, state_dir=state_dir, controller_env=env) as system:
        ids = [n.id for n in system.node_specs]
        cmd_tap = CommandTap(system.stack)
        cmd_tap.start()
        try:
            scheduled = [_scheduled_round(system, ids, schedule_ahead_s, r) for r in range(rounds)]
            preempt = [_preemption_round(system, ids, r) for r in range(rounds if emergency_rounds is None else emergency_rounds)]
            audio = _emergency_audio(system.stack, cmd_tap, preempt)
        finally:
            cmd_tap.stop()
    late = [x for r in scheduled for x in r["late_ms"]]
    return {
        "benchmark": "programme",
        "nodes": nodes,
        "rounds": rounds,
        "emergency_rounds": len(preempt),
        "node_processes": system.node_processes,
        "node_scheduling": system.scheduling,
        "scheduled_plays_complete": sum(r["complete"] for r in scheduled),
        "scheduled_start_skew_ms": summary([r["skew_ms"] for r in scheduled if r["complete"]], 2),
        "scheduled_start_late_vs_play_at_ms": summary(late, 2),
        "preemption_rounds_complete": sum(r["complete"] for r in preempt),
        "emergency_post_s": summary([r["post_s"] for r in preempt], 3),
        "preemption_latency_s": summary([x for r in preempt for x in r["stop_s"]], 3),
        "emergency_start_after_post_s": summary([x for r in preempt for x in r["emergency_start_s"]], 3),
        # Where the time goes, from the emergency's POST: stored (play_at fixed), play_at,
        # each node's `received` (command in) and `ready` (audio downloaded and verified).
        "emergency_stored_s": summary([r["stored_s"] for r in preempt], 3),
        "emergency_play_at_s": summary([r["play_at_s"] for r in preempt], 3),
        "emergency_received_s": summary([x for r in preempt for x in r["received_s"]], 3),
        "emergency_ready_s": summary([x for r in preempt for x in r["ready_s"]], 3),
        "inline_audio_max_bytes": inline_audio_max_bytes if inline_audio_max_bytes is not None else "controller default",
        "emergency_audio": audio,
    }


def _emergency_audio(stack, cmd_tap: CommandTap, preempt: list[dict]) -> dict:
    """How each emergency's audio reached the nodes: inline in its commands, or over HTTP."""
    log = (stack.dir / "logs" / "controller.log").read_text(errors="replace")
    requests = [line for line in log.splitlines() if "GET /audio/" in line]
    seen = [c for r in preempt for c in cmd_tap.for_announcement(r["announcement"])]
    return {
        "audio_bytes": [r["audio_size"] for r in preempt],
        "commands": len(seen),
        "commands_with_inline_audio": sum(c.inline for c in seen),
        "largest_command_bytes": max((c.envelope_bytes for c in seen), default=0),
        "http_requests_for_emergency_audio": sum(
            1 for line in requests for r in preempt if f"/audio/{r['audio_sha256']}.opus" in line
        ),
    }


def _post(stack, body: dict) -> dict:
    with stack.api() as api:
        r = api.post("/api/v1/announcements", json=body)
    r.raise_for_status()
    return r.json()


def _plays(stack, ids, ann: int) -> dict[str, list[dict]]:
    return {n: [p for p in stack.plays(n) if p.get("announcement") == ann] for n in ids}


def _wait_all(tap, ids, event: str, ann: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    return all(tap.wait_for(n, event, ann, timeout=max(0.1, deadline - time.monotonic())) for n in ids)


def _scheduled_round(system, ids, ahead_s: float, round_no: int) -> dict:
    air = datetime.now(UTC) + timedelta(seconds=ahead_s)
    created = _post(system.stack, {
        "text": f"Lịch phát thanh số {round_no + 1}: họp thôn lúc mười chín giờ.",
        "targets": {"all": True},
        "schedule": {"at": air.isoformat()},
    })
    complete = _wait_all(system.tap, ids, "finished", created["id"], ahead_s + 60)
    starts = [parse_ts(p["started_at"]) for plays in _plays(system.stack, ids, created["id"]).values() for p in plays]
    return {
        "complete": complete and len(starts) == len(ids),
        "skew_ms": (max(starts) - min(starts)) * 1000 if starts else float("nan"),
        "late_ms": [(s - air.timestamp()) * 1000 for s in starts],
    }


def _preemption_round(system, ids, round_no: int) -> dict:
    stack, tap = system.stack, system.tap
    normal = _post(stack, {"text": bulletin_text(30, 100 + round_no), "targets": {"all": True}})
    _wait_all(tap, ids, "started", normal["id"], 60)
    time.sleep(1.0)
    t0 = time.time()
    emergency = _post(stack, {"text": f"{EMERGENCY} Lần {round_no + 1}.", "targets": {"all": True}, "priority": "emergency"})
    post_s = time.time() - t0
    complete = _wait_all(tap, ids, "finished", emergency["id"], 60)
    # The interrupted play would restart after the emergency (documented policy); the
    # benchmark withdraws it so the next round starts from silence.
    with stack.api() as api:
        api.post(f"/api/v1/announcements/{normal['id']}/cancel")
    _wait_all(tap, ids, "cancelled", normal["id"], 30)
    stopped = [
        parse_ts(p["finished_at"]) - t0
        for plays in _plays(stack, ids, normal["id"]).values()
        for p in plays if p["outcome"] == "preempted"
    ]
    e_starts = [
        parse_ts(p["started_at"]) - t0 for plays in _plays(stack, ids, emergency["id"]).values() for p in plays
    ]
    events = tap.events_for(emergency["id"])
    return {
        "announcement": emergency["id"],
        "audio_sha256": emergency["audio"]["sha256"],
        "audio_size": emergency["audio"]["size"],
        "stored_s": parse_ts(emergency["created_at"]) - t0,
        "play_at_s": parse_ts(emergency["play_at"]) - t0,
        "received_s": [e.at.timestamp() - t0 for e in events if e.event.value == "received"],
        "ready_s": [e.at.timestamp() - t0 for e in events if e.event.value == "ready"],
        "complete": complete and len(stopped) == len(ids),
        "post_s": post_s,
        "stop_s": stopped,
        "emergency_start_s": e_starts,
    }
