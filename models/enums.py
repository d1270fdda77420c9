"""Statuses and kinds, as enums with Vietnamese and English labels. Which status
may follow which is a rule of the services (``services/lifecycle.py``)."""

from __future__ import annotations

import enum


class LabelledEnum(str, enum.Enum):
    """A string enum with labels; ``label(lang)`` gives the display text."""

    # set per member by __new__ (annotations only: not members)
    vi: str
    en: str

    def __new__(cls, value: str, vi: str = "", en: str = ""):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.vi = vi or value
        obj.en = en or value
        return obj

    def label(self, lang: str = "vi") -> str:
        return self.vi if lang == "vi" else self.en


class AdminLevel(LabelledEnum):
    PROVINCE = ("province", "Tỉnh/Thành phố", "Province")
    DISTRICT = ("district", "Huyện/Quận", "District")
    COMMUNE = ("commune", "Xã/Phường", "Commune")


class SpotKind(LabelledEnum):
    BLACK_SPOT = ("black_spot", "Điểm đen", "Black spot")
    POTENTIAL = ("potential", "Điểm tiềm ẩn TNGT", "Potential crash point")
    CLUSTER = ("cluster", "Cụm mật độ", "Density cluster")


class BlackspotStatus(LabelledEnum):
    CANDIDATE = ("candidate", "Đề xuất (ứng viên)", "Candidate")
    CONFIRMED = ("confirmed", "Đã xác định", "Confirmed")
    REMEDIATION_PLANNED = ("remediation_planned", "Đã lập phương án xử lý", "Remediation planned")
    UNDER_WORKS = ("under_works", "Đang thi công", "Under works")
    FIXED = ("fixed", "Đã xử lý xong", "Fixed")
    MONITORING = ("monitoring", "Đang theo dõi", "Monitoring")
    REMOVED = ("removed", "Đã đưa ra khỏi danh sách", "Removed from list")


class CaseStatus(LabelledEnum):
    DETECTED = ("detected", "Phát hiện", "Detected")
    RECORDED = ("recorded", "Đã lập biên bản", "Record made")
    DEADLINE_SET = ("deadline_set", "Đã ấn định thời hạn", "Deadline set")
    CLEARED = ("cleared", "Đã giải tỏa", "Cleared")
    ENFORCED = ("enforced", "Đã cưỡng chế", "Enforced")
    CANCELLED = ("cancelled", "Hủy", "Cancelled")


#: The statuses of a case still open (a deadline can be overdue only in these).
CASE_OPEN = {CaseStatus.DETECTED, CaseStatus.RECORDED, CaseStatus.DEADLINE_SET}


class WorkStatus(LabelledEnum):
    PROPOSED = ("proposed", "Đề xuất", "Proposed")
    APPROVED = ("approved", "Đã phê duyệt", "Approved")
    IN_PROGRESS = ("in_progress", "Đang thực hiện", "In progress")
    DONE = ("done", "Hoàn thành", "Done")


class WorkType(LabelledEnum):
    SIGNS = ("signs", "Biển báo", "Signs")
    MARKINGS = ("markings", "Vạch sơn", "Road markings")
    SPEED_HUMPS = ("speed_humps", "Gờ giảm tốc", "Speed humps / rumble strips")
    LIGHTING = ("lighting", "Chiếu sáng", "Lighting")
    WIDENING = ("widening", "Mở rộng", "Widening")
    JUNCTION = ("junction", "Cải tạo nút giao", "Junction redesign")
    SIGHT_LINES = ("sight_lines", "Phát quang, đảm bảo tầm nhìn", "Clearing sight lines")
    GUARDRAILS = ("guardrails", "Hộ lan, tôn lượn sóng", "Guardrails")
    SIGNALS = ("signals", "Đèn tín hiệu", "Traffic signals")
    OTHER = ("other", "Khác", "Other")


class BatchStatus(LabelledEnum):
    ACTIVE = ("active", "Đã nhập", "Imported")
    UNDONE = ("undone", "Đã hoàn tác", "Undone")


class ItemType(LabelledEnum):
    BLACKSPOT = ("blackspot", "Điểm đen / tiềm ẩn", "Black spot / potential point")
    CASE = ("case", "Vụ lấn chiếm", "Encroachment case")
    WORK = ("work", "Công trình xử lý", "Remediation work")


class Role(LabelledEnum):
    VIEWER = ("viewer", "Xem", "Viewer")
    COMMUNE_EDITOR = ("commune_editor", "Biên tập cấp xã", "Commune editor")
    COMMITTEE_EDITOR = ("committee_editor", "Biên tập Ban ATGT", "Committee editor")
    ADMIN = ("admin", "Quản trị", "Administrator")
