"""Which speech engine speaks, and its credentials: the `LOA_TTS_*` part of the settings.

A class of its own because two programs read it: the controller (its
`ControllerSettings` extends this) and `loa tts`, which must work on a laptop with no
environment at all (espeak-ng, no tokens, no broker). Every field has a description
and unknown keyword arguments are refused, as in the controller's settings.

A selected engine without its credentials is refused here, at start-up, with the
variable to set; otherwise the first announcement would be the first to find out.
Keys are optional for engines that are not selected, so an operator can keep a
second service's key configured for a quick switch.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from controller.placeholder import is_placeholder

ENV_PREFIX = "LOA_"

EngineName = Literal["espeak", "piper", "fpt", "viettel", "vbee", "zalo"]
ENGINE_NAMES: tuple[EngineName, ...] = ("espeak", "piper", "fpt", "viettel", "vbee", "zalo")

VOICE_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")

_SECRET_FIELDS = ("fpt_api_key", "viettel_token", "vbee_token", "zalo_api_key")
_REQUIRED: dict[str, tuple[str, ...]] = {
    "fpt": ("fpt_api_key",),
    "viettel": ("viettel_token",),
    "vbee": ("vbee_token", "vbee_app_id", "vbee_callback_url"),
    "zalo": ("zalo_api_key",),
}


def check_base_url(value: str) -> str:
    """An http(s) base URL without query or fragment, trailing slash removed."""
    value = value.strip().rstrip("/")
    if not _URL.fullmatch(value):
        raise ValueError("must be an http:// or https:// base URL without query or fragment")
    return value


class PiperVoiceSetting(BaseModel):
    """One operator-provided Piper voice (`.onnx` + `.onnx.json`), as named in `LOA_PIPER_VOICES`."""

    model_config = ConfigDict(extra="forbid")

    voice_id: Annotated[str, Field(pattern=VOICE_ID_PATTERN, description="Loa's voice id, e.g. `piper-vais1000`.")]
    region: Literal["north", "central", "south"] = Field(
        description="Dialect region the voice speaks; picks the normaliser's reading rules."
    )
    label: str = Field(min_length=1, max_length=100, description="Name shown to officials.")
    model_path: Path = Field(description="The `.onnx` model file.")
    config_path: Path | None = Field(
        default=None, description="The `.onnx.json` config; default `model_path` + `.json`, as Piper does."
    )


class TtsSettings(BaseSettings):
    """Speech engine selection and credentials, read from `LOA_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", env_file=None)

    mode: Literal["production", "development"] = Field(
        default="production",
        description="`production` refuses weak or missing secrets; `development` relaxes that for a laptop.",
    )
    tts_engine: EngineName = Field(
        default="espeak",
        description="Speech engine: `espeak` (espeak-ng, offline, default), `piper` (voices from "
        "`LOA_PIPER_VOICES`), or a cloud service: `fpt`, `viettel`, `vbee`, `zalo` (needs its key).",
    )
    tts_fallback: bool = Field(
        default=True,
        description="When a Piper or cloud engine fails or times out, read the text with espeak-ng instead "
        "(the announcement records why). Off: the announcement fails with 503.",
    )
    piper_voices: list[PiperVoiceSetting] = Field(
        default_factory=list,
        description='Piper voices as a JSON list: [{"voice_id": "piper-vais1000", "region": "north", '
        '"label": "VAIS1000", "model_path": "/var/lib/loa/voices/vi_VN-vais1000-medium.onnx"}]. '
        "Loa never downloads a voice; check each voice's licence (docs/engines.md).",
    )
    fpt_api_key: SecretStr | None = Field(default=None, description="FPT.AI TTS API key (`LOA_TTS_ENGINE=fpt`).")
    fpt_base_url: str | None = Field(default=None, description="FPT.AI API base URL; default the public service.")
    viettel_token: SecretStr | None = Field(
        default=None, description="Viettel AI TTS token (`LOA_TTS_ENGINE=viettel`)."
    )
    viettel_base_url: str | None = Field(
        default=None, description="Viettel AI API base URL; default the public service."
    )
    vbee_token: SecretStr | None = Field(default=None, description="Vbee API token (`LOA_TTS_ENGINE=vbee`).")
    vbee_app_id: str | None = Field(
        default=None, max_length=200, description="Vbee application id (required with `LOA_TTS_ENGINE=vbee`)."
    )
    vbee_callback_url: str | None = Field(
        default=None,
        description="Callback URL Vbee requires in every request; Loa polls instead, so any http(s) URL "
        "Vbee accepts will do when the controller has no public address.",
    )
    vbee_base_url: str | None = Field(default=None, description="Vbee API base URL; default the public service.")
    zalo_api_key: SecretStr | None = Field(default=None, description="Zalo AI TTS API key (`LOA_TTS_ENGINE=zalo`).")
    zalo_base_url: str | None = Field(default=None, description="Zalo AI API base URL; default the public service.")

    @field_validator(*_SECRET_FIELDS, "vbee_app_id", "vbee_callback_url",
                     "fpt_base_url", "viettel_base_url", "vbee_base_url", "zalo_base_url", mode="before")  # fmt: skip
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `LOA_FPT_API_KEY=` in a unit file means "not configured", not "the empty key".
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, SecretStr) and not value.get_secret_value().strip():
            return None
        return value

    @field_validator(*_SECRET_FIELDS, mode="after")
    @classmethod
    def _check_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        if any(ch.isspace() for ch in raw) or not raw.isprintable():
            raise ValueError("contains whitespace or control characters")
        if info.data.get("mode", "production") == "production" and is_placeholder(raw):
            raise ValueError("looks like a placeholder; paste the key the service issued")
        return value

    @field_validator("fpt_base_url", "viettel_base_url", "vbee_base_url", "zalo_base_url", "vbee_callback_url")
    @classmethod
    def _check_urls(cls, value: str | None) -> str | None:
        return None if value is None else check_base_url(value)

    @field_validator("piper_voices")
    @classmethod
    def _unique_voice_ids(cls, voices: list[PiperVoiceSetting]) -> list[PiperVoiceSetting]:
        ids = [v.voice_id for v in voices]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate voice_id(s): {', '.join(duplicates)}")
        return voices

    @model_validator(mode="after")
    def _selected_engine_is_configured(self) -> Self:
        if self.tts_engine == "piper" and not self.piper_voices:
            raise ValueError(
                f"{ENV_PREFIX}TTS_ENGINE is 'piper' but {ENV_PREFIX}PIPER_VOICES is empty: "
                "name at least one voice model file"
            )
        required = _REQUIRED.get(self.tts_engine, ())
        missing = [f"{ENV_PREFIX}{name.upper()}" for name in required if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{ENV_PREFIX}TTS_ENGINE is {self.tts_engine!r} but {' and '.join(missing)} is not set")
        return self


__all__ = ["ENGINE_NAMES", "ENV_PREFIX", "EngineName", "PiperVoiceSetting", "TtsSettings", "check_base_url"]
