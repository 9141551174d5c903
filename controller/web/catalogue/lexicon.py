"""Messages of the pronunciation lexicon page (`lexicon.*`)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "lexicon.title": ("Từ điển phát âm", "Pronunciation lexicon"),
    "lexicon.intro": (
        "Dạy máy đọc đúng tên riêng, từ viết tắt và từ địa phương: mỗi mục là một từ (như trong bản tin) và cách đọc "
        "nó bằng chữ tiếng Việt thường. Thay đổi có hiệu lực ngay cho các bản tin đọc sau đó.",
        "Teach the speech engine local names, abbreviations and dialect words: each entry is a word (as written in "
        "announcements) and how to say it in plain Vietnamese. Changes apply at once to announcements read afterwards.",
    ),
    "lexicon.add": ("Thêm mục mới", "Add an entry"),
    "lexicon.add_submit": ("Thêm vào từ điển", "Add to the lexicon"),
    "lexicon.term": ("Từ hoặc cụm từ", "Word or phrase"),
    "lexicon.term_hint": (
        "Như khi viết trong bản tin, ví dụ “UBND”, “Ea H'leo”. Không phân biệt chữ hoa, chữ thường. Tối đa {max} ký tự.",
        "As written in announcements, e.g. “UBND”, “Ea H'leo”. Upper and lower case are the same. At most {max} characters.",
    ),
    "lexicon.spoken": ("Cách đọc", "How to say it"),
    "lexicon.spoken_hint": (
        "Viết ra như khi đọc, ví dụ “ủy ban nhân dân”, “Ê a Hơ lê ô”. Tối đa {max} ký tự.",
        "Written as it is spoken, e.g. “ủy ban nhân dân”, “Ê a Hơ lê ô”. At most {max} characters.",
    ),
    "lexicon.note": ("Ghi chú (không bắt buộc)", "Note (optional)"),
    "lexicon.note_hint": ("Lý do, hoặc ai đề nghị.", "Why, or who asked for it."),
    "lexicon.list": ("Các mục trong từ điển ({n})", "Entries ({n})"),
    "lexicon.search": ("Tìm theo từ, cách đọc hoặc ghi chú", "Search words, readings or notes"),
    "lexicon.search_submit": ("Tìm", "Search"),
    "lexicon.search_clear": ("Xem tất cả", "Show all"),
    "lexicon.found": ("{n} mục khớp với “{q}”.", "{n} entries match “{q}”."),
    "lexicon.none_found": ("Không có mục nào khớp.", "No entry matches."),
    "lexicon.empty": ("Từ điển chưa có mục nào.", "The lexicon is empty."),
    "lexicon.updated": ("sửa lúc {at}", "changed {at}"),
    "lexicon.edit": ("Sửa", "Edit"),
    "lexicon.save": ("Lưu thay đổi", "Save changes"),
    "lexicon.delete": ("Xóa", "Delete"),
    "lexicon.delete_confirm": ("Xóa mục “{term}” khỏi từ điển?", "Delete “{term}” from the lexicon?"),
    "lexicon.preview": ("Nghe thử", "Listen"),
    "lexicon.preview_failed": ("Chưa nghe thử được. Vui lòng thử lại.", "Could not play it. Please try again."),
    "lexicon.added": ("Đã thêm “{term}” vào từ điển.", "“{term}” added to the lexicon."),
    "lexicon.saved": ("Đã lưu “{term}”.", "“{term}” saved."),
    "lexicon.deleted": ("Đã xóa “{term}” khỏi từ điển.", "“{term}” deleted from the lexicon."),
    "lexicon.err.term_empty": ("Vui lòng nhập từ cần dạy cách đọc.", "Please enter the word to teach."),
    "lexicon.err.spoken_empty": ("Vui lòng nhập cách đọc.", "Please enter how to say it."),
    "lexicon.err.too_long": ("Quá dài ({n} ký tự): tối đa {max} ký tự.", "Too long ({n} characters): at most {max}."),
    "lexicon.err.no_letters": ("Cần có ít nhất một chữ cái hoặc chữ số.", "Needs at least one letter or digit."),
    "lexicon.err.control": (
        "Có ký tự điều khiển hoặc ký tự không hợp lệ (thường do sao chép từ nơi khác). Vui lòng gõ lại.",
        "Contains control or invalid characters (often from copy and paste). Please type it again.",
    ),
    "lexicon.err.duplicate": (
        "“{term}” đã có trong từ điển (đọc là “{spoken}”). Hãy sửa mục đó thay vì thêm mới.",
        "“{term}” is already in the lexicon (read “{spoken}”). Edit that entry instead of adding one.",
    ),
    "lexicon.err.duplicate_now": (
        "Từ này vừa được người khác thêm vào từ điển. Vui lòng tải lại trang và sửa mục đó.",
        "Someone else has just added this word. Please reload the page and edit that entry.",
    ),
    "lexicon.err.full": (
        "Từ điển đã đầy (tối đa {max} mục). Hãy xóa bớt các mục không dùng đến.",
        "The lexicon is full ({max} entries at most). Please delete entries no longer needed.",
    ),
    "lexicon.err.gone": (
        "Không tìm thấy mục này: có thể nó vừa bị xóa. Danh sách bên dưới là bản mới nhất.",
        "Entry not found: it may have just been deleted. The list below is up to date.",
    ),
}
