"""Bad input handled cleanly (markup, emoji, controls, foreign scripts),
linear time on long and hostile text, and sentence splitting."""

from __future__ import annotations

import time
import unicodedata

import pytest

from audio.normalize import normalize, split_sentences

BULLETIN = (
    "THÔNG BÁO\nUBND xã thông báo: từ 7h30 ngày 28/11/2025 đến 16h30 ngày 30/11/2025, "
    "TTYT huyện tiêm vắc xin cho 1.250 trẻ tại TYT xã. Phí 50.000đ/liều, BHYT chi trả 80%. "
    "Mưa 50-100 mm, nhiệt độ 18-22°C. Liên hệ 0912.345.678 hoặc gọi 115 khi cần. "
    "Hội nghị quý IV, Đại hội XIII, thứ 2 tuần sau, lần 1.\n"
)


def test_emoji_removed() -> None:
    assert normalize("Chúc mừng năm mới 🎉🧧👍🏽❤️ bà con!") == "Chúc mừng năm mới bà con!"


def test_control_and_format_characters() -> None:
    text = "UBND\x00 xã\x07 thông\u200b báo\ufeff\x1b[0m\r\nhọp\u00a0lúc 7h"
    assert normalize(text) == "ủy ban nhân dân xã thông báo. họp lúc bảy giờ."


def test_html_is_stripped_and_entities_decoded() -> None:
    html = (
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
        "<body><h1>THÔNG BÁO</h1><p>Họp lúc <b>14h</b> &amp; ăn trưa.</p>"
        "<!-- 0912345678 --><br/>Nghỉ&nbsp;ngày&#32;2/9</body></html>"
    )
    assert normalize(html) == "thông báo. Họp lúc mười bốn giờ và ăn trưa. Nghỉ ngày hai tháng chín."


def test_comparison_signs_are_not_tags() -> None:
    assert normalize("Trẻ <6 tuổi và người >60 tuổi") == "Trẻ dưới sáu tuổi và người trên sáu mươi tuổi."


def test_foreign_scripts_are_dropped() -> None:
    # Documented choice: no Vietnamese voice can read them, so they go.
    assert normalize("Hàng 中国制造 từ Москва về xã") == "Hàng từ về xã."


def test_decomposed_input_becomes_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Ủy ban nhân dân xã Hòa Bình")
    out = normalize(nfd)
    assert out == unicodedata.normalize("NFC", out) == "Ủy ban nhân dân xã Hòa Bình."


def test_fullwidth_and_foreign_digits() -> None:
    assert normalize("Có ３５ hộ, ٤ người") == "Có ba mươi lăm hộ, bốn người."


def test_long_bulletin_is_fast() -> None:
    text = BULLETIN * 40
    assert len(text) > 10_000
    start = time.perf_counter()
    out = normalize(text)
    assert time.perf_counter() - start < 5
    assert out.count("ủy ban nhân dân xã thông báo") == 40


@pytest.mark.parametrize(
    "unit",
    ["1", ".", "1-", "1.", "1,", "1:", "1/", "<", "<p", "<!--", "<script>", "&amp", "a/",
     "0912 ", "ABC ", "gọi 113, ", "quý IV ", "số ", "7h30-8h ", "😀", "x@", "a.b"],
)
def test_hostile_repetitions_run_in_linear_time(unit: str) -> None:
    """50,000-character pathological inputs: quadratic regexes would take minutes."""
    text = unit * (50_000 // len(unit))
    start = time.perf_counter()
    out = normalize(text)
    assert time.perf_counter() - start < 10, unit
    assert not any(c.isdigit() for c in out)


def test_split_sentences_basic() -> None:
    out = normalize("Họp lúc 7h. UBND xã thông báo! Có ai không? Hết")
    assert split_sentences(out) == [
        "Họp lúc bảy giờ.", "ủy ban nhân dân xã thông báo!", "Có ai không?", "Hết.",
    ]


def test_split_sentences_on_raw_text_keeps_abbreviation_dots() -> None:
    assert split_sentences("Công an TP. Hải Phòng họp. P. Tân Mai nghỉ.") == [
        "Công an TP. Hải Phòng họp.", "P. Tân Mai nghỉ.",
    ]


def test_split_sentences_cuts_long_sentences_at_commas() -> None:
    sentence = ", ".join(["thôn một có mười hộ"] * 30) + "."
    parts = split_sentences(sentence, max_chars=100)
    assert len(parts) > 1 and all(len(p) <= 100 for p in parts)
    assert all(p.endswith((",", ".")) for p in parts)
    assert " ".join(parts) == sentence


def test_split_sentences_hard_cut_and_validation() -> None:
    assert split_sentences("a" * 250, max_chars=100) == ["a" * 100, "a" * 100, "a" * 50]
    assert split_sentences("") == []
    with pytest.raises(ValueError):
        split_sentences("abc", max_chars=0)
