"""Letter names and the all-caps rule.

An all-caps token that is not in the dictionary is either a Vietnamese word in
a heading ("THÔNG BÁO", "KHẨN CẤP") -- read as a word -- or an unknown acronym
("ABC", "HIV") -- spelled with Vietnamese letter names ("a bê xê").  The test is
Vietnamese syllable structure: onset + 1-3 vowels + optional final consonant.
"""

from __future__ import annotations

import re
import unicodedata

# Names as Vietnamese speakers spell acronyms aloud (mixed "bê/xê" and "hát"
# styles are the everyday norm: THCS = "tê hát xê ét").
LETTER_NAMES = {
    "A": "a", "Ă": "á", "Â": "ớ", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê",
    "E": "e", "Ê": "ê", "F": "ép", "G": "giê", "H": "hát", "I": "i", "J": "gi",
    "K": "ca", "L": "e lờ", "M": "em", "N": "en", "O": "o", "Ô": "ô",
    "Ơ": "ơ", "P": "pê", "Q": "quy", "R": "e rờ", "S": "ét", "T": "tê", "U": "u",
    "Ư": "ư", "V": "vê", "W": "vê kép", "X": "ích", "Y": "i", "Z": "dét",
}

_TONE_MARKS = {0x300, 0x301, 0x303, 0x309, 0x323}
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|[bcdđghklmnprstvx])?"
    r"[aăâeêioôơuưy]{1,3}(?:ch|ng|nh|[cmnpt])?"
)
_WORD = re.compile(r"[^\W\d_²³]+")  # ² and ³ count as \w but are not letters


def _base(word: str) -> str:
    """Lower case with tone marks removed (vowel quality marks kept)."""
    nfd = unicodedata.normalize("NFD", word.lower())
    return unicodedata.normalize("NFC", "".join(c for c in nfd if ord(c) not in _TONE_MARKS))


def is_syllable(word: str) -> bool:
    """True if ``word`` has the shape of one Vietnamese syllable."""
    return len(word) <= 7 and _SYLLABLE.fullmatch(_base(word)) is not None


def spell(word: str) -> str:
    """Spell letters by their Vietnamese names; unknown letters are lower-cased."""
    return " ".join(LETTER_NAMES.get(c, c.lower()) for c in _base(word).upper() if not c.isspace())


def _caps(m: re.Match) -> str:
    word = m.group()
    if not word.isupper():
        return word
    if len(word) > 1 and is_syllable(word):
        return word.lower()
    # Spell base letters but keep tones on a single accented vowel ("Ô" -> "ô").
    if len(word) == 1 and word not in LETTER_NAMES:
        return word.lower()
    return spell(word)


def expand_caps(text: str) -> str:
    """Read all-caps heading words as words and spell every other upper-case
    token, including lone capitals ("lớp 9A" -> "a", "độ C" -> "xê")."""
    return _WORD.sub(_caps, text)
