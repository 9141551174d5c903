"""The web app's words: a catalogue of messages in Vietnamese (first) and English.

Why a catalogue and not strings in templates: the UI is Vietnamese first with an English
switch, and a test can then prove every message exists in both languages with the same
`{placeholders}`. Messages live in `controller/web/catalogue/<area>.py`, one module per
area of the app, each holding `MESSAGES: dict[str, tuple[str, str]]` = key -> (vi, en).
A new area only adds its own module (no edit here); keys start with the area's name
(`users.title`), and a key defined twice is refused when the catalogue is built.

Messages are plain text: templates autoescape them, so a parameter such as a user's
display name can never inject markup.
"""

from __future__ import annotations

import functools
import importlib
import logging
import pkgutil
from collections.abc import Callable
from typing import Any

LANGS = ("vi", "en")
DEFAULT_LANG = "vi"
LANG_NAMES = {"vi": "Tiếng Việt", "en": "English"}

log = logging.getLogger(__name__)


class CatalogueError(RuntimeError):
    """Two catalogue modules define the same key, or a module is malformed."""


@functools.cache
def catalogue() -> dict[str, tuple[str, str]]:
    """Every message, merged from the catalogue modules (built on first use, then cached)."""
    from controller.web import catalogue as package

    merged: dict[str, tuple[str, str]] = {}
    owner: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        messages = getattr(module, "MESSAGES", None)
        if not isinstance(messages, dict):
            raise CatalogueError(f"{module.__name__} has no MESSAGES dict")
        for key, pair in messages.items():
            if key in merged:
                raise CatalogueError(f"message {key!r} is defined in both {owner[key]} and {module.__name__}")
            if not (isinstance(pair, tuple) and len(pair) == len(LANGS)):
                raise CatalogueError(f"message {key!r} in {module.__name__} must be a (vi, en) tuple")
            merged[key] = pair
            owner[key] = module.__name__
    return merged


def pick_lang(value: str | None) -> str:
    return value if value in LANGS else DEFAULT_LANG


def t(key: str, lang: str = DEFAULT_LANG, /, **params: Any) -> str:
    """The message `key` in `lang`, with `{name}` placeholders filled from `params`.

    A missing key or parameter shows the key itself (and logs it) instead of failing the
    page: a half-translated page is better than a 500. Tests catch missing keys.
    """
    pair = catalogue().get(key)
    if pair is None:
        log.warning("missing message %r", key)
        return key
    text = pair[LANGS.index(pick_lang(lang))]
    if not params:
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        log.warning("message %r lacks a parameter among %s", key, sorted(params))
        return text


def translator(lang: str) -> Callable[..., str]:
    """`t` bound to one language: what templates and handlers call as `t("key", name=...)`."""
    chosen = pick_lang(lang)

    def bound(key: str, /, **params: Any) -> str:
        return t(key, chosen, **params)

    return bound


__all__ = ["DEFAULT_LANG", "LANGS", "LANG_NAMES", "CatalogueError", "catalogue", "pick_lang", "t", "translator"]
