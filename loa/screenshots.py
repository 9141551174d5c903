"""Screenshots of the web app's main pages, at phone and desktop widths, from a real system.

    .venv/bin/python -m loa.screenshots --out docs/screenshots

Brings up the demo stack (Mosquitto, the controller, three speaker agents) in a
temporary directory, fills it with realistic Vietnamese data through the pages
themselves (a leader's announcements, one emergency, one scheduled, two editor's
submissions waiting for approval; a few lexicon entries), stops one node's agent so the
fleet shows it offline, then photographs each page with Debian's Chromium (Playwright;
nothing is downloaded) as `<page>-phone.png` (360 px) and `<page>-desktop.png` (1280 px).
Everything it started is stopped at the end; the exit status is 1 if a page failed.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from loa.stack import DEMO_WEB_USERS, Stack, StackOptions

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
"""Debian's Chromium as the tests and this module run it (headless, no network of its own)."""
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1280, "height": 800}
MAX_HEIGHT = {360: 2600, 1280: 1800}
"""Long pages are cut at this height (px) to keep the PNGs small."""
OFFLINE_NODE = "thon-tay-1"
VN = ZoneInfo("Asia/Ho_Chi_Minh")

log = logging.getLogger("loa.screenshots")

USERNAMES = {role: username for username, role, _ in DEMO_WEB_USERS}


def launch_chromium(playwright):
    """Headless Debian Chromium; Playwright gives it a new, empty profile directory."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def login(page, base_url: str, username: str, password: str) -> None:
    """Log in through the login form and wait to leave /login."""
    page.goto(base_url + "/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(lambda url: "/login" not in url, timeout=15_000)


# -- the data -------------------------------------------------------------------------------

LEADER_ANNOUNCEMENTS = [
    # (text, targets (checkbox labels), priority, when)
    ("Thông báo của UBND xã An Bình: từ ngày 1/12 đến 15/12/2026, xã tổ chức tiêm phòng dại cho chó, mèo "
     "tại nhà văn hóa các thôn. Đề nghị bà con đưa vật nuôi đến đúng giờ, mỗi con 25.000 đồng.",
     ["Xã An Bình"], "normal", "now"),
    ("Thôn Đông: 19 giờ tối nay họp dân tại nhà văn hóa thôn để bàn kế hoạch làm đường bê tông, "
     "mỗi hộ cử một người dự.", ["Thôn Đông"], "priority", "now"),
    ("KHẨN CẤP: Do mưa lớn, nước sông dâng cao. Đề nghị bà con thôn Tây không qua ngầm tràn, "
     "di chuyển người và tài sản lên chỗ cao ngay.", ["Thôn Tây"], "emergency", "now"),
    ("Nhắc lịch: sáng mai lúc 7 giờ 30, trạm y tế xã khám sức khỏe miễn phí cho người cao tuổi; "
     "bà con mang theo thẻ bảo hiểm y tế.", ["Xã An Bình"], "normal", "at"),
]
EDITOR_SUBMISSIONS = [
    ("Hội Nông dân xã thông báo: lớp tập huấn trồng cà phê bền vững khai giảng ngày 5/12 "
     "tại hội trường UBND xã, học viên được hỗ trợ 50.000 đồng mỗi ngày.", ["Thôn Đông"]),
    ("Đoàn Thanh niên xã phát động ra quân dọn vệ sinh đường làng vào sáng Chủ nhật 30/11, "
     "tập trung lúc 6 giờ tại cổng UBND xã.", ["Xã An Bình"]),
]
PREVIEW_TEXT = "Chiều nay lúc 15 giờ 30, thôn Đông họp bàn việc làm đường; mỗi hộ góp 200.000 đồng."
LEXICON = [
    ("UBND", "ủy ban nhân dân", "viết tắt trong công văn"),
    ("HTX", "hợp tác xã", None),
    ("Ea H'leo", "Ê a Hơ lê ô", "huyện ở Đắk Lắk"),
    ("Vinaphone", "vi na phôn", "nhà mạng"),
]


def compose(page, base_url: str, text: str, targets: list[str], priority: str = "normal", when: str = "now") -> None:
    """Fill /compose and send it; wait for the announcement's page."""
    page.goto(base_url + "/compose")
    page.get_by_label("Nội dung bản tin").fill(text)
    for name in targets:
        page.get_by_role("checkbox", name=name, exact=True).check()
    if priority == "priority":
        page.get_by_role("radio", name="Ưu tiên", exact=True).check()
    elif priority == "emergency":
        page.get_by_role("radio", name="Khẩn cấp").check()
        page.get_by_label("Tôi xác nhận phát KHẨN CẤP", exact=False).check()
    if when == "at":
        page.get_by_role("radio", name="Hẹn giờ").check()
        tomorrow = (datetime.now(VN) + timedelta(days=1)).replace(hour=6, minute=30)
        page.get_by_label("Ngày giờ phát (giờ Việt Nam)").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#compose-submit").click()
    page.wait_for_url(lambda url: "/announcements/" in url, timeout=60_000)


def seed(stack: Stack, pages: dict[str, object]) -> int:
    """Fill the system through the pages; return the id of a played announcement."""
    with stack.api() as api:
        for term, spoken, note in LEXICON:
            r = api.post("/api/v1/lexicon", json={"term": term, "spoken": spoken, "note": note})
            if r.status_code not in (201, 409):
                raise RuntimeError(f"lexicon: {r.status_code} {r.text}")
    played_id = 0
    for text, targets, priority, when in LEADER_ANNOUNCEMENTS:
        compose(pages["leader"], stack.url, text, targets, priority, when)
        played_id = played_id or int(pages["leader"].url.rsplit("/", 1)[1])
    for text, targets in EDITOR_SUBMISSIONS:
        compose(pages["editor"], stack.url, text, targets)
    _relay_tomorrow(stack)
    _wait_played(stack)
    return played_id


RELAY = ("Tiếp sóng VOV1 – Thời sự sáng", "http://127.0.0.1:8000/vov1.mp3")


def _relay_tomorrow(stack: Stack) -> None:
    """A relay tomorrow 06:15–07:00 on the commune: on /relays, and meeting the 06:30 bulletin on /programme."""
    start = tomorrow().replace(hour=6, minute=15)
    with stack.api() as api:
        r = api.post("/api/v1/relays", json={
            "title": RELAY[0], "url": RELAY[1], "targets": {"zones": ["xa-an-binh"]}, "priority": "priority",
            "start_at": start.isoformat(), "end_at": (start + timedelta(minutes=45)).isoformat(),
        })  # fmt: skip
        if r.status_code != 201:
            raise RuntimeError(f"relay: {r.status_code} {r.text}")


def tomorrow() -> datetime:
    return (datetime.now(VN) + timedelta(days=1)).replace(second=0, microsecond=0)


def _wait_played(stack: Stack, timeout: float = 60) -> None:
    """Until no delivery of a play-now announcement is still on its way."""
    deadline = time.monotonic() + timeout
    with stack.api() as api:
        while time.monotonic() < deadline:
            items = api.get("/api/v1/announcements", params={"limit": 50}).json()["items"]
            busy = [a for a in items if set(a.get("summary", {})) - {"finished", "failed", "expired", "preempted", "cancelled"}]
            if not busy:
                return
            time.sleep(0.3)
    log.warning("some deliveries were still on their way after %ss", timeout)


# -- the pictures -----------------------------------------------------------------------------


def _show_preview(page) -> None:
    page.get_by_label("Nội dung bản tin").fill(PREVIEW_TEXT)
    page.get_by_role("checkbox", name="Thôn Đông", exact=True).check()
    page.get_by_role("button", name="Nghe thử").click()
    page.locator("#preview-spoken").filter(has_text="mười lăm giờ").wait_for(timeout=30_000)


def _login_typed(page) -> None:
    page.get_by_label("Tên đăng nhập").fill(USERNAMES["editor"])


SHOTS: list[tuple[str, str | None, str, Callable | None]] = [
    # (file name, role (None: logged out), path, what to do before the picture)
    ("login", None, "/login", _login_typed),
    ("compose", "editor", "/compose", _show_preview),
    ("approvals", "leader", "/approvals", None),
    ("announcements", "leader", "/announcements", None),
    ("announcement", "leader", "/announcements/{played_id}", None),
    ("fleet", "technician", "/fleet", None),
    ("node", "technician", "/nodes/" + OFFLINE_NODE, None),
    ("zones", "technician", "/zones", None),
    ("lexicon", "editor", "/lexicon", None),
    ("programme", "leader", "/programme?zone=thon-dong&from={tomorrow}", None),
    ("relays", "leader", "/relays", None),
]


def shrink(path: Path) -> None:
    """Re-encode a PNG with a 128-colour palette (ffmpeg, already a dependency): pages are
    flat colours and text, so it looks the same at well under half the size."""
    smaller = path.with_suffix(".tmp.png")
    try:
        subprocess.run(
            ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(path), "-vf",
             "split[a][b];[a]palettegen=max_colors=128:reserve_transparent=0[p];[b][p]paletteuse=dither=none",
             "-pred", "mixed", str(smaller)],
            check=True, timeout=60,
        )
        if smaller.stat().st_size < path.stat().st_size:
            os.replace(smaller, path)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("kept %s as it was (%s)", path.name, exc)
    finally:
        smaller.unlink(missing_ok=True)


def shoot(browser, stack: Stack, sessions: dict[str, dict], out: Path, played_id: int, only: set[str] | None) -> list[str]:
    failed: list[str] = []
    for size_name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        for name, role, path, prepare in SHOTS:
            if only and name not in only:
                continue
            context = browser.new_context(viewport=viewport, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                          storage_state=sessions.get(role) if role else None)
            try:
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                response = page.goto(stack.url + path.format(played_id=played_id, tomorrow=tomorrow().date().isoformat()))
                if response is None or not response.ok:
                    failed.append(f"{name}-{size_name}: {path} answered {response and response.status}")
                    continue
                if prepare:
                    prepare(page)
                page.wait_for_load_state("networkidle") if name != "fleet" else page.wait_for_timeout(1500)
                height = min(page.evaluate("document.documentElement.scrollHeight"), MAX_HEIGHT[viewport["width"]])
                target = out / f"{name}-{size_name}.png"
                page.screenshot(path=str(target), full_page=True,
                                clip={"x": 0, "y": 0, "width": viewport["width"], "height": max(height, viewport["height"])})
                shrink(target)
                print(f"  {target}  ({target.stat().st_size // 1024} KB)", flush=True)
                if errors:
                    failed.append(f"{name}-{size_name}: JavaScript errors {errors}")
            except Exception as exc:  # noqa: BLE001 - one broken page must not stop the others
                failed.append(f"{name}-{size_name}: {exc}")
            finally:
                context.close()
    return failed


def run(out: Path, state_dir: Path, only: set[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    stack = Stack(StackOptions(state_dir=state_dir, keepalive_s=2, telemetry_interval_s=2,
                               realtime_playback=False, play_lead_s=1.0))
    try:
        print("Starting Mosquitto, the controller and three speaker nodes ...", flush=True)
        stack.start()
        stack.wait_nodes_online(timeout=60)
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            try:
                sessions: dict[str, dict] = {}
                pages: dict[str, object] = {}
                for role in ("admin", "leader", "editor", "technician", "viewer"):
                    context = browser.new_context(viewport=DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
                    page = context.new_page()
                    page.set_default_timeout(20_000)
                    login(page, stack.url, USERNAMES[role], stack.web_users[USERNAMES[role]])
                    sessions[role] = context.storage_state()
                    pages[role] = page
                print("Filling in announcements, approvals and the lexicon through the pages ...", flush=True)
                played_id = seed(stack, pages)
                for page in pages.values():
                    page.context.close()
                stack.stop_agent(OFFLINE_NODE, kill=True)
                stack.wait_nodes_online([OFFLINE_NODE], online=False, timeout=30)
                print(f"Photographing into {out} ...", flush=True)
                failed = shoot(browser, stack, sessions, out, played_id, only)
            finally:
                browser.close()
    finally:
        stack.stop()
    for problem in failed:
        print(f"loa.screenshots: {problem}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loa.screenshots", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("docs/screenshots"), help="where the PNGs go (default docs/screenshots)")
    p.add_argument("--state-dir", type=Path, help="keep the demo stack's files here (default: a temporary directory, removed)")
    p.add_argument("--only", nargs="*", help="only these pages: " + " ".join(name for name, *_ in SHOTS))
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not CHROMIUM.exists():
        print("loa.screenshots: needs Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    only = set(args.only) if args.only else None
    if args.state_dir:
        return run(args.out.resolve(), args.state_dir, only)
    with tempfile.TemporaryDirectory(prefix="loa-screenshots-") as tmp:
        return run(args.out.resolve(), Path(tmp) / "loa", only)


if __name__ == "__main__":
    sys.exit(main())
