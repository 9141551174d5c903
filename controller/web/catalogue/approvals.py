"""Messages of the approval queue (`/approvals`)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "approvals.title": ("Duyệt bản tin", "Approve announcements"),
    "approvals.intro": (
        "Nghe đúng âm thanh sẽ phát, rồi duyệt hoặc từ chối. Bản tin khẩn cấp được xếp lên đầu.",
        "Listen to exactly what will air, then approve or reject. Emergencies come first.",
    ),
    "approvals.queue": ("Đang chờ duyệt ({count})", "Awaiting approval ({count})"),
    "approvals.empty": ("Không có bản tin nào chờ duyệt.", "Nothing is waiting for approval."),
    "approvals.comment": ("Nhận xét cho người soạn", "Comment for the author"),
    "approvals.comment_hint": (
        "Không bắt buộc khi duyệt; bắt buộc khi từ chối (ghi rõ cần sửa gì).",
        "Optional when approving; required when rejecting (say what to fix).",
    ),
    "approvals.approve": ("Duyệt và phát", "Approve and air"),
    "approvals.reject": ("Từ chối", "Reject"),
    "approvals.approved_sent": ("Đã duyệt bản tin số {id}: đã gửi tới các cụm loa.", "Announcement {id} approved and sent to the speakers."),
    "approvals.approved_scheduled": ("Đã duyệt bản tin số {id}: đã lên lịch phát.", "Announcement {id} approved and scheduled."),
    "approvals.rejected": (
        "Đã từ chối bản tin số {id}; người soạn sẽ thấy lý do.",
        "Announcement {id} rejected; the author will see why.",
    ),
    "approvals.already_decided": (
        "Bản tin số {id} đã được {who} xử lý trước bạn (hiện: {status}). Không cần làm gì thêm; bản tin không bị phát hai lần.",
        "Announcement {id} was already handled by {who} (now: {status}). Nothing more to do; it never airs twice.",
    ),
    "approvals.someone": ("người khác", "someone else"),
    "approvals.failed": ("Chưa xử lý được bản tin số {id}: {reason}", "Could not handle announcement {id}: {reason}"),
}
