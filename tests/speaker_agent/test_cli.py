from __future__ import annotations

import pytest

from speaker_agent.cli import main
from speaker_agent.config import AgentSettings, write_settings


def test_missing_config_exits_2_with_one_line(capsys, tmp_path):
    assert main(["run", "--config", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and "Traceback" not in err


def test_invalid_value_exits_2(capsys, tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text('node_id = "n1"\nvolume = 300\n')
    assert main(["run", "--config", str(path)]) == 2
    assert "volume" in capsys.readouterr().err


def test_unusable_key_exits_2(capsys, tmp_path):
    path = tmp_path / "agent.toml"
    write_settings(
        AgentSettings(node_id="n1", state_dir=tmp_path / "st", public_key_files=[tmp_path / "missing.pub"]), path
    )
    assert main(["run", "--config", str(path)]) == 2
    assert "missing.pub" in capsys.readouterr().err


def test_usage_errors():
    with pytest.raises(SystemExit) as err:
        main([])
    assert err.value.code == 2
