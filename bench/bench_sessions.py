"""Load: 60 planners' real Streamlit sessions for 60 s on one PostGIS store,
served by one app process and then by two, behind nginx
(``scripts/cluster.py``).

Each planner is a signed-in browser session as Streamlit's own front end
makes it: a websocket to ``/_stcore/stream`` carrying the session cookie,
``rerun_script`` messages naming the page, the page's elements back as
protobuf messages until ``script_finished``. A planner opens a page, reads
it for a while (think time 5–15 s), opens another. One planner in six is
the committee's secretary (an administrator, who keeps the plans and
agencies): a third of the time it adds an agency through the plans page's
form (the form's widgets filled and its submit button pressed, as the
browser sends them).

The planners arrive over 30 s, then all of them work for ``--seconds``; that
window is measured. Reported per page: rerun p95 (from the message sent to the run's end, the
page's data cached); errors: a page showing an exception or an error alert,
a run that did not finish, a dropped websocket; lost updates: an agency whose
submission was confirmed ("Đã thêm cơ quan") but is not in the store, or is
there twice. And the scaling: reruns per second and p95 with two processes
against one.

    python bench/bench_sessions.py [--seconds 60] [--sessions 60] [--processes 1 2]
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
import uuid

import numpy as np

import common  # noqa: F401  (puts the tests' helpers on the path)
from common import ROOT

sys.path.insert(0, str(ROOT / "scripts"))

PAGES = {
    "home": "",
    "map": "map",
    "blackspots": "blackspots",
    "corridor": "corridor",
    "works": "works",
    "plans": "plans",
}
LIST_PAGES = ("home", "blackspots", "corridor", "works", "plans")


def seed(url: str, sessions: int) -> list[tuple[str, bool]]:
    """The demo store with an account per session (a committee editor; one in
    six an administrator); their session tokens, and whether each writes."""
    from data.demo import load_demo
    from models.enums import Role
    from models.permissions import Principal
    from models.store import Store
    from services.auth import add_user, start_session

    store = Store(url)
    load_demo(store)
    add_user(store, username="admin", password="admin-pass-123", role="admin")
    tokens = []
    for i in range(sessions):
        role = Role.ADMIN if i % 6 == 0 else Role.COMMITTEE_EDITOR
        add_user(store, username=f"kh{i}", password="planner-pass-123", role=role.value)
        tokens.append((start_session(store, Principal(f"kh{i}", role)), role == Role.ADMIN))
    return tokens


class Session:
    """One browser session of the app over its websocket."""

    def __init__(self, base: str, token: str):
        from contextlib import ExitStack

        from websockets.sync.client import connect

        self._open = ExitStack()
        self.ws = self._open.enter_context(
            connect(
                base.replace("http://", "ws://") + "/_stcore/stream",
                subprotocols=["streamlit"],
                additional_headers={"Cookie": f"blackspot_session={token}"},
                origin=base,
                max_size=None,
                open_timeout=60,
            )
        )

    def run(self, page: str, widgets=None, timeout_s: float = 120) -> tuple[float, list, list[str]]:
        """(seconds, the elements drawn, problems) of one run of ``page``
        (and of the runs it asks for with ``st.rerun``)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_name = page
        if widgets is not None:
            msg.rerun_script.widget_states.CopyFrom(widgets)
        t0 = time.perf_counter()
        self.ws.send(msg.SerializeToString())
        elements, problems = [], []
        while True:
            f = ForwardMsg()
            f.ParseFromString(self.ws.recv(timeout=timeout_s))
            kind = f.WhichOneof("type")
            if kind == "delta" and f.delta.WhichOneof("type") == "new_element":
                el = f.delta.new_element
                elements.append(el)
                what = el.WhichOneof("type")
                if what == "exception":
                    problems.append(f"exception: {el.exception.message[:200]}")
                elif what == "alert" and el.alert.format == el.alert.ERROR:
                    problems.append(f"error: {el.alert.body[:200]}")
            elif kind == "script_finished":
                status = f.script_finished
                if status == f.FINISHED_EARLY_FOR_RERUN:
                    elements = []  # st.rerun: the page is drawn again
                    continue
                if status == f.FINISHED_WITH_COMPILE_ERROR:
                    problems.append("compile error")
                return time.perf_counter() - t0, elements, problems

    def close(self) -> None:
        self._open.close()


def _add_agency(session: Session, name: str) -> tuple[float, bool, list[str]]:
    """Add an agency through the plans page's form, as the browser does."""
    from streamlit.proto.WidgetStates_pb2 import WidgetStates

    _, elements, problems = session.run("plans")
    ids = {}
    for el in elements:
        what = el.WhichOneof("type")
        w = getattr(el, what)
        if getattr(w, "form_id", "") == "agency_add":
            ids[(what, w.label)] = w.id
    states = WidgetStates()
    s = states.widgets.add()
    s.id = ids[("text_input", "Tên cơ quan")]
    s.string_value = name
    s = states.widgets.add()
    s.id = ids[("button", "Thêm cơ quan")]
    s.trigger_value = True
    secs, elements, more = session.run("plans", widgets=states)
    said = any(
        el.WhichOneof("type") == "toast"
        and "Đã thêm cơ quan" in el.toast.body
        or el.WhichOneof("type") == "alert"
        and "Đã thêm cơ quan" in el.alert.body
        or el.WhichOneof("type") == "markdown"
        and "Đã thêm cơ quan" in el.markdown.body
        for el in elements
    )
    return secs, said, problems + more


def planner(
    base: str, token: str, writes: bool, arrive: float, until: float, log: list, lock: threading.Lock, seed_: int
) -> None:
    rng = random.Random(seed_)
    time.sleep(max(0.0, arrive - time.perf_counter()))
    try:
        session = Session(base, token)
    except Exception as exc:  # noqa: BLE001 (a load test counts every failure)
        with lock:
            log.append(("connect", 0.0, [repr(exc)], None, time.perf_counter()))
        return
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            if writes and rng.random() < 0.3:
                name = f"Tổ công tác {uuid.uuid4().hex[:10]}"
                secs, said, problems = _add_agency(session, name)
                entry = ("write", secs, problems, name if said else None, started)
            else:
                page = rng.choice(list(PAGES))
                secs, _, problems = session.run(PAGES[page])
                entry = (page, secs, problems, None, started)
            with lock:
                log.append(entry)
            time.sleep(rng.uniform(5.0, 15.0))  # the planner reads the page
    except Exception as exc:  # noqa: BLE001
        with lock:
            log.append(("dropped", 0.0, [repr(exc)], None, time.perf_counter()))
    finally:
        try:
            session.close()
        except Exception:  # noqa: BLE001
            pass


def run_load(url: str, tokens: list, *, processes: int, seconds: float, run_dir, ramp: float = 30.0) -> dict:
    import cluster
    from models.store import Store

    from tests.apprunner import free_port

    log, lock = [], threading.Lock()
    store = Store(url)
    before = set(store.agencies_frame()["name"])
    with cluster.running(
        url,
        processes=processes,
        port=free_port(),
        ports=[free_port() for _ in range(processes)],
        run_dir=run_dir,
        pool=5,
        overflow=5,
    ) as (proxy, _, run):
        # each process warmed once (its caches filled, as after the first planner of the morning)
        warm = Session(proxy, tokens[0][0])
        for page in PAGES.values():
            warm.run(page)
        warm.close()
        # the planners arrive over ``ramp`` seconds (a morning, compressed), then all work for ``seconds``:
        # what is measured is that window, every session open
        t0 = time.perf_counter()
        steady, until = t0 + ramp, t0 + ramp + seconds
        threads = [
            threading.Thread(
                target=planner, args=(proxy, tok, writes, t0 + ramp * i / len(tokens), until, log, lock, i)
            )
            for i, (tok, writes) in enumerate(tokens)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        served = {}
        for key, up, req in cluster.routes(run):
            if "/_stcore/stream" in req:
                served[up] = served.get(up, 0) + 1
    names = [n for k, _, _, n, _ in log if k == "write" and n]  # every write, the ramp's too
    errors = sum(len(p) for _, _, p, _, _ in log)
    log = [e for e in log if e[4] >= steady]
    after = store.agencies_frame()["name"].tolist()
    new = [n for n in after if n not in before]
    lost = sum(1 for n in names if n not in set(new)) + (len(new) - len(set(new)))
    out = {
        "processes": processes,
        "sessions": len(tokens),
        "seconds": seconds,
        "websockets_per_process": served,
        "reruns": sum(1 for k, *_ in log if k in PAGES or k == "write"),
        "ramp_s": ramp,
        "errors": errors,
        "error_samples": [p for _, _, p, _, _ in log if p][:3],
        "writes_confirmed": len(names),
        "lost_updates": lost,
    }
    out["reruns_per_s"] = round(out["reruns"] / seconds, 1)
    lists = [s for k, s, *_ in log if k in LIST_PAGES]
    for label, values in (
        ("list_pages", lists),
        ("map", [s for k, s, *_ in log if k == "map"]),
        ("write", [s for k, s, *_ in log if k == "write"]),
    ):
        if values:
            out[f"{label}_p50_ms"] = round(float(np.percentile(values, 50)) * 1000)
            out[f"{label}_p95_ms"] = round(float(np.percentile(values, 95)) * 1000)
    for page in LIST_PAGES:
        values = [s for k, s, *_ in log if k == page]
        if values:
            out[f"{page}_p95_ms"] = round(float(np.percentile(values, 95)) * 1000)
    return out


def main(seconds: float = 60, sessions: int = 60, processes=(1, 2)) -> list[dict]:
    import tempfile
    from pathlib import Path

    from bench_load import fresh_db

    url = fresh_db()
    tokens = seed(url, sessions)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in processes:
            r = run_load(url, tokens, processes=n, seconds=seconds, run_dir=Path(tmp) / f"run{n}")
            print(r, flush=True)
            results.append(r)
    if len(results) == 2:
        one, two = results
        print(
            {
                "scaling_reruns_per_s": round(two["reruns_per_s"] / one["reruns_per_s"], 2),
                "list_p95_one_over_two": round(one["list_pages_p95_ms"] / two["list_pages_p95_ms"], 2),
                "map_p95_one_over_two": round(one["map_p95_ms"] / two["map_p95_ms"], 2),
            }
        )
    return results


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--sessions", type=int, default=60)
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    a = ap.parse_args()
    main(a.seconds, a.sessions, tuple(a.processes))
