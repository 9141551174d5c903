"""The Loa speaker agent: the daemon on each hamlet's Raspberry Pi speaker cluster.

It authenticates signed commands from the controller (`guard`), downloads and verifies
the audio (`fetch`, `cache`), keeps the upcoming plays on its own timeline and starts
them from its own clock (`timeline`, `player`), and reports what happened and how the
node is doing (`health`). `agent.Agent` wires these together over `protocol.link`.

Only the standard library, pydantic(-settings), paho (via `protocol.link`),
cryptography (via `protocol.signing`) and `protocol` may be imported here: a Pi
installs `loa[agent]` and nothing else.
"""

from __future__ import annotations

from importlib import metadata


def agent_version() -> str:
    """Installed version of the `loa` distribution; "0.0.0" when run from a bare checkout.

    Read from package metadata rather than `loa.__version__` because the `loa` package
    (the CLI and demo tooling) is not guaranteed to be importable on a node.
    """
    try:
        return metadata.version("loa")
    except metadata.PackageNotFoundError:
        return "0.0.0"


__all__ = ["agent_version"]
