"""Trang điểm đen / Black spots: re-run the screening, the ranked list with its
"why", status changes, and density clusters."""
from __future__ import annotations

import pandas as pd
import streamlit as st

import settings
from errors import BlackspotError
from geo.chainage import format_chainage
from geo.rules import load_rulesets
from i18n import t
from models.enums import BLACKSPOT_TRANSITIONS, BlackspotStatus, SpotKind
from app_pages.common import current_user, filters, get_store, invalidate, lang, load_crashes, tr
from services.filters import filter_spots
from services.blackspots import clusters, ranked_spots, run_screening

L = lang()
st.title(t("blackspots", L))
store = get_store()
rulesets = load_rulesets()

tab_list, tab_cluster = st.tabs(["Theo quy định / Regulatory", "Cụm mật độ / Density clusters"])

with tab_list:
    with st.form("screen_form"):
        c = st.columns(4)
        rs_id = c[0].selectbox("Bộ quy tắc / Rule set", list(rulesets), format_func=lambda k: rulesets[k].name,
                               index=list(rulesets).index(settings.DEFAULT_RULESET))
        rs = rulesets[rs_id]
        rural = c[1].number_input("Chiều dài đoạn ngoài đô thị (m) / Rural segment (m)", 50, 5000,
                                  int(rs.segment_length_m["rural"]), step=50)
        urban = c[2].number_input("Trong đô thị (m) / Urban segment (m)", 50, 5000, int(rs.segment_length_m["urban"]),
                                  step=50)
        c[3].caption(f"Cửa sổ thời gian / Time window: {rs.window_months} tháng / months (trượt / rolling)")
        go = st.form_submit_button("Rà soát lại / Re-run screening", type="primary")
    if go:
        try:
            with st.spinner("Đang rà soát / Screening…"):
                result, counts = run_screening(store, ruleset=rs_id, window_m=rural, urban_window_m=urban,
                                               user=current_user())
        except BlackspotError as exc:
            st.error(str(exc))
        else:
            invalidate()
            st.success(f"{len(result.black_spots)} điểm đen, {len(result.potential_points)} điểm tiềm ẩn. "
                       f"Mới / new {counts['created']}, cập nhật / updated {counts['updated']}, "
                       f"không còn đạt / no longer qualifying {counts['no_longer']}.")

    f = st.columns(3)
    kind_opt = {"Tất cả / All": None, "Điểm đen / Black spots": "black_spot", "Điểm tiềm ẩn / Potential": "potential"}
    kind = kind_opt[f[0].selectbox("Loại / Kind", list(kind_opt))]
    all_spots = store.blackspots_frame(kind=kind)
    roads = sorted(all_spots["road_code"].dropna().unique()) if len(all_spots) else []
    road = f[1].selectbox("Tuyến / Road", ["—"] + roads)
    status_labels = {s.value: s.label(L) for s in BlackspotStatus}
    statuses = f[2].multiselect(tr("Trạng thái"), list(status_labels), format_func=status_labels.get,
                                placeholder=tr("Tất cả"))
    spots = ranked_spots(store, kind=kind, road=None if road == "—" else road, statuses=statuses or None)
    spots = filter_spots(spots, filters())  # period, commune, road and rule set of the sidebar

    if spots.empty:
        st.info("Chưa có điểm nào / No spots yet")
    else:
        table = pd.DataFrame({
            "ID": spots["id"],
            "Loại / Kind": spots["kind"].map(lambda k: SpotKind(k).label(L)),
            "Tuyến / Road": spots["road_code"],
            "Từ / From": spots["from_m"].map(format_chainage),
            "Đến / To": spots["to_m"].map(format_chainage),
            "Tiêu chí / Test": spots["tests"],
            "12 tháng / 12 months": spots["window_start"].map(lambda d: d.strftime("%d/%m/%Y") if d else "")
            + " – " + spots["window_end"].map(lambda d: d.strftime("%d/%m/%Y") if d else ""),
            "Số vụ / Crashes": spots["n_crashes"],
            "Chết / Deaths": spots["deaths"],
            "Bị thương / Injured": spots["injured"],
            "EPDO": spots["epdo"],
            "Xu hướng % / Trend %": spots["trend_pct"].round(0),
            "Trạng thái / Status": spots["status"].map(status_labels),
            "Còn đạt / Still meets": spots["still_qualifies"],
        })
        st.dataframe(table, width="stretch", hide_index=True, key="spot_table")
        w = settings.EPDO_WEIGHTS
        st.caption(f"EPDO: vụ có người chết × {w['fatal']:g}, vụ bị thương × {w['injury']:g}, va chạm × {w['pdo']:g} "
                   "/ fatal, injury, property-only weights.")

        sel = st.selectbox("Xem chi tiết điểm / Details of spot", spots["id"].tolist(), key="spot_detail",
                           format_func=lambda i: f"#{i} {spots.set_index('id').loc[i, 'road_code'] or ''} "
                           f"{format_chainage(spots.set_index('id').loc[i, 'from_m'])}")
        row = spots.set_index("id").loc[sel]
        if st.button("Mở trên bản đồ / Open on the map", key="open_on_map"):
            st.session_state["map_selected"] = st.session_state["map_pick"] = ("blackspot", int(sel))
            st.session_state.pop("map_point", None)
            st.switch_page("app_pages/map.py")
        st.subheader(f"#{sel} · {SpotKind(row['kind']).label(L)} · {row['road_code'] or ''} "
                     f"{format_chainage(row['from_m'])} – {format_chainage(row['to_m'])}")
        if row["manual"]:
            st.write(f"**Gắn cờ thủ công / Flagged by hand:** {row['manual_reason']}")
        else:
            st.markdown(f"**Vì sao / Why:** {row['test_labels']} ({row['tests']}; {rulesets.get(row['ruleset']).name if row['ruleset'] in rulesets else row['ruleset']}), "
                        f"trong 12 tháng / within 12 months "
                        f"{row['window_start']:%d/%m/%Y} – {row['window_end']:%d/%m/%Y}: "
                        f"{row['n_crashes']} vụ / crashes, {row['deaths']} chết / deaths, {row['injured']} bị thương / injured.")
        crashes = load_crashes(settings.database_url())
        ids = [int(i) for i in (row["crash_ids"] or [])]
        in_win = set(int(i) for i in (row["window_crash_ids"] or []))
        cr = crashes.loc[crashes["id"].isin(ids)].copy()
        cr["Trong cửa sổ / In window"] = cr["id"].isin(in_win)
        cr["Lý trình / Chainage"] = cr["chainage_m"].map(format_chainage)
        cr["Ngày / Date"] = cr["occurred_at"].dt.strftime("%d/%m/%Y")
        st.dataframe(cr[["id", "Ngày / Date", "Lý trình / Chainage", "commune", "deaths", "injured", "severity",
                         "not_infrastructure", "Trong cửa sổ / In window", "description"]],
                     width="stretch", hide_index=True)
        current = BlackspotStatus(row["status"])
        allowed = sorted(BLACKSPOT_TRANSITIONS[current], key=lambda s: list(BlackspotStatus).index(s))
        with st.form(f"status_{sel}"):
            st.write(f"Trạng thái hiện tại / Current status: **{current.label(L)}**")
            new = st.selectbox("Chuyển sang / Change to", [s.value for s in allowed], format_func=status_labels.get,
                               key="status_new")
            note = st.text_input("Ghi chú / Note")
            if st.form_submit_button("Lưu / Save"):
                try:
                    store.set_blackspot_status(int(sel), new, expected_version=int(row["version"]), user=current_user(),
                                               note=note or None)
                except BlackspotError as exc:
                    st.error(str(exc))
                else:
                    invalidate()
                    st.success("Đã lưu / Saved")
                    st.rerun()

with tab_cluster:
    c = st.columns(4)
    method = c[0].selectbox("Phương pháp / Method", ["dbscan", "hdbscan"])
    eps = c[1].number_input("Bán kính eps (m)", 10, 2000, int(settings.CLUSTER_EPS_M), step=10,
                            disabled=method == "hdbscan")
    ms = c[2].number_input("Số vụ tối thiểu / Min crashes", 2, 100, settings.CLUSTER_MIN_SAMPLES)
    only_off = c[3].checkbox("Chỉ vụ không có lý trình / Only crashes without a road", value=False)
    if st.button("Phân cụm / Cluster", key="run_cluster"):
        with st.spinner("Đang phân cụm / Clustering…"):
            _, table = clusters(store, eps=float(eps), min_samples=int(ms), method=method, only_without_road=only_off)
        st.session_state["cluster_table"] = table
    table = st.session_state.get("cluster_table")
    if table is not None:
        st.write(f"{len(table)} cụm / clusters, xếp theo EPDO / ranked by EPDO")
        st.dataframe(table.head(500), width="stretch", hide_index=True)
