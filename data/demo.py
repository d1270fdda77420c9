"""Demo data: the real data sets of ``../shared/data`` loaded into the store.

- Kon Rẫy district (Kon Tum) and Đức Thọ district (Hà Tĩnh) boundaries, and the
  national roads QL24 (Kon Rẫy), QL8A and QL15 (Đức Thọ), from gis.chinhphu.vn
  and LegoCity open data.
- Real crashes: Hong Kong Transport Department, 2018–2019 (public domain, via
  the hkdatasets R package). Fatal → deaths = n_killed; injured = serious +
  slight casualties; body-injury % unknown.
- Simulated crashes on QL24 in Kon Rẫy, placed by chainage ("Km 145+200 QL24"),
  so that the regulatory screen has Vietnamese roads to work on. They are
  **dữ liệu mô phỏng / simulated** and marked so in the store and the UI.
  The chainage at the start of the QL24 clip (Km 132+000) is assumed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

import settings
from geo.io import RawTable, read_table
from geo.validate import validate_crashes
from models.store import Store
from services.importing import roads_from_table

HK_BOUNDS = (113.8, 22.1, 114.5, 22.6)
HK_SOURCE = "Hong Kong Transport Department (hkdatasets)"
SIM_SOURCE = "Dữ liệu mô phỏng / simulated (QL24 Kon Rẫy)"
QL24_KM_START = 132_000.0

#: Communes of Kon Rẫy along QL24, by chainage band (simulated assignment).
KON_RAY_COMMUNES = [(0, "Xã Đăk Ruồng"), (8000, "Thị trấn Đăk Rve"), (14000, "Xã Tân Lập"),
                    (22000, "Xã Đăk Tờ Re"), (28000, "Xã Đăk Tơ Lung")]


def shared(*parts: str):
    return settings.SHARED_DATA_DIR.joinpath(*parts)


def hk_crash_table(years=(2018, 2019), *, limit: int | None = None) -> RawTable:
    """The Hong Kong crashes as a crash table with this tool's headers."""
    df = pd.read_csv(shared("crashes", "hk_accidents_2014_2019.csv.gz"))
    df = df.loc[df["year"].isin(years)]
    if limit:
        df = df.head(limit)
    t = pd.to_datetime(df["datetime_local"])
    frame = pd.DataFrame({
        "Mã vụ": df["crash_id"].astype(str),
        "Ngày giờ": t.dt.strftime("%d/%m/%Y %H:%M"),
        "Kinh độ": df["longitude"].astype(str).replace("nan", ""),
        "Vĩ độ": df["latitude"].astype(str).replace("nan", ""),
        "Tuyến đường": df["street_name"].fillna("").astype(str),
        "Xã phường": df["district"].fillna("").astype(str),
        "Số người chết": df["n_killed"].astype(int).astype(str),
        "Số người bị thương": (df["n_serious"] + df["n_slight"]).astype(int).astype(str),
        "Loại phương tiện": df["collision_type"].fillna("").astype(str),
        "Mô tả": (df["road_hierarchy"].fillna("") + "; " + df["junction_control"].fillna("")).astype(str),
    })
    return RawTable(frame=frame.reset_index(drop=True).astype(str), fmt="csv")


def simulated_ql24(seed: int = 2024, *, length_m: float = 33_000.0) -> RawTable:
    """Simulated crashes on QL24 (Kon Rẫy), 2022–2025, located by chainage."""
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp("2022-01-01"), pd.Timestamp("2025-10-31")
    days = (end - start).days
    n_bg = 260
    ch = list(rng.uniform(0, length_m, n_bg))
    dates = list(start + pd.to_timedelta(rng.integers(0, days, n_bg), unit="D"))
    deaths = list((rng.random(n_bg) < 0.12).astype(int))
    injured = list(np.where(np.array(deaths) > 0, rng.integers(0, 2, n_bg), rng.integers(0, 3, n_bg)))
    # hot spots: (centre m, spread m, crashes, fatal share, year)
    for centre, spread, k, fatal_share, year in [(4_150, 120, 7, 0.4, 2024), (12_800, 80, 5, 0.2, 2023),
                                                 (17_450, 150, 6, 0.0, 2025), (23_900, 60, 4, 0.5, 2024),
                                                 (29_300, 90, 6, 0.1, 2022)]:
        ch += list(np.clip(rng.normal(centre, spread / 2, k), 0, length_m))
        dates += list(pd.Timestamp(f"{year}-01-15") + pd.to_timedelta(rng.integers(0, 300, k), unit="D"))
        d = (rng.random(k) < fatal_share).astype(int)
        deaths += list(d)
        injured += list(np.where(d > 0, rng.integers(0, 2, k), rng.integers(1, 4, k)))
    ch = np.asarray(ch) + QL24_KM_START
    km = (ch // 1000).astype(int)
    m = np.round(ch % 1000).astype(int)
    m = np.where(m == 1000, 999, m)
    communes = [next(name for lo, name in reversed(KON_RAY_COMMUNES) if c - QL24_KM_START >= lo) for c in ch]
    vehicles = rng.choice(["Xe mô tô", "Xe mô tô; ô tô", "Ô tô tải", "Xe mô tô; xe đạp", "Ô tô con"], len(ch))
    frame = pd.DataFrame({
        "Ngày xảy ra": [d.strftime("%d/%m/%Y") for d in dates],
        "Lý trình": [f"Km {a}+{b:03d}" for a, b in zip(km, m)],
        "Tuyến đường": "QL24",
        "Xã": communes,
        "Số người chết": np.asarray(deaths).astype(str),
        "Số người bị thương": np.asarray(injured).astype(str),
        "Loại phương tiện": vehicles,
        "Có nồng độ cồn": np.where(rng.random(len(ch)) < 0.15, "có", "không"),
        "Mô tả": "Dữ liệu mô phỏng / simulated",
    })
    return RawTable(frame=frame.astype(str), fmt="csv")


def communes_2025_of_demo_areas() -> pd.DataFrame:
    """The communes after the 2025 reform that cover the demo's districts (most of their area inside),
    named with their unit word ("Xã Kon Braih"), with their official codes."""
    import geopandas as gpd

    communes = gpd.read_file(shared("vietnam", "2025", "vn_communes_2025.gpkg"), layer="communes")
    areas = pd.concat([gpd.read_file(shared("vietnam", f)) for f in ("kon_ray_district.geojson",
                                                                     "duc_tho_district.geojson")])
    whole = areas.to_crs(3405).union_all()
    metric = communes.to_crs(3405)
    share = metric.intersection(whole).area / metric.area
    keep = communes.loc[share.to_numpy() > 0.3]
    return pd.DataFrame({"name": (keep["loai"] + " " + keep["ten_xa"]).to_numpy(), "level": "commune",
                         "code": keep["ma_xa"].to_numpy(), "geometry": keep.geometry.to_numpy()})


#: The demo's organisation: the commune committee that after the 2025 reform covers most of the simulated
#: QL24 stretch (old Đăk Ruồng, Tân Lập, Đăk Tờ Re → Kon Braih, Quảng Ngãi; see ../shared/data/README.md).
DEMO_ORGANISATION = dict(name="Ban An toàn giao thông xã Kon Braih", level="commune", parent="UBND xã Kon Braih",
                         place="Kon Braih", receiver="Ban An toàn giao thông tỉnh Quảng Ngãi",
                         signer="Nguyễn Văn A (dữ liệu mẫu)", signer_title="KT. TRƯỞNG BAN / PHÓ TRƯỞNG BAN")


def load_demo(store: Store, *, hk_years=(2018, 2019), hk_limit: int | None = None, user: str = "demo",
              progress=None) -> dict[str, int]:
    """Load the demo into an empty store; does nothing when crashes exist."""
    if store.crash_count() > 0:
        return {"skipped": 1}
    out = {}
    for fname, level in (("kon_ray_district.geojson", "district"), ("duc_tho_district.geojson", "district")):
        t = read_table(shared("vietnam", fname))
        name_col = next((c for c in ("ten", "name", "Ten") if c in t.frame.columns), t.frame.columns[0])
        units = pd.DataFrame({"name": t.frame[name_col], "level": level, "geometry": t.geometry,
                              "code": t.frame.get("ma", pd.Series([None] * len(t.frame)))})
        store.add_admin_units(units, user=user)
    out["communes_2025"] = len(store.add_admin_units(communes_2025_of_demo_areas(), user=user))
    roads = pd.concat([roads_from_table(read_table(shared("vietnam", f)))
                       for f in ("kon_ray_roads_clip.geojson", "duc_tho_roads_clip.geojson")], ignore_index=True)
    roads["road_class"] = "III"
    roads["km_start_m"] = np.where(roads["code"] == "QL24", QL24_KM_START, 0.0)
    roads["carriageway_width_m"] = 7.0
    out["roads"] = len(store.add_roads(roads, user=user, source="LegoCity opendata/giaothong (CC BY-SA 4.0)"))
    net = store.road_network()
    sim = validate_crashes(simulated_ql24(), roads=net)
    from services.importing import match_result_communes

    match_result_communes(store, sim)  # old communes keep their name and gain the 2025 unit they now belong to
    out["simulated"] = store.import_crashes(sim, filename="mo_phong_ql24.csv", user=user, source=SIM_SOURCE,
                                            roads=net, is_simulated=True).n_imported
    if progress:
        progress(0.2)
    if hk_years and hk_limit != 0:
        hk = validate_crashes(hk_crash_table(hk_years, limit=hk_limit), bounds=HK_BOUNDS)
        out["hong_kong"] = store.import_crashes(hk, filename="hk_accidents_2018_2019.csv", user=user,
                                                source=HK_SOURCE, progress=progress).n_imported
    from services.organisation import Organisation, save_organisation

    if not store.get_setting("organisation"):
        save_organisation(store, Organisation(**DEMO_ORGANISATION), user=user)
    from services.blackspots import run_screening
    _, diff = run_screening(store, user=user)
    out["spots"] = len(diff["new"])
    out.update(load_demo_plan(store, user=user))
    return out


#: Demo encroachment cases on QL24 (simulated, like the QL24 crashes):
#: chainage, offset left (+) / right (-) of the centreline in metres, kind, status steps.
DEMO_CASES = [
    (134_200, 12.0, "Quán nước (mô phỏng)", ["recorded", "deadline_set"], -10),
    (141_650, -16.0, "Lều bán hàng nông sản (mô phỏng)", ["recorded"], None),
    (147_900, 9.5, "Hàng rào, vật liệu xây dựng (mô phỏng)", [], None),
    (152_300, -15.0, "Biển quảng cáo (mô phỏng)", ["recorded", "deadline_set", "cleared"], 20),
]


def load_demo_plan(store: Store, *, user: str = "demo") -> dict[str, int]:
    """The real Kon Rẫy plan (parsed from ../shared/plans), its agencies, and a
    few simulated encroachment cases and works linked to its section II.3."""
    from datetime import date, timedelta

    import shapely

    from geo.crs import WGS84, transform
    from services.corridor import set_case_status
    from services.plan_parser import parse_plan, read_plan_text
    from services.works import set_work_status

    path = settings.SHARED_DATA_DIR.parent / "plans" / "kon-ray-2024-kh-batgt.md"
    if not path.exists():
        return {}
    draft = parse_plan(read_plan_text(path.read_bytes(), path.name))
    pid = store.save_plan(draft, user=user)
    secs = store.sections_frame(pid).set_index("code")["id"]
    agencies = store.agencies_frame()
    standing = agencies.loc[agencies["is_standing_body"], "id"]
    lead = int(standing.iloc[0]) if len(standing) else int(agencies["id"].iloc[0])
    ubnd = agencies.loc[agencies["name"].str.contains("UBND huyện"), "id"]
    net = store.road_network()
    qi = int(net.index_of(["QL24"])[0])
    line = net.lines[qi]
    n_cases = 0
    today = date.today()
    for ch, off, kind, steps, deadline_days in DEMO_CASES:
        s = ch - net.km_start[qi]
        a, b, o = line.interpolate(s - 1), line.interpolate(s + 1), line.interpolate(s)
        tx, ty = b.x - a.x, b.y - a.y
        norm = (tx * tx + ty * ty) ** 0.5
        x, y = o.x - ty / norm * off, o.y + tx / norm * off
        lon, lat = transform([x], [y], net.crs.to_wkt(), WGS84)
        cid = store.add_case(geometry=shapely.Point(lon[0], lat[0]), kind=kind, commune=None,
                             description="Dữ liệu mô phỏng / simulated", user=user)
        v = 1
        for step in steps:
            extra = {}
            if step == "recorded":
                extra = {"record_no": f"{cid:02d}/BB-CA", "record_date": today - timedelta(days=40)}
            if step == "deadline_set":
                extra = {"deadline": today + timedelta(days=deadline_days or 15)}
            v = set_case_status(store, cid, step, expected_version=v, user=user, **extra).version
        store.link_item("case", cid, section_id=int(secs.get("II.3", secs.iloc[0])), lead_agency_id=lead, user=user)
        n_cases += 1
    spots = store.blackspots_frame(kind="black_spot")
    n_works = 0
    for (wt, desc, cost, done), sid in zip(
            [("signs", "Biển cảnh báo nguy hiểm, biển hạn chế tốc độ", 85_000_000, True),
             ("speed_humps", "Gờ giảm tốc, vạch sơn giảm tốc", 140_000_000, False)],
            spots.loc[spots["road_code"] == "QL24", "id"].head(2)):
        wid = store.add_work(work_type=wt, blackspot_id=int(sid), name=desc, description=desc, cost_vnd=cost,
                             funding_source="Ngân sách huyện (mô phỏng)",
                             agency_id=int(ubnd.iloc[0]) if len(ubnd) else lead,
                             planned_start=today - timedelta(days=120), planned_end=today + timedelta(days=30),
                             user=user)
        set_work_status(store, wid, "approved", expected_version=1, user=user)
        set_work_status(store, wid, "in_progress", expected_version=2, user=user, on=today - timedelta(days=90))
        if done:
            set_work_status(store, wid, "done", expected_version=3, user=user, on=today - timedelta(days=30))
        store.link_item("work", wid, section_id=int(secs.get("II.3", secs.iloc[0])), lead_agency_id=lead,
                        cooperating_agency_ids=[int(ubnd.iloc[0])] if len(ubnd) else [], user=user)
        store.link_item("blackspot", int(sid), section_id=int(secs.get("II.3", secs.iloc[0])), lead_agency_id=lead,
                        user=user)
        n_works += 1
    # a proposed work, not started: what the economic appraisal ranks (works page, Thẩm định kinh tế)
    for sid in spots.loc[spots["road_code"] == "QL24", "id"].iloc[2:3]:
        wid = store.add_work(work_type="guardrails", blackspot_id=int(sid), name="Hộ lan tôn sóng đoạn cong",
                             description="Hộ lan tôn sóng hai bên đoạn đường cong (đề xuất, mô phỏng)",
                             cost_vnd=420_000_000, funding_source="Ngân sách tỉnh (mô phỏng)", agency_id=lead,
                             planned_start=today + timedelta(days=60), planned_end=today + timedelta(days=150),
                             user=user)
        store.link_item("work", wid, section_id=int(secs.get("II.3", secs.iloc[0])), lead_agency_id=lead, user=user)
        n_works += 1
    return {"plan": pid, "cases": n_cases, "works": n_works}
