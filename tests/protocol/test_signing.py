import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from protocol import topics
from protocol.base import ProtocolError
from protocol.commands import AudioRef, Command, CommandKind, PlayOrder
from protocol.signing import SignatureError, Signer, Verifier, generate_keypair, load_private_key, load_public_key


@pytest.fixture
def keys(tmp_path):
    generate_keypair(tmp_path / "a.key", tmp_path / "a.pub")
    generate_keypair(tmp_path / "b.key", tmp_path / "b.pub")
    return {n: (load_private_key(tmp_path / f"{n}.key"), load_public_key(tmp_path / f"{n}.pub")) for n in "ab"}


def command() -> Command:
    now = datetime.now(UTC)
    return Command(
        id=uuid.uuid4().hex, kind=CommandKind.PLAY, issued_at=now, expires_at=now + timedelta(minutes=5),
        play=PlayOrder(announcement=1, play_at=now, audio=AudioRef(url="http://x/a.opus", sha256="0" * 64, size=10, duration_ms=5)),
    )


def test_round_trip_gives_the_same_command(keys):
    topic = topics.node_cmd("n1")
    cmd = command()
    assert Verifier([keys["a"][1]]).open(topic, Signer(keys["a"][0]).seal(topic, cmd)) == cmd


def test_private_key_file_is_not_world_readable(tmp_path):
    generate_keypair(tmp_path / "k", tmp_path / "k.pub")
    assert (tmp_path / "k").stat().st_mode & 0o077 == 0


def test_other_key_topic_swap_and_tampering_are_refused(keys):
    topic = topics.node_cmd("n1")
    sealed = Signer(keys["a"][0]).seal(topic, command())
    with pytest.raises(SignatureError):
        Verifier([keys["b"][1]]).open(topic, sealed)
    with pytest.raises(SignatureError):
        Verifier([keys["a"][1]]).open(topics.zone_cmd("z1"), sealed)
    env = json.loads(sealed)
    env["cmd"] = env["cmd"].replace('"announcement":1', '"announcement":2')
    with pytest.raises(SignatureError):
        Verifier([keys["a"][1]]).open(topic, json.dumps(env).encode())


def test_rotation_trusts_both_keys(keys):
    topic = topics.node_cmd("n1")
    verifier = Verifier([keys["a"][1], keys["b"][1]])
    for name in "ab":
        verifier.open(topic, Signer(keys[name][0]).seal(topic, command()))


@pytest.mark.parametrize(
    "raw",
    [b"", b"\xff\xfe", b"null", b"[]", b'{"v": 2}', b'{"v":1,"kid":1,"sig":"x","cmd":"{}"}', b"[" * 60_000, b"{" * 70_000],
)
def test_garbage_is_a_protocol_error(keys, raw):
    with pytest.raises(ProtocolError):
        Verifier([keys["a"][1]]).open(topics.node_cmd("n1"), raw)
