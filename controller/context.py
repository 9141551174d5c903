"""The running controller's parts, built by `create_app`'s lifespan and shared by the routers.

Kept in its own module so the routers (via `api/deps.py`) and `app.py` can both import
it without importing each other.
"""

from __future__ import annotations

import hmac
import threading
from contextlib import ExitStack
from dataclasses import dataclass, field

from pydantic import SecretStr
from sqlalchemy import Engine

from audio.store import AudioStore
from controller.announce import Announcer
from controller.dispatch import Clock, Publisher
from controller.dispatcher import Dispatcher
from controller.engines import VoiceInfo
from controller.fleet import FleetIngest
from controller.lexicon.compiled import LexiconCache
from controller.live import LiveHub
from controller.settings import ControllerSettings


@dataclass
class AppContext:
    settings: ControllerSettings
    engine: Engine
    announcer: Announcer
    fleet: FleetIngest
    publisher: Publisher
    audio_store: AudioStore
    clock: Clock
    lexicon: LexiconCache
    """The compiled lexicon the speech text filter applies (refreshed on every edit)."""
    voices: tuple[VoiceInfo, ...]
    """The running engine's voices; announcements may use any of them."""
    dispatcher: Dispatcher
    """Publishes scheduled occurrences (ticked by the scheduler; tests call `tick()`)."""
    resources: ExitStack
    """Closes, in reverse order of creation, everything the lifespan started."""
    hub: LiveHub = field(default_factory=LiveHub)
    """Live changes (node health, delivery states) for the dashboard's event stream."""

    def token_ok(self, presented: str | None) -> bool:
        """Constant-time check against every configured token (no early exit)."""
        tokens: list[SecretStr] = self.settings.api_tokens
        if not tokens:
            return True  # development without tokens: settings refuse this in production
        if presented is None:
            return False
        given = presented.encode("utf-8", "surrogateescape")
        ok = False
        for token in tokens:
            ok |= hmac.compare_digest(given, token.get_secret_value().encode())
        return ok

    def mqtt_connected(self) -> bool | None:
        """Whether the MQTT link is up; None when the injected publisher cannot tell."""
        connected = getattr(self.publisher, "connected", None)
        if isinstance(connected, threading.Event):
            return connected.is_set()
        if isinstance(connected, bool):
            return connected
        return None

    def close(self) -> None:
        self.resources.close()


__all__ = ["AppContext"]
