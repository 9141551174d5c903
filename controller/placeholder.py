"""Telling generated secrets from hand-typed ones.

Its own module because both settings classes (`ControllerSettings` and the speech
settings it extends, which `loa tts` also uses) refuse placeholders in production.
"""

from __future__ import annotations

import re

_PLACEHOLDER_WORDS = ("changeme", "placeholder", "example", "yourtoken", "replaceme", "insert")
_FILLER_WORDS = ("secret", "token", "password", "pass", "test", "admin", "default", "loa", "api", "key")


def is_placeholder(secret: str) -> bool:
    """True for values that look typed in by hand rather than generated.

    Catches "changeme"-style words anywhere, values made only of filler words
    ("secretsecrettoken...") and low-variety strings ("aaaa...", "12341234...").
    A generated token (`secrets.token_urlsafe(24)`) never trips this.
    """
    lowered = re.sub(r"[^a-z0-9]", "", secret.lower())
    if not lowered or any(word in lowered for word in _PLACEHOLDER_WORDS):
        return True
    if re.fullmatch("(?:" + "|".join(_FILLER_WORDS) + r"|[0-9])+", lowered):
        return True
    return len(set(secret)) < 8


__all__ = ["is_placeholder"]
