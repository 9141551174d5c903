"""Periodic telemetry: what a technician needs to see that a node is healthy.

Kept small (omit what the board cannot tell, QoS 0, not retained) because it goes out
every `telemetry_interval_s` over a paid SIM from hundreds of nodes. Readers of /proc
and /sys tolerate their absence, so the agent also runs on a laptop or in CI.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from protocol.reports import NowPlaying, Telemetry
from speaker_agent.clock import Clock

log = logging.getLogger(__name__)

THERMAL_GLOB = "/sys/class/thermal/thermal_zone*/temp"


def read_meminfo(path: Path = Path("/proc/meminfo")) -> tuple[int | None, int | None]:
    """(MemTotal, MemAvailable) in kB, None where unknown."""
    values: dict[str, int] = {}
    try:
        for line in path.read_text().splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if key in ("MemTotal", "MemAvailable") and parts and parts[0].isdigit():
                values[key] = int(parts[0])
    except OSError:
        pass
    return values.get("MemTotal"), values.get("MemAvailable")


def read_cpu_temp(pattern: str = THERMAL_GLOB) -> float | None:
    """Hottest thermal zone in degrees C (sysfs gives millidegrees), None without sensors."""
    temps = []
    for name in sorted(glob.glob(pattern)):
        try:
            temps.append(int(Path(name).read_text().strip()) / 1000)
        except (OSError, ValueError):
            continue
    return round(max(temps), 1) if temps else None


def read_load1() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def read_disk(path: Path) -> tuple[int | None, int | None]:
    """(total, free) kB of the filesystem holding path."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None, None
    return usage.total // 1024, usage.free // 1024


@dataclass
class HealthSources:
    """Where the agent-specific figures come from (callables, read at each report)."""

    cache: Callable[[], tuple[int, int]]
    """(bytes, files) in the audio cache."""
    now_playing: Callable[[], NowPlaying | None]
    rejected: Callable[[], int]
    volume: Callable[[], int]


def collect(
    node_id: str,
    version: str,
    clock: Clock,
    started_monotonic: float,
    state_dir: Path,
    sources: HealthSources,
    thermal_glob: str = THERMAL_GLOB,
) -> Telemetry:
    """One telemetry report; uptime is the agent's (restarts show up), not the board's."""
    mem_total, mem_available = read_meminfo()
    disk_total, disk_free = read_disk(state_dir)
    cache_bytes, cache_files = sources.cache()
    return Telemetry(
        node=node_id,
        at=clock.now(),
        agent_version=version,
        uptime_s=round(time.monotonic() - started_monotonic, 1),
        load1=read_load1(),
        mem_total_kb=mem_total,
        mem_available_kb=mem_available,
        disk_total_kb=disk_total,
        disk_free_kb=disk_free,
        cpu_temp_c=read_cpu_temp(thermal_glob),
        cache_bytes=cache_bytes,
        cache_files=cache_files,
        volume=sources.volume(),
        now_playing=sources.now_playing(),
        rejected_commands=sources.rejected(),
    )


class HealthReporter:
    """Calls `report()` now and then every `interval_s` seconds until stopped."""

    def __init__(self, interval_s: float, report: Callable[[], None], name: str = "loa-health") -> None:
        self.interval_s = interval_s
        self._report = report
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._name = name

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            try:
                self._report()
            except Exception:  # noqa: BLE001 - a failed report must not end reporting
                log.exception("telemetry report failed")
            if self._stop.wait(self.interval_s):
                return


__all__ = ["HealthReporter", "HealthSources", "collect", "read_cpu_temp", "read_disk", "read_load1", "read_meminfo"]
