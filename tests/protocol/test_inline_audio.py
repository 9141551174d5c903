"""Inline audio in AudioRef (`data`): round trip, limits, and bad data that must not break a command."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from protocol import topics
from protocol.base import MAX_COMMAND_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES, ProtocolError, decode
from protocol.commands import (
    MAX_INLINE_AUDIO_BYTES,
    MAX_INLINE_DATA_CHARS,
    AudioRef,
    Command,
    CommandKind,
    InlineAudioError,
    PlayOrder,
    Priority,
)
from protocol.reports import NodeEvent
from protocol.signing import Signer, Verifier, generate_keypair, load_private_key, load_public_key

TOPIC = topics.zone_cmd("thon-dong")


@pytest.fixture
def signer_verifier(tmp_path):
    generate_keypair(tmp_path / "c.key", tmp_path / "c.pub")
    return Signer(load_private_key(tmp_path / "c.key")), Verifier([load_public_key(tmp_path / "c.pub")])


def ref(audio: bytes, data: str | None = None, *, inline: bool = True) -> AudioRef:
    if inline and data is None:
        data = base64.b64encode(audio).decode()
    return AudioRef(
        url="http://loa.test/audio/x.opus", sha256=hashlib.sha256(audio).hexdigest(), size=len(audio),
        duration_ms=1000, data=data,
    )


def command(audio_ref: AudioRef) -> Command:
    now = datetime.now(UTC)
    return Command(
        id=uuid.uuid4().hex, kind=CommandKind.PLAY, issued_at=now, expires_at=now + timedelta(minutes=10),
        play=PlayOrder(announcement=3, audio=audio_ref, play_at=now, priority=Priority.EMERGENCY),
    )


def test_inline_audio_round_trips_through_a_signed_envelope(signer_verifier):
    signer, verifier = signer_verifier
    audio = os.urandom(96 * 1024)  # the controller's default limit
    cmd = command(ref(audio))
    envelope = signer.seal(TOPIC, cmd)
    assert MAX_PAYLOAD_BYTES < len(envelope) <= MAX_COMMAND_PAYLOAD_BYTES
    opened = verifier.open(TOPIC, envelope)
    assert opened == cmd
    assert opened.play is not None and opened.play.audio.inline_bytes() == audio


def test_largest_inline_audio_fits_the_command_limit(signer_verifier):
    signer, verifier = signer_verifier
    audio = os.urandom(MAX_INLINE_AUDIO_BYTES)
    envelope = signer.seal(TOPIC, command(ref(audio)))
    assert len(envelope) <= MAX_COMMAND_PAYLOAD_BYTES
    assert verifier.open(TOPIC, envelope).play.audio.inline_bytes() == audio


def test_without_data_the_wire_form_is_unchanged():
    audio = b"opus"
    plain = ref(audio, inline=False)
    assert "data" not in json.loads(plain.model_dump_json(exclude_none=True))
    assert plain.inline_bytes() is None
    assert ref(audio).without_data() == plain


def test_oversize_data_is_refused():
    with pytest.raises(ValueError):
        AudioRef(url="http://x/a.opus", sha256="0" * 64, size=10, duration_ms=1, data="A" * (MAX_INLINE_DATA_CHARS + 4))


def test_oversize_envelope_is_refused_before_parsing(signer_verifier):
    _, verifier = signer_verifier
    with pytest.raises(ProtocolError, match="exceeds"):
        verifier.open(TOPIC, b"{" + b" " * MAX_COMMAND_PAYLOAD_BYTES + b"}")


def test_reports_keep_the_tight_limit():
    event = NodeEvent(node="n1", cmd="c" * 8, event="ready", at=datetime.now(UTC), detail="x").to_json()
    padded = event[:-1] + b"," + b'"pad":"' + b"x" * MAX_PAYLOAD_BYTES + b'"}'
    with pytest.raises(ProtocolError, match="exceeds"):
        decode(NodeEvent, padded)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("not base64 at all!", "not valid base64"),
        ("QUJD", "bytes, the command says"),  # valid base64 of b"ABC", wrong size
        ("w6k=\n", "not valid base64"),  # a newline is not in the alphabet
        ("ümlaut", "not valid base64"),  # non-ASCII
    ],
)
def test_bad_inline_data_keeps_the_command_valid_and_says_why(signer_verifier, data, reason):
    signer, verifier = signer_verifier
    audio = os.urandom(2000)
    opened = verifier.open(TOPIC, signer.seal(TOPIC, command(ref(audio, data))))
    assert opened.play is not None
    with pytest.raises(InlineAudioError, match=reason):
        opened.play.audio.inline_bytes()


def test_inline_data_with_the_wrong_hash_is_refused():
    audio = os.urandom(2000)
    other = os.urandom(2000)
    bad = ref(audio, base64.b64encode(other).decode())
    with pytest.raises(InlineAudioError, match="hashes to"):
        bad.inline_bytes()


def test_an_old_shape_receiver_ignores_data():
    """An agent built before `data` existed parsed AudioRef with extra="ignore": same here."""
    from pydantic import BaseModel, ConfigDict

    class OldAudioRef(BaseModel):
        model_config = ConfigDict(extra="ignore", frozen=True)
        url: str
        sha256: str
        size: int
        duration_ms: int
        mime: str = "audio/ogg; codecs=opus"

    audio = os.urandom(500)
    old = OldAudioRef.model_validate_json(ref(audio).model_dump_json(exclude_none=True))
    assert old.url == "http://loa.test/audio/x.opus" and old.size == 500
