"""Helpers shared by the programme tests: scheduled creates, ticks, a second app on one DB."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from controller.app import create_app
from controller.context import AppContext
from controller.settings import ControllerSettings
from protocol.commands import Command
from protocol.signing import Verifier
from tests.controller.conftest import AUTH, Env
from tests.controller.factories import FakeClock, FakePipeline, FakePublisher

URL = "/api/v1/announcements"
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def local(at: datetime) -> str:
    """ISO 8601 in Vietnam time, as an official's form sends it."""
    return at.astimezone(VN).isoformat()


def schedule(env: Env, schedule: dict, text: str = "Lịch tiêm phòng", **extra: object) -> dict:
    body = {"text": text, "targets": {"zones": ["thon-dong"]}, "schedule": schedule, **extra}
    res = env.client.post(URL, json=body)
    assert res.status_code == 201, res.text
    return res.json()


def once(env: Env, at: datetime, **extra: object) -> dict:
    return schedule(env, {"at": local(at)}, **extra)


def commands(verifier: Verifier, publisher: FakePublisher, start: int = 0) -> list[tuple[str, Command]]:
    return [(topic, verifier.open(topic, payload)) for topic, payload, _, _ in publisher.published[start:]]


@dataclass
class Second:
    client: TestClient
    ctx: AppContext
    publisher: FakePublisher


@contextmanager
def second_app(settings: ControllerSettings, clock: FakeClock) -> Iterator[Second]:
    """Another controller process on the same database (own publisher, own lease holder id)."""
    publisher = FakePublisher()
    app = create_app(
        settings, pipeline=FakePipeline(settings.audio_dir or settings.state_dir / "audio"), publisher=publisher, clock=clock
    )
    with TestClient(app, headers=AUTH) as client:
        yield Second(client, app.state.ctx, publisher)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
