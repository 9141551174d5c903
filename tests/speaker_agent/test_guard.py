from __future__ import annotations

import json
from datetime import timedelta

import pytest

from protocol import topics
from protocol.signing import Verifier, key_id, load_private_key, load_public_key
from speaker_agent.clock import ManualClock
from speaker_agent.guard import Guard, Verdict
from tests.speaker_agent.helpers import audio_ref, make_keys, play_command

NODE = "thon-1-loa-1"
ZONES = ["thon-1", "xa"]
NODE_TOPIC = topics.node_cmd(NODE)
ZONE_TOPIC = topics.zone_cmd("thon-1")


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def signer(keys):
    return keys[0]


def make_guard(tmp_path, keys, clock, skew=60.0) -> Guard:
    verifier = Verifier([load_public_key(keys[1])])
    return Guard(NODE, ZONES, verifier, clock, tmp_path / "state", max_clock_skew_s=skew)


def cmd(clock, **kw):
    return play_command(audio_ref(b"abc"), now=clock.now(), **kw)


def test_valid_command_on_node_and_zone_topics(tmp_path, keys, clock, signer):
    guard = make_guard(tmp_path, keys, clock)
    for topic in (NODE_TOPIC, ZONE_TOPIC, topics.zone_cmd("xa")):
        c = cmd(clock)
        d = guard.check(topic, signer.seal(topic, c))
        assert d.verdict is Verdict.ACCEPT and d.command == c
    assert guard.rejected == 0


def test_forged_signature_rejected(tmp_path, keys, clock, signer):
    guard = make_guard(tmp_path, keys, clock)
    env = json.loads(signer.seal(NODE_TOPIC, cmd(clock)))
    env["cmd"] = env["cmd"].replace('"announcement":1', '"announcement":2')
    assert guard.check(NODE_TOPIC, json.dumps(env).encode()).verdict is Verdict.REJECT
    env = json.loads(signer.seal(NODE_TOPIC, cmd(clock)))
    env["sig"] = env["sig"][:-4] + ("AAAA" if not env["sig"].endswith("AAAA") else "BBBB")
    assert guard.check(NODE_TOPIC, json.dumps(env).encode()).verdict is Verdict.REJECT
    assert guard.rejected == 2


def test_wrong_key_rejected(tmp_path, keys, clock):
    evil, _ = make_keys(tmp_path, "evil")
    guard = make_guard(tmp_path, keys, clock)
    d = guard.check(NODE_TOPIC, evil.seal(NODE_TOPIC, cmd(clock)))
    assert d.verdict is Verdict.REJECT and "signature" in d.reason
    # Same kid as the trusted key but signed by another key.
    env = json.loads(evil.seal(NODE_TOPIC, cmd(clock)))
    env["kid"] = key_id(load_public_key(keys[1]))
    assert guard.check(NODE_TOPIC, json.dumps(env).encode()).verdict is Verdict.REJECT


def test_unsigned_command_rejected(tmp_path, keys, clock):
    guard = make_guard(tmp_path, keys, clock)
    assert guard.check(NODE_TOPIC, cmd(clock).to_json()).verdict is Verdict.REJECT


def test_topic_swap_rejected(tmp_path, keys, clock, signer):
    """A command signed for one node cannot be replayed onto its zone (or another node)."""
    guard = make_guard(tmp_path, keys, clock)
    sealed = signer.seal(topics.node_cmd("other-node"), cmd(clock))
    assert guard.check(ZONE_TOPIC, sealed).verdict is Verdict.REJECT
    assert guard.check(NODE_TOPIC, sealed).verdict is Verdict.REJECT
    sealed = signer.seal(ZONE_TOPIC, cmd(clock))
    assert guard.check(NODE_TOPIC, sealed).verdict is Verdict.REJECT


def test_foreign_topic_rejected(tmp_path, keys, clock, signer):
    guard = make_guard(tmp_path, keys, clock)
    topic = topics.zone_cmd("not-my-zone")
    assert guard.check(topic, signer.seal(topic, cmd(clock))).verdict is Verdict.REJECT


def test_replay_rejected_also_after_restart(tmp_path, keys, clock, signer):
    guard = make_guard(tmp_path, keys, clock)
    sealed = signer.seal(NODE_TOPIC, cmd(clock))
    assert guard.check(NODE_TOPIC, sealed).verdict is Verdict.ACCEPT
    d = guard.check(NODE_TOPIC, sealed)
    assert d.verdict is Verdict.REJECT and "replay" in d.reason
    restarted = make_guard(tmp_path, keys, clock)
    assert restarted.check(NODE_TOPIC, sealed).verdict is Verdict.REJECT
    # The same command id re-signed for a zone topic is a replay too.
    c = cmd(clock)
    assert restarted.check(NODE_TOPIC, signer.seal(NODE_TOPIC, c)).verdict is Verdict.ACCEPT
    assert restarted.check(ZONE_TOPIC, signer.seal(ZONE_TOPIC, c)).verdict is Verdict.REJECT


def test_seen_ids_pruned_after_expiry(tmp_path, keys, clock, signer):
    guard = make_guard(tmp_path, keys, clock, skew=10)
    old = cmd(clock, ttl_s=5)
    guard.check(NODE_TOPIC, signer.seal(NODE_TOPIC, old))
    clock.advance(20)
    guard.check(NODE_TOPIC, signer.seal(NODE_TOPIC, cmd(clock)))
    stored = json.loads((tmp_path / "state" / "seen_commands.json").read_text())["ids"]
    assert old.id not in stored and len(stored) == 1
    # Pruned, but a replay of it is still refused: it has expired.
    assert guard.check(NODE_TOPIC, signer.seal(NODE_TOPIC, old)).verdict is Verdict.EXPIRED


def test_expired_command(tmp_path, keys, clock, signer):
    guard = make_guard(tmp_path, keys, clock)
    c = cmd(clock, ttl_s=30)
    clock.advance(31)
    d = guard.check(NODE_TOPIC, signer.seal(NODE_TOPIC, c))
    assert d.verdict is Verdict.EXPIRED and d.command == c
    assert guard.rejected == 0
    assert guard.check(NODE_TOPIC, signer.seal(NODE_TOPIC, c)).verdict is Verdict.REJECT  # reported once


def test_command_from_the_future(tmp_path, keys, clock, signer):
    guard = make_guard(tmp_path, keys, clock, skew=60)
    far = cmd(clock, issued_offset_s=120, ttl_s=600)
    assert guard.check(NODE_TOPIC, signer.seal(NODE_TOPIC, far)).verdict is Verdict.REJECT
    near = cmd(clock, issued_offset_s=30, ttl_s=600)
    assert guard.check(NODE_TOPIC, signer.seal(NODE_TOPIC, near)).verdict is Verdict.ACCEPT
    clock.advance(timedelta(seconds=61))  # once the node's clock catches up it is fine
    assert guard.check(NODE_TOPIC, signer.seal(NODE_TOPIC, far)).verdict is Verdict.ACCEPT


def test_nodes_narrowing_on_zone_topics(tmp_path, keys, clock, signer):
    guard = make_guard(tmp_path, keys, clock)
    others = cmd(clock, nodes=["thon-1-loa-2"])
    d = guard.check(ZONE_TOPIC, signer.seal(ZONE_TOPIC, others))
    assert d.verdict is Verdict.IGNORE and guard.rejected == 0
    mine = cmd(clock, nodes=["thon-1-loa-2", NODE])
    assert guard.check(ZONE_TOPIC, signer.seal(ZONE_TOPIC, mine)).verdict is Verdict.ACCEPT
    # The node topic already addresses this node alone.
    direct = cmd(clock, nodes=["thon-1-loa-2"])
    assert guard.check(NODE_TOPIC, signer.seal(NODE_TOPIC, direct)).verdict is Verdict.ACCEPT


GARBAGE = [
    b"",
    b"\xff\xfe\x00 not json",
    b"{}",
    b"[1, 2, 3]",
    b"null",
    b'"string"',
    b"{" * 200_000,
    b"[" * 60_000,
    b'{"v": 1, "kid": 5, "sig": [], "cmd": {}}',
    json.dumps({"v": 1, "kid": "x", "sig": "y", "cmd": "{}"}).encode(),
    json.dumps({"v": 2, "kid": "x", "sig": "y", "cmd": "{}"}).encode(),
    json.dumps({"v": 1, "kid": "x", "sig": "\u00e9\ud800", "cmd": "\ud800"}).encode(),
    b"x" * (2 * 1024 * 1024),
]


@pytest.mark.parametrize("payload", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_is_rejected_not_raised(tmp_path, keys, clock, payload):
    guard = make_guard(tmp_path, keys, clock)
    d = guard.check(NODE_TOPIC, payload)
    assert d.verdict is Verdict.REJECT and guard.rejected == 1


def test_signed_command_with_wrong_types(tmp_path, keys, clock, signer):
    """Correctly signed JSON that is not a valid Command (a buggy controller) is refused."""
    import base64

    private = load_private_key(tmp_path / "controller.key")
    guard = make_guard(tmp_path, keys, clock)
    for body in (
        {"id": "abcdefgh", "kind": "play", "issued_at": "yesterday", "expires_at": 5},
        {"id": 12345678, "kind": "reboot", "issued_at": clock.now().isoformat(), "expires_at": clock.now().isoformat()},
        [1, 2],
    ):
        cmd_json = json.dumps(body)
        sig = private.sign(f"{NODE_TOPIC}\n{cmd_json}".encode())  # as docs/protocol.md specifies
        env = {"v": 1, "kid": signer.kid, "sig": base64.urlsafe_b64encode(sig).decode().rstrip("="), "cmd": cmd_json}
        assert guard.check(NODE_TOPIC, json.dumps(env).encode()).verdict is Verdict.REJECT
    assert guard.rejected == 3


def test_rejections_are_logged_at_warning(tmp_path, keys, clock, caplog):
    guard = make_guard(tmp_path, keys, clock)
    with caplog.at_level("WARNING", logger="speaker_agent.guard"):
        guard.check(NODE_TOPIC, b"garbage")
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert not any(r.exc_info for r in caplog.records)


def test_corrupt_seen_file_does_not_stop_the_guard(tmp_path, keys, clock, signer):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "seen_commands.json").write_text("{not json")
    guard = make_guard(tmp_path, keys, clock)
    assert guard.check(NODE_TOPIC, signer.seal(NODE_TOPIC, cmd(clock))).verdict is Verdict.ACCEPT


def test_duplicates_are_counted_but_not_warned_about(tmp_path, keys, clock, signer, caplog):
    guard = make_guard(tmp_path, keys, clock)
    sealed = signer.seal(NODE_TOPIC, cmd(clock))
    with caplog.at_level("INFO", logger="speaker_agent.guard"):
        guard.check(NODE_TOPIC, sealed)
        guard.check(NODE_TOPIC, sealed)  # a QoS 1 redelivery looks exactly like this
    assert guard.rejected == 1
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
