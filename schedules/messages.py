"""Conflict warnings as data: a stable code, its parameters, and the words in Vietnamese and English.

Why codes: officials read Vietnamese, API clients and tests match English, and a web UI
must be able to word a warning again (another language, another layout) without
parsing a sentence. `schedules.priority.find_conflicts` decides *what* happens (an
effect code); this module only says it. Codes are part of the API: never rename one,
add a new one instead.

Effect codes (what the resolver will do, from the new play's side):

* `new_first` / `new_waits` — same level: the older (or earlier) play goes first;
* `existing_interrupted` / `new_interrupted` — an emergency cuts the other play, which
  restarts from the beginning afterwards unless it expired (policy `restart`);
* `existing_interrupted_dropped` / `new_interrupted_dropped` — likewise, policy `drop`;
* `new_waits_for_emergency` / `existing_waits_for_emergency` — the emergency was first;
* `existing_pushed_back` / `new_pushed_back` — a priority play keeps its time and the
  normal one moves after it.

Warning codes: `overlap` (params `new`, `existing`, `existing_priority`, `zones`,
`start`, `end`, `timezone`, `effect`) and `more_overlaps` (param `count`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Lang = Literal["vi", "en"]

PRIORITY_WORDS: dict[Lang, dict[str, str]] = {
    "vi": {"normal": "thường", "priority": "ưu tiên", "emergency": "khẩn cấp"},
    "en": {"normal": "normal", "priority": "priority", "emergency": "emergency"},
}

EFFECTS: dict[str, dict[Lang, str]] = {
    "new_first": {
        "en": "this play starts first and the other waits until it ends",
        "vi": "lượt phát này bắt đầu trước, lượt kia chờ đến khi nó kết thúc",
    },
    "new_waits": {
        "en": "this play waits until the other ends",
        "vi": "lượt phát này chờ đến khi lượt kia kết thúc",
    },
    "existing_interrupted": {
        "en": "the emergency interrupts it, which restarts from the beginning afterwards unless it has expired",
        "vi": "bản tin khẩn cấp cắt ngang lượt kia; sau đó lượt kia phát lại từ đầu nếu chưa hết hạn",
    },
    "new_interrupted": {
        "en": "the emergency interrupts this play, which restarts from the beginning afterwards unless it has expired",
        "vi": "bản tin khẩn cấp cắt ngang lượt phát này; sau đó lượt này phát lại từ đầu nếu chưa hết hạn",
    },
    "existing_interrupted_dropped": {
        "en": "the emergency interrupts it, which is then dropped",
        "vi": "bản tin khẩn cấp cắt ngang lượt kia, lượt kia bị bỏ",
    },
    "new_interrupted_dropped": {
        "en": "the emergency interrupts this play, which is then dropped",
        "vi": "bản tin khẩn cấp cắt ngang lượt phát này, lượt này bị bỏ",
    },
    "new_waits_for_emergency": {
        "en": "this play waits until the emergency ends",
        "vi": "lượt phát này chờ đến khi bản tin khẩn cấp kết thúc",
    },
    "existing_waits_for_emergency": {
        "en": "it waits until this emergency ends",
        "vi": "lượt kia chờ đến khi bản tin khẩn cấp này kết thúc",
    },
    "existing_pushed_back": {
        "en": "the {existing_priority} play is pushed back until this one ends",
        "vi": "lượt phát {existing_priority} kia lùi lại đến khi lượt này kết thúc",
    },
    "new_pushed_back": {
        "en": "this play is pushed back until the {existing_priority} play ends",
        "vi": "lượt phát này lùi lại đến khi lượt phát {existing_priority} kết thúc",
    },
}

WARNINGS: dict[str, dict[Lang, str]] = {
    "overlap": {
        "en": "Play {new!r}: Overlaps {existing_priority} play {existing!r} on {zone_word} {zones} "
        "from {start} to {end} ({timezone}); {effect_text}.",
        "vi": "Lượt phát {new}: trùng với lượt phát {existing_priority} {existing} tại {zones} "
        "từ {start} đến {end} (giờ {timezone}); {effect_text}.",
    },
    "more_overlaps": {
        "en": "... and {count} more overlaps",
        "vi": "... và {count} chỗ trùng khác",
    },
}


def effect_text(effect: str, lang: Lang = "vi", existing_priority: str = "normal") -> str:
    """One effect in words; an unknown code is shown as itself (never an error)."""
    template = EFFECTS.get(effect, {}).get(lang)
    if template is None:
        return effect
    return template.format(existing_priority=PRIORITY_WORDS[lang].get(existing_priority, existing_priority))


def warning_text(code: str, params: Mapping[str, Any], lang: Lang = "vi") -> str:
    """A warning in words, from its code and parameters (what a web UI calls)."""
    template = WARNINGS.get(code, {}).get(lang)
    if template is None:
        return f"{code}: {dict(params)}"
    values = dict(params)
    if code == "overlap":
        prio = str(values.get("existing_priority", "normal"))
        zones = list(values.get("zones", []))
        values.update(
            existing_priority=PRIORITY_WORDS[lang].get(prio, prio),
            zones=", ".join(zones),
            zone_word="zones" if len(zones) > 1 else "zone",
            effect_text=effect_text(str(values.get("effect", "")), lang, prio),
        )
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):  # parameters missing: say what we have rather than fail
        return f"{code}: {dict(params)}"


__all__ = ["EFFECTS", "Lang", "PRIORITY_WORDS", "WARNINGS", "effect_text", "warning_text"]
