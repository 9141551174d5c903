"""Fixtures for the controller tests: settings in a temp dir, the app with fakes at its edges."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session
from fastapi.testclient import TestClient

from controller.app import create_app
from controller.context import AppContext
from controller.settings import ControllerSettings
from protocol.signing import Verifier, generate_keypair, load_public_key
from tests.controller.factories import FakeClock, FakePipeline, FakePublisher, seed_province

TOKEN = secrets.token_urlsafe(32)
MQTT_PASSWORD = secrets.token_urlsafe(24)


@pytest.fixture(autouse=True)
def _no_loa_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read LOA_* from the environment; a developer's shell must not leak in."""
    for key in list(os.environ):
        if key.startswith("LOA_"):
            monkeypatch.delenv(key)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "keys" / "controller.key", tmp_path / "keys" / "controller.pub"
    generate_keypair(private, public)
    return private, public


@pytest.fixture
def verifier(keys: tuple[Path, Path]) -> Verifier:
    return Verifier([load_public_key(keys[1])])


def make_settings(tmp_path: Path, signing_key: Path, **overrides: object) -> ControllerSettings:
    values: dict[str, object] = {
        "mode": "production",
        "state_dir": tmp_path / "state",
        "public_url": "http://loa.test:8080",
        "api_tokens": [TOKEN],
        "mqtt_password": MQTT_PASSWORD,
        "signing_key_file": signing_key,
        "expiry_sweep_s": 3600,  # the background sweep stays out of the way; tests call it directly
        "dispatch_interval_s": 3600,  # likewise the dispatcher: tests call `tick()`
    }
    values.update(overrides)
    return ControllerSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, keys: tuple[Path, Path]) -> ControllerSettings:
    return make_settings(tmp_path, keys[0])


@dataclass
class Env:
    client: TestClient
    ctx: AppContext
    publisher: FakePublisher
    pipeline: FakePipeline
    clock: FakeClock
    passwords: dict[str, str]

    def session(self) -> Session:
        return Session(self.ctx.engine)


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def env(settings: ControllerSettings) -> Iterator[Env]:
    """The app started with a fake pipeline, publisher and clock, and the test province seeded."""
    publisher, clock = FakePublisher(), FakeClock()
    pipeline = FakePipeline(settings.audio_dir or settings.state_dir / "audio")
    app = create_app(settings, pipeline=pipeline, publisher=publisher, clock=clock)
    with TestClient(app, headers=AUTH) as client:
        ctx: AppContext = app.state.ctx
        with Session(ctx.engine) as session:
            passwords = seed_province(session)
        yield Env(client, ctx, publisher, pipeline, clock, passwords)
