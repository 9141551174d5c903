"""The node page: details and history for every fleet viewer, signed and audited commands for technicians."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, col, select

from controller.alerts import check_alerts
from controller.models import AuditEntry, Node
from protocol.commands import CommandKind, ControlAction
from protocol.reports import EventKind, NodeEvent, NodeState, NodeStatus, Telemetry
from protocol.signing import Verifier
from protocol.topics import node_cmd, node_events, node_state, node_telemetry
from tests.controller.web.conftest import Web


def _telemetry(web: Web, node_id: str, volume: int, temp: float, skew_s: float = 0.0) -> None:
    now = web.env.clock()
    from datetime import timedelta

    msg = Telemetry(node=node_id, at=now + timedelta(seconds=skew_s), agent_version="0.3.1", uptime_s=600,
                    volume=volume, cpu_temp_c=temp)  # fmt: skip
    web.env.ctx.fleet.on_telemetry(node_telemetry(node_id), msg.to_json())


def _node_audits(web: Web) -> list[AuditEntry]:
    with Session(web.env.ctx.engine) as session:
        return list(session.exec(select(AuditEntry).where(col(AuditEntry.action).startswith("node."))).all())


def test_viewers_see_the_page_without_commands(web: Web) -> None:
    for client in (web.viewer, web.editor, web.leader):
        page = client.get("/nodes/dong-1")
        assert page.status_code == 200 and 'data-node-id="dong-1"' in page.text
        assert 'id="commands"' not in page.text
        assert re.search(r'data-live-row data-node-id="dong-1"', page.text) and 'data-stream="/ui/fleet/stream"' in page.text
    page = web.technician.get("/nodes/dong-1").text
    assert 'id="commands"' in page and 'id="cmd-restart"' in page and "data-confirm=" in page
    assert web.anon().get("/nodes/dong-1").headers["location"] == "/login?next=%2Fnodes%2Fdong-1"
    assert web.viewer.get("/nodes/dong-1", params={"command": "x" * 300}).status_code == 200


def test_unknown_node_is_a_vietnamese_404(web: Web) -> None:
    page = web.viewer.get("/nodes/khong-co")
    assert page.status_code == 404 and "Không tìm thấy cụm loa “khong-co”" in page.text
    r = web.technician.post("/nodes/khong-co/command", {"action": "test_tone"})
    assert r.status_code == 404 and "Không tìm thấy cụm loa" in r.text
    assert web.env.publisher.published == []


def test_history_table_sparklines_events_and_alerts(web: Web) -> None:
    for i, (volume, temp) in enumerate([(40, 50.0), (60, 55.5), (80, 53.0)]):
        _telemetry(web, "dong-2", volume, temp, skew_s=2.5 if i == 2 else 0.0)
        web.env.clock.advance(60)
    web.env.ctx.fleet.on_event(node_events("dong-2"), NodeEvent(
        node="dong-2", cmd="abc123", event=EventKind.APPLIED, at=web.env.clock(), detail="volume 80").to_json())
    web.env.ctx.fleet.on_state(node_state("dong-2"), NodeState(state=NodeStatus.OFFLINE).to_json())
    web.env.clock.advance(web.env.ctx.settings.alert_offline_after_s + 1)
    with Session(web.env.ctx.engine) as session:
        check_alerts(session, web.env.clock(), web.env.ctx.settings.alert_offline_after_s)
    page = web.viewer.get("/nodes/dong-2").text
    table = page[page.index('id="telemetry-table"'):]
    assert table.index("80 %") < table.index("60 %") < table.index("40 %")  # newest first
    assert "+2,5 giây" in table and "55,5 °C" in table
    points = re.search(r'<svg class="sparkline" id="spark-volume"[^>]*>.*?<polyline points="([^"]+)"', page, re.S)
    assert points and len(points.group(1).split()) == 3
    ys = [float(p.split(",")[1]) for p in points.group(1).split()]
    assert ys[0] > ys[1] > ys[2]  # rising volume draws upwards (SVG y grows downwards)
    assert 'data-event="applied"' in page and "volume 80" in page
    assert 'data-open="true"' in page and "Đang mất kết nối từ 01/07/2025 15:03" in page


def test_volume_command_is_signed_published_audited_and_answered(web: Web, verifier: Verifier) -> None:
    r = web.technician.post("/nodes/dong-1/command", {"action": "volume", "volume": "65"})
    assert r.status_code == 303
    [(topic, payload, _qos, retain)] = web.env.publisher.published
    cmd = verifier.open(topic, payload)
    assert topic == node_cmd("dong-1") and not retain
    assert cmd.kind is CommandKind.CONTROL and cmd.control.action is ControlAction.VOLUME and cmd.control.volume == 65
    location = urlsplit(r.headers["location"])
    assert location.path == "/nodes/dong-1" and parse_qs(location.query)["command"] == [cmd.id]
    [entry] = _node_audits(web)
    assert (entry.actor, entry.action, entry.target) == ("technician", "node.volume", "node:dong-1")
    page = web.technician.get(r.headers["location"]).text
    assert f"Đã gửi lệnh “đặt âm lượng” (mã lệnh {cmd.id})" in page and "Chưa có trả lời" in page
    web.env.ctx.fleet.on_event(node_events("dong-1"), NodeEvent(
        node="dong-1", cmd=cmd.id, event=EventKind.APPLIED, at=web.env.clock(), detail="volume 65").to_json())
    answers = web.technician.get(r.headers["location"]).text
    answers = answers[answers.index('id="answers"'):answers.index('id="telemetry"')]
    assert 'data-event="applied"' in answers and "volume 65" in answers


@pytest.mark.parametrize(("action", "kind"), [("test_tone", CommandKind.CONTROL), ("restart", CommandKind.CONTROL),
                                              ("stop", CommandKind.STOP)])
def test_other_commands(web: Web, verifier: Verifier, action: str, kind: CommandKind) -> None:
    r = web.admin.post("/nodes/tay-1/command", {"action": action})
    assert r.status_code == 303, r.text
    cmd = verifier.open(node_cmd("tay-1"), web.env.publisher.published[-1][1])
    assert cmd.kind is kind
    assert [e.action for e in _node_audits(web)] == [f"node.{action}"]


@pytest.mark.parametrize(("typed", "message"), [
    ("150", "Âm lượng phải là số nguyên từ 0 đến 100 (bạn nhập “150”)."),
    ("-3", "Âm lượng phải là số nguyên từ 0 đến 100 (bạn nhập “-3”)."),
    ("năm mươi", "Âm lượng phải là số nguyên từ 0 đến 100 (bạn nhập “năm mươi”)."),
    ("", "Vui lòng nhập âm lượng từ 0 đến 100."),
])  # fmt: skip
def test_bad_volume_is_refused_in_vietnamese_and_kept(web: Web, typed: str, message: str) -> None:
    r = web.technician.post("/nodes/dong-1/command", {"action": "volume", "volume": typed})
    assert r.status_code == 422 and message in r.text
    assert re.search(rf'<input type="number" id="cmd-volume" name="volume"[^>]*value="{re.escape(typed)}"', r.text)
    assert web.env.publisher.published == [] and _node_audits(web) == []


def test_viewer_and_editor_may_not_command_and_csrf_is_checked(web: Web) -> None:
    for client in (web.viewer, web.editor, web.leader):
        assert client.post("/nodes/dong-1/command", {"action": "test_tone"}).status_code == 403
    assert web.technician.post("/nodes/dong-1/command", {"action": "test_tone", "csrf_token": "forged"}).status_code == 403
    anon = web.anon().post("/nodes/dong-1/command", data={"action": "test_tone"})
    assert anon.status_code in (401, 403)  # no session: refused before anything runs
    assert web.technician.post("/nodes/dong-1/command", {"action": "self_destruct"}).status_code == 422
    assert web.env.publisher.published == []


def test_broker_down_is_explained(web: Web) -> None:
    web.env.publisher.fail_topics.add(node_cmd("dong-1"))
    r = web.technician.post("/nodes/dong-1/command", {"action": "test_tone"})
    assert r.status_code == 503 and "máy chủ đang mất kết nối với hệ thống truyền tin" in r.text
    assert _node_audits(web) == []


def test_markup_in_names_and_details_is_escaped(web: Web) -> None:
    with Session(web.env.ctx.engine) as session:
        node = session.get(Node, "bac-1")
        assert node is not None
        node.name, node.address = "<b>loa</b>", '<img src=x onerror="alert(1)">'
        session.add(node)
        session.commit()
    web.env.ctx.fleet.on_event(node_events("bac-1"), NodeEvent(
        node="bac-1", cmd="c1", event=EventKind.FAILED, at=web.env.clock(), detail="<script>x</script>").to_json())
    page = web.technician.get("/nodes/bac-1").text
    assert "<b>loa</b>" not in page and "&lt;b&gt;loa&lt;/b&gt;" in page
    assert "<img src=x" not in page and "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
