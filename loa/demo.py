"""`loa demo`: the whole system on one machine, for a first look and for trying the API.

Brings up Mosquitto (generated config with per-node accounts and ACL), the controller
on SQLite and three simulated speaker nodes in two hamlets of one commune, each playing
into a file sink. Ctrl-C stops everything; the state directory is kept, so a second run
reuses the database, keys and credentials.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path

from loa.stack import DEMO_WEB_USERS, Stack, StackOptions


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="loa demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=8080, help="controller HTTP port on 127.0.0.1 (default 8080)")
    p.add_argument("--token", help="API token to use instead of a generated one (at least 8 characters)")
    p.add_argument("--state-dir", type=Path, default=Path(".loa-demo"), help="where the demo keeps its files (default ./.loa-demo)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.token is not None and len(args.token) < 8:
        print("loa demo: --token must have at least 8 characters")
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    stack = Stack(StackOptions(state_dir=args.state_dir, http_port=args.port, token=args.token))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        print("Starting Mosquitto, the controller and three speaker nodes ...", flush=True)
        stack.start()
        stack.wait_nodes_online(timeout=60)
        _print_welcome(stack)
        stop.wait()
    except (RuntimeError, TimeoutError) as exc:
        print(f"loa demo: {exc}")
        return 1
    finally:
        print("\nStopping ...", flush=True)
        stack.stop()
    return 0


def _print_welcome(stack: Stack) -> None:
    nodes = "\n".join(
        f"    {n.id:<12} {n.zone_id:<10} {n.name}  ->  {stack.dir / 'nodes' / n.id / 'state' / 'plays.jsonl'}"
        for n in stack.opt.nodes
    )
    roles = {username: role for username, role, _ in DEMO_WEB_USERS}
    logins = "\n".join(
        f"    {roles.get(name, '?'):<11} {name:<10} {password}" for name, password in stack.web_users.items()
    )
    print(
        f"""
Loa is running.

  Web app      {stack.url}/login   (Vietnamese; "English" at the top right)
  Logins       role        username   password (random, made for this demo; kept in {stack.dir / 'secrets.json'})
{logins}

  Controller   {stack.url}   (API docs: {stack.url}/docs)
  API token    {stack.token}
  MQTT broker  127.0.0.1:{stack.mqtt_port}   (per-node accounts, see {stack.dir / 'broker'})
  Logs         {stack.dir / 'logs'}

  Nodes (commune xa-an-binh; hamlets thon-dong, thon-tay):
{nodes}

Broadcast to hamlet Thôn Đông:

  curl -s -X POST {stack.url}/api/v1/announcements \\
    -H 'Authorization: Bearer {stack.token}' -H 'Content-Type: application/json' \\
    -d '{{"text": "Thông báo: chiều nay họp thôn lúc ba giờ tại nhà văn hóa.", "voice": "vi", "targets": {{"zones": ["thon-dong"]}}, "priority": "normal"}}'

Then see who played it:   curl -s -H 'Authorization: Bearer {stack.token}' {stack.url}/api/v1/announcements/1

Press Ctrl-C to stop everything.""",
        flush=True,
    )
