"""Announcements made in the browser reach the real speaker agents: compose with "Nghe thử",
approval by a leader, an emergency that skips approval, and a recorded file.

Each test targets its own nodes and writes its own text; what a node played is read
from its plays.jsonl (the file-sink player of the real agent process)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import find_announcement, needs_chromium, plays_of, wait_played, wait_states

pytestmark = [pytest.mark.integration, needs_chromium]

ALL_NODES = ["thon-dong-1", "thon-dong-2", "thon-tay-1"]

AUDIO_DURATION = """(id) => new Promise((ok, fail) => {
  const a = document.getElementById(id);
  setTimeout(() => fail(new Error("no metadata within 10 s")), 10000);
  a.addEventListener("loadedmetadata", () => ok(a.duration));
  a.addEventListener("error", () => fail(new Error("media error " + (a.error && a.error.code))));
  a.preload = "metadata";
  a.load();
})"""
"""Seconds of audio the browser itself decoded from an <audio> element's file."""


def open_compose(page, stack) -> None:
    page.goto(stack.url + "/compose")
    expect(page.get_by_role("heading", name="Soạn bản tin")).to_be_visible()


def submitted_id(page, stack) -> int:
    """After a submission the browser lands on the announcement's page: its id."""
    expect(page).to_have_url(re.compile(re.escape(stack.url) + r"/announcements/\d+$"), timeout=30_000)
    return int(page.url.rsplit("/", 1)[1])


def test_editor_previews_and_submits_leader_approves_and_only_the_hamlet_plays_it(page_for, stack):
    text = "Thôn Đông: chiều nay lúc 15 giờ họp bàn việc làm đường, mỗi hộ góp 200.000 đồng."
    page = page_for("editor")
    open_compose(page, stack)
    page.get_by_label("Nội dung bản tin").fill(text)
    expect(page.locator("#compose-counter")).to_contain_text("ký tự")

    page.get_by_role("button", name="Nghe thử").click()
    audio = page.locator("#preview-audio")
    expect(audio).to_have_attribute("src", re.compile(r"/audio/[0-9a-f]{64}\.opus$"), timeout=30_000)
    expect(audio).to_be_visible()
    spoken = page.locator("#preview-spoken")
    expect(spoken).to_contain_text("mười lăm giờ")  # 15 giờ read out in words
    expect(spoken).to_contain_text("hai trăm nghìn đồng")  # 200.000 đồng
    expect(page.locator("#preview-message")).to_contain_text("Âm thanh nghe thử dài")
    assert page.evaluate(AUDIO_DURATION, "preview-audio") > 2  # Chromium plays the Opus file

    page.get_by_role("checkbox", name="Thôn Đông", exact=True).check()
    expect(page.get_by_role("checkbox", name=re.compile(r"\(thon-dong-2\)"))).to_be_checked()  # the hamlet's nodes too
    page.get_by_role("button", name="Gửi chờ duyệt").click()
    ann = submitted_id(page, stack)
    expect(page.get_by_role("status").first).to_contain_text(f"Đã gửi chờ duyệt (bản tin số {ann})")
    created = find_announcement(stack, text)
    assert created["id"] == ann and created["status"] == "awaiting_approval", created
    assert all(plays_of(stack, n, ann) == [] for n in ALL_NODES)  # nothing airs before approval

    leader = page_for("leader")
    approve_on_the_approvals_page(leader, stack, ann, text)

    played = wait_played(stack, ["thon-dong-1", "thon-dong-2"], ann)
    assert played == {"thon-dong-1": 1, "thon-dong-2": 1}, played
    assert wait_states(stack, ann, {"finished"}) == {"thon-dong-1": "finished", "thon-dong-2": "finished"}
    assert plays_of(stack, "thon-tay-1", ann) == []
    history_shows_played(leader, stack, ann, text, ["thon-dong-1", "thon-dong-2"])


def approve_on_the_approvals_page(page, stack, ann: int, text: str) -> None:
    page.goto(stack.url + "/approvals")
    item = page.locator(f"#approval-{ann}")
    expect(item).to_contain_text(text)
    expect(item.locator("audio")).to_have_attribute("src", re.compile(r"/audio/[0-9a-f]{64}\.opus$"))
    item.get_by_role("button", name="Duyệt và phát").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Đã duyệt bản tin số {ann}: đã gửi tới các cụm loa.")
    expect(page.locator(f"#approval-{ann}")).to_have_count(0)


def history_shows_played(page, stack, ann: int, text: str, nodes: list[str]) -> None:
    page.goto(stack.url + "/announcements")
    item = page.locator(f"#ann-{ann}")
    expect(item).to_contain_text(text)
    item.get_by_role("link", name=f"Bản tin số {ann}").click()
    expect(page).to_have_url(stack.url + f"/announcements/{ann}")
    expect(page.locator("#delivery-summary")).to_have_text(f"Đã phát xong: {len(nodes)}")
    rows = page.locator("#deliveries tbody tr")
    expect(rows).to_have_count(len(nodes))
    for node in nodes:
        expect(rows.filter(has_text=f"({node})")).to_contain_text("Đã phát xong")


def test_leader_emergency_skips_approval_is_flagged_and_plays(page_for, stack):
    text = "Khẩn cấp: nước sông Tây đang lên nhanh, bà con thôn Tây di chuyển lên chỗ cao ngay."
    page = page_for("leader")
    open_compose(page, stack)
    page.get_by_label("Nội dung bản tin").fill(text)
    page.get_by_role("checkbox", name=re.compile(r"\(thon-tay-1\)")).check()
    page.get_by_role("radio", name="Khẩn cấp").check()
    confirm = page.get_by_label(re.compile("Tôi xác nhận phát KHẨN CẤP"))
    expect(confirm).to_be_visible()
    confirm.check()
    page.get_by_role("button", name="Gửi phát").click()
    ann = submitted_id(page, stack)
    expect(page.get_by_role("status").first).to_contain_text(f"Đã phát KHẨN CẤP bản tin số {ann}")

    expect(page.locator(f"#ann-{ann}")).to_contain_text("Khẩn cấp, không qua duyệt")  # flagged
    created = find_announcement(stack, text)
    assert created["priority"] == "emergency" and created.get("skipped_approval") is True, created
    assert wait_played(stack, ["thon-tay-1"], ann) == {"thon-tay-1": 1}
    assert plays_of(stack, "thon-dong-1", ann) == [] and plays_of(stack, "thon-dong-2", ann) == []
    assert wait_states(stack, ann, {"finished"}) == {"thon-tay-1": "finished"}
    page.reload()
    expect(page.locator("#delivery-summary")).to_have_text("Đã phát xong: 1")


def test_compose_shows_only_the_parts_that_apply(page_for, stack):
    page = page_for("leader")
    open_compose(page, stack)
    text_box, title = page.get_by_label("Nội dung bản tin"), page.get_by_label("Tiêu đề bản tin ghi âm")
    at = page.get_by_label("Ngày giờ phát (giờ Việt Nam)")
    confirm = page.get_by_label(re.compile("Tôi xác nhận phát KHẨN CẤP"))
    expect(text_box).to_be_visible()
    for name, hidden in [("recording title", title), ("date and time", at), ("emergency confirmation", confirm),
                         ("times of day", page.get_by_label("Giờ phát trong ngày"))]:
        expect(hidden, f"{name} shows while it does not apply").to_be_hidden()

    page.get_by_role("radio", name="Phát tệp ghi âm sẵn").check()
    expect(title).to_be_visible()
    expect(text_box).to_be_hidden()
    page.get_by_role("radio", name="Hẹn giờ").check()
    expect(at).to_be_visible()
    page.get_by_role("radio", name="Khẩn cấp").check()
    expect(confirm).to_be_visible()


def make_wav(path: Path, seconds: float = 2.0) -> Path:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-ac", "1", "-ar", "16000", str(path)],
        check=True,
    )
    return path


def test_recorded_file_plays_and_a_non_audio_file_is_refused_with_the_form_kept(page_for, stack, tmp_path):
    title = "Ghi âm: lịch tiêm phòng cho trẻ tại trạm y tế thôn Đông"
    page = page_for("leader")
    open_compose(page, stack)
    page.get_by_role("radio", name="Phát tệp ghi âm sẵn").check()
    page.get_by_label("Tiêu đề bản tin ghi âm").fill(title)
    page.get_by_role("checkbox", name=re.compile(r"\(thon-dong-2\)")).check()

    not_audio = tmp_path / "thong-bao.wav"
    not_audio.write_text("Đây là văn bản, không phải âm thanh.\n" * 50)
    page.get_by_label("Tệp ghi âm (MP3, WAV, M4A, OGG)").set_input_files(str(not_audio))
    message = page.locator("#upload-message")
    expect(message).to_have_text("Tệp này không phải tệp âm thanh. Hãy chọn tệp MP3, WAV, M4A hoặc OGG.", timeout=20_000)
    expect(page.get_by_label("Tiêu đề bản tin ghi âm")).to_have_value(title)
    expect(page.get_by_role("checkbox", name=re.compile(r"\(thon-dong-2\)"))).to_be_checked()
    expect(page.get_by_role("radio", name="Phát tệp ghi âm sẵn")).to_be_checked()

    page.get_by_label("Tệp ghi âm (MP3, WAV, M4A, OGG)").set_input_files(str(make_wav(tmp_path / "tiem-phong.wav")))
    expect(message).to_contain_text("Đã nhận tệp ghi âm", timeout=30_000)
    expect(page.locator("#recording-audio")).to_have_attribute("src", re.compile(r"/audio/[0-9a-f]{64}\.opus$"))
    assert 1.5 < page.evaluate(AUDIO_DURATION, "recording-audio") < 4  # the 2 s tone (a chime would add more)
    page.get_by_role("button", name="Gửi phát").click()
    ann = submitted_id(page, stack)

    created = find_announcement(stack, title)
    assert created["source"] == "recording" and created["voice"] == "recording", created
    assert wait_played(stack, ["thon-dong-2"], ann) == {"thon-dong-2": 1}
    assert plays_of(stack, "thon-dong-2", ann)[0]["sha256"] == created["audio"]["sha256"]
    assert plays_of(stack, "thon-dong-1", ann) == [] and plays_of(stack, "thon-tay-1", ann) == []
