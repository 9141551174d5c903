"""`loa agent run --config PATH`: run one speaker agent until SIGTERM or Ctrl-C.

The only place with process-wide concerns (logging set-up, signal handlers, exit
codes), so that `Agent` itself stays embeddable. Configuration mistakes end with one
line on stderr and exit code 2 - a technician reading `journalctl` needs the cause,
not a traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from speaker_agent.config import ConfigError, load_settings

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loa agent", description="The Loa speaker agent (node daemon).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="run the agent until SIGTERM/SIGINT")
    run.add_argument("--config", type=Path, required=True, help="agent TOML file (LOA_AGENT_* variables override it)")
    run.add_argument(
        "--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, help="logging threshold (default INFO)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Imported here so `loa agent --help` works even where paho is missing.
    from speaker_agent.agent import Agent

    try:
        settings = load_settings(args.config)
        agent = Agent(settings)
    except (ConfigError, OSError) as exc:
        print(f"loa agent: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()
    received: list[int] = []

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)  # no logging here: a handler must not take the logging lock
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        agent.start()
        while not stop.wait(1.0):
            pass
        log.info("received %s; stopping", signal.Signals(received[0]).name if received else "stop")
    finally:
        agent.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


__all__ = ["main"]
