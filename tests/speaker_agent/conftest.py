"""Fixtures for the speaker agent tests; every test must leave no thread running."""

from __future__ import annotations

import threading
import time

import pytest

from tests.speaker_agent.helpers import AudioServer, make_keys


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3.0
    while True:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not extra, f"test left threads running: {[t.name for t in extra]}"


@pytest.fixture
def keys(tmp_path):
    return make_keys(tmp_path)


@pytest.fixture
def server():
    with AudioServer() as s:
        yield s
