"""Load test: 20 simulated planners for 60 s against one PostGIS store (one
thread each, each with its own connection), reading lists and editing the
same few cases and works, so that conflicts happen; and, at the same time,
20 HTTP clients against the app on loopback.

Reported: operations per second, p95 latency of reads and writes, conflicts
detected (refused saves), and rows lost: successful saves whose value is not
in the audit log or was silently overwritten (must be 0).

    python bench/bench_load.py [--seconds 60] [--planners 20]
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
import urllib.request
import uuid

import numpy as np

import common  # noqa: F401  (puts the tests' helpers on the path)


PG = os.environ.get("BLACKSPOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1/postgres")


def fresh_db() -> str:
    from sqlalchemy import create_engine, text

    name = "blackspot_load"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        c.execute(text(f"CREATE DATABASE {name}"))
    return PG.rsplit("/", 1)[0] + "/" + name


def seed(url: str):
    from data.demo import load_demo
    from models.store import Store
    from services.auth import authenticate

    store = Store(url)
    load_demo(store, hk_limit=2000)
    store.add_user(username="admin", password="admin-pass", role="admin")
    admin = store.with_principal(authenticate(store, "admin", "admin-pass"))
    for i in range(20):
        admin.add_user(username=f"kh{i}", password="planner-pass", role="committee_editor")
    return store


def planner(store, name, until, log, lock, ids):
    from errors import ConflictError
    from models.permissions import Principal
    from models.enums import Role

    me = store.with_principal(Principal(name, Role.COMMITTEE_EDITOR))
    rng = random.Random(name)
    while time.perf_counter() < until:
        op = rng.random()
        t = time.perf_counter()
        try:
            if op < 0.6:
                kind = "read"
                rng.choice(
                    [me.blackspots_frame, me.cases_frame, me.works_frame, lambda: me.crashes_frame(road_code="QL24")]
                )()
                outcome = "ok"
            else:
                kind = "write"
                table, cid = rng.choice(ids)
                frame = me.cases_frame() if table == "case" else me.works_frame()
                v = int(frame.set_index("id").loc[cid, "version"])
                token = f"{name}-{uuid.uuid4().hex[:8]}"
                time.sleep(rng.random() * 0.02)  # the planner types
                try:
                    if table == "case":
                        me.update_case(cid, expected_version=v, notes=token)
                    else:
                        me.update_work(cid, expected_version=v, notes=token)
                    outcome = ("saved", table, cid, v + 1, token)
                except ConflictError:
                    outcome = "conflict"
        except Exception as exc:  # noqa: BLE001 (a load test counts every failure)
            kind, outcome = "error", repr(exc)
        with lock:
            log.append((kind, time.perf_counter() - t, outcome))


def http_client(base, until, log, lock):
    paths = ["/", "/_stcore/health", "/app/static/vendor/leaflet/leaflet.js"]
    while time.perf_counter() < until:
        p = random.choice(paths)
        t = time.perf_counter()
        try:
            with urllib.request.urlopen(base + p, timeout=30) as r:
                r.read()
                ok = r.status == 200
        except OSError:
            ok = False
        with lock:
            log.append((p, time.perf_counter() - t, ok))


def main(seconds: float = 60, planners: int = 20) -> dict:
    from sqlalchemy import create_engine

    from models.orm import AuditLog
    from models.store import Store

    url = fresh_db()
    seed(url)
    engine = create_engine(url, pool_size=planners + 5, max_overflow=5, pool_pre_ping=True)
    store = Store(engine=engine, migrate_schema=False)
    cases = store.cases_frame()["id"].astype(int).tolist()
    works = store.works_frame()["id"].astype(int).tolist()
    ids = [("case", c) for c in cases] + [("work", w) for w in works]

    from tests.apprunner import running_app

    log, http_log, lock = [], [], threading.Lock()
    with running_app(url) as base:
        until = time.perf_counter() + seconds
        threads = [
            threading.Thread(target=planner, args=(store, f"kh{i}", until, log, lock, ids)) for i in range(planners)
        ]
        threads += [threading.Thread(target=http_client, args=(base, until, http_log, lock)) for _ in range(planners)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    reads = [d for k, d, _ in log if k == "read"]
    writes = [d for k, d, o in log if k == "write"]
    saved = [o for k, _, o in log if k == "write" and isinstance(o, tuple)]
    conflicts = sum(1 for k, _, o in log if o == "conflict")
    errors = [o for k, _, o in log if k == "error"]
    # rows lost: every saved value must be in the audit log, once, and each
    # item's final value must be its last saved one (highest version)
    with store.engine.connect() as conn:
        import pandas as pd
        from sqlalchemy import select

        audit = pd.read_sql(select(AuditLog).where(AuditLog.action == "update"), conn)
    audited = {
        (r["table_name"], r["row_id"], (r["changes"] or {}).get("notes", [None, None])[1])
        for r in audit.to_dict("records")
    }
    table_name = {"case": "encroachment_case", "work": "remediation_work"}
    lost = sum(1 for _, t, i, _, tok in saved if (table_name[t], i, tok) not in audited)
    final = {("case", r["id"]): r["notes"] for r in store.cases_frame().to_dict("records")}
    final |= {("work", r["id"]): r["notes"] for r in store.works_frame().to_dict("records")}
    last = {}
    for _, t, i, v, tok in saved:
        if (t, i) not in last or v > last[(t, i)][0]:
            last[(t, i)] = (v, tok)
    overwritten = sum(1 for k, (_, tok) in last.items() if final[k] != tok)
    # two saves that both claim the same version of an item: one silently overwrote the other
    overwritten += len(saved) - len({(t, i, v) for _, t, i, v, _ in saved})
    ok_http = [d for _, d, ok in http_log if ok]
    return {
        "seconds": seconds,
        "planners": planners,
        "operations": len(log),
        "ops_per_s": round(len(log) / seconds, 1),
        "reads": len(reads),
        "read_p95_ms": round(float(np.percentile(reads, 95)) * 1000, 1) if reads else None,
        "writes_attempted": len(writes),
        "writes_saved": len(saved),
        "conflicts_detected": conflicts,
        "write_p95_ms": round(float(np.percentile(writes, 95)) * 1000, 1) if writes else None,
        "errors": len(errors),
        "rows_lost": lost + overwritten,
        "http_requests": len(http_log),
        "http_ok": len(ok_http),
        "http_per_s": round(len(http_log) / seconds, 1),
        "http_p95_ms": round(float(np.percentile(ok_http, 95)) * 1000, 1) if ok_http else None,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--planners", type=int, default=20)
    a = ap.parse_args()
    print(main(a.seconds, a.planners))
