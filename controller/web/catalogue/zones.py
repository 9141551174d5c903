"""Messages of the zones page: the commune → hamlet tree, zone and node forms, new node credentials."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "zones.title": ("Khu vực và cụm loa", "Zones and speakers"),
    "zones.intro": (
        "Xã gồm các thôn; mỗi cụm loa thuộc một thôn (hoặc trực thuộc xã). Bản tin gửi tới một khu vực sẽ phát ở mọi cụm loa bên trong.",
        "A commune holds hamlets; each speaker belongs to a hamlet (or directly to the commune). "
        "An announcement for a zone plays on every speaker inside it.",
    ),
    "zones.tree": ("Sơ đồ khu vực", "Zone tree"),
    "zones.empty": ("Chưa có khu vực nào. Hãy thêm một xã trước.", "No zones yet. Add a commune first."),
    "zones.kind_commune": ("Xã", "Commune"),
    "zones.kind_hamlet": ("Thôn", "Hamlet"),
    "zones.rename": ("Đổi tên", "Rename"),
    "zones.rename_submit": ("Lưu tên mới", "Save the new name"),
    "zones.name": ("Tên khu vực", "Zone name"),
    "zones.name_hint": ("Tên hiển thị có dấu, ví dụ “Thôn Đông”.", "Display name with diacritics, e.g. “Thôn Đông”."),
    "zones.zone_id": ("Mã khu vực", "Zone id"),
    "zones.id_hint": (
        "Chữ thường không dấu, số và dấu gạch ngang, tối đa 63 ký tự, ví dụ “thon-dong”. Không đổi được về sau.",
        "Lower-case letters without accents, digits and hyphens, at most 63 characters, e.g. “thon-dong”. Cannot be changed later.",
    ),
    "zones.parent": ("Thuộc", "Belongs to"),
    "zones.parent_none": ("Không thuộc đâu (đây là một xã)", "Nothing (this is a commune)"),
    "zones.parent_of": ("Là thôn của {name}", "A hamlet of {name}"),
    "zones.add_zone": ("Thêm khu vực", "Add a zone"),
    "zones.add_zone_submit": ("Thêm khu vực", "Add the zone"),
    "zones.zone_added": ("Đã thêm khu vực {name}.", "Zone {name} added."),
    "zones.zone_renamed": ("Đã đổi tên thành {name}.", "Renamed to {name}."),
    "zones.add_node": ("Thêm cụm loa", "Add a speaker"),
    "zones.add_node_hint": (
        "Sau khi thêm, trang sẽ hiện mật khẩu MQTT của cụm loa một lần duy nhất.",
        "After adding, the page shows the speaker's MQTT password once, and only once.",
    ),
    "zones.add_node_submit": ("Thêm cụm loa", "Add the speaker"),
    "zones.node_id": ("Mã cụm loa", "Speaker id"),
    "zones.node_name": ("Tên cụm loa", "Speaker name"),
    "zones.node_zone": ("Khu vực (thôn)", "Zone (hamlet)"),
    "zones.pick_zone": ("— Chọn khu vực —", "— Choose a zone —"),
    "zones.move_hint": (
        "Chuyển sang thôn khác: cụm loa cần được cập nhật cấu hình (danh sách khu vực) và tài khoản MQTT.",
        "Moving to another hamlet: the speaker's configuration (its zone list) and MQTT account need updating.",
    ),
    "zones.address": ("Địa chỉ lắp đặt", "Where it is mounted"),
    "zones.address_hint": ("Ví dụ: cột điện trước nhà văn hóa thôn.", "E.g. the pole in front of the hamlet's cultural house."),
    "zones.latitude": ("Vĩ độ (GPS)", "Latitude (GPS)"),
    "zones.latitude_hint": ("Ví dụ 21.0285 (Bắc). Để trống nếu chưa có.", "E.g. 21.0285 (north). Leave empty if unknown."),
    "zones.longitude": ("Kinh độ (GPS)", "Longitude (GPS)"),
    "zones.longitude_hint": ("Ví dụ 105.8542 (Đông).", "E.g. 105.8542 (east)."),
    "zones.confirm_far": ("Tôi chắc chắn tọa độ này đúng", "I am sure these coordinates are right"),
    "zones.edit_node": ("Sửa thông tin", "Edit"),
    "zones.save_node": ("Lưu thông tin cụm loa", "Save the speaker"),
    "zones.node_saved": ("Đã lưu cụm loa {name}.", "Speaker {name} saved."),
    "zones.node_moved": (
        "Đã chuyển “{name}” sang {zone}. Hãy cập nhật cấu hình của cụm loa và tài khoản MQTT.",
        "“{name}” moved to {zone}. Update the speaker's configuration and its MQTT account.",
    ),
    "zones.created_title": ("Đã thêm cụm loa {name}", "Speaker {name} added"),
    "zones.created_warning": (
        "Hãy sao chép mật khẩu này ngay bây giờ và cất giữ cẩn thận. Sau khi rời trang này sẽ không ai xem lại được "
        "(máy chủ chỉ lưu bản mã hóa). Nếu làm mất, phải xóa và tạo lại cụm loa.",
        "Copy this password now and keep it safe. Once you leave this page nobody can see it again (the server keeps "
        "only a hash). If it is lost, the speaker must be removed and created again.",
    ),
    "zones.mqtt_username": ("Tên đăng nhập MQTT", "MQTT username"),
    "zones.mqtt_password": ("Mật khẩu MQTT", "MQTT password"),
    "zones.mqtt_broker": ("Máy chủ MQTT", "MQTT broker"),
    "zones.created_next": (
        "Nhập tên đăng nhập và mật khẩu này vào cấu hình phần mềm của cụm loa; tài khoản MQTT có hiệu lực khi "
        "tệp mật khẩu của máy chủ MQTT được cập nhật.",
        "Put this username and password into the speaker's agent configuration; the MQTT account works once "
        "the broker's password file is updated.",
    ),
    "zones.created_far": (
        "Lưu ý: tọa độ đã lưu nằm ngoài Việt Nam theo xác nhận của bạn.",
        "Note: the saved coordinates are outside Vietnam, as you confirmed.",
    ),
    "zones.created_done": ("Tôi đã sao chép, quay lại danh sách", "I have copied it, back to the list"),
    # errors
    "zones.err.zone_id_empty": ("Vui lòng nhập mã khu vực, ví dụ “thon-dong”.", "Please enter a zone id, e.g. “thon-dong”."),
    "zones.err.node_id_empty": ("Vui lòng nhập mã cụm loa, ví dụ “dong-4”.", "Please enter a speaker id, e.g. “dong-4”."),
    "zones.err.slug": (
        "Mã “{value}” không hợp lệ: chỉ dùng chữ thường không dấu (a–z), số và dấu gạch ngang, tối đa 63 ký tự, không bắt đầu bằng dấu gạch.",
        "Id “{value}” is not valid: use only lower-case letters (a–z), digits and hyphens, at most 63 characters, not starting with a hyphen.",
    ),
    "zones.err.zone_taken": ("Mã khu vực “{id}” đã có. Vui lòng chọn mã khác.", "Zone id “{id}” is taken. Please choose another."),
    "zones.err.zone_reserved": ("Mã “{id}” được dành riêng cho hệ thống. Vui lòng chọn mã khác.", "Id “{id}” is reserved. Please choose another."),
    "zones.err.node_taken": ("Mã cụm loa “{id}” đã có. Vui lòng chọn mã khác.", "Speaker id “{id}” is taken. Please choose another."),
    "zones.err.node_reserved": (
        "Mã “{id}” trùng với tài khoản MQTT của máy chủ điều khiển. Vui lòng chọn mã khác.",
        "Id “{id}” is the controller's own MQTT account. Please choose another.",
    ),
    "zones.err.name_empty": ("Vui lòng nhập tên.", "Please enter a name."),
    "zones.err.name_long": ("Tên quá dài ({n} ký tự): tối đa {max} ký tự.", "The name is too long ({n} characters): at most {max}."),
    "zones.err.zone_pick": ("Vui lòng chọn khu vực cho cụm loa.", "Please choose the speaker's zone."),
    "zones.err.zone_gone": (
        "Khu vực này không còn tồn tại (có thể vừa bị đổi). Vui lòng tải lại trang và chọn lại.",
        "This zone no longer exists (it may have just changed). Please reload the page and choose again.",
    ),
    "zones.err.node_gone": ("Không tìm thấy cụm loa “{id}”: có thể nó vừa bị xóa.", "Speaker “{id}” not found: it may have just been removed."),
    "zones.err.parent_hamlet": (
        "Thôn không thể chứa khu vực khác: hãy chọn một xã.",
        "A hamlet cannot hold another zone: please choose a commune.",
    ),
    "zones.err.address_long": ("Địa chỉ quá dài ({n} ký tự): tối đa {max} ký tự.", "The address is too long ({n} characters): at most {max}."),
    "zones.err.gps_pair": (
        "Vui lòng nhập cả vĩ độ và kinh độ, hoặc để trống cả hai.",
        "Please enter both latitude and longitude, or leave both empty.",
    ),
    "zones.err.lat_number": ("Vĩ độ phải là một số, ví dụ 21.0285 (bạn nhập “{value}”).", "The latitude must be a number, e.g. 21.0285 (you typed “{value}”)."),
    "zones.err.lon_number": ("Kinh độ phải là một số, ví dụ 105.8542 (bạn nhập “{value}”).", "The longitude must be a number, e.g. 105.8542 (you typed “{value}”)."),
    "zones.err.lat_range": ("Vĩ độ phải nằm trong khoảng −90 đến 90 (bạn nhập “{value}”).", "The latitude must be between −90 and 90 (you typed “{value}”)."),
    "zones.err.lon_range": ("Kinh độ phải nằm trong khoảng −180 đến 180 (bạn nhập “{value}”).", "The longitude must be between −180 and 180 (you typed “{value}”)."),
    "zones.err.far": (
        "Tọa độ ({lat}, {lon}) nằm ngoài Việt Nam (khoảng 8–24° Bắc, 102–110° Đông). Vui lòng kiểm tra lại; "
        "nếu đúng, hãy đánh dấu “Tôi chắc chắn tọa độ này đúng” rồi lưu lại.",
        "The coordinates ({lat}, {lon}) are outside Vietnam (about 8–24° N, 102–110° E). Please check them; "
        "if they are right, tick “I am sure these coordinates are right” and save again.",
    ),
    "zones.err.far_swapped": (
        "Tọa độ ({lat}, {lon}) nằm ngoài Việt Nam: có lẽ vĩ độ và kinh độ bị nhập ngược? Vĩ độ ở Việt Nam khoảng 8–24, "
        "kinh độ khoảng 102–110. Vui lòng đổi lại cho đúng ô.",
        "The coordinates ({lat}, {lon}) are outside Vietnam: are latitude and longitude swapped? In Vietnam the latitude "
        "is about 8–24 and the longitude about 102–110. Please put each in its own box.",
    ),
}
