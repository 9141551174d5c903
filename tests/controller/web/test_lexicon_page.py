"""The lexicon page: who may edit, add/edit/delete with Vietnamese errors and typed values kept, search."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session

from controller.lexicon import store
from controller.lexicon.models import LexiconEntry, LexiconEntryIn
from tests.controller.web.conftest import Web


def _add(web: Web, term: str, spoken: str, note: str | None = None) -> int:
    with Session(web.env.ctx.engine) as session:
        entry = store.create_entry(session, LexiconEntryIn(term=term, spoken=spoken, note=note), web.env.clock())
        assert entry.id is not None
        return entry.id


def _entries(web: Web) -> list[tuple[str, str, str | None]]:
    with Session(web.env.ctx.engine) as session:
        return [(e.term, e.spoken, e.note) for e in store.list_entries(session)]


def _value(html: str, field_id: str) -> str:
    found = re.search(rf'<input id="{re.escape(field_id)}" name="[^"]+" type="text" value="([^"]*)"', html)
    assert found, field_id
    return found.group(1)


def test_lexicon_managers_only(web: Web) -> None:
    for client in (web.admin, web.leader, web.editor):
        assert client.get("/lexicon").status_code == 200
    for client in (web.technician, web.viewer):
        assert client.get("/lexicon").status_code == 403
        assert client.post("/lexicon", {"term": "UBND", "spoken": "ủy ban nhân dân"}).status_code == 403
        assert client.post("/lexicon/1", {"term": "UBND", "spoken": "x"}).status_code == 403
        assert client.post("/lexicon/1/delete").status_code == 403
    assert web.anon().get("/lexicon").headers["location"] == "/login?next=%2Flexicon"
    r = web.editor.post("/lexicon", {"term": "UBND", "spoken": "ủy ban nhân dân", "csrf_token": "sai"})
    assert r.status_code == 403 and _entries(web) == []


def test_add_edit_search_delete(web: Web) -> None:
    r = web.editor.post("/lexicon", {"term": "UBND", "spoken": "ủy ban nhân dân", "note": "viết tắt"})
    assert r.status_code == 303 and r.headers["location"] == "/lexicon"
    page = web.editor.get("/lexicon").text
    assert "Đã thêm “UBND” vào từ điển." in page and 'class="spoken">ủy ban nhân dân<' in page
    assert 'data-preview-text="UBND"' in page  # editors may listen (/ui/preview)
    [entry_id] = [int(i) for i in re.findall(r'data-entry-id="(\d+)"', page)]
    _add(web, "Ea H'leo", "Ê a Hơ lê ô")
    found = web.editor.get("/lexicon", params={"q": "hơ lê"}).text
    assert re.findall(r'class="term">([^<]+)<', found) == ["Ea H&#39;leo"] and "1 mục khớp với “hơ lê”." in found
    r = web.editor.post(f"/lexicon/{entry_id}", {"term": "UBND", "spoken": "u bê en đê", "note": ""})
    assert r.status_code == 303 and r.headers["location"] == f"/lexicon#entry-{entry_id}"
    assert ("UBND", "u bê en đê", None) in _entries(web)
    assert web.editor.post(f"/lexicon/{entry_id}/delete").status_code == 303
    assert "Đã xóa “UBND” khỏi từ điển." in web.editor.get("/lexicon").text
    assert [t for t, _, _ in _entries(web)] == ["Ea H'leo"]
    assert web.editor.get("/lexicon", params={"q": "ê" * 1000}).status_code == 200


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"term": "", "spoken": "ủy ban"}, "term", "Vui lòng nhập từ cần dạy cách đọc."),
    ({"term": "HĐND", "spoken": "   "}, "spoken", "Vui lòng nhập cách đọc."),
    ({"term": "ubnd", "spoken": "khác"}, "term", "“UBND” đã có trong từ điển (đọc là “ủy ban nhân dân”)."),
    ({"term": "x" * 101, "spoken": "ích"}, "term", "Quá dài (101 ký tự): tối đa 100 ký tự."),
    ({"term": "!!!", "spoken": "chấm than"}, "term", "Cần có ít nhất một chữ cái hoặc chữ số."),
    ({"term": "TT\x07", "spoken": "tê tê"}, "term", "Có ký tự điều khiển"),
])  # fmt: skip
def test_add_errors_in_vietnamese_keep_what_was_typed(web: Web, form: dict[str, str], field: str, message: str) -> None:
    _add(web, "UBND", "ủy ban nhân dân")
    r = web.editor.post("/lexicon", form)
    assert r.status_code == 422 and message in r.text
    assert re.search(rf'id="add-{field}-error">[^<]*{re.escape(message)}', r.text)
    if "\x07" not in form["term"]:
        assert _value(r.text, "add-term") == form["term"].replace("'", "&#39;")
    assert _value(r.text, "add-spoken") == form["spoken"]
    assert len(_entries(web)) == 1


def test_edit_errors_reopen_the_entry_and_missing_entries_are_explained(web: Web) -> None:
    first = _add(web, "UBND", "ủy ban nhân dân")
    second = _add(web, "HĐND", "hội đồng nhân dân")
    r = web.leader.post(f"/lexicon/{second}", {"term": "UBND", "spoken": "hội đồng", "note": "sửa nhầm"})
    assert r.status_code == 422 and "“UBND” đã có trong từ điển" in r.text
    assert re.search(rf'id="entry-{second}".*?<details open>', r.text, re.S)
    assert _value(r.text, f"entry-{second}-spoken") == "hội đồng" and _value(r.text, f"entry-{second}-note") == "sửa nhầm"
    assert web.leader.post(f"/lexicon/{first}", {"term": "ubnd", "spoken": "u bê"}).status_code == 303  # own term, new case
    for url in ("/lexicon/999", "/lexicon/abc", "/lexicon/999/delete"):
        r = web.leader.post(url, {"term": "A", "spoken": "a"})
        assert r.status_code == 404 and "Không tìm thấy mục này" in r.text


def test_markup_is_escaped(web: Web) -> None:
    _add(web, "<b>XSS</b>", "<script>alert(1)</script>", note="<i>n</i>")
    page = web.editor.get("/lexicon").text
    assert "<script>alert(1)</script>" not in page and "<b>XSS</b>" not in page and "<i>n</i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_english_switch(web: Web) -> None:
    web.editor.post("/lang", {"lang": "en", "next": "/lexicon"})
    r = web.editor.post("/lexicon", {"term": "", "spoken": ""})
    assert "Please enter the word to teach." in r.text and "Please enter how to say it." in r.text
    with Session(web.env.ctx.engine) as session:
        assert session.get(LexiconEntry, 1) is None
