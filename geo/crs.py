"""Coordinate reference systems: VN-2000 variants, detection, and a metric CRS
for distances (never degrees)."""

from __future__ import annotations

from functools import lru_cache

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer

from errors import CRSError

WGS84 = "EPSG:4326"

#: A CRS as the functions here take it: an EPSG code, any text pyproj reads, or a CRS.
CRSLike = int | str | CRS

#: CRSs a Vietnamese file may come in, with the label shown to the user.
KNOWN_CRS: dict[int, str] = {
    4326: "WGS 84 (kinh độ, vĩ độ / lon, lat)",
    4756: "VN-2000 địa lý / geographic",
    3405: "VN-2000 / UTM 48N",
    3406: "VN-2000 / UTM 49N",
    32648: "WGS 84 / UTM 48N",
    32649: "WGS 84 / UTM 49N",
    **{code: f"VN-2000 / TM-3 (EPSG:{code})" for code in range(9205, 9219)},
}
KNOWN_CRS[9209] = "VN-2000 / TM-3 Hà Tĩnh 105°30' (EPSG:9209)"
KNOWN_CRS[9216] = "VN-2000 / TM-3 Kon Tum 107°30' (EPSG:9216)"


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def transform(x: npt.ArrayLike, y: npt.ArrayLike, src: CRSLike, dst: CRSLike = WGS84) -> tuple[np.ndarray, np.ndarray]:
    """Transform coordinate arrays (x = easting or longitude first).

    Parameters
    ----------
    x, y
        Coordinates in ``src`` (longitude and latitude for a geographic CRS).
    src, dst
        The CRSs from and to (:data:`CRSLike`); ``dst`` defaults to WGS 84.

    Returns
    -------
    tuple of numpy.ndarray
        ``x`` and ``y`` in ``dst`` (the input as floats when both CRSs are the same).

    Raises
    ------
    errors.CRSError
        When ``src`` or ``dst`` is not a CRS pyproj reads.

    Examples
    --------
    >>> x, y = transform([500000.0], [0.0], 32648)
    >>> round(float(x[0]), 6), round(float(y[0]), 6)
    (105.0, 0.0)
    """
    s, d = _crs_key(src), _crs_key(dst)
    if s == d:
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    xx, yy = _transformer(s, d).transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(xx), np.asarray(yy)


def _crs_key(crs: CRSLike) -> str:
    if isinstance(crs, int):
        return f"EPSG:{crs}"
    if isinstance(crs, CRS):
        return crs.to_string()
    try:
        CRS.from_user_input(crs)
    except Exception as exc:
        raise CRSError(f"Hệ tọa độ không hợp lệ / Invalid CRS: {crs}") from exc
    return str(crs)


def looks_geographic(x: npt.ArrayLike, y: npt.ArrayLike) -> bool:
    """True when most finite values fit longitude/latitude ranges (either way
    round, since swapped columns are fixed later).

    Parameters
    ----------
    x, y
        The two coordinate columns.

    Returns
    -------
    bool
        True also when no value is finite (nothing says otherwise).

    Examples
    --------
    >>> looks_geographic([105.8, 106.1], [21.0, 20.9])
    True
    >>> looks_geographic([580000.0], [2300000.0])
    False
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return True
    ax, ay = np.abs(x[ok]), np.abs(y[ok])
    inside = ((ax <= 180) & (ay <= 90)) | ((ax <= 90) & (ay <= 180))
    return bool(inside.mean() > 0.5)


def detect_swapped(x: npt.ArrayLike, y: npt.ArrayLike, bounds: Sequence[float]) -> bool:
    """True when the columns look swapped: most rows fall inside ``bounds`` only
    with x and y exchanged.

    Parameters
    ----------
    x, y
        The longitude and latitude columns as the file gives them.
    bounds
        ``(min lon, min lat, max lon, max lat)`` where the data should lie.

    Returns
    -------
    bool
        Whether more than half the rows, and more than read straight, fall
        inside ``bounds`` with x and y exchanged.

    Examples
    --------
    >>> detect_swapped([21.0, 10.8], [105.8, 106.7], (102.1, 8.3, 109.7, 23.4))
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return False
    straight = inside_bounds(x[ok], y[ok], bounds).mean()
    swapped = inside_bounds(y[ok], x[ok], bounds).mean()
    return bool(swapped > 0.5 and swapped > straight)


def inside_bounds(lon: npt.ArrayLike, lat: npt.ArrayLike, bounds: Sequence[float]) -> npt.NDArray[np.bool_]:
    """Which points lie inside a lon/lat box (edges included).

    Parameters
    ----------
    lon, lat
        Point coordinates.
    bounds
        ``(min lon, min lat, max lon, max lat)``.

    Returns
    -------
    numpy.ndarray of bool
        One flag per point.

    Examples
    --------
    >>> inside_bounds([105.8, 120.0], [21.0, 21.0], (102.1, 8.3, 109.7, 23.4)).tolist()
    [True, False]
    """
    minx, miny, maxx, maxy = bounds
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    inside: npt.NDArray[np.bool_] = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
    return inside


def metric_crs(lon: npt.ArrayLike, lat: npt.ArrayLike) -> CRS:
    """A transverse Mercator CRS (scale 1) centred on the data, for distances in
    metres with little distortion near the data.

    Parameters
    ----------
    lon, lat
        WGS 84 coordinates; the centre is their median (non-finite values left out).

    Returns
    -------
    pyproj.CRS
        The projection, in metres.

    Raises
    ------
    errors.CRSError
        When no coordinate is finite.

    Examples
    --------
    >>> "+lon_0=105.8 " in metric_crs([105.8], [21.0]).srs
    True
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        raise CRSError("Không có tọa độ / No coordinates")
    lon0 = float(np.round(np.median(lon[ok]), 3))
    lat0 = float(np.round(np.median(lat[ok]), 3))
    return CRS.from_proj4(f"+proj=tmerc +lat_0={lat0} +lon_0={lon0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs")


def to_metric(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: CRS | None = None) -> tuple[np.ndarray, np.ndarray, CRS]:
    """Project lon/lat to metres.

    Parameters
    ----------
    lon, lat
        WGS 84 coordinates.
    crs
        The metric CRS to use (default: :func:`metric_crs` of the points).

    Returns
    -------
    tuple
        ``x`` and ``y`` in metres (numpy arrays) and the CRS used.

    Examples
    --------
    >>> x, y, _ = to_metric([105.8, 105.81], [21.0, 21.0])
    >>> round(float(x[1] - x[0]))
    1040
    """
    crs = crs or metric_crs(lon, lat)
    x, y = transform(lon, lat, WGS84, crs.to_wkt())
    return x, y, crs
