"""Trùng lặp giữa các nguồn / Duplicates across sources: crashes reported by two
sources (police, health service, commune) close in place and time, shown side
by side; a person merges them, choosing each value, or says they are not the
same crash. Every write goes through ``services/duplicates``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import settings
from errors import BlackspotError
from app_pages.common import current_user, get_store, lang, md_text, number, show_error, show_flash, tr
from app_pages.panel import _done
from services.duplicates import decisions, duplicate_pairs, merge_pair, not_duplicate, pair_detail, undo_decision


def _blank(text: object) -> bool:
    """A cell shown as nothing (no value recorded)."""
    return str(text).strip() in ("", "—", "-", "nan", "None", "NaT")


#: The best pairs offered in the chooser (the whole list is in the table above it).
MAX_CHOICES = 1000

L = lang()
st.title(tr("Trùng lặp giữa các nguồn"))
show_flash()
store = get_store()
st.caption(
    tr(
        "Cặp vụ của hai nguồn khác nhau cách nhau không quá {d} m và {m} phút (BLACKSPOT_DUPLICATE_DISTANCE_M, "
        "BLACKSPOT_DUPLICATE_MINUTES). Người dùng quyết định: gộp hoặc không trùng."
    ).format(d=f"{settings.DUPLICATE_DISTANCE_M:g}", m=f"{settings.DUPLICATE_MINUTES:g}")
)


def _when(v) -> str:
    return "—" if pd.isna(v) else pd.Timestamp(v).strftime("%d/%m/%Y %H:%M")


pairs = duplicate_pairs(store)
if pairs.empty:
    st.info(tr("Không có cặp vụ nào nghi trùng"))
else:
    st.metric(tr("Cặp nghi trùng"), len(pairs))
    by = {"place": tr("tọa độ"), "chainage": tr("lý trình")}
    st.dataframe(
        pd.DataFrame(
            {
                tr("Vụ A"): pairs["id_a"],
                tr("Nguồn A"): pairs["source_a"],
                tr("Thời gian A"): pairs["occurred_at_a"].map(_when),
                tr("Vụ B"): pairs["id_b"],
                tr("Nguồn B"): pairs["source_b"],
                tr("Thời gian B"): pairs["occurred_at_b"].map(_when),
                tr("Cách nhau (m)"): pairs["distance_m"].map(lambda v: number(v, 1)),
                tr("Cách nhau (phút)"): pairs["minutes"].map(lambda v: number(v, 0)),
                tr("Theo"): pairs["by"].map(by),
                tr("Điểm giống nhau"): pairs["score"].map(lambda v: number(v, 2)),
                tr("Tuyến"): pairs["road_code"].fillna("—"),
                tr("Xã"): pairs["commune"].fillna("—"),
            }
        ),
        hide_index=True,
        width="stretch",
        key="dup_list",
    )
    shown = pairs.head(MAX_CHOICES)  # best first: deciding a pair brings the next one in
    labels = {
        k: f"#{a} ({sa}) – #{b} ({sb}) · {number(d, 1)} m · {number(m, 0)} {tr('phút')}"
        for k, (a, b, sa, sb, d, m) in enumerate(
            zip(
                shown["id_a"],
                shown["id_b"],
                shown["source_a"],
                shown["source_b"],
                shown["distance_m"],
                shown["minutes"],
            )
        )
    }
    k = st.selectbox(tr("Chọn một cặp"), list(labels), format_func=labels.get, key="dup_pick")
    a, b = int(pairs["id_a"].iloc[k]), int(pairs["id_b"].iloc[k])
    try:
        detail = pair_detail(store, a, b, lang=L)
    except BlackspotError as exc:
        show_error(exc)
        st.stop()
    col_a, col_b = f"{tr('Vụ')} #{a}", f"{tr('Vụ')} #{b}"
    st.dataframe(
        pd.DataFrame(
            {
                tr("Trường"): detail.table["label"],
                col_a: detail.table["a"],
                col_b: detail.table["b"],
                tr("Khác nhau"): detail.table["differs"].map({True: "≠", False: ""}),
            }
        ),
        hide_index=True,
        width="stretch",
        key="dup_side",
    )
    names = {a: md_text(f"#{a} · {detail.sources[0]}"), b: md_text(f"#{b} · {detail.sources[1]}")}
    keep = st.radio(tr("Giữ vụ"), [a, b], format_func=names.get, horizontal=True, key=f"dup_keep_{a}_{b}")
    drop = b if keep == a else a
    texts = detail.table.set_index("field")
    chosen: list[str] = []
    if detail.choices:
        st.caption(tr("Với mỗi trường khác nhau, chọn giá trị giữ lại:"))
    for f in detail.choices:
        raw = {a: texts.loc[f, "a"], b: texts.loc[f, "b"]}
        side = {k: md_text(v) for k, v in raw.items()}
        # the kept report's value, unless it has none and the other has one (a merge never drops a value unasked)
        take_other = _blank(raw[keep]) and not _blank(raw[drop])
        pick_id = st.radio(
            texts.loc[f, "label"],
            [keep, drop],
            index=1 if take_other else 0,
            format_func=side.get,
            horizontal=True,
            key=f"dup_field_{f}_{a}_{b}_{keep}",
        )
        if pick_id == drop:
            chosen.append(f)
    versions = detail.versions if keep == a else (detail.versions[1], detail.versions[0])
    c1, c2 = st.columns(2)
    if c1.button(tr("Gộp"), key="dup_merge", type="primary"):
        try:
            merge_pair(store, keep, drop, fields=chosen, versions=versions, user=current_user())
        except BlackspotError as exc:
            show_error(exc)
        else:
            _done(tr("Đã gộp vụ #{drop} vào vụ #{keep}").format(drop=drop, keep=keep))
    if c2.button(tr("Không trùng"), key="dup_distinct"):
        try:
            not_duplicate(store, a, b, user=current_user())
        except BlackspotError as exc:
            show_error(exc)
        else:
            _done(tr("Đã ghi: vụ #{a} và vụ #{b} không trùng").format(a=a, b=b))

done = decisions(store)
with st.expander(tr("Các cặp đã quyết định") + f" ({len(done)})"):
    if done.empty:
        st.caption(tr("Chưa có quyết định nào"))
    else:
        kinds = {"merged": tr("đã gộp"), "distinct": tr("không trùng")}
        st.dataframe(
            pd.DataFrame(
                {
                    tr("Vụ A"): done["crash_a"],
                    tr("Vụ B"): done["crash_b"],
                    tr("Quyết định"): done["decision"].map(kinds),
                    tr("Lúc"): done["decided_at"].map(_when),
                    tr("Người"): done["decided_by"].fillna("—"),
                }
            ),
            hide_index=True,
            width="stretch",
            key="dup_done",
        )
        rows = {
            j: f"#{x} – #{y} · {kinds.get(d, d)}"
            for j, (x, y, d) in enumerate(zip(done["crash_a"], done["crash_b"], done["decision"]))
        }
        j = st.selectbox(tr("Hoàn tác quyết định"), list(rows), format_func=rows.get, key="dup_undo_pick")
        if st.button(tr("Hoàn tác"), key="dup_undo"):
            try:
                undo_decision(store, int(done["crash_a"].iloc[j]), int(done["crash_b"].iloc[j]), user=current_user())
            except BlackspotError as exc:
                show_error(exc)
            else:
                _done(tr("Đã hoàn tác quyết định"))
