"""Worker backends for tests. They run in the spawned worker process, so they live
in a plain importable module (not a test module) and must be picklable classes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from audio.engines.espeak import PyttsxBackend
from audio.worker import BackendBroken
from tests.audio.audio_testkit import write_tone_wav


class ScriptedBackend:
    """Writes a tone WAV, or misbehaves when the text asks it to."""

    def synthesize(self, text: str, voice: str, rate: int, out_path: Path, deadline: float) -> None:
        print("Audio saved to nowhere (python stdout)")
        os.write(1, b"Audio saved to nowhere (fd 1)\n")
        sys.stdout.flush()
        if text == "hang":
            time.sleep(3600)
        if text == "crash":
            os._exit(3)
        if text == "fail":
            raise ValueError("scripted failure")
        if text == "broken":
            raise BackendBroken("scripted breakage")
        write_tone_wav(out_path, 0.1)


class FailingToStartBackend:
    def __init__(self) -> None:
        raise RuntimeError("no speech library here")

    def synthesize(self, text: str, voice: str, rate: int, out_path: Path, deadline: float) -> None:
        raise AssertionError("never reached")


class HangingPyttsxBackend(PyttsxBackend):
    """The real espeak backend, except that it hangs forever on the word HANGNOW."""

    def synthesize(self, text: str, voice: str, rate: int, out_path: Path, deadline: float) -> None:
        if "HANGNOW" in text:
            time.sleep(3600)
        super().synthesize(text, voice, rate, out_path, deadline)
