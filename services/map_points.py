"""Crashes on the map as one packed canvas layer (``static/js/crash_points.js``).

A province's crashes used to reach the browser as one Leaflet marker each in a
marker cluster: 2.3 MB and 6 s to first draw at 100 000 crashes. Here they
travel as one packed payload (24-bit coordinates in byte planes, deflated,
base64: 5–6 characters a crash) and are drawn on one canvas; a click near a dot
returns ``[CR-<row>@<digest>]``, which :func:`crash_at` turns back into the
crash's id. Measured side by side with the cluster and with server-side
aggregation in ``bench/bench_map.py`` (BENCHMARKS.md).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import folium
from folium.elements import JSCSSMixin
from jinja2.utils import htmlsafe_json_dumps
import numpy as np
import pandas as pd

from services import map_text  # noqa: F401  # outputs as text, never templates


#: Where the layer's script is served (the app's own static folder, tracked in the repository).
SCRIPT_URL = "/app/static/js/crash_points.js"
#: Quantisation of each coordinate over the points' bounding box: 24 bits (0.1 m across the country).
_Q = (1 << 24) - 1
#: The ring around a chosen crash: drawn by the layer on a click, and by the page's own ring layer
#: (:func:`services.maps.chosen_crash_ring`) when the map is drawn again.
RING_COLOUR = "#00b8d4"
#: At most this many crashes carry a hover text (date, casualties, description) in the payload.
TIP_LIMIT = 5_000
_TAG_RE = re.compile(r"\[CR-(\d+)@([0-9a-f]{12})\]")


@dataclass(frozen=True)
class PackedPoints:
    """Crashes packed for :class:`CrashPointsLayer`.

    ``data`` goes to the page (numbers and base64); ``ids`` are the crash ids
    in the packed order (the row a click names), ``rows`` the place of each
    packed point in the input; ``digest`` names this packing.
    """

    data: dict[str, Any]
    ids: np.ndarray
    rows: np.ndarray
    digest: str


_CACHE: OrderedDict[bytes, PackedPoints] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def pack_points(
    lon: np.ndarray,
    lat: np.ndarray,
    colour: np.ndarray,
    ids: np.ndarray,
) -> PackedPoints:
    """Pack points for the canvas layer, drawn in descending ``colour`` index
    (index 0 last: on top).

    Coordinates are quantised to 24 bits over the points' bounding box and
    written as six byte planes (the high bytes of sorted points repeat, so
    they deflate to almost nothing). Points without finite coordinates are
    left out. The same points give the same packing, kept for the next rerun.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Degrees (WGS 84).
    colour : numpy.ndarray
        Small non-negative integers: the index of each point's colour.
    ids : numpy.ndarray
        The id of each point (returned in packed order).

    Returns
    -------
    PackedPoints

    Examples
    --------
    >>> p = pack_points(np.array([106.0, 106.5, 107.0]), np.array([10.0, 10.5, np.nan]),
    ...                 np.array([0, 3, 0]), np.array([7, 8, 9]))
    >>> p.data["n"], p.data["groups"], p.ids.tolist(), p.rows.tolist()
    (2, [[3, 1], [0, 1]], [8, 7], [1, 0])
    >>> unpack(p.data)[0].round(6).tolist(), unpack(p.data)[1].round(6).tolist()
    ([106.5, 106.0], [10.5, 10.0])
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    colour = np.asarray(colour, dtype=np.int64)
    ids = np.asarray(ids, dtype=np.int64)
    key = hashlib.blake2b(
        b"".join(np.ascontiguousarray(a).tobytes() for a in (lon, lat, colour, ids)), digest_size=16
    ).digest()
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    ok = np.isfinite(lon) & np.isfinite(lat)
    rows = np.flatnonzero(ok)
    lon, lat, colour, ids = lon[ok], lat[ok], colour[ok], ids[ok]
    n = len(lon)
    if n:
        west, east, south, north = float(lon.min()), float(lon.max()), float(lat.min()), float(lat.max())
    else:
        west = east = south = north = 0.0
    # a single place (or a line along one axis) still spans a little: no division by zero
    east, north = max(east, west + 1e-9), max(north, south + 1e-9)
    qx = np.rint((lon - west) / (east - west) * _Q).astype(np.uint32)
    qy = np.rint((lat - south) / (north - south) * _Q).astype(np.uint32)
    # least severe first (drawn under the rest), then by coarse cell and place: runs of equal high bytes
    order = np.lexsort((qy, qx, qy >> 14, qx >> 14, -colour))
    qx, qy, colour, ids, rows = qx[order], qy[order], colour[order], ids[order], rows[order]
    planes = np.concatenate([(q >> s) & 0xFF for q in (qx, qy) for s in (16, 8, 0)]).astype(np.uint8)
    packed = zlib.compress(planes.tobytes(), 6)
    values, counts = np.unique(colour, return_counts=True)
    groups = [[int(v), int(c)] for v, c in zip(values[::-1], counts[::-1])]  # the packed order
    digest = hashlib.blake2b(packed + ids.tobytes(), digest_size=6).hexdigest()
    data: dict[str, Any] = {
        "n": int(n),
        "bbox": [west, south, east, north],
        "groups": groups,
        "points": base64.b64encode(packed).decode("ascii"),
        "digest": digest,
    }
    result = PackedPoints(data=data, ids=ids, rows=rows, digest=digest)
    with _CACHE_LOCK:
        _CACHE[key] = result
        while len(_CACHE) > 8:
            _CACHE.popitem(last=False)
    return result


def unpack(data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Longitudes, latitudes and colour indices of a packing, as the browser
    decodes them (for tests and the benchmark).

    Examples
    --------
    >>> p = pack_points(np.array([105.0, 109.0]), np.array([8.5, 23.4]), np.array([1, 1]), np.array([1, 2]))
    >>> unpack(p.data)[1].round(7).tolist()
    [8.5, 23.4]
    """
    n = data["n"]
    b = np.frombuffer(zlib.decompress(base64.b64decode(data["points"])), dtype=np.uint8).astype(np.uint32)
    qx = (b[:n] << 16) | (b[n : 2 * n] << 8) | b[2 * n : 3 * n]
    qy = (b[3 * n : 4 * n] << 16) | (b[4 * n : 5 * n] << 8) | b[5 * n : 6 * n]
    west, south, east, north = data["bbox"]
    colour = np.repeat([g[0] for g in data["groups"]], [g[1] for g in data["groups"]]).astype(np.int64)
    return west + qx * ((east - west) / _Q), south + qy * ((north - south) / _Q), colour


def parse_crash_tag(text: str | None) -> tuple[int, str] | None:
    """The packed row and digest a click on the crash layer names.

    >>> parse_crash_tag("[CR-41@0123456789ab]")
    (41, '0123456789ab')
    >>> parse_crash_tag("[BS-4] Điểm đen") is None
    True
    """
    m = _TAG_RE.search(text or "")
    return (int(m.group(1)), m.group(2)) if m else None


def crash_at(packed: PackedPoints, text: str | None) -> int | None:
    """The id of the crash a click on the layer named, or ``None`` when the
    click was on something else or on another packing (the map was drawn
    from other data since).

    >>> p = pack_points(np.array([106.0, 106.5]), np.array([10.0, 10.5]), np.array([0, 3]), np.array([7, 8]))
    >>> crash_at(p, f"[CR-0@{p.digest}]"), crash_at(p, "[CR-0@000000000000]"), crash_at(p, f"[CR-5@{p.digest}]")
    (8, None, None)
    """
    tag = parse_crash_tag(text)
    if tag is None or tag[1] != packed.digest or tag[0] >= len(packed.ids):
        return None
    return int(packed.ids[tag[0]])


class CrashPointsLayer(JSCSSMixin, folium.map.Layer):
    """The crashes as one Leaflet layer drawing on a canvas (an overlay in the
    layer control). The payload reaches the page through Jinja's JSON
    encoding (``htmlsafe_json_dumps``: numbers, base64 and escaped strings
    only); the declaration goes into the page as text (:mod:`services.map_text`),
    never lexed as a template (megabytes of base64 at a million crashes)."""

    def __init__(
        self,
        packed: PackedPoints,
        *,
        name: str,
        colours: list[str],
        items: str = "(?!)",
        tips: list[str] | None = None,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "CrashPoints"
        self.data = packed.data
        if tips is not None:  # a hover text per input point, sent in the packed order
            self.data = packed.data | {"tips": [tips[i] for i in packed.rows.tolist()]}
        # a click on a layer whose tooltip starts with ``items`` (a regular expression) is that layer's
        self.options = {"colours": colours, "outline": "#222", "ring": RING_COLOUR, "items": items}

    #: the layer's script (streamlit-folium gathers the ``default_js`` of every JSCSSMixin; rendering adds it to a page)
    default_js = [("crash_points.js", SCRIPT_URL)]
    _template = folium.template.Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.crashPoints({{ this.json_data }}, {{ this.json_options }});
        {% endmacro %}
    """)

    @property
    def json_data(self) -> str:
        return _json(self.data)

    @property
    def json_options(self) -> str:
        return _json(self.options)


def _json(value: Any) -> str:
    """JSON that cannot end a script element (``<``, ``>``, ``&`` and ``'`` escaped, as Jinja's ``tojson``)."""
    return str(htmlsafe_json_dumps(value, separators=(",", ":")))


def crash_colours(severity: pd.Series, order: list[str]) -> np.ndarray:
    """Each crash's colour index: its severity's place in ``order`` (most
    severe first); a crash without a known severity takes the last.

    >>> crash_colours(pd.Series(["b", None, "a", "zz"]), ["a", "b", "c"]).tolist()
    [1, 2, 0, 2]
    """
    return severity.map({k: i for i, k in enumerate(order)}).fillna(len(order) - 1).astype(np.int64).to_numpy()
