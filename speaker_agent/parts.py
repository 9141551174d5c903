"""The agent's replaceable parts, built from its settings: the signature verifier and the player.

Kept apart from `agent` so a test, the benchmark or another front end can build an
`Agent` with its own player or keys without reading the agent's wiring.
"""

from __future__ import annotations

from pathlib import Path

from protocol.signing import Verifier, load_public_key
from speaker_agent.clock import Clock
from speaker_agent.config import AgentSettings, ConfigError
from speaker_agent.alsa import AlsaPlayer
from speaker_agent.player import FileSinkPlayer, Player


def load_verifier(settings: AgentSettings) -> Verifier:
    """A verifier trusting the controller keys in settings.public_key_files."""
    if not settings.public_key_files:
        raise ConfigError("public_key_files is empty: the agent needs the controller's public key")
    keys = []
    for path in settings.public_key_files:
        try:
            keys.append(load_public_key(Path(path)))
        except OSError as exc:
            raise ConfigError(f"cannot read public key {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise ConfigError(f"public key {path} is unusable: {exc}") from None
    return Verifier(keys)


def make_player(settings: AgentSettings, clock: Clock) -> Player:
    if settings.player.backend == "alsa":
        return AlsaPlayer(device=settings.player.alsa_device, volume=settings.volume, clock=clock)
    return FileSinkPlayer(
        settings.state_dir, node_id=settings.node_id, realtime=settings.player.realtime, clock=clock,
        volume=settings.volume,
    )


__all__ = ["load_verifier", "make_player"]
