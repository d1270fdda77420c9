"""Black spots and potential points: saving a screening, the lifecycle, manual flags."""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

import settings
from errors import ConflictError, NotFoundError, TransitionError
from geo.chainage import RoadNetwork
from geo.screening import ScreeningResult
from models._store_base import _check_transition, _conflict_message, _py
from models.enums import BLACKSPOT_TRANSITIONS, BlackspotStatus, SpotKind, WorkStatus
from models.orm import Blackspot, RemediationWork
from models.permissions import Action


#: The app setting holding when each rule set last screened the store ({rule set: ISO time}).
SCREENED_AT = "screened_at"


class SpotsMixin:
    """Black spots and potential points: saving a screening, the lifecycle, manual flags."""

    # -------------------------------------------------------------- black spots
    def save_screening(self, result: ScreeningResult, *, crashes: pd.DataFrame, roads: pd.DataFrame | None = None,
                       user: str | None = None) -> dict[str, list]:
        """Write screening results, matching the same rule set's previous spots.

        Each rule set's spots are kept apart: a screen with one rule set never
        touches another's. A spot that overlaps an earlier automatic spot of the
        same kind, road and rule set updates it (status and history kept); a
        new one is added as a candidate; an earlier one that no longer
        qualifies keeps its status and is marked ``still_qualifies = False``.

        Returns what changed, per spot: ``new``, ``grown`` (its stretch or crash
        list grew), ``changed`` (other values), ``unchanged`` and
        ``no_longer_met``; each a list of ``{id, kind, road, from_m, to_m, …}``
        with the earlier stretch and counts where there was one.
        """
        self._check(Action.SCREEN)
        spots = result.with_crash_lists() if len(result.spots) else result.spots
        now = datetime.now()
        commune_of = _majority_commune(result, crashes)
        geoms = _spot_geometries(result, crashes, roads)
        diff: dict[str, list] = {"new": [], "grown": [], "changed": [], "unchanged": [], "no_longer_met": []}
        with self.session(user) as s:
            existing = s.execute(select(Blackspot).where(
                Blackspot.manual.is_(False), Blackspot.deleted.is_(False), Blackspot.ruleset == result.ruleset.id,
                Blackspot.kind.in_([SpotKind.BLACK_SPOT, SpotKind.POTENTIAL]))).scalars().all()
            by_road: dict[tuple, list[Blackspot]] = {}
            for b in existing:
                by_road.setdefault((b.kind.value, b.road_code), []).append(b)
            seen: set[int] = set()
            road_ids = {}
            if roads is not None and len(roads):
                road_ids = dict(zip(roads["code"], roads["id"]))
            created = []
            for rec in spots.to_dict("records"):
                ids = [_py(v) for v in str(rec["crash_ids"]).split(";")]
                wids = [_py(v) for v in str(rec["window_crash_ids"]).split(";")]
                values = dict(
                    road_code=rec["road"], road_id=road_ids.get(rec["road"]), from_m=float(rec["from_m"]),
                    to_m=float(rec["to_m"]), ruleset=result.ruleset.id, tests=rec["tests"],
                    test_labels=rec["test_labels"], window_start=pd.Timestamp(rec["window_start"]).date(),
                    window_end=pd.Timestamp(rec["window_end"]).date(), n_crashes=int(rec["n_crashes"]),
                    deaths=int(rec["deaths"]), injured=int(rec["injured"]), epdo=float(rec["epdo"]),
                    n_windows=int(rec.get("n_windows") or 1),
                    window_m=float(rec["window_m"]) if pd.notna(rec.get("window_m")) else None,
                    crash_ids=ids, window_crash_ids=wids, still_qualifies=True, last_run_at=now,
                    commune=commune_of.get(int(rec["spot"])),
                    geom=geoms.get(int(rec["spot"])), updated_by=user)
                match = None
                for b in by_road.get((rec["kind"], rec["road"]), []):
                    if b.id not in seen and b.from_m <= values["to_m"] + 1 and b.to_m >= values["from_m"] - 1:
                        match = b
                        break
                if match is None:
                    b = Blackspot(kind=SpotKind(rec["kind"]), status=BlackspotStatus.CANDIDATE,
                                  first_detected_at=now, **values)
                    s.add(b)
                    created.append(b)
                    continue
                seen.add(match.id)
                before = _spot_summary(match)
                grown = (values["from_m"] < match.from_m - 0.5 or values["to_m"] > match.to_m + 0.5
                         or len(set(ids) - set(match.crash_ids or [])) > 0)
                changed = False
                for k, v in values.items():
                    if k in ("last_run_at", "updated_by", "geom"):
                        continue
                    if getattr(match, k) != v:
                        setattr(match, k, v)
                        changed = True
                if changed:  # an unchanged spot is left as it is: no new version, no history line
                    match.last_run_at = now
                    if values["geom"] is not None:
                        match.geom = values["geom"]
                entry = _spot_summary(match) | {"before": before}
                diff["grown" if changed and grown else "changed" if changed else "unchanged"].append(entry)
            for b in existing:
                if b.id not in seen and b.still_qualifies:
                    b.still_qualifies = False
                    b.last_run_at = now
                    diff["no_longer_met"].append(_spot_summary(b))
            s.flush()
            diff["new"] = [_spot_summary(b) for b in created]
        screened = self.screened_at()
        screened[result.ruleset.id] = now.isoformat()
        self.set_setting(SCREENED_AT, screened, user=user, action=Action.SCREEN)
        return diff

    def screened_at(self) -> dict[str, str]:
        """When each rule set last screened the store ({rule set: ISO time})."""
        return dict(self.get_setting(SCREENED_AT) or {})

    def blackspots_frame(self, *, kind: str | None = None, include_deleted: bool = False) -> pd.DataFrame:
        q = select(Blackspot)
        if not include_deleted:
            q = q.where(Blackspot.deleted.is_(False))
        if kind:
            q = q.where(Blackspot.kind == SpotKind(kind))
        with self.session() as s:
            rows = s.execute(q.order_by(Blackspot.epdo.desc(), Blackspot.id)).scalars().all()
            recs = []
            for b in rows:
                recs.append({c.key: getattr(b, c.key) for c in Blackspot.__table__.columns if c.key != "geom"}
                            | {"geometry": b.geom})
        df = pd.DataFrame(recs)
        if not df.empty:
            df["kind"] = df["kind"].map(lambda v: v.value)
            df["status"] = df["status"].map(lambda v: v.value)
        return df

    def get_blackspot(self, spot_id: int) -> Blackspot:
        with self.session() as s:
            b = s.get(Blackspot, spot_id)
            if b is None or b.deleted:
                raise NotFoundError(f"Không có điểm số {spot_id} / No spot {spot_id}")
            return b

    def set_blackspot_status(self, spot_id: int, new_status: BlackspotStatus | str, *, expected_version: int,
                             user: str | None = None, note: str | None = None) -> Blackspot:
        """Change a spot's status along the allowed lifecycle.

        Raises :class:`TransitionError` for a jump the lifecycle does not allow
        and :class:`ConflictError` when someone saved the spot since the user
        loaded version ``expected_version``.
        """
        new_status = BlackspotStatus(new_status)
        try:
            with self.session(user) as s:
                b = s.get(Blackspot, spot_id)
                if b is None or b.deleted:
                    raise NotFoundError(f"Không có điểm số {spot_id} / No spot {spot_id}")
                self._check(Action.EDIT_ITEM, commune=b.commune)
                if b.version != expected_version:
                    raise ConflictError(_conflict_message(b))
                if new_status == b.status:
                    return b
                _check_transition(b.status, new_status, BLACKSPOT_TRANSITIONS)
                if new_status == BlackspotStatus.REMOVED and b.kind == SpotKind.BLACK_SPOT and b.still_qualifies:
                    raise TransitionError(
                        "Điểm vẫn đạt tiêu chí điểm đen trong lần rà soát mới nhất; chưa thể đưa ra khỏi danh sách / "
                        "The spot still meets a black-spot test in the latest screening; it cannot be removed")
                if new_status == BlackspotStatus.REMOVED:
                    self._check_after_period(s, b)
                b.status = new_status
                if note:
                    b.notes = ((b.notes + "\n") if b.notes else "") + f"[{datetime.now():%d/%m/%Y}] {note}"
                b.updated_by = self._who(user)
            return b
        except StaleDataError as exc:
            raise ConflictError("Điểm vừa được người khác sửa; hãy tải lại / The spot was changed by someone "
                                "else; reload") from exc

    def flag_potential_point(self, *, lon: float, lat: float, reason: str, road_code: str | None = None,
                             chainage_m: float | None = None, user: str | None = None,
                             commune: str | None = None) -> int:
        """A potential crash point flagged by hand (unsafe road features)."""
        if not reason or not reason.strip():
            raise TransitionError("Cần ghi lý do / A reason is required")
        self._check(Action.CREATE_ITEM, commune=commune)
        with self.session(user) as s:
            b = Blackspot(kind=SpotKind.POTENTIAL, status=BlackspotStatus.CANDIDATE, manual=True,
                          manual_reason=reason.strip(), road_code=road_code, from_m=chainage_m, to_m=chainage_m,
                          commune=commune, geom=shapely.Point(lon, lat), updated_by=user)
            s.add(b)
            s.flush()
            return b.id

    def _check_after_period(self, s, b: Blackspot) -> None:
        """A spot with finished works leaves the list only when the full after
        period is over and shows none of the black-spot tests."""
        from geo.screening import screen

        ends = [w.actual_end for w in s.execute(select(RemediationWork).where(
            RemediationWork.blackspot_id == b.id, RemediationWork.deleted.is_(False),
            RemediationWork.status == WorkStatus.DONE)).scalars() if w.actual_end]
        if not ends:
            return
        start = pd.Timestamp(max(ends)) + pd.Timedelta(days=1)
        end = start + pd.DateOffset(months=settings.EVALUATION_MONTHS)
        if pd.Timestamp.today() < end:
            raise TransitionError(
                f"Thời gian theo dõi sau xử lý chưa đủ {settings.EVALUATION_MONTHS} tháng (đến {end:%d/%m/%Y}) / "
                f"The after period of {settings.EVALUATION_MONTHS} months is not over (until {end:%d/%m/%Y})")
        crashes = self.crashes_frame(date_from=start, date_to=end - pd.Timedelta(days=1), road_code=b.road_code)
        crashes = crashes.loc[crashes["chainage_m"].between(b.from_m - 1, b.to_m + 1)]
        if crashes.empty:
            return
        result = screen(crashes.rename(columns={"id": "crash_id", "road_code": "road"}),
                        ruleset=b.ruleset or settings.DEFAULT_RULESET)
        if len(result.black_spots):
            raise TransitionError(
                "Trong thời gian sau xử lý điểm vẫn đạt tiêu chí điểm đen ("
                + ", ".join(result.black_spots["tests"].astype(str)) + "); chưa thể đưa ra khỏi danh sách / "
                "In the after period the spot still meets a black-spot test; it cannot be removed")


def _spot_summary(b: Blackspot) -> dict:
    """A spot as a screen's report names it."""
    return {"id": b.id, "kind": b.kind.value if hasattr(b.kind, "value") else b.kind, "road": b.road_code,
            "from_m": b.from_m, "to_m": b.to_m, "n_crashes": b.n_crashes, "deaths": b.deaths, "injured": b.injured,
            "tests": b.tests, "n_windows": b.n_windows, "window_m": b.window_m,
            "window_start": str(b.window_start) if b.window_start else None,
            "window_end": str(b.window_end) if b.window_end else None, "status": getattr(b.status, "value", b.status)}


def _majority_commune(result: ScreeningResult, crashes: pd.DataFrame) -> dict[int, str]:
    """The commune most of a spot's crashes are in."""
    if result.spots.empty or "commune" not in crashes:
        return {}
    key = "crash_id" if "crash_id" in crashes else "id"
    m = result.members.join(crashes.set_index(key)["commune"], on="crash_id").dropna(subset=["commune"])
    m = m.loc[m["commune"].astype(str).str.strip() != ""]
    if m.empty:
        return {}
    top = m.groupby(["spot", "commune"]).size().reset_index(name="n").sort_values(["spot", "n"], ascending=[True, False])
    return {int(k): v for k, v in top.drop_duplicates("spot").set_index("spot")["commune"].items()}


def _spot_geometries(result: ScreeningResult, crashes: pd.DataFrame, roads: pd.DataFrame | None) -> dict[int, object]:
    """A line along the road from ``from_m`` to ``to_m`` (a point when they
    coincide), else the hull of the crash points."""
    out: dict[int, object] = {}
    if result.spots.empty:
        return out
    if roads is not None and len(roads):
        net = RoadNetwork.from_frame(roads)
        idx = net.index_of(result.spots["road"].to_numpy())
        from geo.crs import WGS84, transform
        for spot, ri, a, b in zip(result.spots["spot"], idx, result.spots["from_m"], result.spots["to_m"]):
            if ri < 0:
                continue
            line = net.lines[ri]
            lo, hi = a - net.km_start[ri], b - net.km_start[ri]
            if hi - lo < 1:
                g = shapely.line_interpolate_point(line, lo)
            else:
                g = substring(line, lo, hi)
            cx = shapely.get_coordinates(g)
            x, y = transform(cx[:, 0], cx[:, 1], net.crs.to_wkt(), WGS84)
            out[int(spot)] = shapely.set_coordinates(g, np.column_stack([x, y]))
    missing = [int(s) for s in result.spots["spot"] if int(s) not in out]
    if missing and {"lon", "lat"} <= set(crashes.columns):
        key = "crash_id" if "crash_id" in crashes else "id"
        pos = crashes.set_index(key)[["lon", "lat"]]
        mem = result.members.loc[result.members["spot"].isin(missing)]
        mem = mem.join(pos, on="crash_id").dropna(subset=["lon", "lat"])
        for spot, grp in mem.groupby("spot"):
            out[int(spot)] = shapely.MultiPoint(grp[["lon", "lat"]].to_numpy()).convex_hull
    return out
