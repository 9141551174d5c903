"""Agent configuration: one TOML file per node, environment overrides, typed and strict.

Precedence is keyword arguments > `LOA_AGENT_*` environment variables > TOML file >
defaults. The file is what an installer writes; the environment lets systemd or a
technician override one value without editing it; keyword arguments let tests and the
benchmark build settings in code. Unknown keys are errors (`extra="forbid"`), because a
typo such as `volumne = 50` silently ignored is worse than a node that refuses to start.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from protocol.topics import ID_PATTERN
from speaker_agent.files import atomic_write

ENV_PREFIX = "LOA_AGENT_"


class ConfigError(ValueError):
    """The configuration cannot be used; the message is one line meant for a human."""


class MqttSettings(BaseModel):
    """How to reach the broker."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", min_length=1, description="Broker host name or address.")
    port: int = Field(1883, ge=1, le=65535, description="Broker TCP port (8883 is usual with TLS).")
    username: str = Field("", description="Broker account; empty means the node id.")
    password: SecretStr = Field(SecretStr(""), description="Broker password (or use password_file).")
    password_file: str = Field("", description="File holding the broker password; empty means none.")
    keepalive: int = Field(
        30, ge=2, le=3600, description="MQTT keepalive in seconds; the broker declares the node offline after 1.5x."
    )
    tls_ca_file: str = Field("", description="CA certificate file; non-empty turns TLS on.")

    @model_validator(mode="after")
    def _one_password_source(self) -> "MqttSettings":
        if self.password.get_secret_value() and self.password_file:
            raise ValueError("set mqtt.password or mqtt.password_file, not both")
        return self


class PlayerSettings(BaseModel):
    """Where the sound goes."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["file", "alsa"] = Field(
        "file", description='"alsa" plays through ffmpeg to a sound card; "file" records plays (demo, tests).'
    )
    realtime: bool = Field(
        True, description="File sink only: take the audio's real duration to 'play', like a speaker would."
    )
    alsa_device: str = Field("default", min_length=1, description="ALSA device name for the alsa backend.")


_FILE_DATA: ContextVar[dict[str, Any] | None] = ContextVar("loa_agent_file_data", default=None)


class _TomlData(PydanticBaseSettingsSource):
    """Lowest-priority source: the parsed TOML file handed over by load_settings.

    Returns the file's table unfiltered, so keys that match no field reach validation
    and are rejected by `extra="forbid"` instead of being dropped on the floor. The data
    travels in a ContextVar (not a class attribute) so that loading settings in several
    threads at once - 100 agents in one benchmark process - cannot mix files up.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_DATA.get() or {})


class AgentSettings(BaseSettings):
    """Everything one speaker node needs to know about itself."""

    model_config = SettingsConfigDict(
        extra="forbid", env_prefix=ENV_PREFIX, env_nested_delimiter="__", validate_default=True
    )

    node_id: str = Field(pattern=ID_PATTERN, description="This node's id (slug); also its MQTT client id.")
    zones: list[str] = Field(
        default_factory=list,
        description="Zone ids whose command topics the node obeys: its hamlet and the zones above it.",
    )
    state_dir: Path = Field(Path("/var/lib/loa-agent"), description="Where the cache, timeline and logs of plays live.")
    public_key_files: list[Path] = Field(
        default_factory=list, description="PEM files of the controller Ed25519 keys whose signatures are trusted."
    )
    telemetry_interval_s: float = Field(30, gt=0, le=86400, description="Seconds between telemetry reports.")
    volume: int = Field(80, ge=0, le=100, description="Output volume in percent.")
    cache_max_bytes: int = Field(
        200_000_000, ge=0, description="Upper bound on cached audio; least recently used files go first."
    )
    max_clock_skew_s: float = Field(
        60, ge=0, le=86400, description="Commands issued further than this in the future are rejected."
    )
    download_timeout_s: float = Field(30, gt=0, le=3600, description="Socket timeout of one audio download.")
    download_attempts: int = Field(4, ge=1, le=100, description="Tries per download before it is reported failed.")
    mqtt: MqttSettings = Field(default_factory=MqttSettings, description="Broker connection.")
    player: PlayerSettings = Field(default_factory=PlayerSettings, description="Audio output.")

    @field_validator("zones")
    @classmethod
    def _zone_ids(cls, zones: list[str]) -> list[str]:
        for zone in zones:
            if not re.match(ID_PATTERN, zone):
                raise ValueError(f"invalid zone id {zone!r}: use 1-63 of a-z, 0-9 and '-'")
        return list(dict.fromkeys(zones))

    @field_validator("telemetry_interval_s", "max_clock_skew_s", "download_timeout_s")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlData(settings_cls))

    # -- derived values -----------------------------------------------------------------

    def mqtt_username(self) -> str:
        return self.mqtt.username or self.node_id

    def mqtt_password(self) -> str | None:
        """The broker password from the settings or password_file; None when there is none."""
        if self.mqtt.password_file:
            try:
                return Path(self.mqtt.password_file).read_text().strip()
            except OSError as exc:
                raise ConfigError(f"cannot read mqtt.password_file {self.mqtt.password_file}: {exc.strerror}") from None
        return self.mqtt.password.get_secret_value() or None


def _one_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "settings"
        parts.append(f"{where}: {err.get('msg')}")
    return "; ".join(parts)


def load_settings(path: Path | None, **overrides: Any) -> AgentSettings:
    """Build settings from a TOML file (if given), `LOA_AGENT_*` variables and `overrides`.

    Raises ConfigError with a one-line message for a missing/unreadable file, bad TOML
    or values that do not validate.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    token = _FILE_DATA.set(data)
    try:
        return AgentSettings(**overrides)
    except ValidationError as exc:
        where = f"{path}: " if path is not None else ""
        raise ConfigError(f"{where}{_one_line(exc)}") from None
    finally:
        _FILE_DATA.reset(token)


# -- writing ------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("TOML cannot hold a non-finite number here")
        return repr(value)
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        # A JSON string without ASCII escaping is a valid TOML basic string, except that
        # TOML also wants DEL escaped.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(settings: AgentSettings) -> str:
    """Render settings as TOML that load_settings reads back to equal settings."""
    lines = ["# Loa speaker agent configuration (written by Loa; see speaker_agent/config.py)."]
    tables: list[tuple[str, BaseModel]] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, BaseModel):
            tables.append((name, value))
        else:
            lines.append(f"{name} = {_toml_value(value)}")
    for name, table in tables:
        lines += ["", f"[{name}]"]
        lines += [f"{key} = {_toml_value(getattr(table, key))}" for key in type(table).model_fields]
    return "\n".join(lines) + "\n"


def write_settings(settings: AgentSettings, path: Path) -> None:
    """Write settings as TOML atomically with mode 0600 (it may hold the broker password)."""
    atomic_write(Path(path), to_toml(settings).encode(), mode=0o600)


__all__ = [
    "AgentSettings",
    "ConfigError",
    "ENV_PREFIX",
    "MqttSettings",
    "PlayerSettings",
    "load_settings",
    "to_toml",
    "write_settings",
]
