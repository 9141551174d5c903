"""AudioPipeline end to end: espeak-ng speech -> processed Opus in the store."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import subprocess
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from audio.engines.espeak import EspeakEngine
from audio.errors import EngineTimeout
from audio.pipeline import (
    VOICES,
    AudioError,
    AudioPipeline,
    RenderedAudio,
    RenderRequest,
    build_pipeline,
)
from audio.store import AudioStore
from tests.audio.audio_fake_backends import HangingPyttsxBackend
from tests.audio.audio_testkit import (
    SENTENCE_1,
    SENTENCE_2,
    SENTENCE_3,
    CountingEngine,
    ToneEngine,
    ffprobe,
    loudnorm_measure,
)

pytestmark = pytest.mark.integration

TARGET = -16.0


@pytest.fixture
def counting(espeak_engine: EspeakEngine) -> CountingEngine:
    return CountingEngine(espeak_engine)


@pytest.fixture
def pipeline(store: AudioStore, counting: CountingEngine) -> AudioPipeline:
    # Not closed here: the module-scoped engine outlives each test's pipeline.
    return AudioPipeline(store, counting)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, espeak_engine: EspeakEngine) -> dict[str, RenderedAudio]:
    """The renders several tests inspect, made once."""
    pipe = AudioPipeline(AudioStore(tmp_path_factory.mktemp("store")), espeak_engine)
    long_text = " ".join([SENTENCE_1, SENTENCE_2, SENTENCE_3])
    return {
        "short": pipe.render(RenderRequest(SENTENCE_1)),
        "long": pipe.render(RenderRequest(long_text)),
        "chime": pipe.render(RenderRequest(SENTENCE_1, chime=True)),
        "south": pipe.render(RenderRequest(SENTENCE_2, voice="vi-vn-x-south", rate=180)),
    }


def test_sentences_have_twenty_words() -> None:
    assert [len(s.split()) for s in (SENTENCE_1, SENTENCE_2, SENTENCE_3)] == [20, 20, 20]


def test_result_describes_the_stored_file(rendered: dict[str, RenderedAudio]) -> None:
    for result in rendered.values():
        data = result.path.read_bytes()
        assert result.sha256 == hashlib.sha256(data).hexdigest()
        assert result.path.name == f"{result.sha256}.opus"
        assert result.size == len(data)
        assert result.reused is False
        assert abs(result.duration_ms - ffprobe(result.path)["duration_s"] * 1000) < 60  # type: ignore[operator]
    assert rendered["short"].spoken_text == SENTENCE_1


def test_output_is_mono_opus_in_ogg(rendered: dict[str, RenderedAudio]) -> None:
    for result in rendered.values():
        facts = ffprobe(result.path)
        assert facts["format_name"] == "ogg"
        assert facts["codec_name"] == "opus"
        assert facts["channels"] == 1
        assert facts["stream_count"] == 1
        assert facts["sample_rate"] == 48000


def test_speech_duration_fits_the_text(rendered: dict[str, RenderedAudio]) -> None:
    short, long = rendered["short"].duration_ms, rendered["long"].duration_ms
    assert 2_000 <= short <= 12_000  # 20 words at 150 wpm: a few seconds
    assert 2.0 <= long / short <= 4.0  # three times the words


def test_bitrate_is_about_24_kbit(rendered: dict[str, RenderedAudio]) -> None:
    for name, result in rendered.items():
        bytes_per_minute = result.size / (result.duration_ms / 60_000)
        assert bytes_per_minute <= 200_000, name
        kbit = ffprobe(result.path)["bit_rate"] / 1000  # type: ignore[operator]
        assert 18 <= kbit <= 28, name


def test_loudness_on_target_measured_independently(rendered: dict[str, RenderedAudio]) -> None:
    for name, result in rendered.items():
        integrated, true_peak = loudnorm_measure(result.path)
        assert integrated == pytest.approx(TARGET, abs=0.5), name
        assert result.loudness_lufs == pytest.approx(integrated, abs=0.3), name
        # The master's peaks sit >= 2 dB under -1 dBTP; libopus at 24 kbit/s adds ~1 dB
        # and now and then 3-5 dB (docs/audio.md), so the decoded peak is best effort.
        assert true_peak <= 1.0, name


def test_verified_render_reports_the_decoded_loudness(store: AudioStore, counting: CountingEngine) -> None:
    pipe = AudioPipeline(store, counting, verify_output=True)
    result = pipe.render(RenderRequest(SENTENCE_3, voice="vi-vn-x-central"))
    integrated, _ = loudnorm_measure(result.path)
    # ebur128 (the pipeline's meter, 0.1 LU steps) and loudnorm differ by up to ~0.2 LU.
    assert result.loudness_lufs == pytest.approx(integrated, abs=0.25)
    assert integrated == pytest.approx(TARGET, abs=0.4)


def _opus_modes(path: Path) -> Counter[str]:
    """Count packets by Opus mode (RFC 6716 TOC byte) in an Ogg Opus file."""
    data, pos, packet, modes = path.read_bytes(), 0, b"", Counter[str]()
    packets = []
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS"
        count = data[pos + 26]
        lacing, body = data[pos + 27 : pos + 27 + count], pos + 27 + count
        for size in lacing:
            packet += data[body : body + size]
            body += size
            if size < 255:
                packets.append(packet)
                packet = b""
        pos = body
    for audio_packet in packets[2:]:  # after OpusHead and OpusTags
        config = audio_packet[0] >> 3
        modes["silk" if config < 12 else "hybrid" if config < 16 else "celt"] += 1
    return modes


def test_speech_is_coded_as_speech(rendered: dict[str, RenderedAudio]) -> None:
    # Below complexity 7 libopus skips its speech analysis and codes speech with
    # CELT alone, which sounds much worse at 24 kbit/s (docs/audio.md).
    modes = _opus_modes(rendered["long"].path)
    assert modes["silk"] + modes["hybrid"] > 0.9 * sum(modes.values()), modes


def _region_lufs(path: Path, start_s: float, end_s: float) -> float:
    proc = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af",
         f"atrim={start_s}:{end_s},ebur128", "-f", "null", "-"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    text = proc.stderr.decode()
    return float(text[text.rindex("Summary:") :].split("I:")[1].split("LUFS")[0])


def test_chime_is_a_little_quieter_than_the_speech(rendered: dict[str, RenderedAudio]) -> None:
    path = rendered["chime"].path
    chime, speech = _region_lufs(path, 0.0, 1.2), _region_lufs(path, 1.6, 60.0)
    assert speech - chime == pytest.approx(2.0, abs=1.0)


def test_chime_lengthens_the_audio(rendered: dict[str, RenderedAudio]) -> None:
    extra = rendered["chime"].duration_ms - rendered["short"].duration_ms
    assert 1_300 <= extra <= 1_900  # 1.2 s ding-dong + 0.4 s pause
    assert rendered["chime"].sha256 != rendered["short"].sha256


def test_cache_hit_reuses_the_file_without_synthesis(pipeline: AudioPipeline, counting: CountingEngine) -> None:
    first = pipeline.render(RenderRequest("Thông báo họp thôn lúc chín giờ."))
    calls = counting.calls
    again = pipeline.render(RenderRequest("Thông báo họp thôn lúc chín giờ."))
    # Same words typed differently (decomposed accents, extra spaces) are the same request.
    retyped = pipeline.render(RenderRequest(unicodedata.normalize("NFD", "  Thông báo họp  thôn lúc chín giờ. ")))
    assert counting.calls == calls
    assert (again.reused, retyped.reused) == (True, True)
    assert again.sha256 == retyped.sha256 == first.sha256
    assert (again.path, again.duration_ms, again.size) == (first.path, first.duration_ms, first.size)


def test_cache_key_covers_voice_rate_and_chime(pipeline: AudioPipeline, counting: CountingEngine) -> None:
    text = "Kiểm tra loa."
    shas = {
        pipeline.render(RenderRequest(text)).sha256,
        pipeline.render(RenderRequest(text, voice="vi-vn-x-central")).sha256,
        pipeline.render(RenderRequest(text, rate=220)).sha256,
    }
    assert len(shas) == 3
    assert counting.calls == 3


def test_missing_file_is_rendered_again(pipeline: AudioPipeline, store: AudioStore) -> None:
    first = pipeline.render(RenderRequest("Mất điện từ tám giờ."))
    first.path.unlink()
    second = pipeline.render(RenderRequest("Mất điện từ tám giờ."))
    assert second.reused is False
    assert store.exists(second.sha256)
    # espeak-ng varies by a few samples between runs, so the hash may differ; the
    # cache now points at the new file.
    assert pipeline.render(RenderRequest("Mất điện từ tám giờ.")).sha256 == second.sha256


def test_text_filter_hook(store: AudioStore, counting: CountingEngine) -> None:
    seen: list[tuple[str, str]] = []

    def expand(text: str, voice: str) -> str:
        seen.append((text, voice))
        return text.replace("UBND", "Ủy ban nhân dân")

    pipe = AudioPipeline(store, counting, text_filter=expand)
    result = pipe.render(RenderRequest("UBND   xã thông báo.", voice="vi-vn-x-south"))
    assert seen == [("UBND xã thông báo.", "vi-vn-x-south")]
    assert result.spoken_text == "Ủy ban nhân dân xã thông báo."


def test_text_filter_failure_is_an_audio_error(store: AudioStore, counting: CountingEngine) -> None:
    def broken(text: str, voice: str) -> str:
        raise RuntimeError("normaliser bug")

    with pytest.raises(AudioError, match="text filter failed: normaliser bug"):
        AudioPipeline(store, counting, text_filter=broken).render(RenderRequest("Xin chào."))


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (RenderRequest("Xin chào", voice="en"), "unknown voice 'en'"),
        (RenderRequest(""), "text is empty"),
        (RenderRequest("  \n\t "), "text is empty"),
        (RenderRequest("... !!! ?"), "text is empty"),
        (RenderRequest("Xin chào", rate=79), "rate must be"),
        (RenderRequest("Xin chào", rate=301), "rate must be"),
        (RenderRequest("Xin chào", rate=150.0), "rate must be"),  # type: ignore[arg-type]
        (RenderRequest("Xin chào", rate=True), "rate must be"),
    ],
)
def test_bad_requests_raise_audio_error(
    pipeline: AudioPipeline, counting: CountingEngine, request_: RenderRequest, message: str
) -> None:
    with pytest.raises(AudioError, match=message):
        pipeline.render(request_)
    assert counting.calls == 0


def test_engine_failure_is_an_audio_error(store: AudioStore, tmp_path: Path) -> None:
    class Exploding(ToneEngine):
        def synthesize(self, text: str, voice: str, rate: int, *, timeout_s: float) -> Path:
            raise OSError("sound card on fire")

    with pytest.raises(AudioError, match="test-tone failed: sound card on fire"):
        AudioPipeline(store, Exploding(tmp_path)).render(RenderRequest("Xin chào."))


def test_long_text_is_split_for_the_engine(store: AudioStore, tmp_path: Path) -> None:
    engine = ToneEngine(tmp_path)  # accepts at most 60 characters per request
    result = AudioPipeline(store, engine).render(RenderRequest(" ".join([SENTENCE_1, SENTENCE_2])))
    assert len(engine.calls) > 2
    assert all(len(text) <= engine.max_chars for text, _, _ in engine.calls)
    assert result.duration_ms > 3_000


def test_hung_engine_is_killed_and_the_next_render_works(store: AudioStore, tmp_path: Path) -> None:
    engine = EspeakEngine(work_dir=tmp_path / "work", backend_factory=HangingPyttsxBackend)
    with AudioPipeline(store, engine, synth_timeout_s=2.0) as pipe:
        pipe.render(RenderRequest("Khởi động."))
        pid = engine.worker_pid
        started = time.monotonic()
        with pytest.raises(AudioError, match="timed out") as caught:
            pipe.render(RenderRequest("Câu này HANGNOW mãi."))
        assert isinstance(caught.value, EngineTimeout)
        assert time.monotonic() - started < 6
        result = pipe.render(RenderRequest("Đã chạy lại."))
        assert result.duration_ms > 500
        assert engine.worker_pid not in (None, pid)
    assert engine.worker_pid is None  # close() stopped it


def test_concurrent_renders_from_a_thread_pool(pipeline: AudioPipeline, counting: CountingEngine) -> None:
    texts = ["Một.", "Hai.", "Ba.", "Một.", "Hai.", "Ba.", "Một."]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda t: pipeline.render(RenderRequest(t)), texts))
    by_text: dict[str, set[str]] = {}
    for text, result in zip(texts, results, strict=True):
        by_text.setdefault(text, set()).add(result.sha256)
    assert all(len(shas) == 1 for shas in by_text.values())
    assert counting.calls == 3  # duplicates waited for the first rendering
    assert sum(not r.reused for r in results) == 3


def test_worker_output_does_not_reach_stdout(pipeline: AudioPipeline, capfd: pytest.CaptureFixture[str]) -> None:
    pipeline.render(RenderRequest("Không in ra màn hình."))
    out, err = capfd.readouterr()
    assert "Audio saved" not in out + err


def test_build_pipeline_starts_nothing(tmp_path: Path) -> None:
    before = set(multiprocessing.active_children())
    pipe = build_pipeline(tmp_path / "audio")
    try:
        assert set(multiprocessing.active_children()) == before
        assert not (tmp_path / "audio").exists()
        assert [v.id for v in pipe.voices] == list(VOICES)
        assert {v.region for v in pipe.voices} == {"north", "central", "south"}
    finally:
        pipe.close()


@pytest.fixture
def fresh_pipeline(tmp_path: Path) -> Iterator[AudioPipeline]:
    pipe = build_pipeline(tmp_path / "audio", synth_timeout_s=20)
    yield pipe
    pipe.close()


def test_build_pipeline_renders(fresh_pipeline: AudioPipeline, tmp_path: Path) -> None:
    result = fresh_pipeline.render(RenderRequest("Xin chào bà con.", voice="vi-vn-x-central", chime=True))
    assert result.path.parent == tmp_path / "audio"
    assert result.path.read_bytes()[:4] == b"OggS"
    assert not [p for p in (tmp_path / "audio").rglob(".tmp-*")]


def _ffmpeg_children() -> list[int]:
    """ffmpeg processes this test process started and has not reaped."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if name.endswith("(ffmpeg") and int(rest.split()[1]) == os.getpid():
            found.append(int(stat.parent.name))
    return found


def test_no_ffmpeg_process_outlives_a_render(store: AudioStore, tmp_path: Path) -> None:
    class Exploding(ToneEngine):
        def synthesize(self, text: str, voice: str, rate: int, *, timeout_s: float) -> Path:
            raise OSError("sound card on fire")

    AudioPipeline(store, ToneEngine(tmp_path)).render(RenderRequest("Một hai ba bốn năm."))
    with pytest.raises(AudioError):
        AudioPipeline(store, Exploding(tmp_path)).render(RenderRequest("Xin chào."))
    assert _ffmpeg_children() == []


def test_rendering_is_fast(pipeline: AudioPipeline) -> None:
    # The budget is ~1 s for a minute of speech on a 2-core box (docs/audio.md); a
    # loose bound here, against regressions such as a lost pass or a slow encoder.
    pipeline.render(RenderRequest("Khởi động."))  # the engine's worker is up
    text = " ".join([SENTENCE_1, SENTENCE_2, SENTENCE_3])
    started = time.perf_counter()
    result = pipeline.render(RenderRequest(text, voice="vi-vn-x-south"))
    elapsed = time.perf_counter() - started
    assert elapsed < 0.25 + 3 * 1.5 * result.duration_ms / 60_000, elapsed
    started = time.perf_counter()
    assert pipeline.render(RenderRequest(text, voice="vi-vn-x-south")).reused
    assert time.perf_counter() - started < 0.05
