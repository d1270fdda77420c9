"""Road safety corridors (hành lang an toàn đường bộ): widths from a rule set,
strips for the map, and the check of points or footprints against them.

All geometry is in metres on a projected CRS (the :class:`RoadNetwork`'s).
The corridor of a road starts at the edge of its road land (đất của đường bộ),
``land_half_m`` from the centreline, and is ``corridor_m`` wide on each side.

>>> rules = load_corridor_rules()
>>> road_class_key("cấp III"), road_class_key("Cao tốc"), road_class_key(4)
('III', 'expressway', 'IV')
>>> w = road_widths(pd.DataFrame({"road_class": ["III", "III"], "carriageway_width_m": [7.0, None]}), rules)
>>> w[["land_half_m", "corridor_m", "outer_m"]].to_numpy().tolist()
[[5.5, 13.0, 18.5], [8.0, 13.0, 21.0]]
>>> bridge_approach_m([15, 20, 59.9, 60, 300, 300.1], rules).tolist()
[20.0, 50.0, 50.0, 100.0, 100.0, 150.0]
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from errors import RuleSetError
from geo.chainage import RoadNetwork, _fold, side_of_line
from geo.rules import RULES_DIR

#: Zones a feature can fall in, nearest the road first.
ZONE_ROAD_LAND = "road_land"
ZONE_CORRIDOR = "corridor"
ZONE_OUTSIDE = "outside"
ZONE_LABELS = {
    ZONE_ROAD_LAND: ("Đất của đường bộ", "Road land"),
    ZONE_CORRIDOR: ("Hành lang an toàn", "Safety corridor"),
    ZONE_OUTSIDE: ("Ngoài hành lang", "Outside the corridor"),
}

_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV", "5": "V", "6": "VI"}


@dataclass(frozen=True)
class CorridorRules:
    """A corridor rule set (widths per road class, with an effective date)."""

    id: str
    name: str
    effective_from: str
    width_each_side_m: dict[str, float | None]
    protection_margin_m: dict[str, float]
    default_roadbed_width_m: dict[str, float]
    bridge_approach_m: tuple[dict[str, float], ...]


@lru_cache(maxsize=4)
def _load_all(rules_dir: Path) -> dict[str, CorridorRules]:
    path = Path(rules_dir) / "corridor_rules.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RuleSetError(f"Không đọc được quy tắc hành lang / Cannot read corridor rules: {exc}") from exc
    out = {}
    for r in raw["rulesets"]:
        out[r["id"]] = CorridorRules(
            id=r["id"],
            name=r["name"],
            effective_from=r["effective_from"],
            width_each_side_m=dict(r["width_each_side_m"]),
            protection_margin_m=dict(r["protection_margin_m"]),
            default_roadbed_width_m=dict(r["default_roadbed_width_m"]),
            bridge_approach_m=tuple(sorted(r["bridge_approach_m"], key=lambda b: -b["min_length_m"])),
        )
    return out


def load_corridor_rules(rule_id: str | None = None, *, rules_dir: Path = RULES_DIR) -> CorridorRules:
    """The corridor rule set ``rule_id`` (default: the newest effective one),
    from ``rules_dir/corridor_rules.json`` (the app passes ``settings.RULES_DIR``).

    Parameters
    ----------
    rule_id
        The rule set's id; None: the one with the latest ``effective_from``.
    rules_dir
        The folder of the rule files (default: the files that ship with the tool).

    Returns
    -------
    CorridorRules

    Raises
    ------
    errors.RuleSetError
        When the file cannot be read or no rule set has that id.

    Examples
    --------
    >>> rules = load_corridor_rules()
    >>> rules.width_each_side_m["III"], rules.width_each_side_m["urban"]
    (13, None)
    """
    rules = _load_all(Path(rules_dir))
    if rule_id is None:
        return max(rules.values(), key=lambda r: r.effective_from)
    if rule_id not in rules:
        raise RuleSetError(
            f"Không có bộ quy tắc hành lang '{rule_id}' / No corridor rule set '{rule_id}'. "
            f"Có / Available: {', '.join(rules)}"
        )
    return rules[rule_id]


def road_class_key(value: object) -> str:
    """The rule-table key of a road class written in any common way.

    ``I``–``VI``, ``cấp 3``, ``3``, ``cao tốc``/``expressway``,
    ``đô thị``/``urban``, ``GTNT``/``rural``. Unknown or empty gives ``VI``
    (the narrowest rural corridor), so that no road is left without a corridor.

    Parameters
    ----------
    value
        The road class as a file gives it (text, number, None or NaN).

    Returns
    -------
    str
        ``I``–``VI``, ``expressway``, ``urban`` or ``rural``.

    Examples
    --------
    >>> road_class_key("cấp 3"), road_class_key(3.0), road_class_key("GTNT"), road_class_key(None)
    ('III', 'III', 'rural', 'VI')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "VI"
    s = _fold(str(value)).lower().strip()
    if not s:
        return "VI"
    if "cao toc" in s or "expressway" in s or s in ("ct", "motorway"):
        return "expressway"
    if "do thi" in s or "urban" in s or s.startswith("pho") or "street" in s:
        return "urban"
    if "gtnt" in s or "nong thon" in s or "rural" in s:
        return "rural"
    s = re.sub(r"^(cap|class|grade)\s*", "", s).strip().upper()
    s = s.split(".")[0] if re.fullmatch(r"\d+\.0+", s) else s
    if s in _ROMAN:
        return _ROMAN[s]
    if s in ("I", "II", "III", "IV", "V", "VI"):
        return s
    return "VI"


def road_widths(roads: pd.DataFrame, rules: CorridorRules) -> pd.DataFrame:
    """Road-land half-width, corridor width (each side) and their sum per road.

    Parameters
    ----------
    roads
        May hold ``road_class``, ``road_land_half_width_m`` and
        ``carriageway_width_m``; the road land is the half-width given, else
        half the carriageway plus the class's protection margin, else half the
        class's default roadbed plus the margin.
    rules
        The corridor rule set.

    Returns
    -------
    pandas.DataFrame
        On ``roads``' index: class_key, land_half_m, land_source (``road`` /
        ``carriageway`` / ``class default``), corridor_m (NaN for urban
        streets: up to the planned boundary) and outer_m.

    Examples
    --------
    >>> w = road_widths(pd.DataFrame({"road_class": ["III", "đô thị"], "carriageway_width_m": [7.0, None]}),
    ...                 load_corridor_rules())
    >>> w[["class_key", "land_half_m", "land_source", "outer_m"]].to_numpy().tolist()
    [['III', 5.5, 'carriageway', 18.5], ['urban', 5.0, 'class default', 5.0]]
    """
    n = len(roads)
    cls = (roads["road_class"] if "road_class" in roads else pd.Series([None] * n)).map(road_class_key)
    margin = cls.map(lambda k: rules.protection_margin_m.get(k, 1.0)).astype(float).to_numpy()
    roadbed = cls.map(lambda k: rules.default_roadbed_width_m.get(k, 6.5)).astype(float).to_numpy()
    width = cls.map(lambda k: rules.width_each_side_m.get(k)).astype(float).to_numpy()

    def num(col: str) -> np.ndarray:
        if col not in roads:
            return np.full(n, np.nan)
        return pd.to_numeric(roads[col], errors="coerce").to_numpy(dtype=float)

    given = num("road_land_half_width_m")
    carriage = num("carriageway_width_m")
    use_given = np.isfinite(given) & (given > 0)
    use_carriage = ~use_given & np.isfinite(carriage) & (carriage > 0)
    land = np.where(use_given, given, np.where(use_carriage, carriage / 2 + margin, roadbed / 2 + margin))
    source = np.where(use_given, "road", np.where(use_carriage, "carriageway", "class default"))
    return pd.DataFrame(
        {
            "class_key": cls.to_numpy(),
            "land_half_m": land,
            "land_source": source,
            "corridor_m": width,
            "outer_m": land + np.nan_to_num(width),
        },
        index=roads.index,
    )


def bridge_approach_m(length_m: npt.ArrayLike, rules: CorridorRules) -> np.ndarray:
    """Length of the protected zone along the road from each bridge end,
    by bridge length (the rule set's table).

    Parameters
    ----------
    length_m
        Bridge lengths in metres.
    rules
        The corridor rule set.

    Returns
    -------
    numpy.ndarray
        The zone in metres per bridge (NaN when no band of the table applies).

    Examples
    --------
    >>> bridge_approach_m([10, 50, 150, 400], load_corridor_rules()).tolist()
    [20.0, 50.0, 100.0, 150.0]
    """
    length = np.asarray(length_m, dtype=float)
    out = np.full(length.shape, np.nan)
    for band in rules.bridge_approach_m:  # longest first
        lo = band["min_length_m"]
        hit = (length > lo) if band.get("exclusive") else (length >= lo)
        out = np.where(np.isnan(out) & hit, float(band["zone_m"]), out)
    return out


def bridge_zones(bridges: pd.DataFrame, rules: CorridorRules) -> pd.DataFrame:
    """Protected stretches of road at both ends of each bridge.

    Parameters
    ----------
    bridges
        ``road``, ``from_m`` and ``to_m`` (chainage of the bridge ends, either order).
    rules
        The corridor rule set.

    Returns
    -------
    pandas.DataFrame
        road, from_m, to_m, end (``start``/``end``) and zone_m per stretch: the
        start ends of all bridges first, then the far ends.

    Examples
    --------
    >>> z = bridge_zones(pd.DataFrame({"road": ["QL24"], "from_m": [1040.0], "to_m": [1000.0]}), load_corridor_rules())
    >>> z[["from_m", "to_m", "end"]].to_numpy().tolist()
    [[950.0, 1000.0, 'start'], [1040.0, 1090.0, 'end']]
    """
    a = np.minimum(bridges["from_m"].to_numpy(float), bridges["to_m"].to_numpy(float))
    b = np.maximum(bridges["from_m"].to_numpy(float), bridges["to_m"].to_numpy(float))
    zone = bridge_approach_m(b - a, rules)
    road = bridges["road"].to_numpy()
    return pd.concat(
        [
            pd.DataFrame({"road": road, "from_m": np.maximum(a - zone, 0), "to_m": a, "end": "start", "zone_m": zone}),
            pd.DataFrame({"road": road, "from_m": b, "to_m": b + zone, "end": "end", "zone_m": zone}),
        ],
        ignore_index=True,
    )


def corridor_strips(
    lines: npt.ArrayLike, land_half_m: npt.ArrayLike, corridor_m: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Left and right corridor strips (polygons in the lines' CRS), between
    ``land_half_m`` and ``land_half_m + corridor_m`` from each centreline.

    Parameters
    ----------
    lines
        Road centrelines in a metric CRS.
    land_half_m, corridor_m
        Each road's road-land half-width and corridor width (see
        :func:`road_widths`); a road without a corridor width (urban streets,
        NaN or 0) gets empty geometries.

    Returns
    -------
    tuple of numpy.ndarray
        The left strips and the right strips, looking along each line.

    Examples
    --------
    >>> left, right = corridor_strips([shapely.LineString([(0, 0), (100, 0)])], [5.0], [10.0])
    >>> left[0].bounds, right[0].bounds, round(left[0].area)
    ((0.0, 5.0, 100.0, 15.0), (0.0, -15.0, 100.0, -5.0), 1000)
    """
    lines = np.asarray(lines, dtype=object)
    land = np.asarray(land_half_m, dtype=float)
    width = np.nan_to_num(np.asarray(corridor_m, dtype=float))
    outer = land + width
    has = width > 0
    left = np.full(len(lines), shapely.Polygon(), dtype=object)
    right = left.copy()
    if has.any():
        ln, lo, li = lines[has], outer[has], land[has]
        kw = dict(single_sided=True, cap_style="flat", join_style="mitre", mitre_limit=3.0)
        left[has] = shapely.difference(shapely.buffer(ln, lo, **kw), shapely.buffer(ln, li, **kw))
        right[has] = shapely.difference(shapely.buffer(ln, -lo, **kw), shapely.buffer(ln, -li, **kw))
    return left, right


def check_features(
    net: RoadNetwork, widths: pd.DataFrame, features: npt.ArrayLike, *, search_m: float = 0.0
) -> pd.DataFrame:
    """Which road corridor each feature (point or footprint, in the network's
    metres) falls in.

    For each feature the road chosen is the one whose corridor it enters most
    deeply; a feature in no corridor gets its nearest road within
    ``search_m`` (else none). Vectorised: one STRtree query, array distances.

    Parameters
    ----------
    net
        The roads, in metres.
    widths
        :func:`road_widths` of the same roads, in the same order.
    features
        Points or footprints in the network's CRS (None or empty: no road).
    search_m
        How far to look for the nearest road of a feature in no corridor.

    Returns
    -------
    pandas.DataFrame
        One row per feature: road_idx (-1 for none), chainage_m, side
        (``left``/``right`` looking along rising chainage), distance_m (from the
        centreline to the nearest part of the feature), zone (road_land /
        corridor / outside) and inside_m (how far the feature reaches inside the
        corridor's outer edge; 0 when outside).

    Examples
    --------
    >>> roads = pd.DataFrame({"code": ["QL24"], "road_class": ["III"],
    ...                       "geometry": [shapely.LineString([(106.0, 16.0), (106.01, 16.0)])]})
    >>> net = RoadNetwork.from_frame(roads)
    >>> middle, _ = net.offset_points([0, 0, 0], [500.0] * 3, ["left", "right", "left"], [3.0, 12.0, 40.0])
    >>> out = check_features(net, road_widths(roads, load_corridor_rules()), middle, search_m=100)
    >>> out[["side", "zone", "inside_m"]].round(1).to_numpy().tolist()
    [['left', 'road_land', 18.0], ['right', 'corridor', 9.0], ['left', 'outside', 0.0]]
    """
    feats = np.asarray(features, dtype=object)
    n = len(feats)
    outer = widths["outer_m"].to_numpy(dtype=float)
    land = widths["land_half_m"].to_numpy(dtype=float)
    out = pd.DataFrame(
        {
            "road_idx": np.full(n, -1),
            "chainage_m": np.nan,
            "side": pd.Series([None] * n, dtype=object),
            "distance_m": np.nan,
            "zone": ZONE_OUTSIDE,
            "inside_m": 0.0,
        }
    )
    valid = ~shapely.is_missing(feats) & ~shapely.is_empty(feats)
    if not valid.any() or len(net.lines) == 0:
        return out
    tree = shapely.STRtree(net.lines)
    vidx = np.flatnonzero(valid)
    # candidates by bounding boxes grown by the widest corridor (cheap), then
    # exact distances once, vectorised
    reach = float(np.nanmax(outer))
    b = shapely.bounds(feats[vidx])
    boxes = shapely.box(b[:, 0] - reach, b[:, 1] - reach, b[:, 2] + reach, b[:, 3] + reach)
    fi, li = tree.query(boxes)
    fi = vidx[fi]
    d = shapely.distance(feats[fi], net.lines[li])
    inside = d <= outer[li] + 1e-9
    fi, li, d = fi[inside], li[inside], d[inside]
    depth = outer[li] - d
    order = np.lexsort((-depth, fi))
    fi, li, d = fi[order], li[order], d[order]
    first = np.r_[True, fi[1:] != fi[:-1]] if len(fi) else np.zeros(0, bool)
    chosen_f, chosen_l, chosen_d = fi[first], li[first], d[first]
    # features in no corridor: nearest road within search_m, for the record
    taken = np.zeros(n, dtype=bool)
    taken[chosen_f] = True
    rest = vidx[~taken[vidx]]
    if search_m > 0 and len(rest):
        (pi, pl), pd_ = tree.query_nearest(feats[rest], max_distance=search_m, return_distance=True, all_matches=False)
        chosen_f = np.r_[chosen_f, rest[pi]]
        chosen_l = np.r_[chosen_l, pl]
        chosen_d = np.r_[chosen_d, pd_]
    if len(chosen_f) == 0:
        return out
    lines = net.lines[chosen_l]
    fg = feats[chosen_f]
    nearest = shapely.shortest_line(lines, fg)
    on_line = shapely.get_point(nearest, 0)
    on_feat = shapely.get_point(nearest, 1)
    along = shapely.line_locate_point(lines, on_line)
    towards = on_feat.copy()
    touching = chosen_d <= 1e-6  # the feature reaches the centreline: use its centre for the side
    if touching.any():
        towards[touching] = shapely.centroid(fg[touching])
    out.loc[chosen_f, "road_idx"] = chosen_l
    out.loc[chosen_f, "chainage_m"] = along + net.km_start[chosen_l]
    out.loc[chosen_f, "side"] = side_of_line(lines, towards, along)
    out.loc[chosen_f, "distance_m"] = chosen_d
    zone = np.where(
        chosen_d <= land[chosen_l] + 1e-9,
        ZONE_ROAD_LAND,
        np.where(chosen_d <= outer[chosen_l] + 1e-9, ZONE_CORRIDOR, ZONE_OUTSIDE),
    )
    out.loc[chosen_f, "zone"] = zone
    out.loc[chosen_f, "inside_m"] = np.where(zone == ZONE_OUTSIDE, 0.0, outer[chosen_l] - chosen_d)
    return out


def corridor_check(
    roads: pd.DataFrame, features: npt.ArrayLike, *, rules: CorridorRules | None = None, search_m: float = 200.0
) -> pd.DataFrame:
    """:func:`check_features` for roads and features in WGS 84.

    Parameters
    ----------
    roads
        ``code``, ``geometry`` (lon/lat) and optionally road_class,
        road_land_half_width_m, carriageway_width_m, km_start_m.
    features
        Points or footprints in lon/lat.
    rules
        The corridor rule set (default: :func:`load_corridor_rules`).
    search_m
        How far to look for the nearest road of a feature in no corridor.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`check_features` plus road (its code),
        land_half_m and outer_m of the chosen road (None / NaN when none).

    Examples
    --------
    >>> roads = pd.DataFrame({"code": ["QL24"], "road_class": ["III"],
    ...                       "geometry": [shapely.LineString([(106.0, 16.0), (106.01, 16.0)])]})
    >>> out = corridor_check(roads, [shapely.Point(106.005, 16.0001), shapely.Point(106.005, 16.01)])
    >>> out[["road", "zone"]].to_numpy().tolist()
    [['QL24', 'corridor'], [None, 'outside']]
    """
    rules = rules or load_corridor_rules()
    net = RoadNetwork.from_frame(roads)
    widths = road_widths(roads.reset_index(drop=True), rules)
    feats = np.asarray(features, dtype=object)
    ok = ~shapely.is_missing(feats)
    metric = feats.copy()
    if ok.any():
        from geo.crs import WGS84, _transformer

        tr = _transformer(WGS84, net.crs.to_wkt())
        metric[ok] = shapely.transform(feats[ok], lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    res = check_features(net, widths, metric, search_m=search_m)
    ri = res["road_idx"].to_numpy()
    has = ri >= 0
    safe = np.where(has, ri, 0)
    res["road"] = np.where(has, net.codes[safe], np.array(None, dtype=object))
    res["land_half_m"] = np.where(has, widths["land_half_m"].to_numpy()[safe], np.nan)
    res["outer_m"] = np.where(has, widths["outer_m"].to_numpy()[safe], np.nan)
    return res
