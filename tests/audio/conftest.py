"""Fixtures for the audio tests: one espeak-ng engine per module (its worker process
takes a moment to start) and a store per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from audio.engines.espeak import EspeakEngine
from audio.store import AudioStore


@pytest.fixture(scope="module")
def espeak_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EspeakEngine]:
    if not (shutil.which("espeak-ng") and shutil.which("ffmpeg")):
        pytest.skip("needs espeak-ng and ffmpeg")
    engine = EspeakEngine(work_dir=tmp_path_factory.mktemp("espeak-work"))
    yield engine
    engine.close()


@pytest.fixture
def store(tmp_path: Path) -> AudioStore:
    return AudioStore(tmp_path / "store")
