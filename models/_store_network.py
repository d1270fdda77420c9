"""Roads and administrative units of the store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import select

from geo.chainage import RoadNetwork
from models._store_base import _num
from models.orm import AdminUnit, Road
from models.permissions import Action


class NetworkMixin:
    """Roads and administrative units of the store."""

    # ------------------------------------------------------------------ roads
    def add_roads(self, roads: pd.DataFrame, *, user: str | None = None, source: str | None = None) -> list[int]:
        """Add roads: columns code, geometry (WGS 84), optional name, road_class,
        is_urban, carriageway_width_m, road_land_half_width_m, km_start_m."""
        from geo.crs import metric_crs, transform

        self._check(Action.IMPORT)
        ids = []
        with self.session(user) as s:
            for rec in roads.to_dict("records"):
                g = rec["geometry"]
                cx = shapely.get_coordinates(g)
                mx, my = transform(cx[:, 0], cx[:, 1], "EPSG:4326", metric_crs(cx[:, 0], cx[:, 1]).to_wkt())
                length = float(shapely.length(shapely.transform(g, lambda xy: np.column_stack([mx, my]))))
                road = Road(
                    code=str(rec["code"]),
                    name=rec.get("name"),
                    road_class=rec.get("road_class"),
                    is_urban=bool(rec.get("is_urban") or False),
                    carriageway_width_m=_num(rec.get("carriageway_width_m")),
                    road_land_half_width_m=_num(rec.get("road_land_half_width_m")),
                    km_start_m=_num(rec.get("km_start_m")) or 0.0,
                    length_m=length,
                    source=source or rec.get("source"),
                    geom=g,
                    updated_by=user,
                )
                s.add(road)
                s.flush()
                ids.append(road.id)
        return ids

    def roads_frame(self) -> pd.DataFrame:
        with self.session() as s:
            rows = s.execute(select(Road).where(Road.deleted.is_(False)).order_by(Road.code)).scalars().all()
            return pd.DataFrame(
                [
                    {
                        "id": r.id,
                        "code": r.code,
                        "name": r.name,
                        "road_class": r.road_class,
                        "is_urban": r.is_urban,
                        "carriageway_width_m": r.carriageway_width_m,
                        "road_land_half_width_m": r.road_land_half_width_m,
                        "km_start_m": r.km_start_m,
                        "length_m": r.length_m,
                        "source": r.source,
                        "geometry": r.geom,
                        "version": r.version,
                    }
                    for r in rows
                ],
                columns=[
                    "id",
                    "code",
                    "name",
                    "road_class",
                    "is_urban",
                    "carriageway_width_m",
                    "road_land_half_width_m",
                    "km_start_m",
                    "length_m",
                    "source",
                    "geometry",
                    "version",
                ],
            )

    def road_network(self) -> RoadNetwork | None:
        """The roads as a :class:`RoadNetwork` (built once per data version; shared, read-only)."""

        def build():
            roads = self.roads_frame()
            return None if roads.empty else RoadNetwork.from_frame(roads)

        return self.read_cached("road_network", build, tables=("road",))

    # ------------------------------------------------------------ admin units
    def add_admin_units(self, units: pd.DataFrame, *, user: str | None = None) -> list[int]:
        """Add administrative units: columns name, level, geometry; optional code, parent_id."""
        self._check(Action.IMPORT)
        ids = []
        with self.session(user) as s:
            for rec in units.to_dict("records"):
                g = rec.get("geometry")
                if g is not None and g.geom_type == "Polygon":
                    g = shapely.MultiPolygon([g])
                u = AdminUnit(
                    code=rec.get("code"),
                    name=rec["name"],
                    level=rec["level"],
                    parent_id=rec.get("parent_id"),
                    geom=g,
                    updated_by=user,
                )
                s.add(u)
                s.flush()
                ids.append(u.id)
        return ids

    def admin_unit_names(self) -> pd.DataFrame:
        """Names, levels and codes of the administrative units (no geometry: cheap)."""
        with self.engine.connect() as conn:
            df = pd.read_sql(
                select(AdminUnit.name, AdminUnit.level, AdminUnit.code).where(AdminUnit.deleted.is_(False)), conn
            )
        df["level"] = df["level"].map(lambda v: getattr(v, "value", v))
        return df

    def admin_units_frame(self) -> pd.DataFrame:
        with self.session() as s:
            rows = s.execute(select(AdminUnit).where(AdminUnit.deleted.is_(False))).scalars().all()
            return pd.DataFrame(
                [
                    {
                        "id": u.id,
                        "code": u.code,
                        "name": u.name,
                        "level": u.level.value,
                        "parent_id": u.parent_id,
                        "geometry": u.geom,
                    }
                    for u in rows
                ],
                columns=["id", "code", "name", "level", "parent_id", "geometry"],
            )
