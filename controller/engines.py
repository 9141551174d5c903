"""Building the speech engine the settings name, and describing its voices.

`build_engine` is the one place that turns `LOA_TTS_*` into an engine, for the
controller and `loa tts` alike, so both speak with the same voice. Constructing
engines starts nothing (no worker process, no HTTP connection): the worker starts
on the first render. A Piper engine checks its model files here, so a typo in a
path stops the controller at start-up rather than at the first announcement.

With `tts_fallback` on, a Piper or cloud engine is wrapped in
`FallbackEngine(primary, EspeakEngine())`: a storm warning still goes out when the
service or the commune's internet link is down, read by espeak-ng, and the
announcement says so (`fallback_reason`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller.tts_settings import EngineName, TtsSettings

if TYPE_CHECKING:
    from audio.engines.base import SpeechEngine, Voice


@dataclass(frozen=True)
class VoiceInfo:
    """A voice as officials see it: what `GET /api/v1/voices` and `loa tts voices` list."""

    id: str
    label: str
    region: str
    engine: str


def build_engine(settings: TtsSettings, *, engine: EngineName | None = None) -> SpeechEngine:
    """The engine `settings` (or `engine`, overriding `tts_engine`) selects.

    Raises `audio.errors.EngineError` when it cannot be built (missing key or Piper
    model, piper-tts not installed); the message says what to fix.
    """
    from audio.engines.espeak import EspeakEngine
    from audio.errors import EngineError

    name = engine or settings.tts_engine
    if name == "espeak":
        return EspeakEngine()
    primary = _primary(settings, name)
    if not settings.tts_fallback:
        return primary
    from audio.engines.cloud.fallback import FallbackEngine

    try:
        return FallbackEngine(primary, EspeakEngine())
    except EngineError:
        primary.close()
        raise


def _primary(settings: TtsSettings, name: str) -> SpeechEngine:
    from audio.errors import EngineError

    if name == "piper":
        from audio.engines.piper import PiperEngine, PiperModel

        if not settings.piper_voices:
            raise EngineError("the piper engine needs at least one voice in LOA_PIPER_VOICES")
        return PiperEngine([
            PiperModel(v.voice_id, v.region, v.label, Path(v.model_path), v.config_path)
            for v in settings.piper_voices
        ])  # fmt: skip
    from audio.engines.cloud import FptEngine, VbeeEngine, ViettelEngine, ZaloEngine

    if name == "fpt":
        return FptEngine(_secret(settings.fpt_api_key, "LOA_FPT_API_KEY", name), base_url=settings.fpt_base_url)
    if name == "viettel":
        token = _secret(settings.viettel_token, "LOA_VIETTEL_TOKEN", name)
        return ViettelEngine(token, base_url=settings.viettel_base_url)
    if name == "vbee":
        return VbeeEngine(
            _secret(settings.vbee_token, "LOA_VBEE_TOKEN", name),
            app_id=_required(settings.vbee_app_id, "LOA_VBEE_APP_ID", name),
            callback_url=_required(settings.vbee_callback_url, "LOA_VBEE_CALLBACK_URL", name),
            base_url=settings.vbee_base_url,
        )
    if name == "zalo":
        return ZaloEngine(_secret(settings.zalo_api_key, "LOA_ZALO_API_KEY", name), base_url=settings.zalo_base_url)
    raise EngineError(f"unknown speech engine {name!r}")


def _secret(value: Any, env: str, engine: str) -> str:
    # The settings refuse a selected engine without its key; this guards the `engine=` override.
    return _required(value.get_secret_value() if value is not None else None, env, engine)


def _required(value: str | None, env: str, engine: str) -> str:
    from audio.errors import EngineError

    if not value:
        raise EngineError(f"the {engine} engine needs {env}, which is not set")
    return value


def voice_catalogue(voices: Iterable[Voice], engine: object | None) -> tuple[VoiceInfo, ...]:
    """The voices with the name of the engine that speaks each.

    For a `FallbackEngine` the primary's voices belong to the primary and the rest
    (espeak-ng's, kept selectable) to the fallback.
    """
    owners: dict[str, str] = {}
    primary, fallback = getattr(engine, "primary", None), getattr(engine, "fallback", None)
    for part in (fallback, primary):  # primary last: it wins where ids overlap
        for voice in getattr(part, "voices", ()):
            owners[voice.id] = part.name  # type: ignore[union-attr]
    default = str(getattr(engine, "name", "unknown"))
    return tuple(VoiceInfo(v.id, v.label, v.region, owners.get(v.id, default)) for v in voices)


__all__ = ["VoiceInfo", "build_engine", "voice_catalogue"]
