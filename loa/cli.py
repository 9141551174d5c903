"""The `loa` command. Every subcommand imports its package only when it runs, so a
speaker node with only `.[agent]` installed can run `loa agent` without FastAPI."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from loa import __version__


def _agent(argv: list[str]) -> int:
    from speaker_agent.cli import main

    return main(argv)


def _controller(argv: list[str]) -> int:
    from controller.cli import main

    return main(argv)


def _demo(argv: list[str]) -> int:
    from loa.demo import main

    return main(argv)


def _bench(argv: list[str]) -> int:
    from loa.bench.cli import main

    return main(argv)


def _tts(argv: list[str]) -> int:
    from controller.tts_cli import main

    return main(argv)


def _user(argv: list[str]) -> int:
    from controller.user_cli import main

    return main(argv)


def _keys(argv: list[str]) -> int:
    from pathlib import Path

    from protocol.signing import generate_keypair

    parser = argparse.ArgumentParser(prog="loa keys", description="Make the controller's command-signing key pair.")
    parser.add_argument("--private", type=Path, required=True, help="private key file to write (mode 0600)")
    parser.add_argument("--public", type=Path, required=True, help="public key file to copy to every node")
    parser.add_argument("--force", action="store_true", help="overwrite an existing private key")
    args = parser.parse_args(argv)
    if args.private.exists() and not args.force:
        print(f"loa keys: {args.private} exists; pass --force to replace it (every node must then get the new public key)", file=sys.stderr)
        return 2
    kid = generate_keypair(args.private, args.public)
    print(kid)
    return 0


COMMANDS: dict[str, tuple[Callable[[list[str]], int], str]] = {
    "demo": (_demo, "run broker, controller and three simulated nodes on this machine"),
    "controller": (_controller, "run or set up the controller (serve, init-db)"),
    "agent": (_agent, "run a speaker agent (run --config FILE)"),
    "bench": (_bench, "benchmarks that print JSON figures (fanout)"),
    "tts": (_tts, "Vietnamese speech on the command line (normalize, say, voices)"),
    "keys": (_keys, "make the command-signing key pair"),
    "user": (_user, "web app accounts (add, list, passwd, role, disable, enable)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="loa", description="Loa: open smart radio for Vietnamese communes.")
    parser.add_argument("--version", action="version", version=f"loa {__version__}")
    parser.add_argument("command", choices=sorted(COMMANDS), help="; ".join(f"{k}: {v[1]}" for k, v in COMMANDS.items()))
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments of the subcommand (see `loa COMMAND --help`)")
    ns = parser.parse_args(argv)
    handler, _ = COMMANDS[ns.command]
    return handler(ns.args)


if __name__ == "__main__":
    sys.exit(main())
