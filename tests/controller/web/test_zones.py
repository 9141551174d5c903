"""The zones page: the tree for fleet viewers, zone and node edits for technicians and admins."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, col, select

from controller.models import AuditEntry, Node, Zone
from controller.web.i18n import translator
from controller.web.zones_forms import NodeInput, check_place, parse_coordinate
from loa.broker import hash_password
from tests.controller.web.conftest import Web

NODE = {"id": "dong-4", "name": "Cụm loa bến đò", "zone_id": "thon-dong", "address": "Bến đò Đông",
        "latitude": "21,0285", "longitude": "105.8542"}  # fmt: skip


def _node(web: Web, node_id: str) -> Node | None:
    with Session(web.env.ctx.engine) as session:
        return session.get(Node, node_id)


def _value(html: str, field_id: str) -> str:
    found = re.search(rf'<input id="{re.escape(field_id)}" name="[^"]+" type="[^"]+" value="([^"]*)"', html)
    assert found, field_id
    return found.group(1)


def test_everyone_with_fleet_view_reads_only_managers_edit(web: Web) -> None:
    for client in (web.viewer, web.editor, web.leader):
        page = client.get("/zones")
        assert page.status_code == 200 and 'id="zone-thon-dong"' in page.text and 'id="node-dong-1"' in page.text
        assert 'id="add-node"' not in page.text and "/rename" not in page.text
        assert client.post("/zones", {"id": "thon-moi", "name": "Thôn Mới", "parent_id": "xa-an-binh"}).status_code == 403
        assert client.post("/zones/nodes", NODE).status_code == 403
        assert client.post("/zones/thon-dong/rename", {"name": "X"}).status_code == 403
        assert client.post("/zones/nodes/dong-1", {**NODE, "id": "dong-1"}).status_code == 403
    for client in (web.technician, web.admin):
        page = client.get("/zones").text
        assert 'id="add-node"' in page and 'id="add-zone"' in page and 'action="/zones/thon-dong/rename"' in page
    assert web.anon().get("/zones").headers["location"] == "/login?next=%2Fzones"
    assert web.technician.post("/zones", {"id": "thon-moi", "name": "Thôn Mới", "csrf_token": "x"}).status_code == 403


def test_add_a_hamlet_and_rename_it(web: Web) -> None:
    r = web.technician.post("/zones", {"id": "thon-moi", "name": " Thôn Mới ", "parent_id": "xa-phu-my"})
    assert r.status_code == 303 and r.headers["location"] == "/zones#zone-thon-moi"
    with Session(web.env.ctx.engine) as session:
        zone = session.get(Zone, "thon-moi")
        assert zone is not None and (zone.name, zone.kind, zone.parent_id) == ("Thôn Mới", "hamlet", "xa-phu-my")
    assert "Đã thêm khu vực Thôn Mới." in web.technician.get("/zones").text
    r = web.technician.post("/zones/thon-moi/rename", {"name": "Thôn Mới Lập"})
    assert r.status_code == 303
    page = web.technician.get("/zones").text
    assert "Đã đổi tên thành Thôn Mới Lập." in page
    r = web.technician.post("/zones", {"id": "xa-moi", "name": "Xã Mới", "parent_id": ""})
    with Session(web.env.ctx.engine) as session:
        assert session.get(Zone, "xa-moi").kind == "commune"  # type: ignore[union-attr]
        actions = [a.action for a in session.exec(select(AuditEntry).where(col(AuditEntry.action).startswith("zone.")))]
    assert actions == ["zone.created", "zone.renamed", "zone.created"]


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"id": "thon-dong", "name": "Thôn Đông 2"}, "id", "Mã khu vực “thon-dong” đã có. Vui lòng chọn mã khác."),
    ({"id": "Thôn Mới", "name": "Thôn Mới"}, "id", "Mã “Thôn Mới” không hợp lệ"),
    ({"id": "", "name": "Thôn Mới"}, "id", "Vui lòng nhập mã khu vực"),
    ({"id": "thon-moi", "name": "   "}, "name", "Vui lòng nhập tên."),
    ({"id": "thon-moi", "name": "Thôn", "parent_id": "thon-dong"}, "parent_id", "Thôn không thể chứa khu vực khác"),
    ({"id": "nodes", "name": "Thôn"}, "id", "được dành riêng"),
])  # fmt: skip
def test_zone_form_errors_keep_what_was_typed(web: Web, form: dict[str, str], field: str, message: str) -> None:
    r = web.technician.post("/zones", {"parent_id": "xa-an-binh", **form})
    assert r.status_code == 422 and message in r.text
    assert re.search(rf'id="add-zone-{field}-error">[^<]*{re.escape(message)}', r.text)
    assert _value(r.text, "add-zone-name") == form["name"]
    assert _value(r.text, "add-zone-id") == form["id"]


def test_rename_with_empty_name_reopens_that_row(web: Web) -> None:
    r = web.technician.post("/zones/thon-tay/rename", {"name": ""})
    assert r.status_code == 422
    assert re.search(r'id="zone-thon-tay".*?<details open>.*?Vui lòng nhập tên\.', r.text, re.S)
    r = web.technician.post("/zones/khong-co/rename", {"name": "Tên"})
    assert r.status_code == 404 and "Khu vực này không còn tồn tại" in r.text


def test_add_node_shows_the_password_once_and_stores_only_its_hash(web: Web) -> None:
    r = web.technician.post("/zones/nodes", NODE)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "Hãy sao chép mật khẩu này ngay bây giờ" in r.text
    password = re.search(r'<code class="secret" id="mqtt-password">([^<]+)</code>', r.text).group(1)  # type: ignore[union-attr]
    assert 'id="mqtt-username">dong-4<' in r.text
    node = _node(web, "dong-4")
    assert node is not None and (node.name, node.zone_id, node.address) == ("Cụm loa bến đò", "thon-dong", "Bến đò Đông")
    assert (node.latitude, node.longitude) == (21.0285, 105.8542)
    assert password not in node.mqtt_password_hash and node.mqtt_password_hash != hash_password(password)
    page = web.technician.get("/zones").text
    assert password not in page and 'id="node-dong-4"' in page
    with Session(web.env.ctx.engine) as session:
        assert [a.action for a in session.exec(select(AuditEntry).where(AuditEntry.target == "node:dong-4"))] == ["node.created"]


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"id": "dong-1"}, "id", "Mã cụm loa “dong-1” đã có. Vui lòng chọn mã khác."),
    ({"name": ""}, "name", "Vui lòng nhập tên."),
    ({"zone_id": ""}, "zone_id", "Vui lòng chọn khu vực cho cụm loa."),
    ({"latitude": "95"}, "latitude", "Vĩ độ phải nằm trong khoảng −90 đến 90 (bạn nhập “95”)."),
    ({"longitude": "-200"}, "longitude", "Kinh độ phải nằm trong khoảng −180 đến 180 (bạn nhập “-200”)."),
    ({"latitude": "hai mốt"}, "latitude", "Vĩ độ phải là một số, ví dụ 21.0285 (bạn nhập “hai mốt”)."),
    ({"longitude": ""}, "longitude", "Vui lòng nhập cả vĩ độ và kinh độ, hoặc để trống cả hai."),
    ({"latitude": "48.85", "longitude": "2.35"}, "latitude", "nằm ngoài Việt Nam (khoảng 8–24° Bắc, 102–110° Đông)"),
    ({"latitude": "105.85", "longitude": "21.03"}, "latitude", "có lẽ vĩ độ và kinh độ bị nhập ngược"),
])  # fmt: skip
def test_node_form_errors_in_vietnamese_with_values_kept(web: Web, changes: dict[str, str], field: str, message: str) -> None:
    form = {**NODE, **changes}
    r = web.technician.post("/zones/nodes", form)
    assert r.status_code == 422 and message in r.text, r.text[-3000:]
    assert re.search(rf'id="add-node-{field}-error">[^<]*{re.escape(message)}', r.text)
    for name in ("id", "name", "address", "latitude", "longitude"):
        assert _value(r.text, f"add-node-{name}") == form[name]
    assert _node(web, form["id"]) is None or form["id"] == "dong-1"
    assert _node(web, "dong-4") is None


def test_far_coordinates_need_a_confirmation(web: Web) -> None:
    form = {**NODE, "latitude": "48.85", "longitude": "2.35"}
    first = web.technician.post("/zones/nodes", form)
    assert first.status_code == 422 and 'id="add-node-confirm_far"' in first.text
    r = web.technician.post("/zones/nodes", {**form, "confirm_far": "1"})
    assert r.status_code == 200 and "nằm ngoài Việt Nam theo xác nhận của bạn" in r.text
    assert (_node(web, "dong-4").latitude, _node(web, "dong-4").longitude) == (48.85, 2.35)  # type: ignore[union-attr]


def test_edit_place_and_move_a_node(web: Web) -> None:
    r = web.technician.post("/zones/nodes/dong-3", {"name": "Cụm loa trường tiểu học", "zone_id": "thon-bac",
                                                     "address": "Cổng trường", "latitude": "20.5", "longitude": "106.1"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/zones#node-dong-3"
    node = _node(web, "dong-3")
    assert node is not None and (node.name, node.zone_id, node.address, node.latitude) == (
        "Cụm loa trường tiểu học", "thon-bac", "Cổng trường", 20.5)
    page = web.technician.get("/zones").text
    assert "Đã chuyển “Cụm loa trường tiểu học” sang Thôn Bắc." in page
    r = web.technician.post("/zones/nodes/dong-3", {"name": "X", "zone_id": "thon-bac", "address": "", "latitude": "",
                                                     "longitude": ""})  # fmt: skip
    assert r.status_code == 303 and _node(web, "dong-3").latitude is None  # type: ignore[union-attr]
    with Session(web.env.ctx.engine) as session:
        actions = [a.action for a in session.exec(select(AuditEntry).where(AuditEntry.target == "node:dong-3"))]
    assert actions == ["node.moved", "node.edited"]


def test_edit_errors_reopen_the_node_form_with_typed_values(web: Web) -> None:
    r = web.technician.post("/zones/nodes/tay-1", {"name": "Loa đầu thôn", "zone_id": "thon-tay", "address": "Ngã ba",
                                                    "latitude": "21.1", "longitude": "999"})  # fmt: skip
    assert r.status_code == 422 and "Kinh độ phải nằm trong khoảng −180 đến 180 (bạn nhập “999”)." in r.text
    assert _value(r.text, "node-tay-1-name") == "Loa đầu thôn" and _value(r.text, "node-tay-1-longitude") == "999"
    assert _value(r.text, "node-tay-1-address") == "Ngã ba"
    assert _node(web, "tay-1").name == "Cụm loa đầu thôn"  # type: ignore[union-attr]
    r = web.technician.post("/zones/nodes/khong-co", {"name": "X", "zone_id": "thon-tay"})
    assert r.status_code == 404 and "Không tìm thấy cụm loa “khong-co”" in r.text


def test_markup_in_zone_and_node_names_is_escaped(web: Web) -> None:
    web.technician.post("/zones/thon-nam/rename", {"name": "<script>alert(1)</script>"})
    web.technician.post("/zones/nodes", {**NODE, "name": '<img src=x onerror="alert(2)">', "address": "<b>x</b>"})
    page = web.viewer.get("/zones").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "<b>x</b>" not in page
    fleet = web.viewer.get("/fleet").text
    assert "<img src=x" not in fleet and "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in fleet


def test_coordinate_parsing_and_checks() -> None:
    assert parse_coordinate("21,0285") == 21.0285 and parse_coordinate(" 105.85° ") == 105.85
    assert parse_coordinate("nan") is None and parse_coordinate("1e999") is None and parse_coordinate("1,2,3") is None
    t = translator("en")
    form = NodeInput()
    check_place(form, "", "", False, t)
    assert form.errors == {} and form.latitude is None
    form = NodeInput()
    check_place(form, "10.8", "106.7", False, t)
    assert form.errors == {} and (form.latitude, form.longitude) == (10.8, 106.7) and not form.far
    form = NodeInput()
    check_place(form, "1", "1", False, t)
    assert form.far and "outside Vietnam" in form.errors["latitude"]
