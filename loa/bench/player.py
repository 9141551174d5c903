"""Player benchmark: how long after the start the first sample reaches ALSA, with the
ffmpeg process started at that moment ("unarmed") or at the hand-over ahead of it
("armed", what the timeline does; speaker_agent/alsa.py).

The simulated nodes of the other benchmarks play into a file sink, so this is the one
place the real output path is timed. The device is ALSA's `file` plugin writing into a
FIFO (and discarding into `null`), so no sound card is needed and the moment the first
bytes come out of the FIFO is the moment ALSA received sound. The two kinds alternate,
so a noisy machine affects both alike; compare them within one run.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from loa.bench.stats import summary

HAND_OVER_S = 0.2
"""The timeline's `prestart_s`: how far ahead of `play_at` a play is armed."""


def _first_bytes(fifo: Path, got: list[float]) -> None:
    with open(fifo, "rb") as out:
        if out.read(1):
            got.append(time.monotonic())
        while out.read(65536):
            pass


def _one(player_cls, audio: Path, work: Path, n: int, armed: bool) -> float:
    fifo = work / f"out-{n}.fifo"
    os.mkfifo(fifo)
    got: list[float] = []
    reader = threading.Thread(target=_first_bytes, args=(fifo, got), daemon=True)
    reader.start()
    player = player_cls(device=f"file:FILE={fifo},FORMAT=raw")
    if armed:
        play = player.arm(audio)
        time.sleep(HAND_OVER_S)
        t0 = time.monotonic()
        play.play(5000, threading.Event())
    else:
        time.sleep(HAND_OVER_S)
        t0 = time.monotonic()
        player.play(audio, 5000, threading.Event())
    reader.join(10)
    fifo.unlink()
    if not got:
        raise RuntimeError("no sound reached the device")
    return (got[0] - t0) * 1000


def run_player(*, rounds: int) -> dict:
    from speaker_agent.alsa import AlsaPlayer

    with tempfile.TemporaryDirectory(prefix="loa-bench-player-") as tmp:
        work = Path(tmp)
        audio = work / "speech.opus"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=440:d=5", "-ac", "1",
             "-c:a", "libopus", "-b:a", "24k", str(audio)], check=True,
        )  # fmt: skip
        unarmed: list[float] = []
        armed: list[float] = []
        for n in range(rounds):
            unarmed.append(_one(AlsaPlayer, audio, work, 2 * n, armed=False))
            armed.append(_one(AlsaPlayer, audio, work, 2 * n + 1, armed=True))
    u, a = summary(unarmed, 1), summary(armed, 1)
    return {
        "benchmark": "player",
        "rounds": rounds,
        "hand_over_s": HAND_OVER_S,
        "first_sound_after_start_ms": {"unarmed": u, "armed": a},
        "unarmed_over_armed_p50": round(u["p50"] / a["p50"], 1) if a["p50"] else None,
    }
