"""The production audio pipeline: espeak-ng voices plus the Vietnamese text normaliser.

`audio.pipeline.build_pipeline` leaves the text filter open; the controller plugs in
`audio.normalize.normalize` with the region of the chosen voice, so "15h30 ngày
2/9" is read the way a listener in that hamlet says it (nghìn/ngàn, linh/lẻ).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audio.pipeline import AudioPipeline


def build_speech_pipeline(audio_dir: Path) -> "AudioPipeline":
    from audio.normalize import normalize
    from audio.pipeline import build_pipeline

    regions: dict[str, str] = {}

    def vietnamese(text: str, voice: str) -> str:
        return normalize(text, regions.get(voice, "north"))

    pipeline = build_pipeline(audio_dir, text_filter=vietnamese)
    regions.update({v.id: v.region for v in pipeline.voices})
    return pipeline


__all__ = ["build_speech_pipeline"]
