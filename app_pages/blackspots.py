"""Trang điểm đen / Black spots: re-run the screening, the ranked list with its
"why", status changes, and density clusters."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import settings
from errors import BlackspotError
from geo.chainage import format_chainage
from geo.rules import load_rulesets
from geo.severity import labels as severity_labels
from i18n import t
from models.enums import BlackspotStatus, SpotKind
from app_pages.panel import dossier_button
from services.communes import current_units, with_current
from app_pages.common import (
    current_user,
    filters,
    get_store,
    invalidate,
    lang,
    load_crashes,
    md_text,
    number,
    show_error,
    tr,
)
from services.filters import filter_spots
from services.items import change_status, forward_first
from services.lifecycle import BLACKSPOT_TRANSITIONS
from services.blackspots import (
    KDE_BANDWIDTH_M,
    KDE_MIN_CRASHES,
    KDE_N_SIM,
    clusters,
    kde_clusters,
    ranked_spots,
    run_screening,
    screen_lines,
    screen_summary,
    stretch_text,
)

L = lang()
st.title(t("blackspots", L))
store = get_store()
rulesets = load_rulesets()

tab_list, tab_cluster = st.tabs([tr("Theo quy định"), tr("Cụm mật độ")])

with tab_list:
    with st.form("screen_form"):
        c = st.columns(4)
        rs_id = c[0].selectbox(
            tr("Bộ quy tắc"),
            list(rulesets),
            format_func=lambda k: rulesets[k].name,
            index=list(rulesets).index(settings.DEFAULT_RULESET),
        )
        rs = rulesets[rs_id]
        rural = c[1].number_input(
            tr("Chiều dài đoạn ngoài đô thị (m)"), 50, 5000, int(rs.segment_length_m["rural"]), step=50
        )
        urban = c[2].number_input(tr("Trong đô thị (m)"), 50, 5000, int(rs.segment_length_m["urban"]), step=50)
        c[3].caption(tr("Cửa sổ thời gian: {n} tháng (trượt)").format(n=rs.window_months))
        go = st.form_submit_button(tr("Rà soát lại"), type="primary")
    if go:
        try:
            with st.spinner(tr("Đang rà soát…")):
                result, counts = run_screening(
                    store, ruleset=rs_id, window_m=rural, urban_window_m=urban, user=current_user()
                )
        except BlackspotError as exc:
            show_error(exc)
        else:
            invalidate()
            vi = L == "vi"
            st.success(
                tr("{rs}: {b} điểm đen, {p} điểm tiềm ẩn.").format(
                    rs=result.ruleset.name, b=len(result.black_spots), p=len(result.potential_points)
                )
                + " "
                + screen_summary(counts, vi=vi)
                + "."
            )
            lines = screen_lines(counts, vi=vi)
            if lines:
                with st.expander(tr("Những gì đã thay đổi"), expanded=True):
                    st.markdown("\n".join(f"- {md_text(x)}" for x in lines))
            if filters().ruleset not in (None, rs_id):
                st.info(
                    tr("Kết quả theo {rs} được lưu riêng; chọn bộ quy tắc này ở thanh bên để xem.").format(
                        rs=result.ruleset.name
                    )
                )

    f = st.columns(3)
    kind_opt = {None: tr("Tất cả"), "black_spot": t("black_spots", L), "potential": t("potential", L)}
    kind = f[0].selectbox(tr("Loại"), list(kind_opt), format_func=kind_opt.get)
    all_spots = store.blackspots_frame(kind=kind)
    roads = sorted(all_spots["road_code"].dropna().unique()) if len(all_spots) else []
    road = f[1].selectbox(tr("Tuyến"), ["—"] + roads)
    status_labels = {s.value: s.label(L) for s in BlackspotStatus}
    sev_labels = severity_labels(L)
    statuses = f[2].multiselect(
        tr("Trạng thái"), list(status_labels), format_func=status_labels.get, placeholder=tr("Tất cả")
    )
    spots = ranked_spots(store, kind=kind, road=None if road == "—" else road, statuses=statuses or None)
    spots = filter_spots(spots, filters())  # period, commune, road and rule set of the sidebar

    if spots.empty:
        st.info(tr("Chưa có điểm nào"))
    else:
        now_of = current_units(load_crashes(settings.database_url()))
        table = pd.DataFrame(
            {
                "ID": spots["id"],
                tr("Loại"): spots["kind"].map(lambda k: SpotKind(k).label(L)),
                tr("Tuyến"): spots["road_code"],
                tr("Xã/phường"): spots["commune"].map(lambda c: with_current(c, now_of.get(c))),
                tr("Từ"): spots["from_m"].map(format_chainage),
                tr("Đến"): spots["to_m"].map(format_chainage),
                tr("Đoạn"): [stretch_text(r, vi=L == "vi") for r in spots.to_dict("records")],
                tr("Tiêu chí"): spots["tests"],
                tr("12 tháng"): spots["window_start"].map(lambda d: d.strftime("%d/%m/%Y") if d else "")
                + " – "
                + spots["window_end"].map(lambda d: d.strftime("%d/%m/%Y") if d else ""),
                tr("Số vụ"): spots["n_crashes"],
                tr("Chết"): spots["deaths"],
                tr("Bị thương"): spots["injured"],
                "EPDO": spots["epdo"],
                tr("Xu hướng %"): spots["trend_pct"].map(lambda v: "—" if pd.isna(v) else f"{v:+.0f}"),
                tr("Trạng thái"): spots["status"].map(status_labels),
                tr("Còn đạt"): spots["still_qualifies"],
            }
        )
        st.dataframe(
            table,
            width="stretch",
            hide_index=True,
            key="spot_table",
            column_config={tr("Đoạn"): st.column_config.TextColumn(width="medium")},
        )
        w = settings.EPDO_WEIGHTS
        st.caption(
            tr("EPDO: vụ có người chết × {f}, vụ bị thương × {i}, va chạm × {p}.").format(
                f=f"{w['fatal']:g}", i=f"{w['injury']:g}", p=f"{w['pdo']:g}"
            )
        )

        sel = st.selectbox(
            tr("Xem chi tiết điểm"),
            spots["id"].tolist(),
            key="spot_detail",
            format_func=lambda i: (
                f"#{i} {spots.set_index('id').loc[i, 'road_code'] or ''} "
                f"{format_chainage(spots.set_index('id').loc[i, 'from_m'])}"
            ),
        )
        row = spots.set_index("id").loc[sel]
        if st.button(tr("Mở trên bản đồ"), key="open_on_map"):
            st.session_state["map_selected"] = st.session_state["map_pick"] = ("blackspot", int(sel))
            st.session_state.pop("map_point", None)
            st.switch_page("app_pages/map.py")
        dossier_button(int(sel), key="bs")
        st.subheader(
            md_text(
                f"#{sel} · {SpotKind(row['kind']).label(L)} · {row['road_code'] or ''} "
                f"{format_chainage(row['from_m'])} – {format_chainage(row['to_m'])}"
            )
        )
        if row["manual"]:
            st.write(f"**{tr('Gắn cờ thủ công')}:** {md_text(row['manual_reason'] or '')}")
        else:
            rs_name = rulesets[row["ruleset"]].name if row["ruleset"] in rulesets else row["ruleset"]
            st.markdown(
                f"**{tr('Vì sao')}:** {row['test_labels']} ({row['tests']}; {rs_name}), "
                + tr("trong 12 tháng {a} – {b}: {n} vụ, {d} chết, {i} bị thương.").format(
                    a=f"{row['window_start']:%d/%m/%Y}",
                    b=f"{row['window_end']:%d/%m/%Y}",
                    n=row["n_crashes"],
                    d=row["deaths"],
                    i=row["injured"],
                )
            )
        crashes = load_crashes(settings.database_url())
        ids = [int(i) for i in (row["crash_ids"] or [])]
        in_win = set(int(i) for i in (row["window_crash_ids"] or []))
        cr = crashes.loc[crashes["id"].isin(ids)].copy()
        shown = pd.DataFrame(
            {
                "ID": cr["id"],
                tr("Ngày"): cr["occurred_at"].dt.strftime("%d/%m/%Y"),
                tr("Lý trình"): cr["chainage_m"].map(format_chainage),
                tr("Xã/phường"): [with_current(a, b) for a, b in zip(cr["commune"], cr["commune_now"])],
                tr("Chết"): cr["deaths"],
                tr("Bị thương"): cr["injured"],
                tr("Mức độ"): cr["severity"].map(sev_labels),
                tr("Không do hạ tầng"): cr["not_infrastructure"],
                tr("Trong cửa sổ"): cr["id"].isin(in_win),
                tr("Nguyên nhân"): cr["cause"].fillna(""),
                tr("Phương tiện"): cr["vehicle_types"].fillna(""),
                tr("Mô tả"): cr["description"].fillna(""),
            }
        )
        st.dataframe(shown, width="stretch", hide_index=True)
        current = BlackspotStatus(row["status"])
        allowed = [BlackspotStatus(v) for v, _ in forward_first(current, BLACKSPOT_TRANSITIONS, L)]
        with st.form(f"status_{sel}"):
            st.write(f"{tr('Trạng thái hiện tại')}: **{current.label(L)}**")
            new = st.selectbox(
                tr("Chuyển sang"), [s.value for s in allowed], format_func=status_labels.get, key="status_new"
            )
            note = st.text_input(tr("Ghi chú"))
            if st.form_submit_button(tr("Lưu")):
                try:
                    change_status(
                        store,
                        "blackspot",
                        int(sel),
                        new,
                        version=int(row["version"]),
                        user=current_user(),
                        note=note or None,
                    )
                except BlackspotError as exc:
                    show_error(exc)
                else:
                    invalidate()
                    st.success(tr("Đã lưu"))
                    st.rerun()

with tab_cluster:
    c = st.columns(4)
    method_names = {"dbscan": "DBSCAN", "hdbscan": "HDBSCAN", "kde": "KDE+"}
    method = c[0].selectbox(tr("Phương pháp"), list(method_names), format_func=method_names.get, key="cluster_method")
    if method == "kde":
        # KDE+ along each road by chainage: its own parameters, kept apart from DBSCAN's (the exports use those)
        st.info(
            tr(
                "KDE+ là phân tích mật độ dọc tuyến, đặt bên cạnh danh sách điểm đen theo quy định; không bao giờ "
                "thay thế danh sách đó."
            )
        )
        bw = c[1].number_input(tr("Băng thông (m)"), 10, 2000, int(KDE_BANDWIDTH_M), step=10, key="kde_bandwidth")
        sims = c[2].number_input(tr("Số lần mô phỏng"), 20, 2000, int(KDE_N_SIM), step=20, key="kde_sims")
        kmin = c[3].number_input(tr("Số vụ tối thiểu"), 1, 100, int(KDE_MIN_CRASHES), key="kde_min")
        if st.button(tr("Phân cụm"), key="run_cluster"):
            st.session_state["kde_params"] = dict(bandwidth_m=float(bw), n_sim=int(sims), min_crashes=int(kmin))
        kde_chosen = st.session_state.get("kde_params")
        if kde_chosen is not None:
            kres = None
            try:
                with st.spinner(tr("Đang tính KDE+…")):
                    kres = kde_clusters(store, filters=filters(), **kde_chosen)
            except BlackspotError as exc:  # parameters refused (too fine a step for a long road, …): said, not raised
                show_error(exc)
            if kres is not None:
                kp = kres.params
                st.markdown(
                    md_text(
                        tr(
                            "Phương pháp: KDE+ (Bíl và cộng sự, 2013) — băng thông {h} m, {n} lần mô phỏng, mức ý nghĩa {a}, tối "
                            "thiểu {m} vụ mỗi cụm; {k} vụ được phân tích, {o} vụ thiếu tuyến hoặc lý trình."
                        ).format(
                            h=f"{kp['bandwidth_m']:g}",
                            n=kp["n_sim"],
                            a=number(kp["alpha"], 2),
                            m=kp["min_crashes"],
                            k=kres.n_analysed,
                            o=kres.n_without_chainage,
                        )
                    )
                )
                kt = kres.clusters
                st.write(tr("{n} cụm KDE+, xếp theo độ mạnh").format(n=len(kt)))
                st.dataframe(
                    pd.DataFrame(
                        {
                            tr("Cụm"): kt["label"],
                            tr("Tuyến"): kt["road"],
                            tr("Từ"): kt["from_m"].map(format_chainage),
                            tr("Đến"): kt["to_m"].map(format_chainage),
                            tr("Số vụ"): kt["n_crashes"],
                            tr("Chết"): kt["deaths"],
                            tr("Bị thương"): kt["injured"],
                            tr("Độ mạnh"): kt["strength"].astype(float).map(lambda v: number(v, 3)),
                            tr("Các mã vụ"): [", ".join(map(str, ids)) for ids in kt["crash_ids"]],
                        }
                    ).head(500),
                    width="stretch",
                    hide_index=True,
                    key="kde_table",
                )
    else:
        eps = c[1].number_input(
            tr("Bán kính eps (m)"), 10, 2000, int(settings.CLUSTER_EPS_M), step=10, disabled=method == "hdbscan"
        )
        ms = c[2].number_input(tr("Số vụ tối thiểu"), 2, 100, settings.CLUSTER_MIN_SAMPLES)
        only_off = c[3].checkbox(tr("Chỉ vụ không có lý trình"), value=False)
        params = dict(eps=float(eps), min_samples=int(ms), method=method, only_without_road=bool(only_off))
        if st.button(tr("Phân cụm"), key="run_cluster"):
            st.session_state["cluster_params"] = params
    chosen = st.session_state.get("cluster_params")
    if chosen is not None and method != "kde":
        # worked out again when the sidebar's filters change: the clusters follow them, and keep their ids
        # (C1, C2 …) for the exports page, which uses the same parameters and filters
        with st.spinner(tr("Đang phân cụm…")):
            _, table = clusters(store, filters=filters(), **chosen)
        st.write(tr("{n} cụm, xếp theo EPDO").format(n=len(table)))
        shown = table.head(500)[["label"] + [c for c in table.columns if c not in ("label", "cluster")]].copy()
        shown = shown.assign(
            lon=shown["lon"].round(5),
            lat=shown["lat"].round(5),
            radius_m=shown["radius_m"].round(0),
            epdo=shown["epdo"].round(1),
            first=pd.to_datetime(shown["first"]).dt.strftime("%d/%m/%Y"),
            last=pd.to_datetime(shown["last"]).dt.strftime("%d/%m/%Y"),
        ).rename(
            columns={
                "epdo": "EPDO",
                "label": tr("Cụm"),
                "n_crashes": tr("Số vụ"),
                "deaths": tr("Chết"),
                "injured": tr("Bị thương"),
                "fatal_crashes": tr("Vụ có người chết"),
                "lon": tr("Kinh độ"),
                "lat": tr("Vĩ độ"),
                "radius_m": tr("Bán kính (m)"),
                "first": tr("Vụ đầu"),
                "last": tr("Vụ cuối"),
            }
        )
        st.dataframe(shown, width="stretch", hide_index=True)
