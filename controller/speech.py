"""The production audio pipeline: the configured engine, the lexicon and the normaliser.

The pipeline leaves its text filter open; the controller plugs in, in this order:

1. the officials' lexicon (`controller.lexicon`), so "Ea H'leo" is said "Ê a Hơ lê ô"
   and "KBNN" "kho bạc nhà nước" — before the normaliser, which would otherwise
   spell or misread them, and before any engine;
2. `audio.normalize.normalize` with the region of the chosen voice, so "15h30 ngày
   2/9" is read the way a listener in that hamlet says it (nghìn/ngàn, linh/lẻ).

The filter's output (the spoken text) is part of the pipeline's render-cache key, so
a lexicon edit that changes what is said also changes the key: no stale audio.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audio.engines.base import SpeechEngine, Voice
    from audio.pipeline import AudioPipeline

Rewrite = Callable[[str], str]
"""Text -> text with the lexicon applied (e.g. `LexiconCache.apply`)."""


def make_text_filter(voices: Iterable[Voice], lexicon: Rewrite | None) -> Callable[[str, str], str]:
    """`(text, voice) -> spoken text`: lexicon first, then the normaliser for the voice's region."""
    from audio.normalize import normalize

    regions = {v.id: v.region for v in voices}

    def vietnamese(text: str, voice: str) -> str:
        if lexicon is not None:
            text = lexicon(text)
        return normalize(text, regions.get(voice, "north"))

    return vietnamese


def build_speech_pipeline(audio_dir: Path, engine: SpeechEngine, lexicon: Rewrite | None) -> AudioPipeline:
    """An `AudioPipeline` over `engine`, storing under `audio_dir`; owns (and closes) the engine."""
    from audio.pipeline import AudioPipeline
    from audio.store import AudioStore

    # Same as `build_pipeline(audio_dir, engine=engine, text_filter=...)` once that takes an engine.
    return AudioPipeline(AudioStore(audio_dir), engine, text_filter=make_text_filter(engine.voices, lexicon))


__all__ = ["Rewrite", "build_speech_pipeline", "make_text_filter"]
