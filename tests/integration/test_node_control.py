"""Technician commands end to end: REST -> signed MQTT command -> real agent process -> events/telemetry."""

from __future__ import annotations

import hashlib
import time

import pytest

from speaker_agent.control import tone_wav

pytestmark = pytest.mark.integration


def control(stack, node: str, **body) -> str:
    with stack.api() as api:
        r = api.post(f"/api/v1/nodes/{node}/control", json=body)
    assert r.status_code == 202, r.text
    return r.json()["command"]


def wait_cmd(tap, cmd: str, event: str, timeout: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [e.event.value for e in list(tap.events) if e.cmd == cmd]
        if event in got:
            return got
        time.sleep(0.05)
    return [e.event.value for e in list(tap.events) if e.cmd == cmd]


def wait_telemetry(stack, node: str, key: str, wanted, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    with stack.api() as api:
        while True:
            telemetry = api.get(f"/api/v1/nodes/{node}").json()["telemetry"] or {}
            if telemetry.get(key) == wanted or time.monotonic() > deadline:
                return telemetry
            time.sleep(0.1)


def test_volume_reaches_the_agent_and_a_test_tone_plays_with_it(stack, tap):
    cmd = control(stack, "thon-dong-1", action="volume", volume=42)
    assert wait_cmd(tap, cmd, "applied") == ["applied"]
    assert wait_telemetry(stack, "thon-dong-1", "volume", 42)["volume"] == 42
    assert wait_telemetry(stack, "thon-dong-2", "volume", 80)["volume"] == 80  # only the addressed node

    tone = control(stack, "thon-dong-1", action="test_tone")
    assert wait_cmd(tap, tone, "finished") == ["received", "ready", "started", "finished"]
    [played] = [p for p in stack.plays("thon-dong-1") if p["cmd"] == tone]
    assert played["sha256"] == hashlib.sha256(tone_wav()).hexdigest() and played["volume"] == 42
    assert played["outcome"] == "finished"
    assert stack.plays("thon-dong-2") == []


def test_restart_reexecs_the_agent_once_and_it_comes_back(stack, tap):
    proc = stack.agents["thon-tay-1"]
    cmd = control(stack, "thon-tay-1", action="restart")
    assert wait_cmd(tap, cmd, "applied") == ["applied"]
    log = stack.dir / "logs" / "agent-thon-tay-1.log"
    deadline = time.monotonic() + 20
    while "re-executing" not in log.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.1)
    # Same process (exec, not exit): the Stack's handle still tracks it, and it is back online.
    assert proc.poll() is None
    stack.wait_nodes_online(["thon-tay-1"], timeout=30)
    after = control(stack, "thon-tay-1", action="volume", volume=55)
    assert wait_cmd(tap, after, "applied") == ["applied"]
    assert wait_telemetry(stack, "thon-tay-1", "volume", 55)["volume"] == 55
    # The restart command (redelivered from the persistent session, if at all) did not loop.
    assert log.read_text(errors="replace").count("re-executing") == 1 and proc.poll() is None
