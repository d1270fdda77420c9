"""Run the app as N Streamlit processes behind nginx, on one PostgreSQL/PostGIS
store: what a province's committees need when one process is not enough.

    python scripts/cluster.py --processes 2 [--port 8500] [--host 127.0.0.1]
    make cluster N=2

Each process listens on loopback only (``--first-port``, then the next ones);
nginx (Debian's package) listens on ``--host:--port`` and sends each browser
to one process for good (a sticky session): Streamlit keeps a session, its
uploads and its downloads in the process that serves it, so every request of
a browser must reach the same one. nginx's open-source edition has no sticky
cookie, so the recipe builds one: the first request's random id becomes the
``blackspot_route`` cookie and a consistent hash of it picks the process. All
processes share one cookie secret and the store; a sign-in (a session in the
store) is valid on every process, and each process sees every write on its
next run (pages are keyed by the store's data version).

Each process opens at most ``--pool`` + ``--overflow`` connections to
PostgreSQL; the script refuses a cluster that could open more than the
server allows (``max_connections``, less a margin for the command line and
maintenance).

Without ``DATABASE_URL`` the store is the database ``blackspot`` of the
PostgreSQL on this machine (created, migrated and given the demo data when
empty). The run files (nginx's configuration, its logs, the processes' logs)
are in ``--run-dir`` (default ``data/cluster``). Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The cookie that keeps a browser on its process, and what a valid one looks like (nginx's $request_id).
ROUTE_COOKIE = "blackspot_route"
LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1/blackspot"
#: Connections kept free for the command line (imports, backups) and maintenance.
PG_MARGIN = 10

NGINX_CONF = """\
# written by scripts/cluster.py: {n} Streamlit processes behind one proxy
worker_processes 1;
error_log {run}/nginx-error.log warn;
pid {run}/nginx.pid;
{user}
events {{ worker_connections 4096; }}

http {{
    client_body_temp_path {run}/tmp/body;
    proxy_temp_path {run}/tmp/proxy;
    fastcgi_temp_path {run}/tmp/fastcgi;
    uwsgi_temp_path {run}/tmp/uwsgi;
    scgi_temp_path {run}/tmp/scgi;
    # which process served each request (the browser test and the load benchmark read it)
    log_format route '$time_iso8601 $blackspot_route $upstream_addr $status "$request"';
    access_log {run}/nginx-access.log route;
    client_max_body_size {upload_mb}m;

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    # the browser's process: its cookie when it is one nginx made, else this request's random id
    map $cookie_{cookie} $blackspot_route {{
        "~^[0-9a-f]{{32}}$" $cookie_{cookie};
        default             $request_id;
    }}
    upstream blackspot {{
        hash $blackspot_route consistent;
{servers}
    }}
    server {{
        listen {host}:{port};
        location / {{
            proxy_pass http://blackspot;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 1d;
            proxy_send_timeout 1d;
            proxy_buffering off;
            add_header Set-Cookie "{cookie}=$blackspot_route; Path=/; HttpOnly; SameSite=Lax" always;
        }}
    }}
}}
"""


def nginx_conf(*, run_dir: Path, ports: list[int], host: str, port: int, upload_mb: int) -> str:
    """nginx's configuration for the processes on ``ports`` (loopback)."""
    user = "user www-data;" if os.geteuid() == 0 else ""  # its workers never run as root
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in ports)
    return NGINX_CONF.format(
        n=len(ports),
        run=run_dir,
        user=user,
        servers=servers,
        host=host,
        port=port,
        upload_mb=upload_mb,
        cookie=ROUTE_COOKIE,
    )


def _wait_for(url: str, procs: list[subprocess.Popen], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            dead = [p for p in procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{url} không trả lời / did not answer"
                    + (f" (process exited with {dead[0].returncode})" if dead else "")
                ) from None
            time.sleep(0.3)


def check_connections(database_url: str, *, processes: int, pool: int, overflow: int) -> int:
    """The most connections the cluster may open; refused (ValueError) when
    the server allows fewer (less :data:`PG_MARGIN`)."""
    from sqlalchemy import create_engine, text

    most = processes * (pool + overflow)
    engine = create_engine(database_url)
    try:
        with engine.connect() as c:
            allowed = int(c.execute(text("SHOW max_connections")).scalar_one())
    finally:
        engine.dispose()
    if most > allowed - PG_MARGIN:
        raise ValueError(
            f"{processes} tiến trình × ({pool} + {overflow}) = {most} kết nối, nhưng PostgreSQL chỉ cho "
            f"{allowed} (giữ {PG_MARGIN}) / {processes} processes × ({pool} + {overflow}) = {most} "
            f"connections, but PostgreSQL allows {allowed} (keeping {PG_MARGIN}): lower --pool/--overflow "
            f"or raise max_connections"
        )
    return most


def local_store() -> str:
    """The database ``blackspot`` of this machine's PostgreSQL, created,
    migrated and given the demo data when it is new."""
    from sqlalchemy import create_engine, text

    admin = create_engine(LOCAL_PG.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if not c.execute(text("SELECT 1 FROM pg_database WHERE datname = 'blackspot'")).first():
            c.execute(text("CREATE DATABASE blackspot"))
    admin.dispose()
    from models.store import Store

    store = Store(LOCAL_PG)
    if store.crash_count() == 0 and store.user_count() == 0:
        from data.demo import load_demo

        load_demo(store)
    return LOCAL_PG


@contextmanager
def running(
    database_url: str,
    *,
    processes: int = 2,
    port: int = 8500,
    host: str = "127.0.0.1",
    first_port: int = 8511,
    ports: list[int] | None = None,
    run_dir: Path | None = None,
    pool: int = 5,
    overflow: int = 5,
    timeout_s: float = 90,
):
    """Start the cluster (the processes on ``ports``, by default
    ``first_port`` and the next ones); yield ``(proxy URL, [process URLs],
    run folder)``; stop it all after."""
    if not database_url.startswith("postgresql"):
        raise ValueError(
            "Cụm tiến trình dùng chung một kho PostgreSQL/PostGIS (DATABASE_URL=postgresql+psycopg://…) "
            "/ The processes share one PostgreSQL/PostGIS store (DATABASE_URL=postgresql+psycopg://…)"
        )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise FileNotFoundError("Cần nginx (apt-get install nginx) / nginx is needed (apt-get install nginx)")
    check_connections(database_url, processes=processes, pool=pool, overflow=overflow)
    run_dir = Path(run_dir or ROOT / "data" / "cluster").resolve()
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run_dir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(run_dir / "tmp", "www-data")
        for sub in (run_dir / "tmp").iterdir():
            shutil.chown(sub, "www-data")
    ports = list(ports) if ports else [first_port + i for i in range(processes)]
    # one cookie secret for all: a browser's cookies are valid on every process
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        BLACKSPOT_DB_POOL_SIZE=str(pool),
        BLACKSPOT_DB_MAX_OVERFLOW=str(overflow),
        STREAMLIT_SERVER_COOKIE_SECRET=secrets.token_hex(32),
    )
    procs: list[subprocess.Popen] = []
    try:
        for p in ports:
            log = open(run_dir / f"streamlit-{p}.log", "wb")
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "streamlit",
                        "run",
                        str(ROOT / "app.py"),
                        "--server.port",
                        str(p),
                        "--server.address",
                        "127.0.0.1",
                        "--server.headless",
                        "true",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        backends = [f"http://127.0.0.1:{p}" for p in ports]
        for b in backends:
            _wait_for(b + "/_stcore/health", procs, timeout_s)
        from settings import MAX_UPLOAD_MB

        conf = run_dir / "nginx.conf"
        conf.write_text(
            nginx_conf(run_dir=run_dir, ports=ports, host=host, port=port, upload_mb=int(MAX_UPLOAD_MB)),
            encoding="utf-8",
        )
        for name in ("nginx-access.log", "nginx-error.log"):
            (run_dir / name).unlink(missing_ok=True)
        procs.append(
            subprocess.Popen(
                [nginx, "-p", str(run_dir), "-c", str(conf), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=open(run_dir / "nginx-stderr.log", "wb"),
            )
        )
        proxy = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
        _wait_for(proxy + "/_stcore/health", procs, timeout_s)
        yield proxy, backends, run_dir
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


def routes(run_dir: Path) -> list[tuple[str, str, str]]:
    """(route cookie, process address, request) of each request nginx logged."""
    out = []
    path = Path(run_dir) / "nginx-access.log"
    if path.exists():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split(" ", 4)
            if len(parts) == 5:
                out.append((parts[1], parts[2], parts[4].strip('"')))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", "-n", type=int, default=2)
    ap.add_argument("--port", type=int, default=8500, help="nginx's port (default 8500)")
    ap.add_argument("--host", default="127.0.0.1", help="nginx's address (0.0.0.0 for the office network)")
    ap.add_argument("--first-port", type=int, default=8511, help="the first process's loopback port")
    ap.add_argument("--pool", type=int, default=5, help="PostgreSQL connections kept open per process")
    ap.add_argument("--overflow", type=int, default=5, help="more connections a process may open at a peak")
    ap.add_argument("--run-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.processes < 1:
        ap.error("--processes ≥ 1")
    url = os.environ.get("DATABASE_URL") or local_store()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        with running(
            url,
            processes=args.processes,
            port=args.port,
            host=args.host,
            first_port=args.first_port,
            run_dir=args.run_dir,
            pool=args.pool,
            overflow=args.overflow,
        ) as (proxy, backends, run_dir):
            print(f"{args.processes} tiến trình / processes: {', '.join(backends)}")
            print(f"Mở / Open: {proxy}  (Ctrl-C: dừng / stop; nhật ký / logs: {run_dir})", flush=True)
            while not stop:
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        print(f"Lỗi / Error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
