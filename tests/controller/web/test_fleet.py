"""The fleet dashboard: who may see it, what a row shows, filters, the offline alert banner."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session

from controller.alerts import check_alerts
from controller.models import Node
from controller.web.fleet_format import relative
from controller.web.i18n import translator
from protocol.reports import NodeState, NodeStatus, Telemetry
from protocol.topics import node_state, node_telemetry
from tests.controller.web.conftest import Web


def _row(html: str, node_id: str) -> str:
    found = re.search(rf'<tr class="fleet-row"[^>]*data-node-id="{node_id}".*?</tr>', html, re.S)
    assert found, f"no row for {node_id}"
    return found.group(0)


def _online(web: Web, node_id: str, **telemetry: object) -> None:
    fleet, now = web.env.ctx.fleet, web.env.clock()
    fleet.on_state(node_state(node_id), NodeState(state=NodeStatus.ONLINE, at=now, agent_version="0.3.1").to_json())
    if telemetry:
        msg = Telemetry(node=node_id, at=now, agent_version="0.3.1", uptime_s=93784, **telemetry)  # type: ignore[arg-type]
        fleet.on_telemetry(node_telemetry(node_id), msg.to_json())


def test_every_role_with_fleet_view_sees_it_others_are_sent_to_login(web: Web) -> None:
    for client in (web.admin, web.leader, web.editor, web.technician, web.viewer):
        assert client.get("/fleet").status_code == 200, client.role
    response = web.anon().get("/fleet")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Ffleet"
    assert web.anon().get("/ui/fleet/stream").status_code == 401


def test_rows_show_state_telemetry_and_stable_hooks(web: Web) -> None:
    _online(web, "dong-1", volume=70, disk_free_kb=2 * 1024 * 1024, disk_total_kb=8 * 1024 * 1024,
            cache_bytes=3 * 1024 * 1024, cache_files=4, cpu_temp_c=51.5)  # fmt: skip
    web.env.clock.advance(180)
    page = web.technician.get("/fleet").text
    row = _row(page, "dong-1")
    assert 'data-online="true"' in row and 'id="node-dong-1"' in row
    assert 'data-field="status">Trực tuyến<' in row
    assert "3 phút trước" in row and "01/07/2025 15:00" in row  # relative, and Vietnam time
    assert "70 %" in row and "1 ngày 2 giờ" in row and "còn trống 2,0 GB / 8,0 GB" in row
    assert "3,0 MB (4 tệp)" in row and "51,5 °C" in row and "0.3.1" in row
    never = _row(page, "tay-1")
    assert 'data-online="false"' in never and "Chưa từng kết nối" in never
    assert page.index('data-zone-id="thon-dong"') < page.index('data-zone-id="thon-tay"')  # Đ sorts after D, before T
    english = web.technician
    english.post("/lang", {"lang": "en", "next": "/fleet"})
    assert 'data-field="status">Online<' in _row(english.get("/fleet").text, "dong-1")


def test_offline_shows_in_words_not_colour_alone(web: Web) -> None:
    _online(web, "dong-2")
    web.env.ctx.fleet.on_state(node_state("dong-2"), NodeState(state=NodeStatus.OFFLINE).to_json())
    row = _row(web.viewer.get("/fleet").text, "dong-2")
    assert 'data-online="false"' in row and "Mất kết nối" in row and "status-offline" in row


def test_filters_by_zone_and_status(web: Web) -> None:
    _online(web, "dong-1")
    page = web.viewer.get("/fleet", params={"zone": "xa-phu-my"}).text
    assert 'data-node-id="bac-1"' in page and 'data-node-id="dong-1"' not in page
    page = web.viewer.get("/fleet", params={"zone": "thon-dong", "status": "online"}).text
    assert re.findall(r'<tr class="fleet-row"[^>]*data-node-id="([^"]+)"', page) == ["dong-1"]
    page = web.viewer.get("/fleet", params={"status": "offline"}).text
    assert 'data-node-id="dong-1"' not in page and 'data-node-id="dong-2"' in page
    odd = web.viewer.get("/fleet", params={"zone": "không-có", "status": "bogus"})
    assert odd.status_code == 200 and "Không có khu vực này" in odd.text and 'data-node-id="dong-1"' in odd.text
    assert web.viewer.get("/fleet", params={"zone": "x" * 500}).status_code == 200  # a tampered URL: no error page


def test_open_alerts_are_on_the_banner(web: Web) -> None:
    _online(web, "tay-2")
    web.env.ctx.fleet.on_state(node_state("tay-2"), NodeState(state=NodeStatus.OFFLINE).to_json())
    page = web.viewer.get("/fleet").text
    assert re.search(r'<section id="fleet-alerts"[^>]*data-count="0"[^>]*hidden', page)
    web.env.clock.advance(web.env.ctx.settings.alert_offline_after_s + 1)
    with Session(web.env.ctx.engine) as session:
        assert len(check_alerts(session, web.env.clock(), web.env.ctx.settings.alert_offline_after_s).opened) == 1
    page = web.viewer.get("/fleet").text
    banner = page[page.index('<section id="fleet-alerts"'):page.index("</section>")]
    assert 'data-count="1"' in banner and " hidden" not in banner.split(">")[0]
    assert 'href="/nodes/tay-2">Cụm loa cuối thôn</a>' in banner and "mất kết nối từ 01/07/2025 15:00" in banner


def test_node_names_are_escaped(web: Web) -> None:
    with Session(web.env.ctx.engine) as session:
        node = session.get(Node, "dong-3")
        assert node is not None
        node.name = '<script>alert("x")</script>'
        session.add(node)
        session.commit()
    page = web.viewer.get("/fleet").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_relative_time_grows_with_the_clock(web: Web) -> None:
    _online(web, "bac-1")
    web.env.clock.advance(timedelta(minutes=95).total_seconds())  # within the session's idle limit
    assert "1 giờ trước" in _row(web.viewer.get("/fleet").text, "bac-1")
    now, t = web.env.clock(), translator("vi")
    assert relative(now - timedelta(days=2, hours=1), now, t) == "2 ngày trước"
    assert relative(now - timedelta(seconds=59), now, t) == "vừa xong"
    assert relative(None, now, translator("en")) == "never"


def test_a_node_placed_on_the_commune_itself_gets_its_own_group(web: Web) -> None:
    from controller import provision

    with Session(web.env.ctx.engine) as session:
        provision.create_node(session, "xa-1", "Cụm loa trụ sở xã", "xa-phu-my")
    page = web.viewer.get("/fleet", params={"zone": "xa-phu-my"}).text
    group = page[page.index('data-zone-id="xa-phu-my"'):]
    assert group.index("Trực thuộc xã") < group.index('data-node-id="xa-1"') < group.index("Thôn Bắc")
