"""`loa controller init-db | serve`: configuration errors are one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.cli import main
from tests.controller.conftest import MQTT_PASSWORD, TOKEN


@pytest.fixture
def good_env(tmp_path: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LOA_API_TOKENS", TOKEN)
    monkeypatch.setenv("LOA_MQTT_PASSWORD", MQTT_PASSWORD)
    monkeypatch.setenv("LOA_SIGNING_KEY_FILE", str(keys[0]))
    return tmp_path / "state"


def test_init_db(good_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init-db"]) == 0
    assert (good_env / "loa.db").is_file()
    assert "database ready: sqlite:///" in capsys.readouterr().out
    assert main(["init-db"]) == 0  # idempotent


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("loa controller: ")
    return err


def test_missing_state_dir(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve"]) == 2
    assert "LOA_STATE_DIR" in _one_line_error(capsys)


def test_placeholder_token_refused(good_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOA_API_TOKENS", "changeme")
    assert main(["serve"]) == 2
    line = _one_line_error(capsys)
    assert "LOA_API_TOKENS" in line and "changeme" not in line.split(":", 1)[1].replace("LOA_API_TOKENS", "")


def test_bad_number(good_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOA_MQTT_PORT", "eighty")
    assert main(["init-db"]) == 2
    assert "LOA_MQTT_PORT" in _one_line_error(capsys)


def test_missing_signing_key(good_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOA_SIGNING_KEY_FILE", str(good_env / "nope.key"))
    assert main(["serve", "--port", "1"]) == 2
    line = _one_line_error(capsys)
    assert "signing key" in line and "loa keys" in line


def test_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
