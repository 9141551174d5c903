"""Fixtures for the engine tests: local service simulators and fast cloud timings."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from audio.engines.cloud import CloudEngine, CloudPolicy, FptEngine, VbeeEngine, ViettelEngine, ZaloEngine
from tests.audio.engines.fake_http import LocalServer
from tests.audio.engines.fake_services import (
    KEY,
    FakeService,
    FptService,
    VbeeService,
    ViettelService,
    ZaloService,
)

#: Real timing shapes, shrunk: three attempts, short backoff, quick polls.
FAST = CloudPolicy(
    request_timeout_s=2.0,
    connect_timeout_s=1.0,
    max_attempts=3,
    backoff_s=0.02,
    backoff_max_s=0.05,
    poll_interval_s=0.02,
    poll_max_interval_s=0.05,
)


@dataclass(frozen=True)
class ServiceCase:
    """How to stand up one service's simulator and point its engine at it."""

    name: str
    service: type[FakeService]
    make: Callable[..., CloudEngine]
    voice: str
    limit: int

    def engine(self, url: str, work_dir: Path, *, key: str = KEY, policy: CloudPolicy = FAST) -> CloudEngine:
        return self.make(key, base_url=url, policy=policy, work_dir=work_dir)


def _vbee(key: str, **kw: object) -> VbeeEngine:
    return VbeeEngine(key, app_id="app-1", callback_url="https://loa.invalid/vbee", **kw)  # type: ignore[arg-type]


CASES = (
    ServiceCase("fpt", FptService, FptEngine, "fpt-banmai", 5000),
    ServiceCase("viettel", ViettelService, ViettelEngine, "viettel-hn-quynhanh", 2000),
    ServiceCase("vbee", VbeeService, _vbee, "vbee-hn-ngochuyen", 2000),
    ServiceCase("zalo", ZaloService, ZaloEngine, "zalo-north-female", 2000),
)


@pytest.fixture(scope="session", autouse=True)
def _needs_ffmpeg() -> None:
    if not shutil.which("ffmpeg"):
        pytest.skip("needs ffmpeg")


@pytest.fixture
def serve() -> Iterator[Callable[[FakeService], LocalServer]]:
    """Start a loopback server for a simulator; every server stops after the test."""
    servers: list[LocalServer] = []

    def start(sim: FakeService) -> LocalServer:
        server = LocalServer(sim)
        sim.base_url = server.url
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
