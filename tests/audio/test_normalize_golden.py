"""Golden cases: the shared public set plus Loa's own normalization_cases.tsv.

A case passes when the output, canonicalised as the golden file's header
prescribes, contains every required phrase (any alternative) and no ASCII
digit.  The shared file is required: a missing file fails, it never skips.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from audio.normalize import normalize

REPO = Path(__file__).resolve().parents[2]
SHARED_GOLDEN = REPO.parent / "shared/golden/vi_normalization.tsv"
OWN_CASES = Path(__file__).with_name("normalization_cases.tsv")

_OLD_TONES = {
    "oà": "òa", "oá": "óa", "oả": "ỏa", "oã": "õa", "oạ": "ọa",
    "oè": "òe", "oé": "óe", "oẻ": "ỏe", "oẽ": "õe", "oẹ": "ọe",
    "uỳ": "ùy", "uý": "úy", "uỷ": "ủy", "uỹ": "ũy", "uỵ": "ụy",
}
_OLD_TONE_RE = re.compile("|".join(_OLD_TONES))
_ASCII_DIGIT = re.compile(r"[0-9]")


def canonical(text: str) -> str:
    """NFC, lower case, modern tone placement, ngàn->nghìn, lẻ->linh, letters only."""
    text = unicodedata.normalize("NFC", text).lower()
    text = _OLD_TONE_RE.sub(lambda m: _OLD_TONES[m.group()], text)
    text = text.replace("ngàn", "nghìn").replace("lẻ", "linh")
    return "".join(c for c in text if c.isalpha())


def load_cases(path: Path) -> list[tuple[str, list[list[str]]]]:
    """Parse input<TAB>phrase ; phrase | alternative lines; '#' lines are comments."""
    cases = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        assert len(columns) == 2, f"{path.name}:{lineno}: expected 2 tab-separated columns"
        required = [[alt.strip() for alt in group.split(" | ")] for group in columns[1].split(" ; ")]
        cases.append((columns[0], required))
    return cases


def check(text: str, required: list[list[str]], region: str = "north") -> None:
    out = normalize(text, region)
    assert not _ASCII_DIGIT.search(out), f"digit left in {out!r}"
    got = canonical(out)
    for alternatives in required:
        assert any(canonical(a) in got for a in alternatives), (
            f"{text!r} -> {out!r}: none of {alternatives}"
        )


def test_shared_golden_file_exists() -> None:
    assert SHARED_GOLDEN.is_file(), f"shared golden file missing: {SHARED_GOLDEN}"


def _params(path: Path):
    if not path.is_file():  # reported by the existence tests, not skipped
        return [pytest.param("", [], id=f"missing-{path.name}")]
    return [pytest.param(text, req, id=f"{path.stem}:{i}") for i, (text, req) in enumerate(load_cases(path), 1)]


@pytest.mark.parametrize(("text", "required"), _params(SHARED_GOLDEN))
def test_shared_golden(text: str, required: list[list[str]]) -> None:
    assert SHARED_GOLDEN.is_file(), f"shared golden file missing: {SHARED_GOLDEN}"
    check(text, required)


@pytest.mark.parametrize(("text", "required"), _params(OWN_CASES))
def test_own_cases(text: str, required: list[list[str]]) -> None:
    check(text, required)


def test_own_cases_are_plentiful() -> None:
    assert len(load_cases(OWN_CASES)) >= 80


@pytest.mark.parametrize("region", ["north", "central", "south"])
def test_golden_passes_in_every_region(region: str) -> None:
    """Canonicalisation folds ngàn/lẻ, so every region must pass every case."""
    for text, required in load_cases(SHARED_GOLDEN) + load_cases(OWN_CASES):
        check(text, required, region)


def test_canonical_matches_header_rules() -> None:
    assert canonical("Ki-lô-mét") == canonical("ki lô mét") == "kilômét"
    assert canonical("Hoà Bình, uỷ ban") == canonical("hòa bình ủy ban")
    assert canonical("một ngàn không trăm lẻ năm") == canonical("một nghìn không trăm linh năm")
