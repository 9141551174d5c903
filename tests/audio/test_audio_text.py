"""Text clean-up (cache keys depend on it) and splitting for engine limits."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audio.text import clean_text, has_speech, split_text


def test_clean_text_composes_vietnamese_and_collapses_whitespace() -> None:
    decomposed = unicodedata.normalize("NFD", "Thông  báo\tkhẩn\u00a0cấp\n\nthôn Một ")
    cleaned = clean_text(decomposed)
    assert cleaned == "Thông báo khẩn cấp thôn Một"
    assert unicodedata.is_normalized("NFC", cleaned)


def test_clean_text_removes_control_characters() -> None:
    assert clean_text("a\x00b\x1bc") == "a b c"


@pytest.mark.parametrize(("text", "expected"), [("", False), (" ...!? ", False), ("Một.", True), ("5", True)])
def test_has_speech(text: str, expected: bool) -> None:
    assert has_speech(text) is expected


def test_short_text_is_one_chunk_and_empty_is_none() -> None:
    assert split_text("Xin chào.", 100) == ["Xin chào."]
    assert split_text("", 100) == []


def test_split_prefers_sentence_boundaries() -> None:
    text = "Câu một ngắn. Câu hai cũng ngắn. Câu ba dài hơn một chút nữa."
    chunks = split_text(text, 35)
    assert chunks == ["Câu một ngắn. Câu hai cũng ngắn.", "Câu ba dài hơn một chút nữa."]


def test_split_rejects_nonpositive_limit() -> None:
    with pytest.raises(ValueError):
        split_text("abc", 0)


words = st.text(alphabet="abcđêôơưạảãáàăâ,.!?;:", min_size=1, max_size=25)


@given(parts=st.lists(words, min_size=1, max_size=60), max_chars=st.integers(min_value=5, max_value=200))
def test_split_never_exceeds_limit_and_loses_nothing(parts: list[str], max_chars: int) -> None:
    text = clean_text(" ".join(parts))
    chunks = split_text(text, max_chars)
    assert all(0 < len(c) <= max_chars for c in chunks)
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")
    if all(len(p) <= max_chars for p in text.split(" ")):
        assert " ".join(chunks) == text  # words are never cut when they fit
