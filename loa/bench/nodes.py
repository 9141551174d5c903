"""A process that runs many simulated speaker nodes (real Agent code, file sink).

A real node is one agent on its own Pi. Simulating a hundred in one Python process
would measure the interpreter's lock, not Loa: at air time every agent wakes at once
and queues for the GIL. The fan-out benchmark therefore spreads its nodes over a few
of these processes; within each, the agents are exactly what runs on a Pi.

Run as `python -m loa.bench.nodes CONFIG.toml ...`; stops on SIGTERM or when stdin closes.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path


def main(argv: list[str]) -> int:
    from speaker_agent.agent import Agent
    from speaker_agent.config import load_settings

    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    # Shorter GIL hand-offs: several agents share this process, unlike on a Pi.
    sys.setswitchinterval(0.0005)
    scheduling = "normal"
    if os.environ.get("LOA_BENCH_NODE_RT") == "1":
        # Each real node has its own CPU at air time; here a hundred share two cores with
        # the controller. Real-time scheduling of the node processes stands in for that.
        try:
            os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(10))
            scheduling = "SCHED_RR"
        except (PermissionError, OSError):
            pass
    agents = [Agent(load_settings(Path(p))) for p in argv]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    for agent in agents:
        agent.start()
    print(f"started {scheduling}", flush=True)
    stop.wait()
    for agent in agents:
        agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
