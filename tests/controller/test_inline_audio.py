"""Emergency play-now commands carry small audio inline (LOA_INLINE_AUDIO_MAX_BYTES); nothing else does."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session

from controller.accounts.actor import Actor
from controller.accounts.roles import Role
from controller.app import create_app
from controller.dispatch import inline_audio
from controller.models import AnnouncementCreate
from protocol.commands import MAX_INLINE_AUDIO_BYTES, Command, Priority
from protocol.signing import Verifier
from tests.controller.conftest import AUTH, Env, make_settings
from tests.controller.factories import FakeClock, FakePipeline, FakePublisher, seed_province
from tests.controller.programme_helpers import commands, minutes, once

URL = "/api/v1/announcements"


@contextmanager
def env_with(tmp_path: Path, keys: tuple[Path, Path], **overrides: object) -> Iterator[Env]:
    settings = make_settings(tmp_path, keys[0], **overrides)
    publisher, clock = FakePublisher(), FakeClock()
    pipeline = FakePipeline(settings.audio_dir or settings.state_dir / "audio")
    app = create_app(settings, pipeline=pipeline, publisher=publisher, clock=clock)
    with TestClient(app, headers=AUTH) as client:
        ctx = app.state.ctx
        with Session(ctx.engine) as session:
            passwords = seed_province(session)
        yield Env(client, ctx, publisher, pipeline, clock, passwords)


def post(env: Env, **body: object) -> dict:
    body.setdefault("text", "Khẩn cấp: nước lũ đang lên, bà con di chuyển lên chỗ cao.")
    body.setdefault("targets", {"zones": ["xa-an-binh"]})
    res = env.client.post(URL, json=body)
    assert res.status_code == 201, res.text
    return res.json()


def stored_bytes(env: Env, sha256: str) -> bytes:
    return (env.ctx.settings.audio_dir / f"{sha256}.opus").read_bytes()


def sent(env: Env, verifier: Verifier) -> list[Command]:
    return [cmd for _, cmd in commands(verifier, env.publisher)]


def test_small_emergency_carries_its_audio_in_every_signed_command(env: Env, verifier: Verifier) -> None:
    body = post(env, priority="emergency", targets={"zones": ["thon-dong"], "nodes": ["tay-1"]})
    cmds = sent(env, verifier)
    assert len(cmds) == 2  # a zone topic and a node topic: each carries the audio once
    audio = stored_bytes(env, body["audio"]["sha256"])
    for cmd in cmds:
        assert cmd.play is not None and cmd.play.priority is Priority.EMERGENCY
        ref = cmd.play.audio
        assert ref.inline_bytes() == audio  # signed (verifier.open checked it), right size and hash
        assert ref.url == f"http://loa.test:8080/audio/{body['audio']['sha256']}.opus"  # the fallback stays


@pytest.mark.parametrize("priority", ["normal", "priority"])
def test_other_priorities_send_the_url_only(env: Env, verifier: Verifier, priority: str) -> None:
    post(env, priority=priority)
    [cmd] = sent(env, verifier)
    assert cmd.play is not None and cmd.play.audio.data is None
    assert b'"data"' not in env.publisher.published[0][1]


def test_scheduled_emergency_occurrences_send_the_url_only(env: Env, verifier: Verifier) -> None:
    once(env, env.clock() + minutes(2), priority="emergency")
    [cmd] = sent(env, verifier)
    assert cmd.play is not None and cmd.play.priority is Priority.EMERGENCY and cmd.play.occurrence is not None
    assert cmd.play.audio.data is None


def test_an_emergency_approved_later_carries_its_audio(env: Env, verifier: Verifier) -> None:
    req = AnnouncementCreate.model_validate(
        {"text": "Bão sắp đến", "targets": {"zones": ["thon-dong"]}, "priority": "emergency"}
    )
    submitted = asyncio.run(env.ctx.announcer.submit(req, Actor("lan", Role.EDITOR)))
    assert env.publisher.published == []
    asyncio.run(env.ctx.announcer.approve(submitted.id, Actor("hung", Role.LEADER)))
    [cmd] = sent(env, verifier)
    assert cmd.play is not None and cmd.play.audio.inline_bytes() == stored_bytes(env, submitted.audio.sha256)


def test_audio_over_the_limit_sends_the_url_only(tmp_path: Path, keys: tuple[Path, Path], verifier: Verifier) -> None:
    with env_with(tmp_path, keys, inline_audio_max_bytes=1000) as env:  # FakePipeline's files are 2052 bytes
        body = post(env, priority="emergency")
        assert body["audio"]["size"] > 1000
        [cmd] = sent(env, verifier)
        assert cmd.play is not None and cmd.play.audio.data is None


def test_audio_exactly_at_the_limit_goes_inline(tmp_path: Path, keys: tuple[Path, Path], verifier: Verifier) -> None:
    with env_with(tmp_path, keys, inline_audio_max_bytes=2052) as env:
        body = post(env, priority="emergency")
        assert body["audio"]["size"] == 2052
        [cmd] = sent(env, verifier)
        assert cmd.play is not None and cmd.play.audio.data is not None


def test_zero_disables_inline_audio(tmp_path: Path, keys: tuple[Path, Path], verifier: Verifier) -> None:
    with env_with(tmp_path, keys, inline_audio_max_bytes=0) as env:
        post(env, priority="emergency")
        [cmd] = sent(env, verifier)
        assert cmd.play is not None and cmd.play.audio.data is None


def test_the_setting_cannot_exceed_the_protocol_limit(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    assert make_settings(tmp_path, keys[0]).inline_audio_max_bytes == 96 * 1024
    with pytest.raises(ValidationError, match="inline_audio_max_bytes"):
        make_settings(tmp_path, keys[0], inline_audio_max_bytes=MAX_INLINE_AUDIO_BYTES + 1)


# -- inline_audio on its own -------------------------------------------------------------


def write(tmp_path: Path, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / f"{sha}.opus").write_bytes(data)
    return sha


def test_inline_audio_reads_the_stored_file(tmp_path: Path) -> None:
    sha = write(tmp_path, b"OggS" + b"x" * 100)
    assert inline_audio(tmp_path, sha, 104, Priority.EMERGENCY, 1000) == b"OggS" + b"x" * 100
    assert inline_audio(tmp_path, sha, 104, Priority.PRIORITY, 1000) is None
    assert inline_audio(tmp_path, sha, 104, Priority.EMERGENCY, 103) is None
    assert inline_audio(tmp_path, sha, 104, Priority.EMERGENCY, 0) is None


def test_a_missing_or_damaged_file_falls_back_to_the_url(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="controller.dispatch")
    assert inline_audio(tmp_path, "a" * 64, 10, Priority.EMERGENCY, 1000) is None
    assert "unreadable" in caplog.text
    sha = write(tmp_path, b"good bytes")
    (tmp_path / f"{sha}.opus").write_bytes(b"evil bytes")  # same size, different content
    assert inline_audio(tmp_path, sha, 10, Priority.EMERGENCY, 1000) is None
    assert "does not match" in caplog.text
