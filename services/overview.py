"""What a planner should do next, read from the store: the steps of the year's
work (roads and crashes in, screen, review, propose works, the Tờ trình, the
organisation's details) that are not done yet. No UI here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from i18n import pick
from models.enums import BatchStatus
from models.store import Store

if TYPE_CHECKING:
    from services.organisation import Organisation
    from pandas._libs.tslibs.nattype import NaTType


@dataclass
class Step:
    """One thing to do: ``key``, the text in each language, the page it is
    done on (a file of app_pages/), and how many items it concerns."""

    key: str
    vi: str
    en: str
    page: str
    count: int = 0

    def text(self, lang: str = "vi") -> str:
        return pick((self.vi, self.en), lang)


def next_steps(store: Store, *, ruleset: str | None = None) -> list[Step]:
    """The steps not done yet, in the order of the year's work (empty when
    everything is up to date)."""
    from services.organisation import load_organisation

    steps: list[Step] = []
    if store.roads_frame().empty:
        steps.append(
            Step(
                "roads",
                "Nhập tuyến đường (GeoJSON, GPKG, SHP) để định vị vụ theo lý trình",
                "Import the roads (GeoJSON, GPKG, SHP) to place crashes by chainage",
                "import_data.py",
            )
        )
    n_crashes = store.crash_count()  # the home page's hot path: a count, not the crashes
    if not n_crashes:
        steps.append(
            Step(
                "crashes",
                "Nhập tệp vụ tai nạn giao thông của công an (CSV, Excel)",
                "Import the police's crash file (CSV, Excel)",
                "import_data.py",
            )
        )
        return steps + _organisation_step(load_organisation(store))
    spots = store.blackspots_frame()
    auto = spots.loc[~spots["manual"].astype(bool)] if len(spots) else spots
    if ruleset and len(auto):
        auto = auto.loc[auto["ruleset"] == ruleset]
    screened = store.screened_at()
    last_run: pd.Timestamp | NaTType
    if ruleset and ruleset in screened:
        last_run = pd.Timestamp(screened[ruleset])
    elif screened and not ruleset:
        last_run = max(pd.Timestamp(v) for v in screened.values())
    else:  # screened before the time was kept: the spots' own
        last_run = pd.to_datetime(auto["last_run_at"]).max() if len(auto) else pd.NaT
    batches = store.batches_frame()
    if len(batches):
        batches = batches.loc[(batches["status"] == BatchStatus.ACTIVE.value) & (batches["kind"] == "crashes")]
    newer = 0
    if pd.isna(last_run):
        newer = n_crashes
    elif len(batches):
        late = batches.loc[pd.to_datetime(batches["created_at"]) > last_run]
        newer = int(late["n_imported"].fillna(0).sum())
    if newer:
        steps.append(
            Step(
                "screen",
                f"Rà soát điểm đen: {newer} vụ chưa được rà soát",
                f"Screen for black spots: {newer} crashes not screened yet",
                "blackspots.py",
                newer,
            )
        )
    if len(spots):
        cand = int((spots["status"] == "candidate").sum())  # blackspots_frame leaves deleted spots out
        if cand:
            steps.append(
                Step(
                    "review",
                    f"Xem xét {cand} điểm đề xuất (xác định hoặc loại bỏ)",
                    f"Review {cand} candidate spots (confirm or remove)",
                    "blackspots.py",
                    cand,
                )
            )
        works = store.works_frame()
        with_work = set(works["blackspot_id"].dropna().astype(int)) if len(works) else set()
        bare = spots.loc[(spots["status"] == "confirmed") & ~spots["id"].isin(with_work)]
        if len(bare):
            steps.append(
                Step(
                    "works",
                    f"Đề xuất công trình xử lý cho {len(bare)} điểm đã xác định",
                    f"Propose remediation works for {len(bare)} confirmed spots",
                    "works.py",
                    len(bare),
                )
            )
        proposed = works.loc[works["status"] == "proposed"] if len(works) else works
        if len(proposed):
            steps.append(
                Step(
                    "propose",
                    f"Lập tờ trình đề xuất xử lý ({len(proposed)} công trình đề xuất)",
                    f"Draw up the proposal (Tờ trình) for {len(proposed)} proposed works",
                    "exports.py",
                    len(proposed),
                )
            )
    return steps + _organisation_step(load_organisation(store))


def _organisation_step(org: Organisation) -> list[Step]:
    if org.name and org.receiver and org.signer:
        return []
    return [
        Step(
            "organisation",
            "Điền thông tin cơ quan (tên, nơi nhận, người ký) để văn bản ghi đúng",
            "Fill in the organisation (name, receiver, signer) so documents say who issues them",
            "users.py",
        )
    ]


def simulated_crashes(crashes: pd.DataFrame) -> tuple[int, list[str]]:
    """How many of the crashes are simulated (marked so when their batch was
    imported) and the sources those came from, largest first.

    >>> simulated_crashes(pd.DataFrame({"is_simulated": [True, False, True, True],
    ...                                 "source": ["Mô phỏng A", "Công an huyện", "Mô phỏng B", "Mô phỏng B"]}))
    (3, ['Mô phỏng B', 'Mô phỏng A'])
    """
    if crashes.empty or "is_simulated" not in crashes:
        return 0, []
    sim = crashes.loc[crashes["is_simulated"].fillna(False).astype(bool)]
    sources = sim["source"].dropna().astype(str).value_counts().index.tolist() if "source" in sim else []
    return len(sim), sources


def data_areas(crashes: pd.DataFrame) -> dict[str, str]:
    """The areas a map can show, from the data: each source of crashes (a
    police office's files, a data set), largest first.

    >>> data_areas(pd.DataFrame({"source": ["A", "B", "A", None]}))
    {'A': 'A', 'B': 'B'}
    """
    if crashes.empty or "source" not in crashes:
        return {}
    counts = crashes["source"].dropna().astype(str).value_counts()
    return {s: s for s in counts.index}
