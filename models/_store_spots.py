"""Black spots and potential points: saving a screening, reading them, manual flags."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import shapely
from sqlalchemy import select

from errors import NotFoundError, TransitionError
from geo.screening import ScreeningResult
from models._store_base import _py
from models.enums import BlackspotStatus, SpotKind
from models.orm import Blackspot
from models.permissions import Action


#: The app setting holding when each rule set last screened the store ({rule set: ISO time}).
SCREENED_AT = "screened_at"


class SpotsMixin:
    """Black spots and potential points: saving a screening, reading them, manual flags."""

    # -------------------------------------------------------------- black spots
    def save_screening(
        self,
        result: ScreeningResult,
        *,
        communes: dict[int, str] | None = None,
        geometries: dict[int, object] | None = None,
        road_ids: dict[str, int] | None = None,
        user: str | None = None,
    ) -> dict[str, list]:
        """Write screening results, matching the same rule set's previous spots.

        ``communes`` and ``geometries`` give each spot (by its ``spot`` number)
        its commune and geometry, ``road_ids`` each road code its road's id
        (see ``services.blackspots.run_screening``).

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
        commune_of = communes or {}
        geoms = geometries or {}
        road_ids = road_ids or {}
        diff: dict[str, list] = {"new": [], "grown": [], "changed": [], "unchanged": [], "no_longer_met": []}
        with self.session(user) as s:
            existing = (
                s.execute(
                    select(Blackspot).where(
                        Blackspot.manual.is_(False),
                        Blackspot.deleted.is_(False),
                        Blackspot.ruleset == result.ruleset.id,
                        Blackspot.kind.in_([SpotKind.BLACK_SPOT, SpotKind.POTENTIAL]),
                    )
                )
                .scalars()
                .all()
            )
            by_road: dict[tuple, list[Blackspot]] = {}
            for b in existing:
                by_road.setdefault((b.kind.value, b.road_code), []).append(b)
            seen: set[int] = set()
            created = []
            for rec in spots.to_dict("records"):
                ids = [_py(v) for v in str(rec["crash_ids"]).split(";")]
                wids = [_py(v) for v in str(rec["window_crash_ids"]).split(";")]
                values = dict(
                    road_code=rec["road"],
                    road_id=road_ids.get(rec["road"]),
                    from_m=float(rec["from_m"]),
                    to_m=float(rec["to_m"]),
                    ruleset=result.ruleset.id,
                    tests=rec["tests"],
                    test_labels=rec["test_labels"],
                    window_start=pd.Timestamp(rec["window_start"]).date(),
                    window_end=pd.Timestamp(rec["window_end"]).date(),
                    n_crashes=int(rec["n_crashes"]),
                    deaths=int(rec["deaths"]),
                    injured=int(rec["injured"]),
                    epdo=float(rec["epdo"]),
                    n_windows=int(rec.get("n_windows") or 1),
                    window_m=float(rec["window_m"]) if pd.notna(rec.get("window_m")) else None,
                    crash_ids=ids,
                    window_crash_ids=wids,
                    still_qualifies=True,
                    last_run_at=now,
                    commune=commune_of.get(int(rec["spot"])),
                    geom=geoms.get(int(rec["spot"])),
                    updated_by=user,
                )
                match = None
                for b in by_road.get((rec["kind"], rec["road"]), []):
                    if b.id not in seen and b.from_m <= values["to_m"] + 1 and b.to_m >= values["from_m"] - 1:
                        match = b
                        break
                if match is None:
                    b = Blackspot(
                        kind=SpotKind(rec["kind"]), status=BlackspotStatus.CANDIDATE, first_detected_at=now, **values
                    )
                    s.add(b)
                    created.append(b)
                    continue
                seen.add(match.id)
                before = _spot_summary(match)
                grown = (
                    values["from_m"] < match.from_m - 0.5
                    or values["to_m"] > match.to_m + 0.5
                    or len(set(ids) - set(match.crash_ids or [])) > 0
                )
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
        """The spots, best first (each selection read once per data version)."""
        return self.read_cached(
            f"spots:{kind}:{include_deleted}",
            lambda: self._blackspots_read(kind=kind, include_deleted=include_deleted),
            tables=("blackspot",),
        )

    def _blackspots_read(self, *, kind: str | None, include_deleted: bool) -> pd.DataFrame:
        q = select(Blackspot)
        if not include_deleted:
            q = q.where(Blackspot.deleted.is_(False))
        if kind:
            q = q.where(Blackspot.kind == SpotKind(kind))
        with self.session() as s:
            rows = s.execute(q.order_by(Blackspot.epdo.desc(), Blackspot.id)).scalars().all()
            recs = []
            for b in rows:
                recs.append(
                    {c.key: getattr(b, c.key) for c in Blackspot.__table__.columns if c.key != "geom"}
                    | {"geometry": b.geom}
                )
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

    def flag_potential_point(
        self,
        *,
        lon: float,
        lat: float,
        reason: str,
        road_code: str | None = None,
        chainage_m: float | None = None,
        user: str | None = None,
        commune: str | None = None,
    ) -> int:
        """A potential crash point flagged by hand (unsafe road features)."""
        if not reason or not reason.strip():
            raise TransitionError("Cần ghi lý do / A reason is required")
        self._check(Action.CREATE_ITEM, commune=commune)
        with self.session(user) as s:
            b = Blackspot(
                kind=SpotKind.POTENTIAL,
                status=BlackspotStatus.CANDIDATE,
                manual=True,
                manual_reason=reason.strip(),
                road_code=road_code,
                from_m=chainage_m,
                to_m=chainage_m,
                commune=commune,
                geom=shapely.Point(lon, lat),
                updated_by=user,
            )
            s.add(b)
            s.flush()
            return b.id


def _spot_summary(b: Blackspot) -> dict:
    """A spot as a screen's report names it."""
    return {
        "id": b.id,
        "kind": b.kind.value if hasattr(b.kind, "value") else b.kind,
        "road": b.road_code,
        "from_m": b.from_m,
        "to_m": b.to_m,
        "n_crashes": b.n_crashes,
        "deaths": b.deaths,
        "injured": b.injured,
        "tests": b.tests,
        "n_windows": b.n_windows,
        "window_m": b.window_m,
        "window_start": str(b.window_start) if b.window_start else None,
        "window_end": str(b.window_end) if b.window_end else None,
        "status": getattr(b.status, "value", b.status),
    }
