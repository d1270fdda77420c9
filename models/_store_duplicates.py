"""Duplicates across sources: a person's decisions on candidate pairs of
crashes (merged, or not a duplicate), the merge itself and its undo.

A merge writes the values the person chose into the kept crash, marks the
other ``deleted`` with ``merged_into`` pointing at the kept one, and records
the pair as decided; the audit log gets one row per crash (table ``crash``,
action ``merge``) naming both crashes' sources and source ids, with every
changed value old → new. Audit rows of table ``crash`` are what the kept
crash reads follow (``CRASH_TABLES``), so every page sees the merge at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import OperationalError

from errors import ConflictError, NotFoundError, TransitionError
from models._store_crashes import _audit, _plain, _same, _update_crash
from models.orm import AuditLog, Crash, CrashPairDecision
from models.permissions import Action

#: What a person may take from the other report when merging: a choice → the crash columns it carries.
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "occurred_at": ("occurred_at",),
    "place": ("lon", "lat", "located_by"),
    "road": ("road_id", "road_code", "chainage_m"),
    "commune": ("commune", "commune_now"),
    "deaths": ("deaths",),
    "injured": ("injured",),
    "injury_pct": ("injury_pct",),
    "damage_vnd": ("damage_vnd",),
    "vehicle_types": ("vehicle_types",),
    "alcohol": ("alcohol",),
    "not_infrastructure": ("not_infrastructure",),
    "cause": ("cause",),
    "description": ("description",),
}
#: The columns of a crash a pair's side-by-side view and a merge read.
DETAIL_COLUMNS = [
    "id",
    "version",
    "deleted",
    "merged_into",
    "source",
    "source_id",
    "batch_id",
    "severity",
    *dict.fromkeys(c for cols in MERGE_FIELDS.values() for c in cols),
]
#: The tables a list of candidate pairs depends on (as the audit log names them).
DUPLICATE_TABLES = ("crash", "import_batch", "crash_pair_decision")
#: The counts the severity class follows (recomputed when a merge changes one of them).
_SEVERITY_INPUTS = ("deaths", "injured", "injury_pct", "damage_vnd")


def pair_key(a: int, b: int) -> tuple[int, int]:
    """The pair as the store keeps it: the smaller id first."""
    return (int(a), int(b)) if int(a) < int(b) else (int(b), int(a))


class DuplicatesMixin:
    """Decisions on candidate pairs of duplicates, merges and their undo."""

    def crash_records(self, ids: Iterable[int]) -> pd.DataFrame:
        """Full rows (:data:`DETAIL_COLUMNS`) of the crashes ``ids``, deleted ones too, by id."""
        ids = [int(i) for i in ids]
        with self.engine.connect() as conn:
            df = pd.read_sql(
                select(*[getattr(Crash, c) for c in DETAIL_COLUMNS]).where(Crash.id.in_(ids)).order_by(Crash.id), conn
            )
        df["occurred_at"] = pd.to_datetime(df["occurred_at"])
        return df

    def pair_decisions_frame(self) -> pd.DataFrame:
        """Every decided pair: ``crash_a`` (smaller id), ``crash_b``, ``decision``
        (``merged`` / ``distinct``), when and by whom."""
        with self.engine.connect() as conn:
            return pd.read_sql(select(CrashPairDecision).order_by(CrashPairDecision.id), conn)

    # ------------------------------------------------------------------ helpers
    def _live_pair(self, conn, a: int, b: int, versions: tuple[int | None, int | None] | None):
        """The two crashes, checked: two different crashes, both there, not
        deleted, at the versions the person saw, and editable by the principal."""
        if int(a) == int(b):
            raise TransitionError(f"Không gộp một vụ với chính nó (#{a}) / A crash cannot be merged with itself (#{a})")
        q = select(*[getattr(Crash, c) for c in DETAIL_COLUMNS]).where(Crash.id.in_([int(a), int(b)]))
        if self.postgres:  # two people deciding on one pair at once: the second waits, then sees the first's write
            q = q.order_by(Crash.id).with_for_update()
        rows = {r.id: r for r in conn.execute(q).all()}
        out = []
        for k, cid in enumerate((int(a), int(b))):
            r = rows.get(cid)
            if r is None or r.deleted:
                raise NotFoundError(
                    f"Không tìm thấy vụ số {cid} (hoặc vụ đã bị gộp, xóa) / Crash {cid} not found "
                    "(or already merged or removed)"
                )
            self._check(Action.EDIT_ITEM, commune=r.commune_now or r.commune)
            if versions is not None and versions[k] is not None and int(versions[k]) != int(r.version):
                raise ConflictError(
                    f"Vụ số {cid} vừa được sửa (phiên bản {r.version}, đang xem {versions[k]}); hãy "
                    f"tải lại / Crash {cid} changed meanwhile (version {r.version}, you saw "
                    f"{versions[k]}); reload"
                )
            out.append(r)
        return out

    # ------------------------------------------------------------------ writes
    def mark_not_duplicate(self, a: int, b: int, *, user: str | None = None) -> int:
        """Record that crashes ``a`` and ``b`` are different crashes (the pair
        is no longer offered); returns the decision's id."""
        user = self._who(user)
        lo, hi = pair_key(a, b)
        with self.engine.begin() as conn:
            self._live_pair(conn, lo, hi, None)
            if conn.execute(
                select(CrashPairDecision.id).where(CrashPairDecision.crash_a == lo, CrashPairDecision.crash_b == hi)
            ).first():
                raise TransitionError(
                    f"Cặp vụ {lo} và {hi} đã được quyết định / The pair {lo}, {hi} is already decided"
                )
            did = _record_decision(conn, lo, hi, "distinct", user=user, at=datetime.now())
        return did

    def forget_pair_decision(self, a: int, b: int, *, user: str | None = None) -> None:
        """Undo a "not a duplicate" decision: the pair is offered again."""
        user = self._who(user)
        lo, hi = pair_key(a, b)
        with self.engine.begin() as conn:
            row = conn.execute(
                select(CrashPairDecision).where(CrashPairDecision.crash_a == lo, CrashPairDecision.crash_b == hi)
            ).first()
            if row is None or row.decision != "distinct":
                raise NotFoundError(
                    f"Không có quyết định 'không trùng' cho cặp {lo}, {hi} / No 'not a duplicate' "
                    f"decision for the pair {lo}, {hi}"
                )
            self._live_pair(conn, lo, hi, None)
            conn.execute(delete(CrashPairDecision).where(CrashPairDecision.id == row.id))
            _audit(
                conn,
                user=user,
                table="crash_pair_decision",
                row_id=row.id,
                action="delete",
                changes={"crash_a": [lo, None], "crash_b": [hi, None], "decision": ["distinct", None]},
            )

    def merge_crashes(
        self,
        keep_id: int,
        drop_id: int,
        *,
        fields: Iterable[str] = (),
        user: str | None = None,
        versions: tuple[int | None, int | None] | None = None,
    ) -> dict[str, list[Any]]:
        """Merge two reports of one crash.

        ``keep_id`` stays, taking the dropped crash's values for ``fields``
        (keys of :data:`MERGE_FIELDS`; the others keep their own value; its
        severity class follows its counts); ``drop_id`` is marked deleted with
        ``merged_into`` = ``keep_id``. ``versions`` (keep's, drop's) are the
        versions the person saw: a crash changed since is refused
        (:class:`ConflictError`), as is one crash twice, a crash already merged
        or removed, or a field not in :data:`MERGE_FIELDS`; a refusal changes
        nothing. Returns the kept crash's changed values, old → new.
        """
        user = self._who(user)
        if isinstance(fields, str) or not all(isinstance(f, str) for f in (fields or ())):
            raise TransitionError(f"Trường phải là tên / Fields must be names: {fields!r}")
        fields = list(dict.fromkeys(fields or ()))
        unknown = [f for f in fields if f not in MERGE_FIELDS]
        if unknown:
            raise TransitionError(f"Không gộp được trường {unknown} / Fields that cannot be merged: {unknown}")
        try:
            return self._merge(int(keep_id), int(drop_id), fields, user=user, versions=versions)
        except OperationalError as exc:  # SQLite: another person's merge holds the store's write lock
            if "locked" not in str(exc):
                raise
            raise ConflictError(
                "Một người khác đang gộp hoặc sửa các vụ này; hãy tải lại / Someone else is merging or editing "
                "these crashes; reload"
            ) from None

    def _merge(
        self,
        keep_id: int,
        drop_id: int,
        fields: list[str],
        *,
        user: str | None,
        versions: tuple[int | None, int | None] | None,
    ) -> dict[str, list[Any]]:
        with self.engine.begin() as conn:
            keep, drop = self._live_pair(conn, keep_id, drop_id, versions)
            lo, hi = pair_key(keep.id, drop.id)
            if conn.execute(
                select(CrashPairDecision.id).where(
                    CrashPairDecision.crash_a == lo,
                    CrashPairDecision.crash_b == hi,
                    CrashPairDecision.decision == "distinct",
                )
            ).first():  # someone said these are two crashes: that decision is undone first, not overridden
                raise TransitionError(
                    f"Cặp vụ {lo}, {hi} đã được xác định là không trùng; hãy hoàn tác quyết định đó trước / The pair "
                    f"{lo}, {hi} was marked not a duplicate; undo that decision first"
                )
            values: dict[str, Any] = {}
            for f in fields:
                for col in MERGE_FIELDS[f]:
                    new = _stored(getattr(drop, col))
                    if not _same(getattr(keep, col), new):
                        values[col] = new
            if any(c in values for c in _SEVERITY_INPUTS):
                from geo.severity import classify

                after = {c: values.get(c, getattr(keep, c)) for c in _SEVERITY_INPUTS}
                sev = str(
                    classify(
                        [after["deaths"] or 0],
                        [after["injured"] or 0],
                        [np.nan if after["injury_pct"] is None else after["injury_pct"]],
                        [after["damage_vnd"] or 0],
                    )[0]
                )
                if sev != keep.severity:
                    values["severity"] = sev
            changed = {c: [_plain(getattr(keep, c)), _plain(v)] for c, v in values.items()}
            now = datetime.now()
            # both crashes claimed at the versions read, still live: of two people merging one pair at once
            # (A into B and B into A), the second finds a version moved on and is refused; nothing is lost
            for row, set_values in (
                (keep, {"updated_at": now, "updated_by": user}),
                (
                    drop,
                    {
                        "deleted": True,
                        "merged_into": keep.id,
                        "version": Crash.version + 1,
                        "updated_at": now,
                        "updated_by": user,
                    },
                ),
            ):
                claimed = conn.execute(
                    update(Crash)
                    .where(Crash.id == row.id, Crash.version == row.version, Crash.deleted.is_(False))
                    .values(**set_values)
                ).rowcount
                if claimed != 1:
                    raise ConflictError(
                        f"Vụ số {row.id} vừa được người khác sửa hoặc gộp; hãy tải lại / Crash {row.id} was "
                        "changed or merged by someone else meanwhile; reload"
                    )
            if values:
                _update_crash(conn, keep.id, values, user=user)
            both = {
                "kept_id": [None, keep.id],
                "kept_source": [None, keep.source],
                "kept_source_id": [None, keep.source_id],
                "merged_id": [None, drop.id],
                "merged_source": [None, drop.source],
                "merged_source_id": [None, drop.source_id],
            }
            _audit(
                conn,
                user=user,
                table="crash",
                row_id=keep.id,
                action="merge",
                changes=changed
                | both
                | {"fields": [None, fields], "version": [keep.version, keep.version + (1 if values else 0)]},
            )
            _audit(
                conn,
                user=user,
                table="crash",
                row_id=drop.id,
                action="merge",
                changes={"deleted": [False, True], "merged_into": [None, keep.id]}
                | both
                | {"version": [drop.version, drop.version + 1]},
            )
            # no decision stands for this pair: a "not a duplicate" one is refused above, and a merge's own
            # goes with its undo (or with the crashes, by the foreign keys)
            _record_decision(conn, lo, hi, "merged", user=user, at=now)
        return changed

    def undo_merge(self, drop_id: int, *, user: str | None = None) -> int:
        """Undo the merge of crash ``drop_id``: it is back, and the crash it was
        merged into gets its values from before the merge. Refused when that
        crash changed after the merge (its version moved on). Returns the kept
        crash's id."""
        user = self._who(user)
        with self.engine.begin() as conn:
            drop = conn.execute(
                select(*[getattr(Crash, c) for c in DETAIL_COLUMNS]).where(Crash.id == int(drop_id))
            ).first()
            if drop is None or not drop.deleted or drop.merged_into is None:
                raise NotFoundError(f"Vụ số {drop_id} không phải vụ đã gộp / Crash {drop_id} was not merged")
            keep = conn.execute(
                select(*[getattr(Crash, c) for c in DETAIL_COLUMNS]).where(Crash.id == int(drop.merged_into))
            ).first()
            if keep is None or keep.deleted:
                raise NotFoundError(
                    f"Vụ số {drop.merged_into} (vụ được giữ) không còn / The kept crash {drop.merged_into} is gone"
                )
            self._check(Action.EDIT_ITEM, commune=keep.commune_now or keep.commune)
            self._check(Action.EDIT_ITEM, commune=drop.commune_now or drop.commune)
            rows = conn.execute(
                select(AuditLog.changes)
                .where(AuditLog.table_name == "crash", AuditLog.row_id == keep.id, AuditLog.action == "merge")
                .order_by(AuditLog.id.desc())
            ).all()
            changes = next(
                (c for (c,) in rows if isinstance(c, dict) and (c.get("merged_id") or [None, None])[1] == drop.id), None
            )
            if changes is None:
                raise NotFoundError(
                    f"Không thấy lần gộp vụ {drop.id} trong nhật ký / The merge of crash {drop.id} "
                    "is not in the audit log"
                )
            if int(changes["version"][1]) != int(keep.version):
                raise ConflictError(
                    f"Vụ số {keep.id} đã được sửa sau khi gộp; không hoàn tác tự động được / Crash "
                    f"{keep.id} changed after the merge; it cannot be undone automatically"
                )
            cols = [c for c in DETAIL_COLUMNS if c in changes and c not in ("version", "id")]
            values = {c: changes[c][0] for c in cols}
            if values.get("occurred_at"):
                values["occurred_at"] = pd.Timestamp(values["occurred_at"]).to_pydatetime()
            if values:
                _update_crash(conn, keep.id, values, user=user)
            conn.execute(
                update(Crash)
                .where(Crash.id == drop.id)
                .values(
                    deleted=False,
                    merged_into=None,
                    version=Crash.version + 1,
                    updated_at=datetime.now(),
                    updated_by=user,
                )
            )
            lo, hi = pair_key(keep.id, drop.id)
            conn.execute(
                delete(CrashPairDecision).where(CrashPairDecision.crash_a == lo, CrashPairDecision.crash_b == hi)
            )
            both = {"kept_id": [keep.id, None], "merged_id": [drop.id, None]}
            _audit(
                conn,
                user=user,
                table="crash",
                row_id=keep.id,
                action="unmerge",
                changes={c: [changes[c][1], changes[c][0]] for c in cols} | both,
            )
            _audit(
                conn,
                user=user,
                table="crash",
                row_id=drop.id,
                action="unmerge",
                changes={"deleted": [True, False], "merged_into": [keep.id, None]} | both,
            )
        return int(keep.id)


def _record_decision(conn, lo: int, hi: int, decision: str, *, user: str | None, at: datetime) -> int:
    """Record the decision on the pair (``lo`` < ``hi``) with its audit row; its id."""
    did = conn.execute(
        insert(CrashPairDecision).values(crash_a=lo, crash_b=hi, decision=decision, decided_at=at, decided_by=user)
    ).inserted_primary_key[0]
    _audit(
        conn,
        user=user,
        table="crash_pair_decision",
        row_id=did,
        action="create",
        changes={"crash_a": [None, lo], "crash_b": [None, hi], "decision": [None, decision]},
    )
    return int(did)


def _stored(v: Any) -> Any:
    """A value read from one crash row as another row's column takes it."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return None
    if isinstance(v, (np.integer, np.floating, np.bool_)):
        return v.item()
    return v
