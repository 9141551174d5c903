"""Controller configuration, read from `LOA_*` environment variables.

Every field has a description (it doubles as the reference for operators) and unknown
keyword arguments are refused (`extra="forbid"`), so a typo in a deployment script
fails loudly instead of silently falling back to a default. Production mode refuses
to start with missing or placeholder secrets: a commune's loudspeakers must not be
one `curl -H "Authorization: Bearer changeme"` away from anyone on the network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from controller.placeholder import is_placeholder
from controller.tts_settings import ENV_PREFIX, TtsSettings, check_base_url
from protocol.commands import MAX_INLINE_AUDIO_BYTES
from protocol.topics import ID_PATTERN

MIN_TOKEN_CHARS_PRODUCTION = 24
MIN_TOKEN_CHARS_DEVELOPMENT = 8



class ControllerSettings(TtsSettings):
    """All settings of one controller process. Build once, pass to `create_app`.

    The speech engine fields (`mode`, `tts_*`, service keys) come from `TtsSettings`.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", env_file=None)

    state_dir: Path = Field(
        description="Directory for everything the controller keeps: database, audio store, keys (by default).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default `sqlite:///{state_dir}/loa.db`; "
        "`postgresql+psycopg://user:pass@host/db` for larger deployments. Never None after validation.",
    )
    audio_dir: Path | None = Field(
        default=None,
        description="Content-addressed audio store (`{sha256}.opus`). Default `{state_dir}/audio`. "
        "Never None after validation.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Base URL nodes use to fetch audio (`{public_url}/audio/{sha256}.opus`); no trailing slash.",
    )
    api_tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Bearer tokens accepted by the REST API: a JSON list or comma-separated. Production needs "
        f"at least one, each >= {MIN_TOKEN_CHARS_PRODUCTION} characters and not a placeholder; development "
        f"allows >= {MIN_TOKEN_CHARS_DEVELOPMENT} characters, or none at all (the API is then open).",
    )
    mqtt_host: str = Field(default="127.0.0.1", description="MQTT broker (Mosquitto) host name or address.")
    mqtt_port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker TCP port.")
    mqtt_username: str = Field(default="loa-controller", description="Controller's broker account.")
    mqtt_password: SecretStr = Field(
        default=SecretStr(""),
        description="Password of the controller's broker account; required in production.",
    )
    mqtt_keepalive: int = Field(
        default=30, ge=1, le=3600, description="MQTT keepalive in seconds (how fast a dead link is noticed)."
    )
    mqtt_client_id: str = Field(
        default="loa-controller",
        pattern=ID_PATTERN,
        description="MQTT client id; the broker keeps this client's persistent session (node events sent "
        "while the controller is down) under it, so keep it stable across restarts.",
    )
    signing_key_file: Path | None = Field(
        default=None,
        description="Ed25519 private key (PEM) that signs every command; nodes hold its public half. "
        "Default `{state_dir}/keys/controller.key`. Make one with `loa keys`. Never None after validation.",
    )
    play_lead_s: float = Field(
        default=3.0,
        ge=0,
        le=600,
        description="'Play now' is staged to play_at = now + lead, so every node has the audio ready and "
        "all hamlets start together.",
    )
    emergency_lead_s: float = Field(
        default=0.5,
        ge=0,
        le=600,
        description="Lead for emergency bulletins, which must cut in at once: shorter than play_lead_s, "
        "since nodes fetching a little late start as soon as they are ready.",
    )
    default_ttl_s: int = Field(
        default=600,
        ge=10,
        le=86400,
        description="Seconds after issue when a command expires if the request names no `expires_in_s`.",
    )
    max_text_chars: int = Field(
        default=3000,
        ge=1,
        le=100_000,
        description="Longest announcement text accepted (about 3000 characters is ten minutes of speech).",
    )
    expiry_sweep_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="How often deliveries without a final report are checked against their expiry.",
    )
    expiry_grace_s: float = Field(
        default=30.0,
        ge=0,
        le=86400,
        description="Extra wait after a command's expiry before a silent delivery is marked `expired` "
        "(room for clock skew and a late `expired` event from the node itself).",
    )

    stage_ahead_s: float = Field(
        default=600.0,
        ge=10,
        le=86400,
        description="Scheduled occurrences are published to the nodes this long before they play "
        "(the staging horizon), so nodes have the audio and a short outage does not lose the play.",
    )
    occurrence_ttl_s: float = Field(
        default=300.0,
        ge=10,
        le=86400,
        description="A scheduled occurrence's command expires this long after its play time; a node that "
        "is ready late starts it at once until then. Also how far back a restarted controller still "
        "dispatches missed occurrences.",
    )
    dispatch_interval_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="How often the dispatcher expands schedules and publishes due occurrences.",
    )
    lease_ttl_s: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description="How long the dispatcher lease lasts without renewal; another controller takes over "
        "after this much silence from the holder.",
    )
    schedule_grace_s: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="A one-off schedule whose time is at most this far in the past is accepted (and "
        "plays at once); further back is refused.",
    )

    # --- approval and recordings (issue 5) ---
    recording_max_seconds: float = Field(
        default=600.0,
        ge=1,
        le=3600,
        description="Longest uploaded recording accepted, in seconds (checked from the file, then on decoding).",
    )
    recording_max_mb: float = Field(
        default=30.0,
        gt=0,
        le=1024,
        description="Largest recording upload accepted, in MB (counted while it streams in, before decoding).",
    )
    recording_title_max_chars: int = Field(
        default=200,
        ge=10,
        le=2000,
        description="Longest `text` (the title kept for history) of an announcement that plays a recording.",
    )
    # --- end approval and recordings ---

    # --- fleet ingestion (issue 4/5) ---
    ingest_queue_max: int = Field(
        default=10_000,
        ge=10,
        le=1_000_000,
        description="Node reports (events, states, telemetry, timelines) waiting to be applied at most; when "
        "full, telemetry is dropped and the others wait (the broker keeps them) before being dropped with an error.",
    )
    ingest_batch_max: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Node reports applied in one database transaction at most (fewer, shorter holds of the "
        "SQLite write lock than one transaction per report).",
    )
    telemetry_retention_days: float = Field(
        default=14.0,
        gt=0,
        le=3650,
        description="Telemetry samples older than this many days are deleted by the expiry sweep.",
    )
    # --- end fleet ingestion ---

    # --- web accounts (issue 5) ---
    session_idle_s: int = Field(
        default=2 * 3600,
        ge=60,
        le=7 * 86400,
        description="A web login ends after this many seconds without a request (idle timeout).",
    )
    session_max_s: int = Field(
        default=12 * 3600,
        ge=300,
        le=30 * 86400,
        description="A web login ends this many seconds after it began, however active (absolute lifetime).",
    )
    login_window_s: int = Field(
        default=900,
        ge=10,
        le=86400,
        description="Failed logins are counted over this many seconds for the limits below.",
    )
    login_max_failures_user: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="This many failed logins for one username within login_window_s lock that username.",
    )
    login_max_failures_ip: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="This many failed logins from one client address within login_window_s lock that address "
        "(behind a reverse proxy, run uvicorn with proxy headers so the real address is seen).",
    )
    login_lockout_s: int = Field(
        default=900,
        ge=1,
        le=86400,
        description="How long a locked username or address must wait before trying again.",
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="Mark the login cookies Secure (sent over HTTPS only). Default: true in production mode, "
        "false in development; set false only when the controller is reached over plain HTTP on a trusted LAN.",
    )

    @property
    def secure_cookies(self) -> bool:
        """`cookie_secure`, or the mode's default when unset (production: HTTPS only)."""
        return self.cookie_secure if self.cookie_secure is not None else not self.is_development
    # --- end web accounts ---

    # --- node control and alerts (issue 5) ---
    node_control_ttl_s: float = Field(
        default=120.0,
        ge=10,
        le=86400,
        description="A technician's node command (volume, test tone, restart, stop) expires this long after it "
        "is sent: an offline node that returns later does not act on it.",
    )
    alert_offline_after_s: float = Field(
        default=300.0,
        ge=10,
        le=30 * 86400,
        description="A node offline (last heard) longer than this opens an offline alert; it closes when the "
        "node is back.",
    )
    alert_check_interval_s: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description="How often the alert check runs (scheduler job).",
    )
    alert_webhook_url: str = Field(
        default="",
        pattern=r"^(https?://\S+)?$",
        description="If set, every opened and closed alert is POSTed here as JSON "
        "(`{node, name, zone, offline_since, kind}`, kind `opened` or `closed`). Empty: no webhook.",
    )
    alert_webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="Timeout of one webhook request."
    )
    alert_webhook_attempts: int = Field(
        default=3, ge=1, le=10, description="Tries per webhook notification (backoff 1 s, 2 s, 4 s...) before it "
        "is recorded as failed on the alert."
    )
    # --- end node control and alerts ---

    # --- inline emergency audio (issue 4) ---
    inline_audio_max_bytes: int = Field(
        default=96 * 1024,
        ge=0,
        le=MAX_INLINE_AUDIO_BYTES,
        description="An emergency play-now announcement whose audio is at most this many bytes (96 KiB is "
        "about 30 s of 24 kbit/s Opus) carries the audio inside its signed command, so nodes are ready "
        "without an HTTP fetch; larger ones, and every normal, priority or scheduled play, carry only "
        f"the URL. 0 disables it. At most {MAX_INLINE_AUDIO_BYTES} (the protocol's limit).",
    )
    # --- end inline emergency audio ---

    @field_validator("api_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: object) -> object:
        # Environment values arrive as one string: accept a JSON list or "a,b,c".
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError:
                    raise ValueError("not a valid JSON list of tokens") from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("api_tokens", mode="after")
    @classmethod
    def _check_tokens(cls, tokens: list[SecretStr], info: ValidationInfo) -> list[SecretStr]:
        production = info.data.get("mode", "production") == "production"
        if production and not tokens:
            raise ValueError("production mode needs at least one API token (set LOA_API_TOKENS)")
        minimum = MIN_TOKEN_CHARS_PRODUCTION if production else MIN_TOKEN_CHARS_DEVELOPMENT
        for i, token in enumerate(tokens, start=1):
            raw = token.get_secret_value()
            if any(ch.isspace() for ch in raw) or not raw.isprintable():
                raise ValueError(f"token #{i} contains whitespace or control characters")
            if len(raw) < minimum:
                raise ValueError(f"token #{i} is {len(raw)} characters; {minimum} or more are required in {'production' if production else 'development'} mode")
            if production and is_placeholder(raw):
                raise ValueError(f"token #{i} looks like a placeholder; generate one, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
        return tokens

    @field_validator("mqtt_password", mode="after")
    @classmethod
    def _check_mqtt_password(cls, password: SecretStr, info: ValidationInfo) -> SecretStr:
        if info.data.get("mode", "production") == "production":
            raw = password.get_secret_value()
            if not raw:
                raise ValueError("production mode needs the broker password")
            if is_placeholder(raw):
                raise ValueError("looks like a placeholder; use a generated password")
        return password

    @field_validator("public_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return check_base_url(value)

    @model_validator(mode="after")
    def _fill_defaults_and_check_secrets(self) -> Self:
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.state_dir / 'loa.db'}"
        if self.audio_dir is None:
            self.audio_dir = self.state_dir / "audio"
        if self.signing_key_file is None:
            self.signing_key_file = self.state_dir / "keys" / "controller.key"
        return self

    @property
    def is_development(self) -> bool:
        return self.mode == "development"


def describe_error(exc: ValidationError) -> str:
    """One line naming each offending environment variable, never echoing secret values.

    Nested places keep their path, e.g. `LOA_PIPER_VOICES[0].region: ...`.
    """
    parts = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if loc and isinstance(loc[0], str):
            where = f"{ENV_PREFIX}{loc[0].upper()}" + "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:]
            )
            parts.append(f"{where}: {msg}")
        else:
            parts.append(msg)
    return "; ".join(parts)


__all__ = ["ControllerSettings", "ENV_PREFIX", "describe_error", "is_placeholder"]
