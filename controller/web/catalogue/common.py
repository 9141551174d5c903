"""Messages of the page frame: navigation, language switch, flashes, error pages."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "common.app_name": ("Loa – Đài truyền thanh xã", "Loa – commune radio"),
    "common.skip_to_content": ("Bỏ qua, đến nội dung chính", "Skip to main content"),
    "common.menu": ("Trình đơn", "Menu"),
    "common.logout": ("Đăng xuất", "Log out"),
    "common.logged_in_as": ("Đang đăng nhập: {name} · {role}", "Logged in as {name} · {role}"),
    "common.language": ("Ngôn ngữ", "Language"),
    "common.switch_to": ("English", "Tiếng Việt"),
    "common.save": ("Lưu", "Save"),
    "common.cancel": ("Hủy", "Cancel"),
    "common.back_home": ("Về trang chính", "Back to the home page"),
    "common.form_has_errors": (
        "Chưa lưu được: vui lòng sửa các ô được đánh dấu bên dưới.",
        "Not saved: please correct the fields marked below.",
    ),
    "common.close": ("Đóng", "Close"),
    "nav.compose": ("Soạn tin", "Compose"),
    "nav.announcements": ("Bản tin", "Announcements"),
    "nav.approvals": ("Duyệt tin", "Approvals"),
    "nav.fleet": ("Cụm loa", "Speakers"),
    "nav.zones": ("Khu vực", "Zones"),
    "nav.lexicon": ("Từ điển phát âm", "Pronunciation"),
    "nav.users": ("Người dùng", "Users"),
    "role.admin": ("Quản trị", "Administrator"),
    "role.leader": ("Lãnh đạo (duyệt tin)", "Leader (approves)"),
    "role.editor": ("Biên tập viên", "Editor"),
    "role.technician": ("Kỹ thuật viên", "Technician"),
    "role.viewer": ("Người xem", "Viewer"),
    "error.403.title": ("Không có quyền truy cập", "Access denied"),
    "error.403.body": (
        "Tài khoản của bạn không được phép dùng trang này. Nếu cần, hãy nhờ quản trị viên cấp quyền.",
        "Your account may not use this page. Ask an administrator if you need access.",
    ),
    "error.404.title": ("Không tìm thấy trang", "Page not found"),
    "error.404.body": (
        "Trang bạn tìm không tồn tại hoặc đã bị xóa.",
        "The page you are looking for does not exist or was removed.",
    ),
    "error.csrf.title": ("Biểu mẫu đã hết hạn", "The form has expired"),
    "error.csrf.body": (
        "Biểu mẫu này không còn hợp lệ (có thể do bạn đã đăng nhập lại hoặc mở trang quá lâu). "
        "Vui lòng tải lại trang và thử lại.",
        "This form is no longer valid (you may have logged in again, or the page was open too long). "
        "Please reload the page and try again.",
    ),
    "error.expired.title": ("Phiên đăng nhập đã hết hạn", "Your session has ended"),
    "error.expired.body": (
        "Bạn đã bị đăng xuất (do để lâu không dùng hoặc đã đăng xuất ở nơi khác), nên nội dung vừa gửi "
        "CHƯA được lưu. Hãy sao chép nội dung bên dưới, đăng nhập lại rồi gửi lại.",
        "You were logged out (idle too long, or logged out elsewhere), so what you just sent was NOT "
        "saved. Copy it from below, log in again and send it again.",
    ),
    "error.kept.title": ("Nội dung bạn đã nhập", "What you typed"),
    "error.kept.hint": (
        "Chưa được lưu. Hãy sao chép trước khi rời trang này (mật khẩu không được hiển thị lại).",
        "Not saved. Copy it before leaving this page (passwords are not shown again).",
    ),
    "error.500.title": ("Đã có lỗi xảy ra", "Something went wrong"),
    "error.500.body": (
        "Hệ thống gặp lỗi khi xử lý yêu cầu. Vui lòng thử lại; nếu vẫn lỗi, hãy báo cho kỹ thuật viên.",
        "The system failed to handle the request. Please try again; if it keeps failing, tell a technician.",
    ),
    "error.other.title": ("Yêu cầu không hợp lệ", "Invalid request"),
    "error.other.body": (
        "Dữ liệu gửi lên không đúng dạng. Vui lòng quay lại, tải lại trang và nhập lại.",
        "The data sent was not in the expected form. Please go back, reload the page and try again.",
    ),
}
