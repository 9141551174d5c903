"""ControllerSettings: defaults, env parsing, and refusing weak secrets in production."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from controller.settings import ControllerSettings, describe_error, is_placeholder

GOOD = secrets.token_urlsafe(32)
MQTT = secrets.token_urlsafe(24)


def build(tmp_path: Path, **kw: object) -> ControllerSettings:
    values: dict[str, object] = {"state_dir": tmp_path, "api_tokens": [GOOD], "mqtt_password": MQTT}
    values.update(kw)
    return ControllerSettings(**values)  # type: ignore[arg-type]


def test_defaults_derive_from_state_dir(tmp_path: Path) -> None:
    s = build(tmp_path)
    assert s.mode == "production"
    assert s.database_url == f"sqlite:///{tmp_path / 'loa.db'}"
    assert s.audio_dir == tmp_path / "audio"
    assert s.signing_key_file == tmp_path / "keys" / "controller.key"
    assert (s.play_lead_s, s.default_ttl_s, s.max_text_chars, s.expiry_sweep_s) == (3.0, 600, 3000, 5.0)


def test_every_field_is_described() -> None:
    assert all(f.description for f in ControllerSettings.model_fields.values())


@pytest.mark.parametrize(
    ("tokens", "reason"),
    [
        ([], "at least one API token"),
        (["short-token-123"], "24 or more"),
        (["changeme-changeme-changeme-1"], "placeholder"),
        (["secretsecretsecretsecrettoken"], "placeholder"),
        (["token-token-token-token-token"], "placeholder"),
        (["a" * 40], "placeholder"),
        ([GOOD, "with space in the middle of it!!"], "whitespace"),
    ],
)
def test_production_refuses_weak_tokens(tmp_path: Path, tokens: list[str], reason: str) -> None:
    with pytest.raises(ValidationError) as err:
        build(tmp_path, api_tokens=tokens)
    line = describe_error(err.value)
    assert "LOA_API_TOKENS" in line and reason in line
    for token in tokens:  # never echo a secret back
        assert token not in line or len(token) < 3


def test_production_needs_mqtt_password(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        build(tmp_path, mqtt_password="")
    assert "LOA_MQTT_PASSWORD" in describe_error(err.value)


def test_development_relaxes_secrets(tmp_path: Path) -> None:
    s = build(tmp_path, mode="development", api_tokens=["devtoken"], mqtt_password="")
    assert s.is_development
    assert build(tmp_path, mode="development", api_tokens=[]).api_tokens == []
    with pytest.raises(ValidationError):
        build(tmp_path, mode="development", api_tokens=["short"])


def test_unknown_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        build(tmp_path, mqtt_hots="typo")


def test_reads_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = secrets.token_urlsafe(32)
    monkeypatch.setenv("LOA_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LOA_API_TOKENS", f"{GOOD}, {other}")
    monkeypatch.setenv("LOA_MQTT_PASSWORD", MQTT)
    monkeypatch.setenv("LOA_MQTT_PORT", "18830")
    monkeypatch.setenv("LOA_PUBLIC_URL", "https://loa.example.vn/")
    monkeypatch.setenv("LOA_DATABASE_URL", "postgresql+psycopg://loa:pw@db/loa")
    s = ControllerSettings()  # type: ignore[call-arg]
    assert [t.get_secret_value() for t in s.api_tokens] == [GOOD, other]
    assert s.mqtt_port == 18830
    assert s.public_url == "https://loa.example.vn"
    assert s.database_url == "postgresql+psycopg://loa:pw@db/loa"
    monkeypatch.setenv("LOA_API_TOKENS", json.dumps([other]))
    assert [t.get_secret_value() for t in ControllerSettings().api_tokens] == [other]  # type: ignore[call-arg]


def test_bad_public_url(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        build(tmp_path, public_url="ftp://x")


@pytest.mark.parametrize("value", ["changeme", "password123password123pass", "0000000000000000000000000"])
def test_placeholders(value: str) -> None:
    assert is_placeholder(value)


def test_generated_tokens_are_not_placeholders() -> None:
    assert not any(is_placeholder(secrets.token_urlsafe(24)) for _ in range(200))
