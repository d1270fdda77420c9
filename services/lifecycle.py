"""The lifecycles of black spots, encroachment cases and remediation works:
which status may follow which, and the refusal that names the allowed ones.

The services that change a status (:func:`services.blackspots.set_blackspot_status`,
:func:`services.corridor.set_case_status`, :func:`services.works.set_work_status`)
check here before the store writes; the store refuses the write when the item
changed since it was read, so a concurrent change never slips past the check.
No UI here.
"""

from __future__ import annotations

from collections.abc import Mapping, Set as AbstractSet
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from errors import TransitionError
from models.enums import BlackspotStatus, CaseStatus, ItemType, LabelledEnum, WorkStatus

#: Allowed status changes of a black spot (from → allowed targets).
BLACKSPOT_TRANSITIONS: dict[BlackspotStatus, set[BlackspotStatus]] = {
    BlackspotStatus.CANDIDATE: {BlackspotStatus.CONFIRMED, BlackspotStatus.REMOVED},
    BlackspotStatus.CONFIRMED: {BlackspotStatus.REMEDIATION_PLANNED, BlackspotStatus.REMOVED},
    BlackspotStatus.REMEDIATION_PLANNED: {BlackspotStatus.UNDER_WORKS, BlackspotStatus.CONFIRMED},
    BlackspotStatus.UNDER_WORKS: {BlackspotStatus.FIXED, BlackspotStatus.REMEDIATION_PLANNED},
    BlackspotStatus.FIXED: {BlackspotStatus.MONITORING},
    BlackspotStatus.MONITORING: {BlackspotStatus.REMOVED, BlackspotStatus.CONFIRMED},
    BlackspotStatus.REMOVED: {BlackspotStatus.CANDIDATE},
}

#: Allowed status changes of an encroachment case. Clearing straight from
#: "detected" needs no record only when settings.CASE_RECORD_REQUIRED is off.
CASE_TRANSITIONS: dict[CaseStatus, set[CaseStatus]] = {
    CaseStatus.DETECTED: {CaseStatus.RECORDED, CaseStatus.CLEARED, CaseStatus.CANCELLED},
    CaseStatus.RECORDED: {CaseStatus.DEADLINE_SET, CaseStatus.CLEARED, CaseStatus.CANCELLED},
    CaseStatus.DEADLINE_SET: {CaseStatus.CLEARED, CaseStatus.ENFORCED, CaseStatus.CANCELLED},
    CaseStatus.CLEARED: set(),
    CaseStatus.ENFORCED: set(),
    CaseStatus.CANCELLED: {CaseStatus.DETECTED},
}

#: Allowed status changes of a remediation work.
WORK_TRANSITIONS: dict[WorkStatus, set[WorkStatus]] = {
    WorkStatus.PROPOSED: {WorkStatus.APPROVED},
    WorkStatus.APPROVED: {WorkStatus.IN_PROGRESS, WorkStatus.PROPOSED},
    WorkStatus.IN_PROGRESS: {WorkStatus.DONE, WorkStatus.APPROVED},
    WorkStatus.DONE: {WorkStatus.IN_PROGRESS},
}

#: Each item kind's lifecycle (looked up by a status of the kind's own enum).
TRANSITIONS: dict[ItemType, Mapping[Any, AbstractSet[LabelledEnum]]] = {
    ItemType.BLACKSPOT: BLACKSPOT_TRANSITIONS,
    ItemType.CASE: CASE_TRANSITIONS,
    ItemType.WORK: WORK_TRANSITIONS,
}

#: Each item kind's status enum.
STATUSES = {ItemType.BLACKSPOT: BlackspotStatus, ItemType.CASE: CaseStatus, ItemType.WORK: WorkStatus}


def check_transition(kind: ItemType | str, old: str, new: str) -> None:
    """Refuse a status change the item kind's lifecycle does not allow, naming the allowed ones.

    >>> check_transition("work", "proposed", "approved")
    >>> check_transition("work", "proposed", "done")
    Traceback (most recent call last):
    ...
    errors.TransitionError: Không thể chuyển từ 'Đề xuất' sang 'Hoàn thành' / Cannot go from 'Proposed' to 'Done'. \
Được phép / Allowed: Đã phê duyệt
    """
    kind = ItemType(kind)
    status = STATUSES[kind]
    current, new = status(old), status(new)
    allowed = TRANSITIONS[kind][current]
    if new not in allowed:
        order = list(status)
        raise TransitionError(
            f"Không thể chuyển từ '{current.vi}' sang '{new.vi}' / Cannot go from '{current.en}' to '{new.en}'. "
            "Được phép / Allowed: " + (", ".join(a.vi for a in sorted(allowed, key=order.index)) or "—")
        )


def as_date(v: object) -> date | None:
    """A date from what a form or a caller gives (a date, a datetime, a
    Timestamp, "dd/mm/yyyy" or ISO text); None for nothing.

    >>> as_date("05/02/2025"), as_date(None), as_date(datetime(2025, 2, 5, 8, 30))
    (datetime.date(2025, 2, 5), None, datetime.date(2025, 2, 5))
    """
    if v is None or v == "" or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date) and not isinstance(v, pd.Timestamp):
        return v
    from geo.validate import parse_dates

    d = parse_dates(pd.Series([str(v)[:10] if isinstance(v, pd.Timestamp) else str(v)])).iloc[0]
    if pd.isna(d):
        raise TransitionError(f"Ngày không đọc được / Unreadable date: {v}")
    day: date = d.date()
    return day
