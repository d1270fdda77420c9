"""One translation table for the UI: Vietnamese first, English second."""
from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    "app_title": ("Quản lý điểm đen tai nạn giao thông", "Road crash black-spot management"),
    "home": ("Tổng quan", "Overview"),
    "import": ("Nhập dữ liệu", "Import data"),
    "blackspots": ("Điểm đen và điểm tiềm ẩn", "Black spots and potential points"),
    "map": ("Bản đồ", "Map"),
    "corridor": ("Hành lang an toàn đường bộ", "Road safety corridor"),
    "works": ("Công trình xử lý", "Remediation works"),
    "plans": ("Kế hoạch và chỉ tiêu", "Plans and targets"),
    "exports": ("Xuất dữ liệu, tờ trình", "Exports and proposals"),
    "language": ("Ngôn ngữ / Language", "Ngôn ngữ / Language"),
    "crashes": ("Số vụ", "Crashes"),
    "deaths": ("Số người chết", "Deaths"),
    "injured": ("Số người bị thương", "Injured"),
    "black_spots": ("Điểm đen", "Black spots"),
    "potential": ("Điểm tiềm ẩn", "Potential points"),
    "simulated_note": ("Các vụ trên QL24 (Kon Rẫy) là dữ liệu mô phỏng / simulated; các vụ ở Hồng Kông là dữ liệu "
                       "thật của Sở Giao thông Hồng Kông (2018–2019).",
                       "Crashes on QL24 (Kon Rẫy) are simulated data (dữ liệu mô phỏng); Hong Kong crashes are real "
                       "Transport Department data (2018–2019)."),
    "heat": ("Bản đồ nhiệt", "Heat map"),
    "period": ("Thời gian", "Period"),
    "no_data": ("Chưa có dữ liệu. Hãy nhập tệp ở trang Nhập dữ liệu.", "No data yet. Import a file on the Import page."),
}


def t(key: str, lang: str = "vi") -> str:
    vi, en = LABELS.get(key, (key, key))
    return vi if lang == "vi" else en
