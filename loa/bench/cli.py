"""`loa bench ...`: each benchmark prints one JSON document on stdout."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loa bench")
    sub = parser.add_subparsers(dest="name", required=True)
    fan = sub.add_parser("fanout", help="POST -> all nodes ready/started, start skew, bytes, controller CPU")
    fan.add_argument("--nodes", type=int, default=100)
    fan.add_argument("--hamlets", type=int, default=10, help="hamlets the nodes are spread over")
    fan.add_argument("--rounds", type=int, default=10, help="announcements to send, one after another")
    fan.add_argument("--speech-seconds", type=float, default=30.0, help="approximate length of each announcement")
    fan.add_argument("--lead", type=float, default=3.0, help="controller play_lead_s")
    fan.add_argument("--node-procs", type=int, default=10, help="processes the simulated nodes are spread over")
    fan.add_argument("--normal-priority", action="store_true",
                     help="run node processes at normal priority instead of SCHED_RR (see docs/benchmarks.md)")
    fan.add_argument("--state-dir", type=Path, default=None, help="keep files here (default: a temp dir)")
    prog = sub.add_parser("programme", help="scheduled-play start skew and emergency preemption latency")
    prog.add_argument("--nodes", type=int, default=200)
    prog.add_argument("--hamlets", type=int, default=20)
    prog.add_argument("--rounds", type=int, default=3)
    prog.add_argument("--emergency-rounds", type=int, default=None,
                      help="preemption rounds (default: --rounds; 0 measures only the scheduled start skew)")
    prog.add_argument("--lead", type=float, default=3.0, help="controller play_lead_s")
    prog.add_argument("--node-procs", type=int, default=10)
    prog.add_argument("--normal-priority", action="store_true")
    prog.add_argument("--state-dir", type=Path, default=None)
    prog.add_argument("--inline-audio-max-bytes", type=int, default=None,
                      help="controller LOA_INLINE_AUDIO_MAX_BYTES (default: the controller's; 0 = emergencies "
                      "download their audio, as before inline audio)")
    ply = sub.add_parser("player", help="ALSA player: first sound after the start, ffmpeg started then or armed ahead")
    ply.add_argument("--rounds", type=int, default=20)
    tts = sub.add_parser("tts", help="normalise + synthesise + loudness + encode, cold and cached")
    tts.add_argument("--seconds", type=float, default=60.0, help="approximate speech length per render")
    tts.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    if args.name == "fanout":
        from loa.bench.fanout import run_fanout

        result = run_fanout(
            nodes=args.nodes, hamlets=args.hamlets, rounds=args.rounds,
            speech_seconds=args.speech_seconds, lead_s=args.lead, state_dir=args.state_dir,
            node_procs=args.node_procs, node_realtime=not args.normal_priority,
        )
    elif args.name == "programme":
        from loa.bench.programme import run_programme

        result = run_programme(
            nodes=args.nodes, hamlets=args.hamlets, rounds=args.rounds, lead_s=args.lead,
            state_dir=args.state_dir, node_procs=args.node_procs, node_realtime=not args.normal_priority,
            inline_audio_max_bytes=args.inline_audio_max_bytes, emergency_rounds=args.emergency_rounds,
        )
    elif args.name == "player":
        from loa.bench.player import run_player

        result = run_player(rounds=args.rounds)
    else:
        from loa.bench.tts import run_tts

        result = run_tts(seconds=args.seconds, rounds=args.rounds)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
