"""Fixtures that bring up a real Loa system (Mosquitto, controller, agent processes)."""

from __future__ import annotations

import pytest

from loa.stack import Stack, StackOptions
from loa.tap import EventTap


@pytest.fixture
def stack_options(tmp_path) -> StackOptions:
    return StackOptions(state_dir=tmp_path / "loa", keepalive_s=4, telemetry_interval_s=2, play_lead_s=2.0)


@pytest.fixture
def stack(stack_options):
    s = Stack(stack_options)
    try:
        s.start()
        s.wait_nodes_online(timeout=60)
        yield s
    finally:
        s.stop()


@pytest.fixture
def tap(stack):
    t = EventTap(stack)
    t.start()
    yield t
    t.stop()
