"""Staging of a "play now" announcement.

"Now" cannot mean the instant of publishing: nodes on 4G links need time to fetch the
audio, and a commune wants every hamlet to start together. A play is therefore staged
a short lead ahead and every node starts it from its own clock at `play_at`; its
command expires `ttl` after issue, so a node that comes back later stays silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_TTL_S = 10
MAX_TTL_S = 24 * 3600


@dataclass(frozen=True)
class Staging:
    issued_at: datetime
    play_at: datetime
    expires_at: datetime


def stage_now(now: datetime, *, lead_s: float, ttl_s: float) -> Staging:
    """Times for a play that should start as soon as every node can have it."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if lead_s < 0:
        raise ValueError("lead_s must not be negative")
    if not MIN_TTL_S <= ttl_s <= MAX_TTL_S:
        raise ValueError(f"ttl_s must be within [{MIN_TTL_S}, {MAX_TTL_S}]")
    if ttl_s <= lead_s:
        raise ValueError(f"ttl_s ({ttl_s}) must be longer than the lead ({lead_s}): the play would expire before air")
    play_at = now + timedelta(seconds=lead_s)
    expires_at = now + timedelta(seconds=ttl_s)
    return Staging(issued_at=now, play_at=play_at, expires_at=expires_at)
