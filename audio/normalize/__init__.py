"""Vietnamese text normalisation for Loa's TTS engines.

``normalize(text, region)`` turns an announcement as officials type it into
text every engine (espeak-ng, Piper, cloud TTS) can read aloud without
surprises: numbers, dates, times, units, money, phone numbers, Roman numerals
and abbreviations become Vietnamese words; symbols, markup, emoji and foreign
scripts disappear; commas and full stops stay as pause marks.
``split_sentences`` cuts the result for pauses and per-request limits.

Region (see README.md): "north" says nghìn/linh, "south" ngàn/lẻ, "central"
nghìn/lẻ.  Stages run in a fixed order because each one relies on the
previous ones having consumed the patterns it would otherwise misread.
"""

from __future__ import annotations

from .abbreviations import ABBREVIATIONS, expand_abbreviations, expand_specials
from .cleanup import clean
from .datetime import expand_doc_numbers, expand_full_dates, expand_short_dates, expand_times
from .errors import NormalizationError
from .letters import expand_caps
from .numbers import REGION_WORDS, expand_numbers
from .ordinals import expand_ordinals
from .phone import expand_phones
from .roman import expand_roman
from .sentences import split_sentences
from .symbols import expand_math, expand_urls, finish
from .units import expand_ranges, expand_slashes, expand_units

__all__ = [
    "ABBREVIATIONS", "MAX_INPUT_CHARS", "REGIONS", "NormalizationError",
    "normalize", "split_sentences",
]

REGIONS = frozenset(REGION_WORDS)

# A bulletin is a few thousand characters; a million is a runaway paste.
MAX_INPUT_CHARS = 1_000_000


def normalize(text: str, region: str = "north") -> str:
    """Return ``text`` as speakable Vietnamese: no digits, no raw symbols, no
    unread abbreviations; sentences end with "." "!" or "?" and commas mark
    pauses.  Raises NormalizationError for non-str input, an unknown region
    or text longer than MAX_INPUT_CHARS."""
    if not isinstance(text, str):
        raise NormalizationError(f"text must be str, not {type(text).__name__}")
    if region not in REGION_WORDS:
        raise NormalizationError(f"unknown region {region!r}; expected one of {sorted(REGIONS)}")
    if len(text) > MAX_INPUT_CHARS:
        raise NormalizationError(f"text has {len(text)} characters; the limit is {MAX_INPUT_CHARS}")

    text = clean(text)
    text = expand_urls(text)
    text = expand_specials(text)
    text = expand_doc_numbers(text, region)
    text = expand_abbreviations(text)
    text = expand_phones(text)
    text = expand_full_dates(text, region)
    text = expand_ranges(text)
    text = expand_short_dates(text, region)
    text = expand_times(text, region)
    text = expand_roman(text, region)
    text = expand_ordinals(text, region)
    text = expand_math(text)
    text = expand_slashes(text)
    text = expand_units(text, region)
    text = expand_numbers(text, region)
    text = expand_caps(text)
    return finish(text)
