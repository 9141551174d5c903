"""The relays page (/relays): list, schedule from the form (as the API does), errors by
field in Vietnamese with everything typed kept, cancel (idempotent), CSRF, escaping."""

from __future__ import annotations

import html
from typing import Any

import pytest
from sqlmodel import select

from controller.models import Relay, RelayDelivery
from controller.models.audit import AuditEntry
from protocol.commands import CommandKind
from protocol.signing import Verifier
from protocol.topics import zone_cmd
from tests.controller.programme_helpers import commands
from tests.controller.web.conftest import Web

STREAM = "https://stream.vov.vn/vov1"
# The fake clock stands at 2025-07-01 15:00 in Vietnam; relays are published 600 s ahead.


def form(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": STREAM, "title": "Tiếp sóng VOV1", "start": "2025-07-01T15:05", "end": "2025-07-01T16:00",
        "zones": ["xa-an-binh"], "priority": "normal",
    }  # fmt: skip
    data.update(over)
    return data


def relays(web: Web) -> list[Relay]:
    with web.env.session() as session:
        return list(session.exec(select(Relay).order_by(Relay.id)).all())


def audit(web: Web, action: str) -> list[AuditEntry]:
    with web.env.session() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


def test_a_relay_from_the_page_is_stored_and_published_like_the_api(web: Web, verifier: Verifier) -> None:
    r = web.leader.post("/relays", form(zones=["xa-an-binh", "thon-dong"], priority="priority"))
    assert r.status_code == 303, r.text
    (relay,) = relays(web)
    assert r.headers["location"] == f"/relays#relay-{relay.id}"
    assert relay.status == "sent" and relay.url == STREAM and relay.title == "Tiếp sóng VOV1"
    assert relay.targets == {"zones": ["xa-an-binh"]}  # the ticked commune covers its hamlet
    assert relay.start_at.isoformat() == "2025-07-01T08:05:00+00:00" and relay.priority == "priority"
    sent = commands(verifier, web.env.publisher)
    assert [t for t, _ in sent] == [zone_cmd("xa-an-binh")]  # one publish for the whole commune
    cmd = sent[0][1]
    assert cmd.kind is CommandKind.RELAY and cmd.relay is not None and cmd.relay.relay_id == f"relay:{relay.id}"
    assert cmd.relay.url == STREAM and cmd.expires_at == cmd.relay.end_at
    with web.env.session() as session:
        assert len(session.exec(select(RelayDelivery)).all()) == 5
    (entry,) = audit(web, "relay.created")
    assert entry.actor == "leader" and entry.target == f"relay:{relay.id}"
    page = web.leader.get("/relays")
    assert "Đã lên lịch tiếp sóng số" in page.text and "Xã An Bình" in page.text
    assert "01/07/2025 15:05 đến 01/07/2025 16:00" in page.text and "Đã gửi đi: 5" in page.text


def test_a_later_relay_waits_for_the_dispatcher(web: Web) -> None:
    r = web.admin.post("/relays", form(start="2025-07-02T06:00", end="2025-07-02T07:00", zones=["thon-bac"]))
    assert r.status_code == 303
    (relay,) = relays(web)
    assert relay.status == "scheduled" and web.env.publisher.published == []
    assert "hệ thống sẽ gửi tới các cụm loa" in web.admin.get("/relays").text


BAD = [
    ({"url": ""}, "url", "Hãy nhập địa chỉ luồng phát."),
    ({"url": "rtsp://x.example/a"}, "url", "phải bắt đầu bằng http:// hoặc https://"),
    ({"url": "file:///etc/passwd"}, "url", "phải bắt đầu bằng http:// hoặc https://"),
    ({"url": "https://x.example/a b"}, "url", "không có dấu cách"),
    ({"title": "x" * 201}, "title", "Tên dài quá"),
    ({"title": "VOV1\x00"}, "title", "ký tự điều khiển"),
    ({"url": "https://x.example/a\x00b"}, "url", "phải bắt đầu bằng http:// hoặc https://"),
    ({"start": ""}, "start", "Hãy chọn ngày và giờ."),
    ({"start": "mai lúc 6 giờ"}, "start", "Ngày giờ không hợp lệ"),
    ({"start": "2025-07-01T14:00"}, "start", "Giờ bắt đầu đã qua (bây giờ là 01/07/2025 15:00)"),
    ({"start": "0001-01-01T00:00"}, "start", "Ngày giờ không hợp lệ"),
    ({"end": "9999-12-31T23:59"}, "end", "Ngày giờ không hợp lệ"),
    ({"end": "2025-07-01T15:05"}, "end", "Giờ kết thúc phải sau giờ bắt đầu."),
    ({"end": "2025-07-01T14:30"}, "end", "Giờ kết thúc phải sau giờ bắt đầu."),
    ({"end": "2025-07-01T21:06"}, "end", "tối đa 6 giờ"),
    ({"zones": []}, "zones", "Hãy chọn ít nhất một khu vực."),
    ({"zones": ["nope"]}, "zones", "Không có khu vực: nope"),
    ({"priority": "emergency"}, "priority", "Hãy chọn mức Bình thường hoặc Ưu tiên."),
]
ERROR_IDS = {"url": "relay-url-error", "title": "relay-title-error", "start": "relay-start-error",
             "end": "relay-end-error", "zones": "err-relay-zones", "priority": "err-relay-priority"}  # fmt: skip


@pytest.mark.parametrize(("over", "field", "message"), BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_each_bad_input_is_explained_next_to_its_field_with_the_form_kept(
    web: Web, over: dict[str, Any], field: str, message: str
) -> None:
    data = form(**over)
    r = web.leader.post("/relays", data)
    assert r.status_code == 422, r.text
    text = html.unescape(r.text)
    error_id = ERROR_IDS[field]
    assert f'id="{error_id}">' in r.text
    shown = r.text.split(f'id="{error_id}">', 1)[1].split("</p>", 1)[0]
    assert message in html.unescape(shown)
    assert "Chưa lưu được" in text
    for name in ("url", "title", "start", "end"):  # every typed value comes back
        if data[name]:
            assert f'value="{html.escape(data[name])}"' in r.text, name
    for zone in data["zones"]:
        if zone != "nope":
            assert f'value="{zone}" data-tree="zone" checked' in r.text
    assert relays(web) == [] and web.env.publisher.published == []


def test_every_error_at_once(web: Web) -> None:
    r = web.leader.post("/relays", form(url="ftp://x", start="2025-07-01T10:00", end="", zones=[]))
    assert r.status_code == 422
    for error_id in ("relay-url-error", "relay-start-error", "relay-end-error", "err-relay-zones"):
        assert f'id="{error_id}"' in r.text
    english = web.leader.client.post("/lang", data={"lang": "en", "next": "/relays", "csrf_token": web.leader.csrf})
    assert english.status_code == 303
    assert "Choose at least one zone." in web.leader.post("/relays", form(zones=[])).text


def test_who_may_schedule_and_csrf(web: Web) -> None:
    assert web.editor.post("/relays", form()).status_code == 403
    assert web.technician.post("/relays", form()).status_code == 403
    assert 'id="relay-form"' not in web.viewer.get("/relays").text
    assert 'id="relay-form"' in web.leader.get("/relays").text
    refused = web.leader.post("/relays", form(csrf_token="forged"))
    assert refused.status_code == 403
    assert relays(web) == [] and web.env.publisher.published == []


def test_titles_and_addresses_are_escaped(web: Web) -> None:
    evil = "<script>alert('x')</script>"
    body = {"url": f"https://x.example/{evil}", "title": evil, "targets": {"zones": ["thon-dong"]},
            "start_at": "2025-07-02T06:00:00+07:00", "end_at": "2025-07-02T07:00:00+07:00"}  # fmt: skip
    assert web.env.client.post("/api/v1/relays", json=body).status_code == 201  # stored as typed
    page = web.viewer.get("/relays")
    assert page.status_code == 200
    assert evil not in page.text and "<script>alert" not in page.text
    assert page.text.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") == 2  # the title and the address
    typed = web.leader.post("/relays", form(title=evil, zones=[]))
    assert typed.status_code == 422 and evil not in typed.text


def test_cancel_stops_it_once_and_is_idempotent(web: Web, verifier: Verifier) -> None:
    web.leader.post("/relays", form())
    (relay,) = relays(web)
    assert 'action="/relays/{}/cancel"'.format(relay.id) in web.leader.get("/relays").text
    assert 'action="/relays/{}/cancel"'.format(relay.id) not in web.editor.get("/relays").text
    assert web.editor.post(f"/relays/{relay.id}/cancel").status_code == 403
    r = web.leader.post(f"/relays/{relay.id}/cancel")
    assert r.status_code == 303 and r.headers["location"] == f"/relays#relay-{relay.id}"
    assert relays(web)[0].status == "cancelled"
    (_, cancel), = commands(verifier, web.env.publisher, start=1)
    assert cancel.kind is CommandKind.CANCEL and cancel.cancel is not None
    assert cancel.cancel.occurrences == [f"relay:{relay.id}"]
    page = web.leader.get("/relays")
    assert f"Đã hủy tiếp sóng số {relay.id}." in page.text
    assert 'action="/relays/{}/cancel"'.format(relay.id) not in page.text
    again = web.admin.post(f"/relays/{relay.id}/cancel")
    assert again.status_code == 303 and len(web.env.publisher.published) == 2
    assert "đã được hủy từ trước" in web.admin.get("/relays").text
    assert len(audit(web, "relay.cancelled")) == 1
    missing = web.leader.post("/relays/999/cancel")
    assert missing.status_code == 303 and missing.headers["location"] == "/relays"
    assert "Không có tiếp sóng số 999." in web.leader.get("/relays").text
    assert web.leader.post("/relays/abc/cancel").status_code == 422  # a page, not a 500


def test_a_broker_that_refuses_the_relay_is_said_plainly(web: Web) -> None:
    web.env.publisher.fail_topics.add(zone_cmd("xa-an-binh"))
    r = web.leader.post("/relays", form())
    assert r.status_code == 303
    (relay,) = relays(web)
    assert relay.status == "failed"
    page = web.leader.get("/relays")
    assert f"Đã lưu tiếp sóng số {relay.id} nhưng chưa gửi được" in page.text and "Gửi lỗi" in page.text


def test_an_upper_case_scheme_is_stored_as_nodes_accept_it(web: Web, verifier: Verifier) -> None:
    assert web.leader.post("/relays", form(url="HTTPS://stream.vov.vn/VOV1")).status_code == 303
    (relay,) = relays(web)
    assert relay.status == "sent" and relay.url == "https://stream.vov.vn/VOV1"
    ((_, cmd),) = commands(verifier, web.env.publisher)
    assert cmd.relay is not None and cmd.relay.url == "https://stream.vov.vn/VOV1"
