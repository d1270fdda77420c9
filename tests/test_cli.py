"""The command line, end to end, on files (and a throw-away SQLite store)."""

from __future__ import annotations

import io
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import cli
from geo.crs import WGS84, transform
from tests.conftest import SHARED


def _offset_points(ql24):
    """lon/lat of points 5, 15 and 30 m left of QL24 at a straight station, in WGS 84."""
    from geo.chainage import RoadNetwork

    net = RoadNetwork.from_wgs84(ql24["code"].to_numpy(), ql24["geometry"].to_numpy(), km_start=[132_000.0])
    line = net.lines[0]
    s = 1000.0
    a, b, o = line.interpolate(s - 1), line.interpolate(s + 1), line.interpolate(s)
    t = np.array([b.x - a.x, b.y - a.y]) / 2.0
    nrm = np.array([-t[1], t[0]]) / np.linalg.norm(t)
    xy = np.array([[o.x, o.y]]) + np.outer([5.0, 15.0, 30.0], nrm)
    lon, lat = transform(xy[:, 0], xy[:, 1], net.crs.to_wkt(), WGS84)
    return lon, lat


def test_corridor_check_on_files(tmp_path, ql24, capsys):
    roads = gpd.GeoDataFrame(
        {"name": ["QL24"], "class": ["III"], "km_start_m": [132_000.0]}, geometry=list(ql24["geometry"]), crs=4326
    )
    roads.to_file(tmp_path / "roads.geojson", driver="GeoJSON")
    lon, lat = _offset_points(ql24)
    pd.DataFrame({"id": ["a", "b", "c"], "lon": lon, "lat": lat}).to_csv(tmp_path / "pts.csv", index=False)
    rc = cli.main(
        [
            "corridor",
            "check",
            "--roads",
            str(tmp_path / "roads.geojson"),
            "--points",
            str(tmp_path / "pts.csv"),
            "--out",
            str(tmp_path / "out.csv"),
        ]
    )
    assert rc == 0
    out = pd.read_csv(tmp_path / "out.csv", encoding="utf-8-sig")
    assert list(out.columns[:6]) == ["id", "road", "chainage_m", "side", "distance_from_centreline_m", "zone"]
    assert out["zone"].tolist() == ["road_land", "corridor", "outside"]
    assert out["side"].tolist() == ["left"] * 3
    np.testing.assert_allclose(out["chainage_m"], 133_000.0, atol=0.2)
    np.testing.assert_allclose(out["distance_from_centreline_m"], [5, 15, 30], atol=0.05)
    assert "1 trong hành lang" in capsys.readouterr().out


def test_corridor_check_rejects_points_without_coordinates(tmp_path, ql24, capsys):
    gpd.GeoDataFrame({"name": ["QL24"]}, geometry=list(ql24["geometry"]), crs=4326).to_file(
        tmp_path / "roads.geojson", driver="GeoJSON"
    )
    (tmp_path / "pts.csv").write_text("id,ghi_chu\n1,quán nước\n", encoding="utf-8")
    rc = cli.main(
        [
            "corridor",
            "check",
            "--roads",
            str(tmp_path / "roads.geojson"),
            "--points",
            str(tmp_path / "pts.csv"),
            "--out",
            str(tmp_path / "out.csv"),
        ]
    )
    assert rc == 2
    assert "lon/lat" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


HK_BOUNDS_ARG = "113.8,22.1,114.5,22.6"


def _hk_frame(hk_slice, n=40):
    """Real Hong Kong rows, with a few broken on purpose."""
    f = hk_slice.frame.head(n).copy()
    f = f.loc[pd.to_numeric(f["Kinh độ"], errors="coerce").between(113.8, 114.5)].head(30).reset_index(drop=True)
    f.loc[3, "Số người chết"] = "-1"  # negative deaths
    f.loc[5, "Ngày giờ"] = "31/02/2019"  # no such date
    return f


def _write(fmt, frame, path):
    """The same crashes in each supported format."""
    lon = pd.to_numeric(frame["Kinh độ"], errors="coerce")
    lat = pd.to_numeric(frame["Vĩ độ"], errors="coerce")
    if fmt == "csv":
        frame.to_csv(path, index=False, encoding="utf-8")
    elif fmt == "csv-bom":
        frame.to_csv(path, index=False, encoding="utf-8-sig")
    elif fmt == "csv-cp1258":
        from geo.io import encode_cp1258

        path.write_bytes(encode_cp1258(frame.to_csv(index=False)))
    elif fmt == "xlsx":
        frame.to_excel(path, index=False)
    else:
        short = pd.DataFrame(
            {
                "id": frame["Mã vụ"],
                "date": frame["Ngày giờ"],
                "deaths": frame["Số người chết"],
                "injured": frame["Số người bị thương"],
            }
        )
        gdf = gpd.GeoDataFrame(short, geometry=gpd.points_from_xy(lon, lat), crs=4326)
        if fmt == "geojson":
            gdf.to_file(path, driver="GeoJSON")
        elif fmt == "gpkg":
            gdf.to_file(path, driver="GPKG")
        elif fmt == "kml":
            marks = "".join(
                f"<Placemark><name>{r.id}</name><ExtendedData><Data name='date'><value>{r.date}</value></Data>"
                f"<Data name='deaths'><value>{r.deaths}</value></Data><Data name='injured'><value>{r.injured}"
                f"</value></Data></ExtendedData><Point><coordinates>{r.geometry.x},{r.geometry.y}</coordinates>"
                f"</Point></Placemark>"
                for r in gdf.itertuples()
            )
            path.write_text(
                f"<?xml version='1.0' encoding='UTF-8'?><kml xmlns='http://www.opengis.net/kml/2.2'>"
                f"<Document>{marks}</Document></kml>",
                encoding="utf-8",
            )
        elif fmt == "shp.zip":
            d = path.parent / "shp"
            d.mkdir()
            gdf.to_file(d / "crashes.shp")
            with zipfile.ZipFile(path, "w") as z:
                for f in d.iterdir():
                    z.write(f, f.name)


@pytest.mark.parametrize(
    "fmt, name",
    [
        ("csv", "vu.csv"),
        ("csv-bom", "vu_bom.csv"),
        ("csv-cp1258", "vu_1258.csv"),
        ("xlsx", "vu.xlsx"),
        ("geojson", "vu.geojson"),
        ("gpkg", "vu.gpkg"),
        ("shp.zip", "vu.zip"),
        ("kml", "vu.kml"),
    ],
)
def test_cli_import_crashes_in_every_format(tmp_path, monkeypatch, capsys, hk_slice, fmt, name):
    from models.store import Store

    url = f"sqlite:///{tmp_path / 'kho.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    frame = _hk_frame(hk_slice)
    path = tmp_path / name
    _write(fmt, frame, path)
    assert cli.main(["import", "crashes", str(path), "--bounds", HK_BOUNDS_ARG]) == 0
    out = capsys.readouterr().out
    assert "30 dòng / rows: 28 hợp lệ / valid, 2 lỗi / with errors" in out
    report = pd.read_csv(path.with_suffix(".report.csv"), encoding="utf-8-sig")
    errors = report.loc[report["level"] == "error"]
    assert sorted(errors["row"].tolist()) == [5, 7]  # the two broken rows, numbered as in Excel
    assert Store(url).crash_count() == 28
    # the same file again adds nothing; --all-or-nothing with bad rows imports nothing
    assert cli.main(["import", "crashes", str(path), "--bounds", HK_BOUNDS_ARG]) == 0
    assert "đã có trong kho / already in store 28" in capsys.readouterr().out
    assert cli.main(["import", "crashes", str(path), "--bounds", HK_BOUNDS_ARG, "--all-or-nothing"]) == 1
    assert Store(url).crash_count() == 28


def test_cli_import_cases_and_boundaries(tmp_path, monkeypatch, capsys, ql24):
    from models.store import Store

    url = f"sqlite:///{tmp_path / 'kho.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    Store(url).add_roads(ql24)
    assert (
        cli.main(["import", "boundaries", str(SHARED / "vietnam" / "kon_ray_district.geojson"), "--level", "district"])
        == 0
    )
    assert Store(url).admin_units_frame()["level"].tolist() == ["district"]
    lon, lat = _offset_points(ql24)
    pd.DataFrame({"ma": ["LC1", "LC2", "LC3"], "loai": ["quán", "lều", "nhà"], "lon": lon, "lat": lat}).to_csv(
        tmp_path / "lc.csv", index=False
    )
    assert cli.main(["import", "cases", str(tmp_path / "lc.csv")]) == 0
    assert "Recorded 3 encroachment cases (2 inside" in capsys.readouterr().out
    cases = Store(url).cases_frame()
    assert cases["zone"].tolist() == ["road_land", "corridor", "outside"] and cases["kind"].tolist() == [
        "quán",
        "lều",
        "nhà",
    ]


def test_cli_acts_for_its_user_and_the_store_refuses_other_communes(tmp_path, monkeypatch, capsys, hk_slice):
    """Once accounts exist, --user must name one and prove it with its password;
    its role and commune apply to what the CLI writes."""

    from models.store import Store

    url = f"sqlite:///{tmp_path / 'kho.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    Store(url)
    stdin = lambda text: monkeypatch.setattr("sys.stdin", io.StringIO(text))  # noqa: E731
    stdin("quan-tri-2025\n")
    assert cli.main(["user", "add", "quantri", "--role", "viewer", "--password-stdin"]) == 2  # first must be admin
    assert "phải là quản trị" in capsys.readouterr().err
    stdin("quan-tri-2025\n")
    assert cli.main(["user", "add", "quantri", "--role", "admin", "--password-stdin"]) == 0
    # the acting admin's password first, then the new account's
    stdin("quan-tri-2025\nxa-mat-khau\n")
    assert (
        cli.main(
            [
                "--user",
                "quantri",
                "--password-stdin",
                "user",
                "add",
                "lan",
                "--role",
                "commune_editor",
                "--commune",
                "Đăk Ruồng",
                "--password-stdin",
            ]
        )
        == 0
    )
    capsys.readouterr()
    frame = _hk_frame(hk_slice)  # Hong Kong rows: their district is not Đăk Ruồng
    frame.to_csv(tmp_path / "vu.csv", index=False)
    stdin("xa-mat-khau\n")
    assert (
        cli.main(
            [
                "--user",
                "lan",
                "--password-stdin",
                "import",
                "crashes",
                str(tmp_path / "vu.csv"),
                "--bounds",
                HK_BOUNDS_ARG,
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "chỉ được nhập dữ liệu mục của xã Đăk Ruồng" in err and len(err.strip().splitlines()) == 1
    assert Store(url).crash_count() == 0
    stdin("x\n")
    assert cli.main(["--user", "nobody", "--password-stdin", "batches"]) == 2
    assert "Wrong user name or password" in capsys.readouterr().err
    # a name alone no longer acts as that account
    stdin("")
    assert cli.main(["--user", "quantri", "batches"]) == 2
    assert "--password-stdin" in capsys.readouterr().err
    assert cli.main(["batches"]) == 2
    assert "--user" in capsys.readouterr().err
    stdin("wrong-password\n")
    assert cli.main(["--user", "quantri", "--password-stdin", "import", "crashes", str(tmp_path / "vu.csv")]) == 2
    assert "Sai tên đăng nhập hoặc mật khẩu" in capsys.readouterr().err
    stdin("quan-tri-2025\n")
    assert (
        cli.main(
            [
                "--user",
                "quantri",
                "--password-stdin",
                "import",
                "crashes",
                str(tmp_path / "vu.csv"),
                "--bounds",
                HK_BOUNDS_ARG,
            ]
        )
        == 0
    )
    assert Store(url).crash_count() == 28
    assert Store(url).batches_frame()["created_by"].tolist() == ["quantri"]


def test_cli_service_token_acts_as_its_account_until_revoked(tmp_path, monkeypatch, capsys):
    import getpass

    from models.store import Store

    url = f"sqlite:///{tmp_path / 'kho.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr("sys.stdin", io.StringIO("quan-tri-2025\n"))
    assert cli.main(["user", "add", "quantri", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("quan-tri-2025\n"))
    capsys.readouterr()
    assert (
        cli.main(["--user", "quantri", "--password-stdin", "token", "create", "nhap-hang-dem", "--for", "quantri"]) == 0
    )
    token = capsys.readouterr().out.strip()
    assert len(token) >= 40
    store = Store(url)
    with store.engine.connect() as c:
        from sqlalchemy import text

        hashes = c.execute(text("select token_hash from service_token")).scalars().all()
        audit = " ".join(str(r) for r in c.execute(text("select changes, os_user from audit_log")).all())
    assert token not in hashes and len(hashes) == 1  # only its hash is kept
    assert token not in audit and hashes[0] not in audit
    assert getpass.getuser() in audit  # the operating-system user is in the audit rows
    monkeypatch.setenv("BLACKSPOT_TOKEN", token)
    assert cli.main(["init-db"]) == 0
    assert cli.main(["batches"]) == 0
    assert cli.main(["token", "revoke", "1"]) == 0
    assert cli.main(["batches"]) == 2
    assert "thu hồi" in capsys.readouterr().err


def test_make_run_steps_work_once_accounts_exist(tmp_path, monkeypatch, capsys):
    """`make run` calls init-db and load-demo every time; with accounts and a loaded store they must not fail."""
    import io

    from models.store import Store

    url = f"sqlite:///{tmp_path / 'kho.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli.main(["load-demo", "--hk-limit", "50"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("quan-tri-2025\n"))
    assert cli.main(["user", "add", "quantri", "--role", "admin", "--password-stdin"]) == 0
    capsys.readouterr()
    assert cli.main(["init-db"]) == 0 and cli.main(["load-demo"]) == 0
    assert "bỏ qua" in capsys.readouterr().out
    assert Store(url).crash_count() > 288


def test_cli_export_within_an_area_gives_what_the_pages_show(ql24_store, tmp_path, monkeypatch, capsys):
    """`export KIND --out FILE --area WKT|GeoJSON|FILE`: the rows the pages show for the same drawn area (the
    shared filters' own functions, checked independently here); a line or an unreadable area is refused in one
    line, nothing written."""
    import json as _json

    import shapely

    from services.blackspots import run_screening

    store = ql24_store
    run_screening(store)
    monkeypatch.setenv("DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    crashes = store.crashes_frame()
    spots = store.blackspots_frame()
    spots = spots.loc[spots["geometry"].notna()]
    # around the first spot: some crashes and spots inside, others not
    area = shapely.box(*spots["geometry"].iloc[0].bounds).buffer(0.01)
    inside_crashes = set(crashes.loc[shapely.contains_xy(area, crashes["lon"], crashes["lat"]), "id"])
    inside_spots = {int(i) for i, g in zip(spots["id"], spots["geometry"]) if g.intersects(area)}
    assert 0 < len(inside_crashes) < len(crashes) and 0 < len(inside_spots) < len(spots)
    geojson = tmp_path / "area.geojson"
    geojson.write_text(_json.dumps({"type": "Feature", "geometry": shapely.geometry.mapping(area)}), encoding="utf-8")
    for given in (area.wkt, str(geojson)):
        out = tmp_path / "crashes.csv"
        assert cli.main(["export", "crashes", "--out", str(out), "--area", given]) == 0
        got = pd.read_csv(out, encoding="utf-8-sig")
        assert set(got["id"]) == inside_crashes
        out = tmp_path / "spots.csv"
        assert cli.main(["export", "spots", "--out", str(out), "--area", given]) == 0
        assert set(pd.read_csv(out, encoding="utf-8-sig")["id"]) == inside_spots
    out = tmp_path / "refused.csv"
    capsys.readouterr()
    assert cli.main(["export", "crashes", "--out", str(out), "--area", "LINESTRING (108 14, 108.1 14.1)"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Lỗi / Error: Vùng lọc phải là đa giác") and "\n" not in err
    assert not out.exists()


@pytest.mark.parametrize("ext", ["csv", "xlsx", "geojson", "gpkg", "kml"])
def test_cli_export_the_stores_tables(ql24_store, tmp_path, monkeypatch, capsys, ext):
    """`export crashes|spots|cases|works --out FILE` by extension; the crashes CSV carries the batch columns."""
    from services.blackspots import run_screening

    store = ql24_store
    run_screening(store)
    monkeypatch.setenv("DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    crashes = store.crashes_frame().sort_values("id")
    for kind in ("crashes", "spots", "cases", "works"):
        out = tmp_path / f"{kind}.{ext}"
        assert cli.main(["export", kind, "--out", str(out)]) == 0, capsys.readouterr().err
        assert out.stat().st_size > 0
    if ext == "csv":
        got = pd.read_csv(tmp_path / "crashes.csv", encoding="utf-8-sig", dtype={"source_id": str})
        need = [
            "source_id",
            "date",
            "time",
            "road",
            "chainage_m",
            "commune",
            "deaths",
            "injured",
            "cause",
            "lon",
            "lat",
        ]
        assert set(need) <= set(got.columns)
        assert len(got) == len(crashes) == 288
        first = got.iloc[0]
        ref = crashes.iloc[0]
        assert first["date"] == ref["occurred_at"].strftime("%Y-%m-%d")
        assert first["time"] == ref["occurred_at"].strftime("%H:%M")
        assert first["road"] == ref["road_code"] and first["deaths"] == ref["deaths"]
        assert abs(first["chainage_m"] - ref["chainage_m"]) < 0.1 and abs(first["lon"] - ref["lon"]) < 1e-6
    if ext in ("geojson", "gpkg"):
        g = gpd.read_file(tmp_path / f"crashes.{ext}")
        assert len(g) == 288 and g.geometry.notna().all()
    assert cli.main(["export", "crashes", "--out", str(tmp_path / "x.pdf")]) == 2
    assert "Unsupported output" in capsys.readouterr().err


def test_cli_org_profile_drives_the_proposal(ql24_store, tmp_path, monkeypatch, capsys):
    """`org set` then `proposal --out`: the issuer, place, addressee and signer come from the profile, and the
    plan cited is the one that covers the spots."""
    import io as _io
    import json as _json

    import docx

    from services.blackspots import run_screening
    from services.plan_parser import parse_plan, read_plan_text

    store = ql24_store
    run_screening(store)
    plan_file = SHARED.parent / "plans" / "kon-ray-2024-kh-batgt.md"
    store.save_plan(parse_plan(read_plan_text(plan_file.read_bytes(), plan_file.name)))
    monkeypatch.setenv("DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    assert (
        cli.main(
            [
                "org",
                "set",
                "--name",
                "Ban An toàn giao thông xã Đăk Kôi",
                "--level",
                "commune",
                "--parent",
                "UBND xã Đăk Kôi",
                "--place",
                "Đăk Kôi",
                "--receiver",
                "Ban An toàn giao thông tỉnh Quảng Ngãi",
                "--signer",
                "Nguyễn Văn An",
                "--signer-title",
                "KT. TRƯỞNG BAN / PHÓ TRƯỞNG BAN",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert cli.main(["org", "show", "--json"]) == 0
    org = _json.loads(capsys.readouterr().out)
    assert org["receiver"] == "Ban An toàn giao thông tỉnh Quảng Ngãi" and org["level"] == "commune"
    ids = store.blackspots_frame(kind="black_spot")["id"].astype(int).tolist()[:2]
    out = tmp_path / "to_trinh.docx"
    assert cli.main(["proposal", "--out", str(out), "--spots", ",".join(map(str, ids))]) == 0
    doc = docx.Document(_io.BytesIO(out.read_bytes()))
    head = [p.text for p in doc.tables[0].cell(0, 0).paragraphs]
    assert head[:2] == ["UBND XÃ ĐĂK KÔI", "BAN AN TOÀN GIAO THÔNG"]
    date_line = [p.text for p in doc.tables[0].cell(0, 1).paragraphs if "ngày" in p.text][0]
    assert date_line.startswith("Đăk Kôi, ngày ")
    texts = [p.text for p in doc.paragraphs]
    assert "Kính gửi: Ban An toàn giao thông tỉnh Quảng Ngãi." in texts
    assert any(t.startswith("Căn cứ Kế hoạch số") for t in texts)  # the plan is cited
    sig = [p.text for p in doc.tables[-1].cell(0, 1).paragraphs]
    assert sig[:2] == ["KT. TRƯỞNG BAN", "PHÓ TRƯỞNG BAN"] and sig[-1] == "Nguyễn Văn An"
    assert len(doc.tables[1].rows) == len(ids) + 2
    assert cli.main(["proposal", "--out", str(tmp_path / "x.docx"), "--plan", "999/KH-XYZ"]) == 2
    assert "999/KH-XYZ" in capsys.readouterr().err


def test_cli_imports_the_2025_communes_with_their_unit_word_and_old_names_map_to_them(tmp_path, monkeypatch, capsys):
    """The official 2025 commune file names units without their word ("Kon Braih", loai "Xã"): imported,
    they read "Xã Kon Braih", as crash files write them, and a crash recorded under an old commune gains it."""
    import geopandas as gpd

    from models.store import Store
    from services.communes import match_communes, old_to_new_table

    src = SHARED / "vietnam" / "2025" / "vn_communes_2025.gpkg"
    part = gpd.read_file(src, layer="communes", where="ten_tinh = 'Quảng Ngãi'")
    assert len(part) > 50
    path = tmp_path / "xa_2025.gpkg"
    part.to_file(path, layer="communes", driver="GPKG")
    url = f"sqlite:///{tmp_path / 'kho.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli.main(["import", "boundaries", str(path), "--level", "commune"]) == 0
    units = Store(url).admin_unit_names()
    assert len(units) == len(part)
    expected = dict(zip(part["ma_xa"], part["loai"] + " " + part["ten_xa"]))
    assert dict(zip(units["code"], units["name"])) == expected
    assert "Xã Kon Braih" in set(units["name"])
    m = match_communes(pd.Series(["xã Kon Braih", "X. Đăk Ruồng"]), units, old_to_new_table())
    assert m["commune"].tolist()[0] == "Xã Kon Braih"
    assert m["commune_now"].tolist()[1] == "Xã Kon Braih"


def test_cli_kde_finds_the_tight_group_on_a_long_road(tmp_path, capsys):
    """Issue 19.3: ``cli.py kde --crashes FILE --out OUT.csv``: KDE+ clusters with their crash ids."""
    group = [("G1", 10000), ("G2", 10010), ("G3", 10025), ("G4", 10040), ("G5", 10060)]
    scattered = [("S1", 0), ("S2", 3000), ("S3", 7000), ("S4", 14000), ("S5", 20000)]
    rows = [(i, "QL14", m) for i, m in scattered + group] + [("X1", "", 500), ("X2", "QL14", None)]
    frame = pd.DataFrame(rows, columns=["id", "road", "chainage_m"]).assign(date="05/03/2024", deaths=0, injured=1)
    src = tmp_path / "crashes.csv"
    frame.to_csv(src, index=False)
    out = tmp_path / "kde.csv"
    assert cli.main(["kde", "--crashes", str(src), "--out", str(out), "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "1 cụm KDE+ / KDE+ clusters" in printed and "10 vụ được phân tích" in printed and "2 vụ thiếu" in printed
    got = pd.read_csv(out)
    assert list(got.columns) == ["road", "from_m", "to_m", "strength", "crash_ids", "n_crashes"]
    assert len(got) == 1
    row = got.iloc[0]
    assert row["road"] == "QL14" and row["crash_ids"] == "G1;G2;G3;G4;G5" and row["n_crashes"] == 5
    assert 9700 <= row["from_m"] <= 10000 and 10060 <= row["to_m"] <= 10360 and 0 < row["strength"] <= 1
    # a wider bandwidth and a stricter test: still the group, never a scattered crash
    assert (
        cli.main(
            [
                "kde",
                "--crashes",
                str(src),
                "--out",
                str(out),
                "--bandwidth",
                "200",
                "--simulations",
                "100",
                "--alpha",
                "0.01",
                "--min-crashes",
                "3",
                "--step",
                "5",
            ]
        )
        == 0
    )
    got = pd.read_csv(out)
    assert got["crash_ids"].tolist() == ["G1;G2;G3;G4;G5"]
    # parameters out of range: one line in the user's words (no Python class name), exit 2, no file written
    out.unlink()
    for flag, value, said in (
        ("--bandwidth", "0", "Băng thông phải là số dương"),
        ("--alpha", "1.5", "Mức ý nghĩa phải nằm giữa 0 và 1"),
        ("--step", "nan", "Bước phải là số dương"),
    ):
        assert cli.main(["kde", "--crashes", str(src), "--out", str(out), flag, value]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"Lỗi / Error: {said}") and "ValueError" not in err and "\n" not in err
        assert not out.exists()


def test_cli_appraise_ranks_the_proposed_works_and_chooses_within_the_budget(ql24_store, monkeypatch, capsys):
    """Issue 19.1: `appraise --budget VND --json`: every proposed work with its cost, crashes avoided, PV of
    benefits, NPV and B/C, ranked by B/C; the works chosen are the best set within the budget; the assumptions."""
    import json as _json

    from geo.appraisal import brute_force
    from services.blackspots import run_screening
    from services.works import set_work_status

    store = ql24_store
    run_screening(store)
    spots = store.blackspots_frame(kind="black_spot")["id"].astype(int).tolist()
    plan = [("junction", 500e6), ("guardrails", 250e6), ("lighting", 300e6), ("markings", 60e6), ("signals", 900e6)]
    ids = [
        store.add_work(work_type=wt, blackspot_id=sid, name=f"thử {wt}", cost_vnd=c)
        for (wt, c), sid in zip(plan, spots)
    ]
    started = store.add_work(work_type="signs", blackspot_id=spots[0], cost_vnd=10e6)
    set_work_status(store, started, "approved", expected_version=1)
    set_work_status(store, started, "in_progress", expected_version=2)  # started: not appraised
    monkeypatch.setenv("DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    assert cli.main(["appraise", "--budget", "1000000000", "--json"]) == 0
    out = _json.loads(capsys.readouterr().out)
    works = out["works"]
    assert sorted(w["id"] for w in works) == sorted(ids)
    for w in works:
        assert {
            "id",
            "name",
            "cost_vnd",
            "avoided_crashes_per_year",
            "pv_benefit_vnd",
            "npv_vnd",
            "bcr",
            "selected",
        } <= set(w)
        assert w["npv_vnd"] == pytest.approx(w["pv_benefit_vnd"] - w["cost_vnd"], abs=1)
    bcrs = [w["bcr"] for w in works]
    assert bcrs == sorted(bcrs, reverse=True) and [w["rank"] for w in works] == list(range(1, len(works) + 1))
    chosen = [w for w in works if w["selected"]]
    sel = out["selection"]
    assert sel["cost_vnd"] == sum(w["cost_vnd"] for w in chosen) <= 1e9
    best = brute_force([w["cost_vnd"] for w in works], [w["pv_benefit_vnd"] for w in works], 1e9)
    assert sel["pv_benefit_vnd"] == pytest.approx(best, abs=len(works))
    a = out["assumptions"]
    assert a["gdp_year"] == 2024 and a["vsl_vnd"] == pytest.approx(70 * a["gdp_per_capita_vnd"])
    assert a["discount_rate"] == pytest.approx(0.10)
    assert all(r["source"] for r in out["cmf"])
    # without --json: a table, the chosen works marked
    assert cli.main(["appraise", "--budget", "1000000000"]) == 0
    text = capsys.readouterr().out
    assert "B/C" in text and "VSL" in text and "Ngân sách / budget 1.000.000.000" in text


@pytest.mark.parametrize(
    "args",
    [
        ["--budget", "nan"],
        ["--budget", "-1"],
        ["--budget", "inf"],
        ["--years", "inf"],
        ["--years", "0"],
        ["--years", "1e30"],
    ],
)
def test_cli_appraise_refuses_a_budget_or_years_out_of_range_in_one_line(ql24_store, monkeypatch, capsys, args):
    """From the hostile-input probe: `--years nan` was a raw ValueError, `--budget -1` silently 0 works."""
    monkeypatch.setenv("DATABASE_URL", ql24_store.engine.url.render_as_string(hide_password=False))
    assert cli.main(["appraise", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and args[0] in err[0] and "Traceback" not in err[0]


def test_cli_cluster_hdbscan_gives_scikit_learns_clusters(tmp_path, capsys):
    """``cli.py cluster --method hdbscan --min-samples 5``: each crash's cluster
    is the one scikit-learn's HDBSCAN gives it (the same partition, the same
    noise) on 4 000 real crash positions, some of them repeated."""
    import warnings

    from sklearn.cluster import HDBSCAN

    from geo.cluster import same_partition
    from geo.crs import to_metric

    pts = pd.read_csv(SHARED / "crashes" / "uk_2015_points.csv.gz", nrows=4200).dropna().head(4000)
    frame = pd.DataFrame(
        {"id": [f"UK{i}" for i in range(len(pts))], "lon": pts["lng"].to_numpy(), "lat": pts["lat"].to_numpy()}
    ).assign(date="05/03/2024", deaths=0, injured=1)
    src = tmp_path / "crashes.csv"
    frame.to_csv(src, index=False)
    out, labels = tmp_path / "clusters.csv", tmp_path / "labels.csv"
    argv = ["cluster", "--crashes", str(src), "--out", str(out), "--labels", str(labels)]
    assert cli.main([*argv, "--method", "hdbscan", "--min-samples", "5"]) == 0
    got = pd.read_csv(labels, dtype={"crash_id": str}).set_index("crash_id").loc[frame["id"], "cluster"].to_numpy()
    x, y, _ = to_metric(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = HDBSCAN(min_cluster_size=5, min_samples=5).fit_predict(np.column_stack([x, y]))
    assert want.max() >= 50
    assert same_partition(got, want) and np.array_equal(got == -1, want == -1)
    table = pd.read_csv(out)
    assert len(table) == want.max() + 1 and table["n_crashes"].sum() == (want >= 0).sum()
    assert f"{int((want < 0).sum())} điểm nhiễu / noise points" in capsys.readouterr().out


def test_cli_cluster_counts_positions_off_the_globe_and_refuses_bad_counts(tmp_path, capsys):
    """A latitude of 95, longitude and latitude swapped, or no position: the
    rows stay, without a cluster, counted apart from the noise; the run goes
    on. ``--min-samples 0`` is refused in one line in both languages, with no
    class name; the HDBSCAN summary names no ``eps`` (it has none)."""
    pts = pd.read_csv(SHARED / "crashes" / "uk_2015_points.csv.gz", nrows=600).dropna().head(500)
    frame = pd.DataFrame(
        {"id": [f"UK{i}" for i in range(len(pts))], "lon": pts["lng"].to_numpy(), "lat": pts["lat"].to_numpy()}
    ).assign(date="05/03/2024", deaths=0, injured=1)
    frame.loc[0, "lat"] = 95.0
    frame.loc[1, ["lon", "lat"]] = [frame.loc[1, "lat"], 190.0]
    frame.loc[2, ["lon", "lat"]] = [None, None]
    frame.loc[3, "lat"] = None  # half a position
    src = tmp_path / "crashes.csv"
    frame.to_csv(src, index=False)
    out, labels = tmp_path / "clusters.csv", tmp_path / "labels.csv"
    argv = ["cluster", "--crashes", str(src), "--out", str(out), "--labels", str(labels), "--method", "hdbscan"]
    assert cli.main([*argv, "--min-samples", "5"]) == 0
    printed = capsys.readouterr().out
    got = pd.read_csv(labels, dtype={"crash_id": str}).set_index("crash_id")["cluster"]
    assert got.loc[["UK0", "UK1", "UK2", "UK3"]].tolist() == [-1, -1, -1, -1]
    noise = int((got.drop(["UK0", "UK1", "UK2", "UK3"]) < 0).sum())
    assert f"(HDBSCAN, min 5); {noise} điểm nhiễu / noise points; 4 vụ không có tọa độ hợp lệ" in printed
    assert "eps" not in printed
    assert cli.main([*argv, "--min-samples", "0"]) == 2
    err = capsys.readouterr()
    message = (err.out + err.err).strip()
    assert (
        "min_samples" in message and "phải là số nguyên từ 1" in message and "must be a whole number from 1" in message
    )
    assert "Error" not in message.replace("Lỗi / Error:", "") and len(message.splitlines()) == 1
