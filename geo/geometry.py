"""Checking and repairing the geometries of imported features (roads, cases,
boundaries), one verdict per feature.

A feature is kept as it is, repaired (with a note saying how), or refused
(with a plain reason); the caller reports the notes and drops the refused.

>>> import shapely
>>> bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
>>> line3d = shapely.LineString([(0, 0, 5), (1, 1, 6)])
>>> stub = shapely.LineString([(2, 2), (2, 2)])
>>> out = repair_geometries([bowtie, line3d, stub, None], kind="any")
>>> out["status"].tolist()
['repaired', 'repaired', 'refused', 'refused']
>>> out["geometry"].iloc[0].geom_type, round(out["geometry"].iloc[0].area, 2), out["geometry"].iloc[1].has_z
('MultiPolygon', 0.5, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import shapely

#: Geometry type ids (shapely) accepted per kind of feature.
_KINDS = {"line": {1, 5}, "polygon": {3, 6}, "point_or_polygon": {0, 3, 4, 6}, "any": {0, 1, 3, 4, 5, 6}}
_NAMES_VI = {0: "điểm", 1: "đường", 3: "vùng", 4: "nhiều điểm", 5: "nhiều đường", 6: "nhiều vùng", 7: "tập hợp"}


def repair_geometries(geoms: Iterable[object], *, kind: str) -> pd.DataFrame:
    """Check each geometry and repair what can be repaired.

    One row per input geometry: ``geometry`` (2-D, valid, or None when
    refused), ``status`` (ok / repaired / refused) and ``note`` (Vietnamese /
    English, empty when ok).

    Parameters
    ----------
    geoms : iterable of shapely geometries (None allowed)
    kind : {"line", "polygon", "point_or_polygon", "any"}
        Which geometry types the feature may have.

    Returns
    -------
    pandas.DataFrame
        Columns ``geometry``, ``status`` and ``note``, one row per input, in order.

    Notes
    -----
    3-D coordinates are dropped to 2-D; non-finite coordinates, empty
    geometries and lines of fewer than two distinct points are refused;
    invalid polygons (self-intersecting, bow-tie) are repaired with
    ``shapely.make_valid`` keeping their polygonal parts, and refused when
    nothing of area is left.

    Examples
    --------
    >>> out = repair_geometries([shapely.Point(1, 2), shapely.Point(1, 2)], kind="line")
    >>> out["status"].tolist(), out["note"].iloc[0]
    (['refused', 'refused'], 'loại hình học điểm không dùng được ở đây / a Point cannot be used here')
    """
    allowed = _KINDS[kind]
    arr = np.asarray(list(geoms), dtype=object)
    out_geom = np.full(len(arr), None, dtype=object)
    status = np.full(len(arr), "ok", dtype=object)
    note = np.full(len(arr), "", dtype=object)
    for i, g in enumerate(arr):
        out_geom[i], status[i], note[i] = _one(g, allowed)
    return pd.DataFrame({"geometry": out_geom, "status": status, "note": note})


_Checked = tuple[shapely.Geometry | None, str, str]


def _refuse(vi: str, en: str) -> _Checked:
    return None, "refused", f"{vi} / {en}"


def _one(obj: object, allowed: set[int]) -> _Checked:
    if obj is None or not isinstance(obj, shapely.Geometry):
        return _refuse("không có hình học đọc được", "no readable geometry")
    g: shapely.Geometry = obj
    if g.is_empty:
        return _refuse("hình học rỗng", "empty geometry")
    notes = []
    if shapely.has_z(g):
        g = shapely.force_2d(g)
        notes.append(("bỏ tọa độ Z", "Z coordinates dropped"))
    xy = shapely.get_coordinates(g)
    if not np.isfinite(xy).all():
        return _refuse("có tọa độ không hợp lệ (NaN/vô hạn)", "non-finite coordinates")
    tid = int(shapely.get_type_id(g))
    if tid == 7:  # a collection: keep the parts of the allowed type
        parts = [p for p in g.geoms if int(shapely.get_type_id(p)) in allowed]
        if not parts:
            return _refuse("tập hợp hình học không có phần dùng được", "a collection with no usable part")
        g = shapely.union_all(parts) if len(parts) > 1 else parts[0]
        tid = int(shapely.get_type_id(g))
        notes.append(("lấy phần dùng được của tập hợp", "usable parts of a collection kept"))
    if tid not in allowed:
        return _refuse(
            f"loại hình học {_NAMES_VI.get(tid, g.geom_type)} không dùng được ở đây",
            f"a {g.geom_type} cannot be used here",
        )
    if tid in (1, 5):
        lines = [g] if tid == 1 else list(g.geoms)
        lines = [ln for ln in lines if len(np.unique(shapely.get_coordinates(ln), axis=0)) >= 2]
        if not lines:
            return _refuse("đường chỉ có một điểm", "a line of a single point")
        if len(lines) < (1 if tid == 1 else len(g.geoms)):
            notes.append(("bỏ đoạn chỉ có một điểm", "one-point parts dropped"))
        g = lines[0] if tid == 1 else shapely.MultiLineString(lines)
    elif tid in (3, 6) and not g.is_valid:
        at = re.search(r"\[([-\d.eE]+ [-\d.eE]+)\]", shapely.is_valid_reason(g))
        where = f" ({at.group(1)})" if at else ""
        fixed = shapely.make_valid(g)
        polys = [p for p in getattr(fixed, "geoms", [fixed]) if int(shapely.get_type_id(p)) in (3, 6)]
        fixed = shapely.union_all(polys) if polys else None
        if fixed is None or fixed.is_empty or fixed.area == 0:
            return _refuse(f"vùng tự cắt, không sửa được{where}", f"self-intersecting polygon, cannot repair{where}")
        if fixed.geom_type == "Polygon" and tid == 6:
            fixed = shapely.MultiPolygon([fixed])
        g = fixed
        notes.append((f"sửa vùng tự cắt{where}", f"self-intersecting polygon repaired{where}"))
    if not notes:
        return g, "ok", ""
    return g, "repaired", "; ".join(v for v, _ in notes) + " / " + "; ".join(e for _, e in notes)


def report_lines(check: pd.DataFrame, labels: Sequence[object] | np.ndarray | None = None) -> list[str]:
    """Report lines ("Đối tượng 3 (QL99): …") for the repaired and refused features.

    Parameters
    ----------
    check
        The result of :func:`repair_geometries`.
    labels
        A name for each feature (its name or id), shown after its number; rows
        are counted from 1.

    Returns
    -------
    list of str
        One line per feature not ``ok``, in order.

    Examples
    --------
    >>> report_lines(repair_geometries([shapely.Point(0, 0), None], kind="any"), ["A", "QL99"])
    ['Đối tượng 2 (QL99): bỏ qua / refused: không có hình học đọc được / no readable geometry']
    """
    lines = []
    for i, (st, nt) in enumerate(zip(check["status"], check["note"])):
        if st == "ok":
            continue
        name = f" ({labels[i]})" if labels is not None and str(labels[i]).strip() else ""
        verdict = "đã sửa / repaired" if st == "repaired" else "bỏ qua / refused"
        lines.append(f"Đối tượng {i + 1}{name}: {verdict}: {nt}")
    return lines
