from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from speaker_agent.config import AgentSettings, ConfigError, load_settings, write_settings

DEMO_TOML = """
node_id = "an-binh-thon-1-loa-1"
zones = ["an-binh-thon-1", "an-binh"]
state_dir = "/var/lib/loa-agent"
public_key_files = ["/etc/loa/controller.pub"]
telemetry_interval_s = 30
volume = 80
cache_max_bytes = 200000000
max_clock_skew_s = 60
download_timeout_s = 30
download_attempts = 4
[mqtt]
host = "127.0.0.1"
port = 1883
username = ""
password = ""
password_file = ""
keepalive = 30
tls_ca_file = ""
[player]
backend = "file"
realtime = true
alsa_device = "default"
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("LOA_AGENT_"):
            monkeypatch.delenv(key)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def test_documented_toml_loads(tmp_path):
    s = load_settings(write(tmp_path, DEMO_TOML))
    assert s.node_id == "an-binh-thon-1-loa-1"
    assert s.zones == ["an-binh-thon-1", "an-binh"]
    assert s.state_dir == Path("/var/lib/loa-agent")
    assert s.public_key_files == [Path("/etc/loa/controller.pub")]
    assert s.mqtt.port == 1883 and s.mqtt_username() == s.node_id and s.mqtt_password() is None
    assert s.player.backend == "file" and s.player.realtime is True


def test_env_overrides_file_and_kwargs_override_env(tmp_path, monkeypatch):
    path = write(tmp_path, DEMO_TOML)
    monkeypatch.setenv("LOA_AGENT_VOLUME", "35")
    monkeypatch.setenv("LOA_AGENT_MQTT__PORT", "1884")
    monkeypatch.setenv("LOA_AGENT_ZONES", '["thon-2"]')
    s = load_settings(path)
    assert s.volume == 35 and s.mqtt.port == 1884 and s.zones == ["thon-2"]
    assert s.mqtt.host == "127.0.0.1"  # nested env merges into the file's table
    s = load_settings(path, volume=10, mqtt={"port": 2000})
    assert s.volume == 10 and s.mqtt.port == 2000 and s.mqtt.keepalive == 30


@pytest.mark.parametrize(
    "text",
    [
        DEMO_TOML.replace("volume = 80", "volumne = 80"),
        DEMO_TOML.replace("keepalive = 30", 'keepalive = 30\nhots = "x"'),
        DEMO_TOML + "[speaker]\nx = 1\n",
    ],
    ids=["top-level typo", "mqtt typo", "unknown table"],
)
def test_unknown_keys_are_rejected(tmp_path, text):
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text))
    assert "\n" not in str(err.value) and "Extra inputs" in str(err.value)


def test_extra_kwarg_rejected():
    with pytest.raises(ConfigError):
        load_settings(None, node_id="n1", colour="red")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('node_id = "Bad Id"\n', "node_id"),
        ('node_id = "n1"\nzones = ["a/b"]\n', "zones"),
        ('node_id = "n1"\nvolume = 101\n', "volume"),
        ('node_id = "n1"\n[player]\nbackend = "jack"\n', "player.backend"),
        ('node_id = "n1"\n[mqtt]\npassword = "a"\npassword_file = "/x"\n', "not both"),
        ('node_id = "n1"\nvolume = \n', "not valid TOML"),
        ("zones = []\n", "node_id"),
    ],
)
def test_errors_are_one_line(tmp_path, text, fragment):
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text))
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_missing_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(Path("/nonexistent/agent.toml"))


def test_password_file(tmp_path):
    (tmp_path / "pw").write_text("s3cret\n")
    s = load_settings(None, node_id="n1", mqtt={"password_file": str(tmp_path / "pw"), "username": "u"})
    assert s.mqtt_password() == "s3cret" and s.mqtt_username() == "u"
    s = load_settings(None, node_id="n1", mqtt={"password_file": str(tmp_path / "missing")})
    with pytest.raises(ConfigError):
        s.mqtt_password()


def test_write_settings_round_trip_private(tmp_path):
    s = AgentSettings(
        node_id="thon-1", zones=["thon", "xa"], state_dir=tmp_path / "st", public_key_files=[tmp_path / "k.pub"],
        telemetry_interval_s=2.5, mqtt={"password": 'p"\\w\x7f\n', "port": 1999}, player={"realtime": False},
    )
    path = tmp_path / "conf" / "agent.toml"
    write_settings(s, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_settings(path) == s
    assert "SecretStr" not in path.read_text() and "**" not in path.read_text()


@settings(max_examples=60, deadline=None)
@given(password=st.text(), host=st.text(min_size=1), volume=st.integers(0, 100))
def test_any_string_survives_toml(tmp_path_factory, password, host, volume):
    s = AgentSettings(node_id="n1", volume=volume, mqtt={"password": password, "host": host})
    path = tmp_path_factory.mktemp("w") / "a.toml"
    write_settings(s, path)
    back = load_settings(path)
    assert back.mqtt.password.get_secret_value() == password and back.mqtt.host == host and back.volume == volume
