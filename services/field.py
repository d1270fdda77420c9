"""Field entry from a phone (issue 19.2): where the phone is on the roads, and
one entry (a hazard flagged as a potential crash point, or an encroachment
case) saved with its photo. No UI here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

import settings
from errors import FieldEntryError, InputFileError
from geo.crs import WGS84, transform
from models.enums import ItemType
from models.store import Store
from services.items import check_image

#: What a field entry records.
HAZARD = "hazard"  # a potential crash point (điểm tiềm ẩn), flagged by hand
ENCROACHMENT = "encroachment"  # an encroachment of the road safety corridor (a case)
KINDS = (HAZARD, ENCROACHMENT)

#: A photo from the field: at most this many megabytes (a phone's photo is 2–8 MB).
PHOTO_MAX_MB = 15.0
PHOTO_TYPES = ("jpg", "jpeg", "png", "webp")


@dataclass(frozen=True)
class RoadPlace:
    """The nearest road of a place, within the snap distance."""

    road: str
    chainage_m: float
    distance_m: float
    side: str | None


@dataclass(frozen=True)
class FieldEntry:
    """What was saved: the item (``blackspot`` or ``case``), its id, the road
    and chainage it was placed at (None off the known roads), and the photo's
    attachment id."""

    item_type: str
    item_id: int
    road: str | None
    chainage_m: float | None
    photo_id: int | None


def check_place(lon: Any, lat: Any) -> tuple[float, float]:
    """A longitude and latitude as two finite numbers on the globe, else refused
    (``True`` is not a number of degrees, though Python reads it as 1).

    >>> check_place(108.25, "14.5")
    (108.25, 14.5)
    >>> check_place(True, 14.5)
    Traceback (most recent call last):
    errors.FieldEntryError: Chưa có vị trí / No location yet
    """
    if isinstance(lon, bool) or isinstance(lat, bool):
        raise FieldEntryError("Chưa có vị trí / No location yet")
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise FieldEntryError("Chưa có vị trí / No location yet") from None
    if not (np.isfinite(x) and np.isfinite(y) and -180.0 <= x <= 180.0 and -90.0 <= y <= 90.0):
        raise FieldEntryError(f"Vị trí không hợp lệ: {y}, {x} / Not a valid location: {y}, {x}")
    return x, y


def road_place(store: Store, lon: float, lat: float, *, snap_m: float | None = None) -> RoadPlace | None:
    """The nearest road of the store within ``snap_m`` metres (default
    ``settings.SNAP_DISTANCE_M``) of a place (WGS 84), with its chainage,
    or None when no known road is that near."""
    net = store.road_network()
    if net is None:
        return None
    x, y = transform(np.array([lon]), np.array([lat]), WGS84, net.crs.to_wkt())
    m = net.measure(
        np.array([shapely.Point(float(x[0]), float(y[0]))], dtype=object),
        max_distance=float(settings.SNAP_DISTANCE_M if snap_m is None else snap_m),
    ).iloc[0]
    if int(m["road_idx"]) < 0:
        return None
    return RoadPlace(
        road=str(net.codes[int(m["road_idx"])]),
        chainage_m=float(m["chainage_m"]),
        distance_m=float(m["offset_m"]),
        side=m["side"],
    )


def commune_at(store: Store, lon: float, lat: float) -> str | None:
    """The name of the commune (the store's boundaries) that holds a place, if any."""
    units = store.admin_units_frame()
    units = units.loc[(units["level"] == "commune") & units["geometry"].notna()]
    if units.empty:
        return None
    inside = shapely.contains_xy(units["geometry"].to_numpy(), lon, lat)
    return str(units["name"].to_numpy()[inside][0]) if inside.any() else None


def check_photo(filename: str, data: bytes) -> None:
    """An image (JPG, PNG or WEBP, by its name and its bytes) of at most
    :data:`PHOTO_MAX_MB`, else refused before the entry is written."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in PHOTO_TYPES:
        raise FieldEntryError("Ảnh phải là JPG, PNG hoặc WEBP / A photo must be JPG, PNG or WEBP")
    if len(data) > PHOTO_MAX_MB * 1024 * 1024:
        raise FieldEntryError(f"Ảnh lớn hơn {PHOTO_MAX_MB:g} MB / The photo is larger than {PHOTO_MAX_MB:g} MB")
    if not (
        data.startswith(b"\x89PNG\r\n\x1a\n")
        or data[:3] == b"\xff\xd8\xff"
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    ):
        raise FieldEntryError("Tệp không phải ảnh JPG, PNG hoặc WEBP / The file is not a JPG, PNG or WEBP image")
    try:
        check_image(data)  # the whole image decoded once: a damaged file or a decompression bomb is refused here
    except InputFileError as exc:
        raise FieldEntryError(str(exc)) from None


def record_field_entry(
    store: Store,
    *,
    kind: str,
    lon: Any,
    lat: Any,
    description: str,
    photo: tuple[str, bytes] | None = None,
    default_commune: str | None = None,
    user: str | None = None,
) -> FieldEntry:
    """Save one field entry at a place (WGS 84): a hazard as a potential crash
    point flagged by hand (its reason the description; road and chainage when
    a road is within the snap distance), an encroachment as a case (the store
    measures its road, chainage, side and corridor zone). The photo, when
    given, is attached to the new item. The commune is the one whose boundary
    holds the place, else ``default_commune`` (a commune editor's own). Who
    and when: the audit log.

    Everything is checked first: nothing is written when the place, the
    description or the photo is refused."""
    if kind not in KINDS:
        raise FieldEntryError(f"Loại ghi nhận không rõ: {kind} / Unknown kind of entry: {kind}")
    x, y = check_place(lon, lat)
    text = " ".join(str(description or "").split())
    if not text:
        raise FieldEntryError("Cần mô tả ngắn / A short description is required")
    if photo is not None:
        check_photo(*photo)
    place = road_place(store, x, y)
    commune = commune_at(store, x, y) or (default_commune or "").strip() or None
    if kind == HAZARD:
        from services.items import flag_potential_point

        item_type, item_id = (
            ItemType.BLACKSPOT,
            flag_potential_point(
                store,
                lon=x,
                lat=y,
                reason=text,
                commune=commune,
                road_code=place.road if place else None,
                chainage_m=place.chainage_m if place else None,
                user=user,
            ),
        )
        road, chainage = (place.road, place.chainage_m) if place else (None, None)
    else:
        item_type = ItemType.CASE
        item_id = store.add_case(geometry=shapely.Point(x, y), description=text, commune=commune, user=user)
        cases = store.cases_frame()
        case = cases.loc[cases["id"] == item_id].to_dict("records")[0]
        road = case["road_code"] if isinstance(case["road_code"], str) else None
        chainage = float(case["chainage_m"]) if road is not None and np.isfinite(case["chainage_m"]) else None
    photo_id = None
    if photo is not None:  # decoded and checked above (check_photo, before anything was written): kept as it is
        photo_id = store.add_photo(item_type.value, item_id, photo[0], photo[1], user=user)
    return FieldEntry(
        item_type=item_type.value, item_id=int(item_id), road=road, chainage_m=chainage, photo_id=photo_id
    )
