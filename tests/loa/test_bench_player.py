"""`loa bench player` runs the real ALSA player both ways and reports both (no timing asserted)."""

from __future__ import annotations

import json
import math

import pytest

from loa.bench.cli import main


@pytest.mark.integration
def test_player_benchmark_reports_unarmed_and_armed(capsys):
    assert main(["player", "--rounds", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    figures = report["first_sound_after_start_ms"]
    for kind in ("unarmed", "armed"):
        assert figures[kind]["n"] == 2 and math.isfinite(figures[kind]["max"]) and figures[kind]["p50"] > 0
    assert report["unarmed_over_armed_p50"] > 0
