"""Commune-use abbreviation dictionary and its expansion.

Keys are case-sensitive (UBND, not "ubnd"): lower-case letter strings are
ordinary words.  A few keys are ambiguous and are only expanded in context:
single letters with a dot (Q., P., X., H.) need a capitalised name or a number
after them; syllable-shaped keys (CA, TU, TƯ) are left alone inside an all-caps heading
("ĐÊM CA NHẠC", "TƯ VẤN"); "ĐT" before a
number is a provincial road; "CP" after "công ty" is "cổ phần"; "SN"
before a year is "sinh năm", otherwise "số nhà".  Codes of
official documents ("…/QĐ-UBND") have their own table, see ``doc_code``.
"""

from __future__ import annotations

import re

from .letters import is_syllable, spell

ABBREVIATIONS: dict[str, str] = {
    # Party, state and mass organisations
    "UBND": "ủy ban nhân dân", "HĐND": "hội đồng nhân dân",
    "MTTQ": "mặt trận tổ quốc", "UBMTTQ": "ủy ban mặt trận tổ quốc",
    "TW": "trung ương", "TƯ": "trung ương", "T.Ư": "trung ương",
    "BCH": "ban chấp hành", "BCĐ": "ban chỉ đạo", "BQL": "ban quản lý",
    "BTV": "ban thường vụ", "BTC": "ban tổ chức", "UBKT": "ủy ban kiểm tra",
    "ĐU": "đảng ủy", "HU": "huyện ủy", "TU": "tỉnh ủy",
    "CT": "chủ tịch", "PCT": "phó chủ tịch",
    "QH": "quốc hội", "ĐBQH": "đại biểu quốc hội",
    "ĐTN": "đoàn thanh niên", "TNCS": "thanh niên cộng sản",
    "HND": "hội nông dân", "HPN": "hội phụ nữ",
    "HLHPN": "hội liên hiệp phụ nữ", "HCCB": "hội cựu chiến binh",
    "CCB": "cựu chiến binh", "NCT": "người cao tuổi", "CTĐ": "chữ thập đỏ",
    "CBCC": "cán bộ công chức", "CBCCVC": "cán bộ công chức viên chức",
    "TNXP": "thanh niên xung phong",
    # Ministries and sectors
    "BQP": "bộ quốc phòng", "BCA": "bộ công an", "BYT": "bộ y tế",
    "GTVT": "giao thông vận tải", "KHKT": "khoa học kỹ thuật",
    "KH&CN": "khoa học và công nghệ", "CNTT": "công nghệ thông tin",
    "NN&PTNT": "nông nghiệp và phát triển nông thôn",
    "TN&MT": "tài nguyên và môi trường", "TNMT": "tài nguyên môi trường",
    "LĐTBXH": "lao động thương binh và xã hội",
    "LĐ-TB&XH": "lao động thương binh và xã hội",
    "VH-TT": "văn hóa thông tin", "VHTT": "văn hóa thông tin",
    "VH-TT&DL": "văn hóa thể thao và du lịch", "VHTTDL": "văn hóa thể thao và du lịch",
    "GD&ĐT": "giáo dục và đào tạo", "GDĐT": "giáo dục và đào tạo",
    "VHXH": "văn hóa xã hội", "KT-XH": "kinh tế xã hội", "KTXH": "kinh tế xã hội",
    # Security, defence, justice
    "CA": "công an", "CSGT": "cảnh sát giao thông",
    "CAND": "công an nhân dân", "QĐND": "quân đội nhân dân",
    "VKSND": "viện kiểm sát nhân dân", "TAND": "tòa án nhân dân",
    "QLTT": "quản lý thị trường", "ANTT": "an ninh trật tự",
    "ANQP": "an ninh quốc phòng", "QP-AN": "quốc phòng an ninh",
    "QPAN": "quốc phòng an ninh", "DQTV": "dân quân tự vệ",
    "LLVT": "lực lượng vũ trang", "BCHQS": "ban chỉ huy quân sự",
    "PCCC": "phòng cháy chữa cháy", "CNCH": "cứu nạn cứu hộ",
    "PCCC&CNCH": "phòng cháy chữa cháy và cứu nạn cứu hộ",
    "PCTT": "phòng chống thiên tai", "TKCN": "tìm kiếm cứu nạn",
    "PCTT&TKCN": "phòng chống thiên tai và tìm kiếm cứu nạn",
    "ATGT": "an toàn giao thông", "TTATGT": "trật tự an toàn giao thông",
    # Agriculture, economy, environment
    "HTX": "hợp tác xã", "SXKD": "sản xuất kinh doanh",
    "SXNN": "sản xuất nông nghiệp", "BVTV": "bảo vệ thực vật",
    "NTM": "nông thôn mới", "GPMB": "giải phóng mặt bằng",
    "DN": "doanh nghiệp", "TNHH": "trách nhiệm hữu hạn",
    "KCN": "khu công nghiệp", "CCN": "cụm công nghiệp",
    "VSMT": "vệ sinh môi trường", "NS&VSMT": "nước sạch và vệ sinh môi trường",
    "BĐKH": "biến đổi khí hậu", "XKLĐ": "xuất khẩu lao động",
    "LMLM": "lở mồm long móng", "DTLCP": "dịch tả lợn châu Phi",
    "ĐKKD": "đăng ký kinh doanh", "Cty": "công ty",
    # Health, population, education
    "ATTP": "an toàn thực phẩm", "VSATTP": "vệ sinh an toàn thực phẩm",
    "BHYT": "bảo hiểm y tế", "BHXH": "bảo hiểm xã hội",
    "BHTN": "bảo hiểm thất nghiệp", "TTYT": "trung tâm y tế",
    "TYT": "trạm y tế", "BV": "bệnh viện", "BVĐK": "bệnh viện đa khoa",
    "BS": "bác sĩ", "DS-KHHGĐ": "dân số kế hoạch hóa gia đình",
    "KHHGĐ": "kế hoạch hóa gia đình", "WHO": "Tổ chức Y tế Thế giới",
    "THCS": "trung học cơ sở", "THPT": "trung học phổ thông",
    "TH": "tiểu học", "MN": "mầm non", "ĐH": "đại học", "CĐ": "cao đẳng",
    "GV": "giáo viên", "HS": "học sinh", "HSSV": "học sinh sinh viên",
    # Papers, administration, places
    "CMND": "chứng minh nhân dân", "CCCD": "căn cước công dân",
    "GCN": "giấy chứng nhận", "QSDĐ": "quyền sử dụng đất",
    "GCNQSDĐ": "giấy chứng nhận quyền sử dụng đất",
    "HĐ": "hợp đồng", "TTHC": "thủ tục hành chính", "DVC": "dịch vụ công",
    "VNeID": "vê en e ai đi", "NĐ": "nghị định", "QĐ": "quyết định",
    "NQ": "nghị quyết", "TTg": "thủ tướng",
    "SĐT": "số điện thoại", "ĐT": "điện thoại",
    "QL": "quốc lộ", "TL": "tỉnh lộ", "KP": "khu phố", "TDP": "tổ dân phố",
    "KDC": "khu dân cư", "NVH": "nhà văn hóa", "ĐVHC": "đơn vị hành chính",
    "TP.HCM": "thành phố Hồ Chí Minh", "TP. HCM": "thành phố Hồ Chí Minh",
    "TPHCM": "thành phố Hồ Chí Minh", "TP HCM": "thành phố Hồ Chí Minh",
    "Tp.HCM": "thành phố Hồ Chí Minh", "HCM": "Hồ Chí Minh",
    "TP.": "thành phố", "TP": "thành phố", "Tp.": "thành phố",
    "TX.": "thị xã", "TX": "thị xã", "TT.": "thị trấn", "TT": "thị trấn",
    "VN": "Việt Nam", "HN": "Hà Nội", "ĐBSCL": "đồng bằng sông Cửu Long",
    "LHQ": "Liên Hợp Quốc", "TTXVN": "Thông tấn xã Việt Nam",
    "CN": "chủ nhật", "CP": "chính phủ", "BĐ": "báo động",
    # Signature blocks and filing of official letters
    "KT.": "ký thay", "TM.": "thay mặt", "TL.": "thừa lệnh", "VT": "văn thư",
    "SN": "số nhà",
    # Place prefixes before a name: need a capital or a digit next (Q.1, P. Tân Mai)
    "Q.": "quận", "P.": "phường", "X.": "xã", "H.": "huyện",
}

# Road prefixes written with a dot right before the road number ("QL.1A", "ĐT.741").
ROAD_KEYS: dict[str, str] = {
    "QL.": "quốc lộ", "TL.": "tỉnh lộ", "ĐT.": "đường tỉnh", "ĐH.": "đường huyện",
}

# Document codes after a number: "số 12/2025/TT-BYT", "số 123/QĐ-UBND".
DOC_CODES: dict[str, str] = {
    "QĐ": "quyết định", "NĐ": "nghị định", "NQ": "nghị quyết", "TT": "thông tư",
    "CT": "chỉ thị", "TB": "thông báo", "KH": "kế hoạch", "CV": "công văn",
    "BC": "báo cáo", "TTr": "tờ trình", "HD": "hướng dẫn", "CP": "chính phủ",
    "TTg": "thủ tướng", "BNNPTNT": "bộ nông nghiệp và phát triển nông thôn",
    "BGDĐT": "bộ giáo dục và đào tạo", "BTC": "bộ tài chính",
    "BTNMT": "bộ tài nguyên và môi trường", "BLĐTBXH": "bộ lao động thương binh và xã hội",
    "VPCP": "văn phòng chính phủ", "UBTVQH": "ủy ban thường vụ quốc hội",
    "SYT": "sở y tế", "L": "luật", "QH": "quốc hội",
}

# Case-insensitive disease and technology names that contain digits.
_SPECIALS = [
    (re.compile(r"(?<![^\W\d_])covid\s*-?\s*19(?!\d)", re.I), " cô vít mười chín "),
    (re.compile(r"(?<![^\W\d_])covid(?![^\W\d_])", re.I), " cô vít "),
    (re.compile(r"(?<![^\W\d_])sars-cov-2(?!\d)", re.I), " sát cô vi hai "),
    (re.compile(r"(?<![^\W\d_])(?:A/)?H([5-9])N([1-9])(?![^\W\d_]|\d)"),
     lambda m: f" hát {_D[m.group(1)]} en {_D[m.group(2)]} "),
    (re.compile(r"(?<![^\W\d_])F([0-3])(?![^\W\d_]|\d)"), lambda m: f" ép {_D[m.group(1)]} "),
    (re.compile(r"(?<![^\W\d_])([345])G(?![^\W\d_]|\d)"), lambda m: f" {_D[m.group(1)]} giê "),
    (re.compile(r"(?<![^\W\d_])v\.v\.?", re.I), " vân vân "),
]
_D = {str(i): w for i, w in enumerate(("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"))}


def _key_pattern(key: str) -> str:
    head = r"(?<![^\W\d_])" if key[0].isalpha() else ""
    tail = r"(?![^\W\d_])" if key[-1].isalpha() else ""
    return head + re.escape(key) + tail


# Every key starts with a capital: the look-ahead rejects other positions fast.
_ABBR_RE = re.compile("(?=[A-ZĐ])(?:" + "|".join(
    [_key_pattern(k) for k in sorted(ABBREVIATIONS.keys() | ROAD_KEYS.keys(), key=len, reverse=True)]
) + ")")
_ROAD_NUMBER = re.compile(r"[ .]?[1-9]")  # after "ĐT"/"QL.": a road, not a phone
_NAME_OR_NUMBER = re.compile(r" ?[^\W_]")
_BIRTH_YEAR = re.compile(r"[ :]*(?:19|20)\d\d(?!\d)")
_COMPANY = re.compile(r"(?:công ty|Cty)\s*$", re.I)
_NEIGHBOUR_WORD = re.compile(r"[^\W\d_]+")


def _caps_heading_neighbour(text: str, start: int, end: int) -> bool:
    """True if the word before or after is an all-caps Vietnamese word, i.e.
    "CA" sits in a heading like "ĐÊM CA NHẠC" where it is the word "ca"."""
    before = _NEIGHBOUR_WORD.findall(text[max(0, start - 12):start])
    after = _NEIGHBOUR_WORD.match(text[end:end + 12].lstrip())
    words = ([before[-1]] if before else []) + ([after.group()] if after else [])
    return any(w.isupper() and len(w) > 1 and is_syllable(w) for w in words)


def _expand(m: re.Match) -> str:
    key, text, start, end = m.group(), m.string, m.start(), m.end()
    if key in ROAD_KEYS and _ROAD_NUMBER.match(text, end):
        return f" {ROAD_KEYS[key]} "
    if key not in ABBREVIATIONS:  # "ĐT." ending a sentence: the dot is a full stop
        return f" {ABBREVIATIONS[key[:-1]]}. "
    nxt = text[end:end + 2]
    if len(key) == 2 and key[1] == ".":
        match = _NAME_OR_NUMBER.match(nxt)
        if not match or not (match.group()[-1].isupper() or match.group()[-1].isdigit()):
            return key
    elif key.isupper() and is_syllable(key) and _caps_heading_neighbour(text, start, end):
        return key
    elif key == "ĐT" and _ROAD_NUMBER.match(nxt):
        return " đường tỉnh "
    elif key == "CP" and _COMPANY.search(text[max(0, start - 10):start]):
        return " cổ phần "
    elif key == "SN" and _BIRTH_YEAR.match(text, end):
        return " sinh năm "
    return f" {ABBREVIATIONS[key]} "


def expand_specials(text: str) -> str:
    """Names with digits inside (Covid-19, H5N1, F0) must be read before the
    number stages split them apart."""
    for pattern, repl in _SPECIALS:
        text = pattern.sub(repl, text)
    return text


def expand_abbreviations(text: str) -> str:
    """Replace dictionary abbreviations by their spoken expansion."""
    return _ABBR_RE.sub(_expand, text)


def doc_code(code: str) -> str:
    """Read an official document code such as "QĐ-UBND" or "NĐ-CP"."""
    words = []
    for part in code.split("-"):
        words.append(DOC_CODES.get(part) or ABBREVIATIONS.get(part) or spell(part))
    return " ".join(words)
