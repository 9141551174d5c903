"""TTS benchmark: the real audio pipeline (Vietnamese normaliser -> espeak-ng ->
mastering -> Opus) on bulletin-style text, timed cold and from the render cache.

Called from the CLI (``loa bench tts``) or directly::

    .venv/bin/python -c "from loa.bench.tts import run_tts; import json; print(json.dumps(run_tts(), indent=2))"

Nothing runs at import: the speech worker is a ``spawn``-ed process, which re-imports
the caller's main module, so all work happens inside :func:`run_tts`.

Every figure is wall time on this machine. "Cold" is a cache miss on a pipeline
whose worker is already running (the steady state of a controller); the worker's
own start is reported apart. Loudness is measured independently of the pipeline:
the stored Opus file is decoded by ffmpeg and metered with ``ebur128``.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from loa.bench.stats import summary

#: Voices rotate across rounds; each gets the normaliser's matching region.
VOICE_REGIONS = {"vi": "north", "vi-vn-x-central": "central", "vi-vn-x-south": "south"}

# Bulletin sentences with what officials really type: dates, times, money,
# phone numbers, ranges, units and abbreviations, so the normaliser has work to do.
_SENTENCES = (
    "UBND xã {xa} thông báo: từ {h}h30 ngày {d}/{m}/2026, Trạm y tế xã tổ chức tiêm vắc-xin "
    "cho trẻ em dưới {k} tuổi tại NVH thôn {t}.",
    "Đề nghị bà con mang theo sổ tiêm chủng, CCCD và {n} bản photo giấy khai sinh.",
    "Mức hỗ trợ là {money}.000 đồng/người, chi trả trước ngày {d2}/{m}.",
    "Dự báo từ đêm {d}/{m} đến ngày {d2}/{m}, khu vực có mưa to {r}-{r2} mm, gió giật cấp {g}.",
    "BCH quân sự xã đề nghị các hộ ven sông chằng chống nhà cửa, di dời {n} hộ đến nơi an toàn.",
    "Mọi thông tin xin liên hệ đồng chí {name}, SĐT 0912.{p1}.{p2}.",
    "HTX nông nghiệp thông báo lịch bơm nước đợt {n}: từ {h}h00 đến {h2}h15 các ngày {d}, {d2} tháng {m}.",
    "Ban ATGT nhắc bà con không uống rượu bia khi lái xe, đội mũ bảo hiểm khi đi xe máy, "
    "mức phạt tới {money}.000 đồng.",
    "Trường THCS {xa} nhận hồ sơ tuyển sinh lớp 6 từ ngày {d}/{m} đến hết ngày {d2}/{m}.",
    "Năm 2025, toàn xã đạt {pct}% số hộ có nước sạch, tăng {k},5% so với năm 2024.",
    "HĐND xã họp kỳ thứ {n} vào lúc {h}h ngày {d}/{m}, đề nghị các đại biểu có mặt đúng giờ.",
    "Đường liên thôn dài {k},{n} km sẽ được trải nhựa, kinh phí {money} triệu đồng.",
)
_TOP_UPS = ("Xin cảm ơn bà con.", "Đề nghị bà con chú ý.", "Trân trọng thông báo.", "Xin nhắc lại.")
_NAMES = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em")
_COMMUNES = ("Tân Hòa", "Yên Bình", "Phú Lộc", "Đông Sơn", "Hòa An")

_SUMMARY_I = re.compile(r"I:\s*(-?[\d.]+|-?inf)\s*LUFS")
_SUMMARY_PEAK = re.compile(r"Peak:\s*(-?[\d.]+|-?inf)\s*dBFS")


def _sentence(i: int) -> str:
    j = i // len(_SENTENCES)
    return _SENTENCES[i % len(_SENTENCES)].format(
        xa=_COMMUNES[(i + j) % len(_COMMUNES)], h=7 + i % 4, h2=10 + i % 5,
        d=1 + (i * 7) % 27, d2=2 + (i * 7) % 27, m=1 + i % 12, k=3 + i % 6, t=1 + i % 9,
        n=2 + i % 7, money=50 + 25 * (i % 9), r=50 + i % 40, r2=100 + i % 80, g=6 + i % 4,
        name=_NAMES[i % len(_NAMES)], p1=300 + i * 7 % 600, p2=100 + i * 13 % 800,
        pct=80 + i % 19,
    )  # fmt: skip


def bulletin(words: int, *, seed: int, region: str = "north") -> str:
    """Bulletin text whose *normalised* form has about ``words`` words."""
    from audio.normalize import normalize

    def count(parts: list[str]) -> int:
        return len(normalize(" ".join(parts), region).split())

    parts: list[str] = []
    i = seed * 37
    while True:
        candidate = parts + [_sentence(i)]
        if count(candidate) > words:
            break
        parts, i = candidate, i + 1
    for top_up in _TOP_UPS * 3:  # close the gap with short sentences
        if count(parts + [top_up]) > words:
            continue
        parts.append(top_up)
    if not parts:
        parts = [_sentence(i)]
    return " ".join(parts)


def _measure(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of a decoded file, straight from ffmpeg."""
    proc = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af",
         "ebur128=peak=true:framelog=verbose", "-f", "null", "-"],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    text = proc.stderr.decode("utf-8", "replace")
    text = text[text.rfind("Summary:") :]
    i_match, p_match = _SUMMARY_I.search(text), _SUMMARY_PEAK.search(text)
    if i_match is None or p_match is None:
        raise RuntimeError(f"ffmpeg printed no loudness summary for {path}")
    return float(i_match.group(1)), float(p_match.group(1))


def _ffmpeg_version() -> str:
    out = subprocess.run(["ffmpeg", "-version"], capture_output=True, check=True, timeout=30)
    return out.stdout.decode().splitlines()[0]


def _stats(values: list[float], digits: int = 4) -> dict[str, float]:
    out: dict[str, float] = dict(summary(values, digits))
    out["mean"] = round(statistics.fmean(values), digits) if values else float("nan")
    out["min"] = round(min(values), digits) if values else float("nan")
    return out


def run_tts(*, seconds: float = 60.0, rounds: int = 5, rate: int = 150) -> dict[str, Any]:
    """Render ``rounds`` different bulletins of about ``seconds`` of speech each.

    Returns a JSON-able report (see docs/audio.md for how to read it).
    """
    from audio import processing
    from audio.normalize import normalize
    from audio.pipeline import RenderRequest, build_pipeline

    if rounds < 1 or seconds <= 0:
        raise ValueError("rounds must be >= 1 and seconds > 0")
    voices = list(VOICE_REGIONS)
    work = Path(tempfile.mkdtemp(prefix="loa-bench-tts-"))
    pipeline = build_pipeline(
        work / "audio", text_filter=lambda text, voice: normalize(text, VOICE_REGIONS[voice])
    )
    try:
        started = time.perf_counter()
        pipeline.render(RenderRequest("Xin chào bà con.", rate=rate))
        worker_start_s = time.perf_counter() - started

        # Calibrate: how many normalised words a second this engine and rate speak.
        calibration_text = bulletin(60, seed=999)
        calibration = pipeline.render(RenderRequest(calibration_text, rate=rate))
        words_per_s = len(calibration.spoken_text.split()) / (calibration.duration_ms / 1000)

        cold, cold_per_min, hits, normalise, audio_s, per_minute = [], [], [], [], [], []
        lufs, peaks, reported_error = [], [], []
        renders = []
        for n in range(rounds):
            voice = voices[n % len(voices)]
            region = VOICE_REGIONS[voice]
            text = bulletin(round(seconds * words_per_s), seed=n, region=region)
            request = RenderRequest(text, voice=voice, rate=rate)

            t0 = time.perf_counter()
            normalize(text, region)
            normalise.append(time.perf_counter() - t0)

            t0 = time.perf_counter()
            result = pipeline.render(request)
            elapsed = time.perf_counter() - t0
            if result.reused:
                raise RuntimeError("benchmark text was already in the render cache")

            t0 = time.perf_counter()
            again = pipeline.render(request)
            hits.append(time.perf_counter() - t0)
            if not again.reused:
                raise RuntimeError("the same request again was not a cache hit")

            duration_s = result.duration_ms / 1000
            integrated, true_peak = _measure(result.path)
            cold.append(elapsed)
            cold_per_min.append(elapsed / (duration_s / 60))
            audio_s.append(duration_s)
            per_minute.append(result.size / (duration_s / 60))
            lufs.append(integrated)
            peaks.append(true_peak)
            reported_error.append(result.loudness_lufs - integrated)
            renders.append({
                "voice": voice,
                "chars": len(text),
                "spoken_words": len(result.spoken_text.split()),
                "audio_s": round(duration_s, 2),
                "cold_s": round(elapsed, 4),
                "cache_hit_ms": round(hits[-1] * 1000, 2),
                "bytes": result.size,
                "lufs": integrated,
                "true_peak_dbtp": true_peak,
            })  # fmt: skip

        return {
            "benchmark": "tts",
            "seconds_requested": seconds,
            "rounds": rounds,
            "rate_wpm": rate,
            "machine": {"cpus": os.cpu_count(), "ffmpeg": _ffmpeg_version()},
            "settings": {
                "target_lufs": processing.TARGET_LUFS,
                "true_peak_ceiling_dbtp": processing.TRUE_PEAK_CEILING_DBTP,
                "opus": {
                    "bitrate": processing.OPUS_BITRATE,
                    "vbr": processing.OPUS_VBR,
                    "application": processing.OPUS_APPLICATION,
                    "complexity": processing.OPUS_COMPLEXITY,
                    "frame_ms": processing.OPUS_FRAME_MS,
                },
            },
            "worker_start_s": round(worker_start_s, 4),
            "words_per_second": round(words_per_s, 3),
            "audio_s": _stats(audio_s, 2),
            "normalise_s": _stats(normalise),
            "cold_render_s": _stats(cold),
            "cold_render_s_per_minute_of_speech": _stats(cold_per_min),
            "cache_hit_s": _stats(hits, 5),
            "bytes_per_minute": _stats(per_minute, 0),
            "lufs_measured": _stats(lufs, 2),
            "true_peak_dbtp_measured": _stats(peaks, 2),
            "reported_minus_measured_lu": _stats(reported_error, 2),
            "renders": renders,
        }
    finally:
        pipeline.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import json

    print(json.dumps(run_tts(), indent=2, ensure_ascii=False))
