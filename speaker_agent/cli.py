"""`loa agent run --config PATH`: run one speaker agent until SIGTERM or Ctrl-C.

The only place with process-wide concerns (logging set-up, signal handlers, exit
codes), so that `Agent` itself stays embeddable. Configuration mistakes end with one
line on stderr and exit code 2 - a technician reading `journalctl` needs the cause,
not a traceback.

A `restart` command ends here too: the agent stops exactly as on SIGTERM (retained
`offline`, staged plays kept on disk), then the process replaces itself with the
same program and arguments (`os.execv` of `sys.orig_argv`). The PID stays the same,
so systemd (Type=simple) and the demo/test `Stack` (which holds a Popen) keep
tracking it, and nothing depends on a service manager's restart policy. The replay
guard has stored the command's id before the agent acted on it, so a redelivered or
replayed restart is refused after the re-exec: no restart loop.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

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


def restart_argv() -> list[str]:
    """The command line this process was started with, interpreter options included."""
    return [sys.executable, *sys.orig_argv[1:]]


def main(
    argv: list[str] | None = None,
    *,
    exec_fn: Callable[[str, list[str]], Any] = os.execv,
    make_agent: Callable[..., Any] | None = None,
) -> int:
    """Run until a signal (exit 0) or a restart command (re-exec with `exec_fn`).

    `exec_fn` and `make_agent` (called like `Agent(settings, on_restart=...)`) are
    replaced in tests, which must not re-exec the test process.
    """
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Imported here so `loa agent --help` works even where paho is missing.
    from speaker_agent.agent import Agent

    stop = threading.Event()
    restart = threading.Event()

    def _on_restart() -> None:  # on the MQTT thread: only flag it, the main thread acts
        restart.set()
        stop.set()

    try:
        settings = load_settings(args.config)
        agent = (make_agent or Agent)(settings, on_restart=_on_restart)
    except (ConfigError, OSError) as exc:
        print(f"loa agent: {exc}", file=sys.stderr)
        return 2

    received: list[int] = []

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)  # no logging here: a handler must not take the logging lock
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        agent.start()
        while not stop.wait(1.0):
            pass
        if received or not restart.is_set():
            restart.clear()  # a signal wins: stop means stop
            log.info("received %s; stopping", signal.Signals(received[0]).name if received else "stop")
    finally:
        agent.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if restart.is_set():
        new_argv = restart_argv()
        log.warning("restart command: re-executing %s", " ".join(new_argv))
        for handler in logging.getLogger().handlers:
            handler.flush()
        exec_fn(new_argv[0], new_argv)
    return 0


__all__ = ["main"]
