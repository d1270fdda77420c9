"""Encroachment cases, remediation works, notes and photos, soft delete and restore."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

import settings
from errors import ConflictError, ImportRejected, NotFoundError, TransitionError
from models._store_base import _conflict_message, _date, _num, _py_int, _text
from models.enums import CASE_OPEN, CaseStatus, ItemType, WorkStatus
from models.orm import Attachment, AttachmentBlob, Blackspot, EncroachmentCase, RemediationWork, Road
from models.permissions import Action


class ItemsMixin:
    """Encroachment cases, remediation works, notes and photos, soft delete and restore."""

    # ---------------------------------------------------- encroachment cases
    def _corridor_position(self, geoms) -> pd.DataFrame:
        from geo.corridor import corridor_check, load_corridor_rules

        roads = self.roads_frame()
        n = len(geoms)
        if roads.empty:
            return pd.DataFrame(
                {
                    "road": [None] * n,
                    "road_idx": -1,
                    "chainage_m": np.nan,
                    "side": None,
                    "distance_m": np.nan,
                    "zone": None,
                    "inside_m": np.nan,
                }
            )
        res = corridor_check(
            roads,
            np.asarray(geoms, dtype=object),
            rules=load_corridor_rules(settings.CORRIDOR_RULESET, rules_dir=settings.RULES_DIR),
            search_m=500.0,
        )
        ri = res["road_idx"].to_numpy()
        res["road_id"] = np.where(ri >= 0, roads["id"].to_numpy()[np.clip(ri, 0, None)], None)
        return res

    def add_cases(self, cases: pd.DataFrame, *, user: str | None = None, batch_id: int | None = None) -> list[int]:
        """Record encroachment cases; ``cases`` has geometry (WGS 84 point or
        polygon) and optionally kind, description, commune, detected_on,
        agency_id, notes. Road, chainage, side and how far inside the corridor
        are computed from the store's roads."""
        if cases.empty:
            return []
        geoms = cases["geometry"].to_numpy()
        if shapely.is_missing(np.asarray(geoms, dtype=object)).any():
            raise ImportRejected("Mỗi vụ lấn chiếm cần vị trí (điểm hoặc vùng) / Each case needs a location")
        for commune in cases["commune"] if "commune" in cases else pd.Series([None] * len(cases)):
            self._check(Action.CREATE_ITEM, commune=_text(commune))
        pos = self._corridor_position(geoms)
        ids = []
        with self.session(user) as s:
            for rec, p in zip(cases.to_dict("records"), pos.to_dict("records")):
                c = EncroachmentCase(
                    status=CaseStatus.DETECTED,
                    kind=_text(rec.get("kind")),
                    description=_text(rec.get("description")),
                    geom=rec["geometry"],
                    road_id=_py_int(p["road_id"]),
                    road_code=p["road"],
                    chainage_m=_num(p["chainage_m"]),
                    side=p["side"],
                    distance_m=_num(p["distance_m"]),
                    zone=p["zone"] if p["road"] is not None else None,
                    distance_inside_m=_num(p["inside_m"]),
                    commune=_text(rec.get("commune")),
                    detected_on=_date(rec.get("detected_on")) or datetime.now().date(),
                    agency_id=_py_int(rec.get("agency_id")),
                    notes=_text(rec.get("notes")),
                    batch_id=batch_id,
                    updated_by=self._who(user),
                )
                s.add(c)
                s.flush()
                ids.append(c.id)
        return ids

    def add_case(self, *, geometry, user: str | None = None, **fields) -> int:
        return self.add_cases(pd.DataFrame([{"geometry": geometry, **fields}]), user=user)[0]

    def cases_frame(self, *, today=None) -> pd.DataFrame:
        """Cases with ``overdue`` (open and past the deadline) and ``days_overdue``
        (the table read once per data version)."""
        df = self.read_cached("cases", lambda: self._frame(EncroachmentCase), tables=("encroachment_case",))
        today = pd.Timestamp(today or pd.Timestamp.today().normalize())
        open_ = df["status"].isin([c.value for c in CASE_OPEN])
        deadline = pd.to_datetime(df["deadline"])
        df["overdue"] = open_ & deadline.notna() & (deadline < today)
        df["days_overdue"] = np.where(df["overdue"], (today - deadline).dt.days, 0).astype(int)
        return df

    def update_case(self, case_id: int, *, expected_version: int, user: str | None = None, **values):
        return self._edit(EncroachmentCase, case_id, expected_version=expected_version, user=user, values=values)

    # ----------------------------------------------------- remediation works
    def add_work(
        self,
        *,
        work_type: str,
        user: str | None = None,
        blackspot_id: int | None = None,
        road_code: str | None = None,
        from_m: float | None = None,
        to_m: float | None = None,
        **fields,
    ) -> int:
        """A remediation work for a black spot / potential point, or for a
        stretch of road (road_code, from_m, to_m)."""
        from models.enums import WorkType

        WorkType(work_type)
        with self.session(user) as s:
            if blackspot_id is not None:
                b = s.get(Blackspot, blackspot_id)
                if b is None or b.deleted:
                    raise NotFoundError(f"Không có điểm số {blackspot_id} / No spot {blackspot_id}")
                road_code = road_code or b.road_code
                from_m = b.from_m if from_m is None else from_m
                to_m = b.to_m if to_m is None else to_m
                fields.setdefault("commune", b.commune)
            elif not road_code:
                raise TransitionError(
                    "Công trình cần gắn với một điểm hoặc một đoạn đường / A work needs a spot or a road stretch"
                )
            self._check(Action.CREATE_ITEM, commune=fields.get("commune"))
            road = s.execute(select(Road.id).where(Road.code == road_code)).scalar() if road_code else None
            w = RemediationWork(
                work_type=work_type,
                blackspot_id=blackspot_id,
                road_code=road_code,
                road_id=road,
                from_m=from_m,
                to_m=to_m,
                status=WorkStatus.PROPOSED,
                updated_by=self._who(user),
                **{k: v for k, v in fields.items() if v is not None},
            )
            s.add(w)
            s.flush()
            return w.id

    def works_frame(self) -> pd.DataFrame:
        """The works (read once per data version)."""
        return self.read_cached("works", lambda: self._frame(RemediationWork), tables=("remediation_work",))

    def update_work(self, work_id: int, *, expected_version: int, user: str | None = None, **values):
        return self._edit(RemediationWork, work_id, expected_version=expected_version, user=user, values=values)

    # ------------------------------------------------------- status changes
    def item_for_edit(self, item_type: ItemType | str, item_id: int, *, expected_version: int):
        """An item as it stands, read for a change: raises NotFoundError when it
        is missing or deleted, PermissionDenied when the acting account may not
        edit it, ConflictError when it is no longer at ``expected_version``."""
        item_type = ItemType(item_type)
        with self.session() as s:
            return self._item_for_edit(s, item_type, item_id, expected_version)

    def _item_for_edit(self, s, item_type: ItemType, item_id: int, expected_version: int):
        if item_type == ItemType.BLACKSPOT:
            b = s.get(Blackspot, item_id)
            if b is None or b.deleted:
                raise NotFoundError(f"Không có điểm số {item_id} / No spot {item_id}")
        return self._get_for_edit(s, self._ITEM_MODELS[item_type], item_id, expected_version)

    def save_status(
        self,
        item_type: ItemType | str,
        item_id: int,
        new_status,
        *,
        expected_status,
        expected_version: int,
        user: str | None = None,
        note: str | None = None,
        **values,
    ):
        """Write a status change a service has checked against the item's
        lifecycle (``services/lifecycle.py``), with the values that go with it
        (a record, a deadline, the actual dates) and a dated note.

        Refused with ConflictError when the item is no longer at
        ``expected_version`` with ``expected_status`` (someone saved it since it
        was read and checked), so a concurrent change never slips past the check.
        """
        item_type = ItemType(item_type)
        model = self._ITEM_MODELS[item_type]
        try:
            with self.session(user) as s:
                obj = self._item_for_edit(s, item_type, item_id, expected_version)
                if obj.status != expected_status:
                    raise ConflictError(_conflict_message(obj))
                obj.status = new_status
                for k, v in values.items():
                    if not hasattr(model, k) or k in ("id", "version", "status"):
                        raise KeyError(k)
                    setattr(obj, k, v)
                if note:
                    obj.notes = ((obj.notes + "\n") if obj.notes else "") + f"[{datetime.now():%d/%m/%Y}] {note}"
                obj.updated_by = self._who(user)
            return obj
        except StaleDataError as exc:
            raise ConflictError(_CHANGED_BY_OTHERS[item_type]) from exc

    # ------------------------------------------------------ notes and photos
    def add_note(self, item_type: ItemType | str, item_id: int, text: str, *, user: str | None = None) -> int:
        if not text or not text.strip():
            raise TransitionError("Ghi chú trống / The note is empty")
        with self.session(user) as s:
            self._check(Action.EDIT_ITEM, commune=self._item_commune(s, item_type, item_id))
            a = Attachment(
                item_type=item_type,
                item_id=item_id,
                kind="note",
                text=text.strip(),
                at=datetime.now(),
                user=self._who(user),
            )
            s.add(a)
            s.flush()
            return a.id

    def add_photo(
        self,
        item_type: ItemType | str,
        item_id: int,
        filename: str,
        data: bytes,
        *,
        user: str | None = None,
        caption: str | None = None,
    ) -> int:
        """Keep a photo in the store (JPG, PNG or WEBP, at most 20 MB), so every
        server and every backup has it."""
        import re

        with self.session(user) as s:
            self._check(Action.EDIT_ITEM, commune=self._item_commune(s, item_type, item_id))
        ext = Path(filename).suffix.lower()
        if ext not in (".jpg", ".jpeg", ".png", ".webp"):
            raise TransitionError("Ảnh phải là JPG, PNG hoặc WEBP / A photo must be JPG, PNG or WEBP")
        if len(data) > 20 * 1024 * 1024:
            raise TransitionError("Ảnh lớn hơn 20 MB / The photo is larger than 20 MB")
        if not (
            data.startswith(b"\x89PNG\r\n\x1a\n")
            or data[:3] == b"\xff\xd8\xff"
            or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
        ):
            raise TransitionError("Tệp không phải ảnh JPG, PNG hoặc WEBP / The file is not a JPG, PNG or WEBP image")
        with self.session(user) as s:
            a = Attachment(
                item_type=item_type,
                item_id=item_id,
                kind="photo",
                text=caption,
                filename=re.sub(r"[\x00-\x1f]", "", str(filename))[-300:],
                path=None,
                at=datetime.now(),
                user=self._who(user),
            )
            s.add(a)
            s.flush()
            s.add(AttachmentBlob(attachment_id=a.id, data=bytes(data)))
            return a.id

    def photo_bytes(self, attachment_id: int) -> bytes | None:
        """A photo's bytes: from the store, or for a photo kept before 0007 from the data folder."""
        with self.engine.connect() as conn:
            data = conn.execute(
                select(AttachmentBlob.data).where(AttachmentBlob.attachment_id == attachment_id)
            ).scalar()
            if data is not None:
                return bytes(data)
            path = conn.execute(select(Attachment.path).where(Attachment.id == attachment_id)).scalar()
        if path:
            f = (settings.DATA_DIR / path).resolve()
            if f.is_relative_to(settings.DATA_DIR.resolve()) and f.exists():
                return f.read_bytes()
        return None

    def attachments(self, item_type: ItemType | str, item_id: int) -> pd.DataFrame:
        with self.engine.connect() as conn:
            return pd.read_sql(
                select(Attachment)
                .where(Attachment.item_type == item_type, Attachment.item_id == item_id)
                .order_by(Attachment.id),
                conn,
            )

    _ITEM_MODELS = {ItemType.BLACKSPOT: Blackspot, ItemType.CASE: EncroachmentCase, ItemType.WORK: RemediationWork}

    def _item_commune(self, s, item_type: ItemType | str, item_id: int) -> str | None:
        model = self._ITEM_MODELS.get(item_type)
        if model is None:
            raise NotFoundError(f"Loại mục không rõ / Unknown item type: {item_type}")
        obj = s.get(model, item_id)
        if obj is None or obj.deleted:
            raise NotFoundError(f"Không tìm thấy mục số {item_id} / Item {item_id} not found")
        return obj.commune

    # ------------------------------------------------- soft delete, restore
    def delete_item(
        self, item_type: ItemType | str, item_id: int, *, expected_version: int, user: str | None = None
    ) -> None:
        """Soft delete: the row stays (and its history); an admin can restore it."""
        model = self._ITEM_MODELS[item_type]
        self._edit_flag(
            model, item_id, expected_version=expected_version, user=user, deleted=True, action=Action.DELETE_ITEM
        )

    def restore_item(self, item_type: ItemType | str, item_id: int, *, user: str | None = None) -> None:
        self._check(Action.RESTORE_ITEM)
        model = self._ITEM_MODELS[item_type]
        with self.session(user) as s:
            obj = s.get(model, item_id)
            if obj is None:
                raise NotFoundError(f"Không tìm thấy mục số {item_id} / Item {item_id} not found")
            obj.deleted = False
            obj.updated_by = self._who(user)

    def deleted_items(self) -> pd.DataFrame:
        rows = []
        with self.session() as s:
            for kind, model in self._ITEM_MODELS.items():
                for obj in s.execute(select(model).where(model.deleted.is_(True))).scalars():
                    rows.append(
                        {
                            "item_type": kind.value,
                            "item_id": obj.id,
                            "updated_by": obj.updated_by,
                            "updated_at": obj.updated_at,
                        }
                    )
        return pd.DataFrame(rows, columns=["item_type", "item_id", "updated_by", "updated_at"])

    def _edit_flag(self, model, item_id, *, expected_version, user, action: Action, **values):
        try:
            with self.session(user) as s:
                obj = self._get_for_edit(s, model, item_id, expected_version, action=action)
                for k, v in values.items():
                    setattr(obj, k, v)
                obj.updated_by = self._who(user)
        except StaleDataError as exc:
            raise ConflictError("Mục vừa được người khác sửa; hãy tải lại / Changed by someone else; reload") from exc


#: What a status change refused because someone saved the item first says, per kind.
_CHANGED_BY_OTHERS = {
    ItemType.BLACKSPOT: "Điểm vừa được người khác sửa; hãy tải lại / The spot was changed by someone else; reload",
    ItemType.CASE: "Vụ việc vừa được người khác sửa; hãy tải lại / Changed by someone else; reload",
    ItemType.WORK: "Công trình vừa được người khác sửa; hãy tải lại / Changed by someone else; reload",
}
