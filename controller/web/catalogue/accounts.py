"""Messages of login, logout, the users page and account errors (shared with `loa user`)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # login / logout
    "login.title": ("Đăng nhập", "Log in"),
    "login.username": ("Tên đăng nhập", "Username"),
    "login.password": ("Mật khẩu", "Password"),
    "login.submit": ("Đăng nhập", "Log in"),
    "login.bad": (
        "Tên đăng nhập hoặc mật khẩu không đúng. Vui lòng kiểm tra lại (chú ý chữ hoa, chữ thường).",
        "Wrong username or password. Please check them (mind upper and lower case).",
    ),
    "login.locked": (
        "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút (lúc {time}).",
        "Too many failed logins. Please try again in {minutes} minute(s) (at {time}).",
    ),
    "login.disabled": (
        "Tài khoản này đã bị khóa. Vui lòng liên hệ quản trị viên.",
        "This account is disabled. Please contact an administrator.",
    ),
    "login.missing": ("Vui lòng nhập tên đăng nhập và mật khẩu.", "Please enter your username and password."),
    "login.no_accounts": (
        "Chưa có tài khoản nào. Quản trị viên cần tạo tài khoản đầu tiên trên máy chủ bằng lệnh: {command}",
        "No account exists yet. An administrator must create the first one on the server with: {command}",
    ),
    "login.insecure": (
        "Trang này đang mở qua HTTP thường nhưng máy chủ chỉ gửi cookie đăng nhập qua HTTPS, nên sẽ không "
        "đăng nhập được. Hãy mở bằng địa chỉ https://, hoặc (chỉ trong mạng nội bộ tin cậy) đặt "
        "LOA_COOKIE_SECURE=false.",
        "This page is open over plain HTTP but the server sends its login cookie over HTTPS only, so logging "
        "in will not work. Open it with an https:// address, or (on a trusted LAN only) set "
        "LOA_COOKIE_SECURE=false.",
    ),
    "login.logged_out": ("Bạn đã đăng xuất.", "You are logged out."),
    "login.expired": ("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại.", "Your session expired; please log in again."),
    # users page
    "users.title": ("Người dùng", "Users"),
    "users.list": ("Danh sách tài khoản", "Accounts"),
    "users.username": ("Tên đăng nhập", "Username"),
    "users.username_hint": (
        "2–32 ký tự: chữ thường không dấu, số, dấu chấm, gạch dưới hoặc gạch ngang. Ví dụ: lan.nguyen",
        "2–32 characters: lowercase letters without accents, digits, dot, underscore or hyphen. E.g. lan.nguyen",
    ),
    "users.display_name": ("Họ và tên", "Full name"),
    "users.role": ("Vai trò", "Role"),
    "users.status": ("Trạng thái", "Status"),
    "users.active": ("Đang hoạt động", "Active"),
    "users.disabled": ("Đã khóa", "Disabled"),
    "users.last_login": ("Lần đăng nhập cuối", "Last login"),
    "users.never": ("Chưa đăng nhập", "Never"),
    "users.password": ("Mật khẩu", "Password"),
    "users.password_hint": (
        "Ít nhất {min} ký tự; nên dùng một câu dễ nhớ.",
        "At least {min} characters; a memorable sentence works well.",
    ),
    "users.password_again": ("Nhập lại mật khẩu", "Password again"),
    "users.new_password": ("Mật khẩu mới", "New password"),
    "users.add": ("Thêm người dùng", "Add a user"),
    "users.add_submit": ("Thêm", "Add"),
    "users.change_role": ("Đổi vai trò", "Change role"),
    "users.disable": ("Khóa tài khoản", "Disable"),
    "users.enable": ("Mở khóa", "Enable"),
    "users.reset_password": ("Đặt lại mật khẩu", "Reset password"),
    "users.actions": ("Thao tác", "Actions"),
    "users.you": ("(bạn)", "(you)"),
    "users.added": ("Đã thêm người dùng {username}.", "User {username} added."),
    "users.role_changed": ("Đã đổi vai trò của {username} thành {role}.", "{username} is now {role}."),
    "users.disabled_done": ("Đã khóa tài khoản {username}.", "{username} is disabled."),
    "users.enabled_done": ("Đã mở khóa tài khoản {username}.", "{username} is enabled again."),
    "users.password_done": (
        "Đã đặt mật khẩu mới cho {username}; các phiên đăng nhập khác của tài khoản này đã kết thúc.",
        "New password set for {username}; their other logins have ended.",
    ),
    # account errors (web forms and `loa user`)
    "accounts.err.username_format": (
        "Tên đăng nhập không hợp lệ: cần 2–32 ký tự, chỉ gồm chữ thường không dấu, số, dấu chấm, gạch dưới, "
        "gạch ngang và bắt đầu bằng chữ hoặc số.",
        "Invalid username: use 2–32 characters, only lowercase letters without accents, digits, dot, underscore "
        "or hyphen, starting with a letter or digit.",
    ),
    "accounts.err.username_taken": (
        "Tên đăng nhập “{username}” đã có người dùng; hãy chọn tên khác.",
        "The username “{username}” is taken; choose another.",
    ),
    "accounts.err.no_such_user": ("Không có người dùng “{username}”.", "There is no user “{username}”."),
    "accounts.err.display_name_empty": ("Vui lòng nhập họ và tên.", "Please enter the full name."),
    "accounts.err.display_name_long": (
        "Họ và tên quá dài (tối đa {max} ký tự) hoặc có ký tự không hợp lệ.",
        "The full name is too long (at most {max} characters) or has invalid characters.",
    ),
    "accounts.err.role": ("Vui lòng chọn một vai trò trong danh sách.", "Please choose a role from the list."),
    "accounts.err.password_short": (
        "Mật khẩu quá ngắn: cần ít nhất {min} ký tự.",
        "The password is too short: at least {min} characters are needed.",
    ),
    "accounts.err.password_long": (
        "Mật khẩu quá dài: tối đa {max} ký tự.",
        "The password is too long: at most {max} characters.",
    ),
    "accounts.err.password_common": (
        "Mật khẩu này quá phổ biến, dễ bị đoán; hãy chọn mật khẩu khác.",
        "This password is too common and easy to guess; choose another.",
    ),
    "accounts.err.password_username": (
        "Mật khẩu không được chứa tên đăng nhập.",
        "The password must not contain the username.",
    ),
    "accounts.err.password_mismatch": (
        "Hai lần nhập mật khẩu không khớp nhau.",
        "The two passwords do not match.",
    ),
    "accounts.err.last_admin": (
        "Không thể khóa hoặc hạ quyền quản trị viên cuối cùng; hãy cấp quyền quản trị cho người khác trước.",
        "The last administrator cannot be disabled or demoted; make someone else an administrator first.",
    ),
}
