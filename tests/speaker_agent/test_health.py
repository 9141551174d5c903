from __future__ import annotations

import threading
import time

from speaker_agent.health import HealthReporter, read_cpu_temp, read_disk, read_load1, read_meminfo


def test_cpu_temp_takes_the_hottest_zone(tmp_path):
    for i, milli in enumerate(["48312", "51500\n", "garbage"]):
        (tmp_path / f"thermal_zone{i}").mkdir()
        (tmp_path / f"thermal_zone{i}" / "temp").write_text(milli)
    assert read_cpu_temp(str(tmp_path / "thermal_zone*" / "temp")) == 51.5
    assert read_cpu_temp(str(tmp_path / "nothing*" / "temp")) is None


def test_meminfo(tmp_path):
    path = tmp_path / "meminfo"
    path.write_text("MemTotal:        3884564 kB\nMemFree:          123 kB\nMemAvailable:    2000000 kB\n")
    assert read_meminfo(path) == (3884564, 2000000)
    assert read_meminfo(tmp_path / "missing") == (None, None)


def test_disk_and_load(tmp_path):
    total, free = read_disk(tmp_path)
    assert total and free is not None and free <= total
    assert read_disk(tmp_path / "missing") == (None, None)
    assert read_load1() is None or read_load1() >= 0


def test_reporter_survives_a_failing_report():
    calls: list[float] = []

    def report() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("boom")

    reporter = HealthReporter(0.01, report)
    reporter.start()
    deadline = time.monotonic() + 2
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    reporter.stop()
    assert len(calls) >= 3
    assert not any(t.name == "loa-health" for t in threading.enumerate())
