"""Chainage (lý trình): parsing "Km 105+500 QL24", and linear referencing along
road geometries in both directions, vectorised with shapely 2.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import CRS

from errors import ChainageError
from geo import crs as _crs
from geo.text import trimmed

_KM_RE = re.compile(r"(?i)\bkm\s*(\d+)\s*(?:\+\s*(\d+(?:[.,]\d+)?))?")
_KM_DEC_RE = re.compile(r"(?i)\bkm\s*(\d+)[.,](\d{1,3})(?![\d+])")
_PLUS_RE = re.compile(r"^\s*(\d+)\s*\+\s*(\d+(?:[.,]\d+)?)\s*$")
_NUM_RE = re.compile(r"^\s*\d+(?:[.,]\d+)?\s*$")
#: metres written with a dot between groups of three digits (and maybe a decimal comma): "142.372", "1.042.500,5"
_GROUPED_RE = re.compile(r"^\d{1,3}(?:\.\d{3})+(?:,\d+)?$")
_DECIMAL_DOT_RE = re.compile(r"^\d+\.\d+$")

_ROAD_PREFIX = {
    "ql": "QL",
    "quoc_lo": "QL",
    "quoclo": "QL",
    "dt": "ĐT",
    "tl": "ĐT",
    "duong_tinh": "ĐT",
    "tinh_lo": "ĐT",
    "dh": "ĐH",
    "hl": "ĐH",
    "duong_huyen": "ĐH",
    "huyen_lo": "ĐH",
    "dx": "ĐX",
    "duong_xa": "ĐX",
    "ct": "CT",
    "cao_toc": "CT",
    "ah": "AH",
}
_ROAD_RE = re.compile(
    r"(?i)\b(ql|quoc[ _]?lo|dt|tl|duong[ _]tinh|tinh[ _]lo|dh|hl|duong[ _]huyen|huyen[ _]lo|dx|duong[ _]xa|ct|cao[ _]toc|ah)"
    r"[\s._-]*(\d+[a-z]?)\b"
)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


def normalise_road_code(text: str) -> str | None:
    """The standard code of a road named in free text, or ``None``.

    Parameters
    ----------
    text
        Any text naming a road ("Quốc lộ 24", "ql.8a", "ĐT 552").

    Returns
    -------
    str or None
        The code (prefix QL, ĐT, ĐH, ĐX, CT or AH, then the number), or None
        when the text names no road.

    Examples
    --------
    >>> normalise_road_code("Quốc lộ 24")
    'QL24'
    >>> normalise_road_code("ql.8a")
    'QL8A'
    >>> normalise_road_code("Đường tỉnh 552")
    'ĐT552'
    """
    if not text:
        return None
    m = _ROAD_RE.search(_fold(str(text)))
    if not m:
        return None
    prefix = re.sub(r"[ ]", "_", m.group(1).lower())
    return _ROAD_PREFIX.get(prefix, prefix.upper()) + m.group(2).upper()


def parse_chainage(text: str | float | None) -> tuple[str | None, float]:
    """Parse a chainage into (road code or None, metres); NaN metres when it
    cannot be read.

    Parameters
    ----------
    text
        "Km 105+500 QL24", "105+050", "Km 158,3" (kilometres), "12345.5"
        (metres), or a blank / NaN.

    Returns
    -------
    tuple
        The road code the text names (or None) and the chainage in metres.

    Examples
    --------
    >>> parse_chainage("Km 105+500 QL24")
    ('QL24', 105500.0)
    >>> parse_chainage("Km105+500")
    (None, 105500.0)
    >>> parse_chainage("105+050")
    (None, 105050.0)
    >>> parse_chainage("12345.5")
    (None, 12345.5)
    >>> parse_chainage("QL24 - Km158,3"), parse_chainage("Km 12.05")
    (('QL24', 158300.0), (None, 12050.0))
    >>> parse_chainage("gần chợ")
    (None, nan)
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None, float("nan")
    s = str(text)
    road = normalise_road_code(s)
    m = _KM_DEC_RE.search(s)
    if m:  # "Km 158,3" / "Km158.25": kilometres with a decimal
        return road, round(float(f"{m.group(1)}.{m.group(2)}") * 1000.0, 3)
    m = _KM_RE.search(s)
    if m:
        metres = float(m.group(2).replace(",", ".")) if m.group(2) else 0.0
        return road, int(m.group(1)) * 1000.0 + metres
    m = _PLUS_RE.match(s)
    if m:
        return road, int(m.group(1)) * 1000.0 + float(m.group(2).replace(",", "."))
    if _NUM_RE.match(s):
        return road, float(s.replace(",", "."))
    return road, float("nan")


def dots_group_thousands(values: pd.Series) -> bool:
    """Whether a column's chainages in plain metres write a dot between groups
    of three digits, as Vietnamese spreadsheets do ("142.372" for 142 372 m),
    rather than before decimals ("12345.5").

    The column decides, not the cell ("142.372" alone reads either way): yes
    when some plain number is grouped ("142.372", "1.042.500,5": a dot before
    every three digits) and none has a decimal dot that is not such a grouping.
    Km notation ("Km 142+372", "Km 142.372") is not a plain number and does not
    count. A decimal column answers at its first ungrouped value.

    Parameters
    ----------
    values
        Chainage texts.

    Returns
    -------
    bool

    Examples
    --------
    >>> dots_group_thousands(pd.Series(["142.372", "98.120", "850", "1.042.500,5", "Km 12+300"]))
    True
    >>> dots_group_thousands(pd.Series(["142.372", "12345.5"])), dots_group_thousands(pd.Series(["850", "Km 1.5"]))
    (False, False)
    """
    grouped = False
    for x in values.to_numpy(dtype=object):
        if not isinstance(x, str) or "." not in x:
            continue
        x = x.strip()
        if _GROUPED_RE.match(x):
            grouped = True
        elif _DECIMAL_DOT_RE.match(x):
            return False
    return grouped


def _ungrouped(values: pd.Series) -> pd.Series:
    """Grouped plain metres ("142.372", "1.042.500,5") as plain numbers ("142372", "1042500.5")."""
    s = values.astype(str).str.strip()
    grouped = s.str.match(_GROUPED_RE.pattern)
    return values.where(~grouped, s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))


def parse_chainage_series(values: pd.Series, *, thousands: bool | None = None) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`parse_chainage`. Blank cells give no road and NaN
    without going through the patterns.

    Parameters
    ----------
    values
        Chainage texts.
    thousands
        Whether dots in plain metres group thousands ("142.372" is 142 372 m);
        ``None`` (default): as the column writes them (:func:`dots_group_thousands`).

    Returns
    -------
    tuple of pandas.Series
        Road codes (object, None when none) and metres (float), on ``values``' index.

    Examples
    --------
    >>> roads, metres = parse_chainage_series(pd.Series(["Km 105+500 QL24", "", "105+050"]))
    >>> roads.tolist(), metres.tolist()
    (['QL24', None, None], [105500.0, nan, 105050.0])
    >>> parse_chainage_series(pd.Series(["142.372", "850", "1.042.500,5"]))[1].tolist()
    [142372.0, 850.0, 1042500.5]
    >>> parse_chainage_series(pd.Series(["142.372", "12345.5"]))[1].tolist()
    [142.372, 12345.5]
    """
    if thousands is None:
        thousands = dots_group_thousands(values)
    if thousands:
        values = _ungrouped(values)
    s_all = values.astype(str)
    filled = trimmed(s_all).ne("").to_numpy()
    if not filled.all():
        roads = pd.Series([None] * len(s_all), index=s_all.index, dtype=object)
        metres = pd.Series(np.nan, index=s_all.index, dtype=float)
        if filled.any():
            r, m = parse_chainage_series(s_all[filled], thousands=False)
            roads[filled] = r
            metres[filled] = m
        return roads, metres
    # plain metres ("12345.5"), the usual chainage column of a tool's own file: read as numbers, no patterns
    arr = s_all.to_numpy(dtype=object)
    plain = np.array([x.isascii() and x.strip().replace(".", "", 1).isdigit() for x in arr], dtype=bool)
    if plain.any():
        roads = pd.Series([None] * len(s_all), index=s_all.index, dtype=object)
        metres = pd.Series(np.nan, index=s_all.index, dtype=float)
        metres[plain] = arr[plain].astype(float)
        if not plain.all():
            r, m = parse_chainage_series(s_all[~plain], thousands=False)
            roads[~plain] = r
            metres[~plain] = m
        return roads, metres
    s = s_all
    km = s.str.extract(r"(?i)\bkm\s*(\d+)\s*(?:\+\s*(\d+(?:[.,]\d+)?))?")
    plus = s.str.extract(r"^\s*(\d+)\s*\+\s*(\d+(?:[.,]\d+)?)\s*$")
    num = pd.to_numeric(
        s.str.replace(",", ".", regex=False).where(s.str.match(r"^\s*\d+(?:[.,]\d+)?\s*$")), errors="coerce"
    )
    metres = pd.to_numeric(km[0], errors="coerce") * 1000.0 + pd.to_numeric(
        km[1].str.replace(",", ".", regex=False), errors="coerce"
    ).fillna(0.0)
    metres = metres.where(km[0].notna())
    dec = s.str.extract(_KM_DEC_RE)  # "Km 158,3": kilometres with a decimal
    if dec[0].notna().any():
        kmdec = pd.to_numeric(dec[0] + "." + dec[1], errors="coerce") * 1000.0
        metres = kmdec.round(3).where(dec[0].notna(), metres)
    metres = metres.fillna(
        pd.to_numeric(plus[0], errors="coerce") * 1000.0
        + pd.to_numeric(plus[1].str.replace(",", ".", regex=False), errors="coerce")
    )
    metres = metres.fillna(num)
    has_letters = s.str.contains(r"(?i)[a-zđ]", regex=True)
    roads = pd.Series([None] * len(s), index=s.index, dtype=object)
    if has_letters.any():
        roads[has_letters] = s[has_letters].map(normalise_road_code)
    return roads, metres.astype(float)


def format_chainage(metres: float | None) -> str:
    """Write metres as Km notation.

    Parameters
    ----------
    metres
        A chainage in metres (rounded to the metre).

    Returns
    -------
    str
        "Km 105+500"; ``""`` for None or a non-finite value.

    Examples
    --------
    >>> format_chainage(105500)
    'Km 105+500'
    >>> format_chainage(7.4)
    'Km 0+007'
    """
    if metres is None or not np.isfinite(metres):
        return ""
    m = int(round(float(metres)))
    return f"Km {m // 1000}+{m % 1000:03d}"


def line_substrings(lines: npt.ArrayLike, which: npt.ArrayLike, start: npt.ArrayLike, end: npt.ArrayLike) -> np.ndarray:
    """The part of line ``which[k]`` of ``lines`` from ``start[k]`` to ``end[k]``
    metres along it, for every k at once (``shapely.ops.substring`` one
    geometry at a time was the slow part of saving a screen).

    Parameters
    ----------
    lines
        LineStrings (in a metric CRS).
    which
        For each part wanted, the position of its line in ``lines``.
    start, end
        Distances along the line (``start <= end``), clipped to the line.

    Returns
    -------
    numpy.ndarray of shapely.LineString
        One LineString per part: the point at ``start``, the line's vertices
        strictly between, the point at ``end``.

    Examples
    --------
    >>> road = shapely.LineString([(0, 0), (100, 0), (100, 100)])
    >>> [g.wkt for g in line_substrings([road], [0, 0, 0], [50, 50, -5], [150, 80, 500])]
    ['LINESTRING (50 0, 100 0, 100 50)', 'LINESTRING (50 0, 80 0)', 'LINESTRING (0 0, 100 0, 100 100)']
    """
    lines = np.asarray(lines, dtype=object)
    which = np.asarray(which, dtype=np.int64)
    length = shapely.length(lines)
    lo = np.clip(np.asarray(start, dtype=float), 0.0, length[which])
    hi = np.clip(np.asarray(end, dtype=float), 0.0, length[which])
    if len(which) == 0:
        return np.empty(0, dtype=object)
    coords, line_of = shapely.get_coordinates(lines, return_index=True)
    step = np.hypot(*np.diff(coords, axis=0).T)
    step[line_of[1:] != line_of[:-1]] = 0.0  # no length between one line's end and the next's start
    along = np.r_[0.0, np.cumsum(step)]  # every vertex's distance, lines laid end to end
    first = np.searchsorted(line_of, np.arange(len(lines) + 1))
    origin = along[first[:-1]][which]
    # the vertices strictly inside each part, never the line's own end vertices (sums of lengths round,
    # and the next line's first vertex sits at the same distance as this one's last)
    i0 = np.maximum(np.searchsorted(along, origin + lo, side="right"), first[which] + 1)
    i1 = np.maximum(np.minimum(np.searchsorted(along, origin + hi, side="left"), first[which + 1] - 1), i0)
    inner = i1 - i0
    size = inner + 2
    ends = np.cumsum(size)
    out = np.empty((int(ends[-1]), 2))
    out[ends - size] = shapely.get_coordinates(shapely.line_interpolate_point(lines[which], lo))
    out[ends - 1] = shapely.get_coordinates(shapely.line_interpolate_point(lines[which], hi))
    k = np.repeat(np.arange(len(which)), inner)
    offset = np.arange(int(inner.sum())) - np.repeat(np.cumsum(inner) - inner, inner)
    out[(ends - size)[k] + 1 + offset] = coords[i0[k] + offset]
    return np.asarray(shapely.linestrings(out, indices=np.repeat(np.arange(len(which)), size)), dtype=object)


@dataclass
class RoadNetwork:
    """Roads in a metric CRS, ready for linear referencing.

    Attributes
    ----------
    codes
        Road code per road (``"QL24"``).
    lines
        Road geometries in metres (LineString; parts merged).
    km_start
        Chainage in metres at the first vertex of each line.
    crs
        The metric CRS of ``lines``.
    ids
        Store ids of the roads (or 0..n-1).
    """

    codes: np.ndarray
    lines: np.ndarray
    km_start: np.ndarray
    crs: CRS
    ids: np.ndarray

    @classmethod
    def from_frame(cls, roads: pd.DataFrame) -> "RoadNetwork":
        """The network of a road frame in WGS 84.

        Parameters
        ----------
        roads
            ``code``, ``geometry`` (lon/lat) and, when present, ``km_start_m`` and
            the store's ``id``.

        Returns
        -------
        RoadNetwork
            See :meth:`from_wgs84`.

        Examples
        --------
        >>> import shapely
        >>> roads = pd.DataFrame({"code": ["QL24"], "km_start_m": [100000.0],
        ...                       "geometry": [shapely.LineString([(106.0, 16.0), (106.01, 16.0)])]})
        >>> net = RoadNetwork.from_frame(roads)
        >>> net.codes.tolist(), net.km_start.tolist(), [round(x) for x in net.lengths]
        (['QL24'], [100000.0], [1070])
        """
        return cls.from_wgs84(
            roads["code"].to_numpy(),
            roads["geometry"].to_numpy(),
            km_start=roads["km_start_m"].to_numpy() if "km_start_m" in roads else None,
            ids=roads["id"].to_numpy() if "id" in roads else None,
        )

    @classmethod
    def from_wgs84(
        cls,
        codes: Iterable[object],
        geoms: npt.ArrayLike,
        *,
        km_start: npt.ArrayLike | None = None,
        ids: npt.ArrayLike | None = None,
        crs: CRS | None = None,
    ) -> "RoadNetwork":
        """The network of road geometries in WGS 84, projected to metres.

        Parameters
        ----------
        codes
            Road code per road.
        geoms
            Road geometries in lon/lat (a MultiLineString whose parts join is merged).
        km_start
            Chainage in metres at the first vertex of each road (default 0; NaN is 0).
        ids
            Store ids of the roads (default 0..n-1).
        crs
            The metric CRS (default: :func:`geo.crs.metric_crs` of the roads).

        Returns
        -------
        RoadNetwork

        Raises
        ------
        errors.ChainageError
            When there is no road.

        Examples
        --------
        >>> import shapely
        >>> net = RoadNetwork.from_wgs84(["QL1"], [shapely.LineString([(106.0, 16.0), (106.01, 16.0)])])
        >>> net.ids.tolist(), net.lines[0].geom_type
        ([0], 'LineString')
        """
        geoms = np.asarray(geoms, dtype=object)
        if len(geoms) == 0:
            raise ChainageError("Chưa có tuyến đường nào / No roads loaded")
        if crs is None:
            cx = shapely.get_coordinates(geoms)
            crs = _crs.metric_crs(cx[:, 0], cx[:, 1])
        transformer = _crs._transformer(_crs.WGS84, crs.to_wkt())
        lines = shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
        merged = shapely.line_merge(lines)
        lines = np.where(shapely.get_type_id(merged) == 1, merged, lines)
        n = len(geoms)
        return cls(
            codes=np.asarray([str(c) for c in codes], dtype=object),
            lines=lines,
            km_start=np.zeros(n) if km_start is None else np.nan_to_num(np.asarray(km_start, dtype=float)),
            crs=crs,
            ids=np.arange(n) if ids is None else np.asarray(ids),
        )

    @property
    def lengths(self) -> np.ndarray:
        """Length of each road in metres.

        Returns
        -------
        numpy.ndarray
        """
        lengths: np.ndarray = shapely.length(self.lines)
        return lengths

    def index_of(self, road_codes: Iterable[object]) -> np.ndarray:
        """Position of each code in the network, -1 when unknown. Codes are
        compared in their normalised form (``ql 24`` = ``QL24``).

        Parameters
        ----------
        road_codes
            Codes as written (None or NaN: unknown).

        Returns
        -------
        numpy.ndarray of int
            One position per code.

        Examples
        --------
        >>> import shapely
        >>> net = RoadNetwork.from_wgs84(["QL24"], [shapely.LineString([(106.0, 16.0), (106.01, 16.0)])])
        >>> net.index_of(["ql 24", "QL1", None]).tolist()
        [0, -1, -1]
        >>> pieces = [shapely.LineString([(106.0, 16.0), (106.001, 16.0)]), shapely.LineString([(106.1, 16.0), (106.2, 16.0)])]
        >>> RoadNetwork.from_wgs84(["QL22B", "QL 22B"], pieces).index_of(["QL22B"]).tolist()  # its longest piece
        [1]
        """
        keys = pd.Index([normalise_road_code(c) or str(c).upper() for c in self.codes])
        positions = np.arange(len(keys))
        if not keys.is_unique:  # a road in several pieces under one code (real road files): its longest piece
            order = np.lexsort((-self.lengths, np.asarray(keys, dtype=object).astype(str)))
            first = ~pd.Index(keys[order]).duplicated(keep="first")
            positions = order[first]
            keys = keys[positions]
        # each distinct code once (a million crashes name a few thousand roads)
        codes, uniq = pd.factorize(pd.Series(road_codes, dtype=object), use_na_sentinel=True)
        where = keys.get_indexer(pd.Index([normalise_road_code(c) or str(c).upper() for c in uniq], dtype=object))
        if len(positions):
            where = np.where(where >= 0, positions[np.maximum(where, 0)], -1)
        out: np.ndarray = np.where(codes >= 0, where[np.maximum(codes, 0)] if len(where) else -1, -1)
        return out

    def locate(self, road_idx: npt.ArrayLike, chainage_m: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Points (in the metric CRS) for chainages on roads.

        Parameters
        ----------
        road_idx
            Each point's road (a position in the network; negative: unknown).
        chainage_m
            Each point's chainage in metres (half a metre beyond either end is
            taken as the end).

        Returns
        -------
        tuple of numpy.ndarray
            Points in the metric CRS (None when not found) and a status per point:
            0 found, 1 unknown road, 2 chainage off the road's extent.

        Examples
        --------
        >>> import shapely
        >>> net = RoadNetwork.from_wgs84(["QL24"], [shapely.LineString([(106.0, 16.0), (106.01, 16.0)])],
        ...                              km_start=[100000.0])
        >>> pts, status = net.locate([0, 0, -1], [100500.0, 99000.0, 0.0])
        >>> status.tolist(), pts[1] is None
        ([0, 2, 1], True)
        """
        road_idx = np.asarray(road_idx, dtype=int)
        chainage_m = np.asarray(chainage_m, dtype=float)
        status = np.zeros(len(road_idx), dtype=int)
        status[road_idx < 0] = 1
        safe = np.where(road_idx < 0, 0, road_idx)
        along = chainage_m - self.km_start[safe]
        length = self.lengths[safe]
        off = (road_idx >= 0) & ~((along >= -0.5) & (along <= length + 0.5))
        status[off | ((road_idx >= 0) & ~np.isfinite(along))] = 2
        pts = np.full(len(road_idx), None, dtype=object)
        ok = status == 0
        if ok.any():
            pts[ok] = shapely.line_interpolate_point(self.lines[safe[ok]], np.clip(along[ok], 0, length[ok]))
        return pts, status

    def offset_points(
        self, road_idx: npt.ArrayLike, chainage_m: npt.ArrayLike, side: npt.ArrayLike, offset_m: npt.ArrayLike
    ) -> tuple[np.ndarray, np.ndarray]:
        """Points at a chainage and a distance to one side of the road (the
        inverse of :meth:`measure`).

        Parameters
        ----------
        road_idx, chainage_m
            Each point's road and chainage, as for :meth:`locate`.
        side
            ``left`` or ``right``, looking in the direction of rising chainage.
        offset_m
            Distance from the centreline in metres (NaN: 0).

        Returns
        -------
        tuple of numpy.ndarray
            Points in the metric CRS (None when not found) and the status as
            :meth:`locate`.

        Examples
        --------
        >>> import shapely
        >>> net = RoadNetwork.from_wgs84(["QL1"], [shapely.LineString([(106.0, 16.0), (106.01, 16.0)])])
        >>> pts, st = net.offset_points([0], [500.0], ["left"], [20.0])
        >>> m = net.measure(pts, max_distance=100)
        >>> st.tolist(), round(float(m["chainage_m"][0])), round(float(m["offset_m"][0])), m["side"][0]
        ([0], 500, 20, 'left')
        """
        pts, status = self.locate(road_idx, chainage_m)
        ok = status == 0
        out = np.full(len(pts), None, dtype=object)
        if not ok.any():
            return out, status
        idx = np.asarray(road_idx, dtype=int)[ok]
        lines = self.lines[idx]
        along = np.clip(np.asarray(chainage_m, dtype=float)[ok] - self.km_start[idx], 0, shapely.length(lines))
        a = shapely.line_interpolate_point(lines, np.clip(along - 1.0, 0, shapely.length(lines)))
        b = shapely.line_interpolate_point(lines, np.clip(along + 1.0, 0, shapely.length(lines)))
        tx, ty = shapely.get_x(b) - shapely.get_x(a), shapely.get_y(b) - shapely.get_y(a)
        norm = np.hypot(tx, ty)
        norm[norm == 0] = 1.0
        sign = np.where(np.asarray(side, dtype=object)[ok] == "left", 1.0, -1.0)  # the left normal is (-ty, tx)
        d = np.nan_to_num(np.asarray(offset_m, dtype=float)[ok]) * sign
        base = pts[ok]
        out[ok] = shapely.points(shapely.get_x(base) - ty / norm * d, shapely.get_y(base) + tx / norm * d)
        return out, status

    def measure(self, points: npt.ArrayLike, *, max_distance: float) -> pd.DataFrame:
        """Nearest road, chainage, side and offset of points given in metres.

        Parameters
        ----------
        points
            Points in the network's metric CRS (None or empty: not measured).
        max_distance
            Points farther than this from every road get ``road_idx`` -1.

        Returns
        -------
        pandas.DataFrame
            One row per point: ``road_idx``, ``chainage_m``, ``offset_m`` (from the
            centreline) and ``side`` (``left``/``right`` looking in the direction of
            rising chainage).

        Examples
        --------
        >>> import shapely
        >>> net = RoadNetwork.from_wgs84(["QL1"], [shapely.LineString([(106.0, 16.0), (106.01, 16.0)])])
        >>> pts, _ = net.locate([0], [300.0])
        >>> m = net.measure(np.r_[pts, [None]], max_distance=10)
        >>> m["road_idx"].tolist(), round(float(m["chainage_m"][0]))
        ([0, -1], 300)
        """
        points = np.asarray(points, dtype=object)
        n = len(points)
        out = pd.DataFrame(
            {
                "road_idx": np.full(n, -1),
                "chainage_m": np.nan,
                "offset_m": np.nan,
                "side": pd.Series([None] * n, dtype=object),
            }
        )
        valid = ~shapely.is_missing(points) & ~shapely.is_empty(points)
        if not valid.any():
            return out
        tree = shapely.STRtree(self.lines)
        vidx = np.flatnonzero(valid)
        (pi, li), dist = tree.query_nearest(
            points[vidx], max_distance=max_distance, return_distance=True, all_matches=False
        )
        pi = vidx[pi]
        lines = self.lines[li]
        along = shapely.line_locate_point(lines, points[pi])
        out.loc[pi, "road_idx"] = li
        out.loc[pi, "chainage_m"] = along + self.km_start[li]
        out.loc[pi, "offset_m"] = dist
        out.loc[pi, "side"] = side_of_line(lines, points[pi], along)
        return out


def side_of_line(lines: np.ndarray, points: np.ndarray, along: np.ndarray) -> np.ndarray:
    """``left`` or ``right`` of each point against its line's direction at the
    projected position (cross product of tangent and offset).

    Parameters
    ----------
    lines
        The line of each point.
    points
        The points, in the lines' CRS.
    along
        Each point's position along its line (``shapely.line_locate_point``).

    Returns
    -------
    numpy.ndarray of str
        ``left`` (also on the line) or ``right``.

    Examples
    --------
    >>> import shapely
    >>> lines = np.array([shapely.LineString([(0, 0), (10, 0)])] * 2)
    >>> side_of_line(lines, shapely.points([[5, 1], [5, -1]]), np.array([5.0, 5.0])).tolist()
    ['left', 'right']
    """
    length = shapely.length(lines)
    a = shapely.line_interpolate_point(lines, np.clip(along - 1.0, 0, length))
    b = shapely.line_interpolate_point(lines, np.clip(along + 1.0, 0, length))
    ax, ay = shapely.get_x(a), shapely.get_y(a)
    bx, by = shapely.get_x(b), shapely.get_y(b)
    px, py = shapely.get_x(points), shapely.get_y(points)
    cross = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    return np.where(cross >= 0, "left", "right")
