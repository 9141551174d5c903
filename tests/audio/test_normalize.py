"""Behaviour of audio.normalize: API, region choice, number rules and the
readings a commune would be embarrassed by if they went wrong."""

from __future__ import annotations

import pytest

from audio.normalize import MAX_INPUT_CHARS, REGIONS, NormalizationError, normalize
from audio.normalize.numbers import cardinal, ordinal, read_number


def test_api_and_error_type() -> None:
    assert REGIONS == {"north", "central", "south"}
    assert issubclass(NormalizationError, ValueError)
    assert normalize("") == ""
    assert normalize("   \n\t ") == ""


@pytest.mark.parametrize("bad", [b"UBND", None, 42, ["a"]])
def test_non_string_input_raises(bad: object) -> None:
    with pytest.raises(NormalizationError):
        normalize(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("region", ["North", "hanoi", "", "mien-nam"])
def test_unknown_region_raises(region: str) -> None:
    with pytest.raises(NormalizationError, match="region"):
        normalize("Có 5 hộ", region)


def test_oversized_input_raises() -> None:
    with pytest.raises(NormalizationError, match="limit"):
        normalize("a" * (MAX_INPUT_CHARS + 1))


@pytest.mark.parametrize(
    ("text", "north", "central", "south"),
    [
        ("Có 105 người", "một trăm linh năm", "một trăm lẻ năm", "một trăm lẻ năm"),
        ("Thu 1.005 tấn", "một nghìn không trăm linh năm", "một nghìn không trăm lẻ năm",
         "một ngàn không trăm lẻ năm"),
        ("Giá 8.500 đồng", "tám nghìn năm trăm", "tám nghìn năm trăm", "tám ngàn năm trăm"),
        ("Mua 50k", "năm mươi nghìn", "năm mươi nghìn", "năm mươi ngàn"),
        ("Năm 2009", "hai nghìn không trăm linh chín", "hai nghìn không trăm lẻ chín",
         "hai ngàn không trăm lẻ chín"),
    ],
)
def test_region_words(text: str, north: str, central: str, south: str) -> None:
    assert north in normalize(text, "north")
    assert central in normalize(text, "central")
    assert south in normalize(text, "south")
    assert "ngàn" not in normalize(text, "north") and "lẻ" not in normalize(text, "north")
    assert "linh" not in normalize(text, "south") and "nghìn" not in normalize(text, "south")


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "không"), (1, "một"), (4, "bốn"), (5, "năm"), (10, "mười"), (11, "mười một"),
        (14, "mười bốn"), (15, "mười lăm"), (20, "hai mươi"), (21, "hai mươi mốt"),
        (24, "hai mươi tư"), (25, "hai mươi lăm"), (31, "ba mươi mốt"), (55, "năm mươi lăm"),
        (100, "một trăm"), (101, "một trăm linh một"), (104, "một trăm linh bốn"),
        (105, "một trăm linh năm"), (110, "một trăm mười"), (111, "một trăm mười một"),
        (115, "một trăm mười lăm"), (1000, "một nghìn"), (1005, "một nghìn không trăm linh năm"),
        (1010, "một nghìn không trăm mười"), (1100, "một nghìn một trăm"),
        (10_000, "mười nghìn"), (15_000, "mười lăm nghìn"), (100_000, "một trăm nghìn"),
        (1_000_000, "một triệu"), (1_000_005, "một triệu không trăm linh năm"),
        (1_050_000, "một triệu không trăm năm mươi nghìn"),
        (2_000_000_000, "hai tỷ"), (1_000_000_005, "một tỷ không trăm linh năm"),
        (5_000_000_000_000, "năm nghìn tỷ"),
    ],
)
def test_cardinal_rules(n: int, words: str) -> None:
    assert cardinal(n) == words


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 4, 7, 14, 24)] == [
        "nhất", "hai", "tư", "bảy", "mười bốn", "hai mươi tư",
    ]


@pytest.mark.parametrize(
    ("token", "words"),
    [
        ("8.500", "tám nghìn năm trăm"), ("2,5", "hai phẩy năm"), ("3,75", "ba phẩy bảy mươi lăm"),
        ("0,05", "không phẩy không năm"), ("2.5", "hai phẩy năm"), ("1.500,5", "một nghìn năm trăm phẩy năm"),
        ("05", "năm"), ("0123", "không một hai ba"),
        ("12345678901", "một hai ba bốn năm sáu bảy tám chín không một"),
    ],
)
def test_read_number(token: str, words: str) -> None:
    assert read_number(token) == words


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("Họp lúc 7h30", " h"),            # never "bảy hờ ba mươi"
        ("Kế hoạch tháng 4", "tháng bốn"),
        ("Ngày 2/9 là Quốc khánh", "ngày ngày"),
        ("Tháng 4/2026", "tháng tháng"),
        ("Tổng số 113 hộ", "một một ba"),   # a quantity, not a phone number
        ("UBND xã", "u bê"),
        ("THÔNG BÁO KHẨN CẤP", "tê hát"),   # heading words are words, not letters
        ("ĐÊM CA NHẠC MỪNG XUÂN", "công an"),
        ("Có 15 hộ", "mười năm"),
        ("Có 21 hộ", "hai mươi một"),
        ("Có 105 hộ", "lăm"),
        ("Hạn chót 31/12/2025", "ba mươi mốt trên"),
    ],
)
def test_embarrassing_readings_do_not_happen(text: str, wrong: str) -> None:
    assert wrong not in normalize(text).lower()


def test_pause_marks_are_kept() -> None:
    out = normalize("Kính gửi: bà con thôn 3; UBND xã thông báo. Xin cảm ơn!")
    assert out == "Kính gửi, bà con thôn ba, ủy ban nhân dân xã thông báo. Xin cảm ơn!"


def test_lines_become_sentences() -> None:
    out = normalize("THÔNG BÁO\nVề việc tiêm phòng\n\n- Thời gian: 7h30\n- Địa điểm: TYT xã")
    assert out == (
        "thông báo. Về việc tiêm phòng. Thời gian, bảy giờ ba mươi. Địa điểm, trạm y tế xã."
    )


def test_place_prefix_needs_a_name_or_number() -> None:
    assert normalize("P. Tân Mai, Q.1") == "phường Tân Mai, quận một."
    assert "phường" not in normalize("mục P.")


def test_road_and_phone_readings_of_dt() -> None:
    assert "đường tỉnh bảy trăm bốn mươi mốt" in normalize("Sạt lở ĐT.741")
    assert normalize("ĐT: 0912 345 678").startswith("điện thoại, không chín một hai")


def test_company_cp() -> None:
    assert "cổ phần" in normalize("Công ty CP Mía đường")
    assert "nghị định chính phủ" in normalize("Nghị định 100/2019/NĐ-CP")


def test_negative_temperature_but_not_dash() -> None:
    assert "âm hai độ" in normalize("Nhiệt độ -2°C")
    assert "âm" not in normalize("Tổ 5 - 6 hộ")


def test_headings_and_list_numbers() -> None:
    assert normalize("II. NỘI DUNG\n1. Thời gian") == "hai, nội dung. một, Thời gian."


def test_urls_and_email_are_read() -> None:
    out = normalize("Xem dichvucong.gov.vn hoặc hỏi ubnd@gmail.com")
    assert "chấm" in out and "a còng" in out
