"""The fault tests' own servers and processes: an embedded PostgreSQL and a Redis on free ports
(scripts/embedded.py), databases copied from one migrated and seeded template, and the service's
real processes (celery worker, gunicorn) run against them as in production (AIDC_ENV=production).

Every process is started in a process group of its own and killed with its group; whatever a
test started is stopped when it ends, passing or failing.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from celery import Celery
from django.conf import settings

from scripts.embedded import EmbeddedPostgres, EmbeddedRedis, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
QUEUE = "default,billing,analytics,webhooks"  # the Procfile's worker's queues
KEY_PREFIX = "aidc"  # the service's Redis keys, Celery's queues included
TEMPLATE_DB = "aidc_seeded"


def wait_until(what: str, check: Callable[[], Any], seconds: float = 60) -> Any:
    """Poll `check` until it returns something truthy (returned); fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass
class FaultStack:
    pg: EmbeddedPostgres
    redis: EmbeddedRedis
    tmp: Path
    tokens: dict[str, str]
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(40))
    _databases: int = 0

    def new_database(self) -> str:
        """A fresh copy of the migrated and seeded template database; its name."""
        self._databases += 1
        name = f"fault_{self._databases}"
        self.copy_database(TEMPLATE_DB, name)
        return name

    def copy_database(self, source: str, target: str) -> None:
        with psycopg.connect(self.pg.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')

    def connect(self, database: str) -> psycopg.Connection[Any]:
        return psycopg.connect(self.pg.url(database), autocommit=True, connect_timeout=5)

    def env(self, database: str, redis_db: int, **extra: str) -> dict[str, str]:
        """The environment of a production process of the service against our servers."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
        env.pop("DEBUG", None)
        env.pop("TEST_CLOCK", None)
        env.update(
            AIDC_ENV="production",
            SECRET_KEY=self.secret_key,
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=self.pg.url(database),
            REDIS_URL=self.redis.url(redis_db),
            REDIS_KEY_PREFIX=KEY_PREFIX,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            # a production deployment names its seller (issuing refuses without one)
            SELLER_NAME="Fault Test Compute Co., Ltd.",
            SELLER_TAX_ID="91420500MA4DEM0002",
            SELLER_ADDRESS="Yichang, Hubei",
            PYTHONPATH=str(ROOT),
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        )
        env.update(extra)
        return env

    def manage(self, database: str, *args: str, env: dict[str, str] | None = None) -> str:
        env = env or self.env(database, 0)
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"manage.py {args}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def celery(self, redis_db: int) -> Celery:
        """A client of the broker only (not the service's app): sends tasks by name."""
        app = Celery("faults", broker=self.redis.url(redis_db))
        app.conf.task_default_queue = "default"
        app.conf.task_routes = settings.CELERY_TASK_ROUTES
        app.conf.broker_transport_options = {"global_keyprefix": f"{KEY_PREFIX}:"}
        app.conf.broker_connection_retry_on_startup = False
        return app


@dataclass
class Proc:
    """A process started in its own group, with its output in `log`."""

    popen: subprocess.Popen[bytes]
    log: Path

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole group (a celery worker and its pool children, gunicorn and its
        workers) and reap the leader."""
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[Proc]:
    with log.open("wb") as out:
        popen = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    proc = Proc(popen, log)
    try:
        yield proc
    finally:
        proc.kill()  # the group: nothing a test started outlives it


def worker_argv(name: str, queues: str = QUEUE) -> list[str]:
    return [
        str(BIN / "celery"), "-A", "config", "worker", "--loglevel", "INFO",
        "--concurrency", "1", "--hostname", f"{name}@faults", "--without-gossip",
        "--without-mingle", "--without-heartbeat", "--queues", queues,
    ]  # fmt: skip


@contextmanager
def worker(
    stack: FaultStack,
    database: str,
    redis_db: int,
    name: str,
    queues: str = QUEUE,
    **extra: str,
) -> Iterator[Proc]:
    """A real celery worker (prefork, one child) of the service, ready to take tasks from
    `queues` (comma-separated; by default all four, as the Procfile's worker)."""
    log = stack.tmp / f"{name}.log"
    env = stack.env(database, redis_db, **extra)
    with process(worker_argv(name, queues), env, log) as proc:
        wait_until(
            f"worker {name} ready",
            lambda: proc.popen.poll() is not None or " ready." in log.read_text(errors="replace"),
        )
        assert proc.popen.poll() is None, proc.output()
        yield proc


@contextmanager
def gunicorn(stack: FaultStack, database: str, redis_db: int, name: str) -> Iterator[str]:
    """The service's web server as the Procfile runs it (2 workers); its base URL."""
    port = free_port()
    argv = [
        str(BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", "2", "--timeout", "60", "--no-control-socket",
    ]  # fmt: skip
    with process(argv, stack.env(database, redis_db), stack.tmp / f"{name}.log") as proc:
        wait_for_port("127.0.0.1", port, "gunicorn", seconds=60)
        assert proc.popen.poll() is None, proc.output()
        yield f"http://127.0.0.1:{port}"


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


def http(
    method: str, url: str, token: str, body: bytes | None = None, timeout: float = 30
) -> Answer:
    # As the TLS proxy in front of a production start would (SECURE_PROXY_SSL_HEADER): the
    # service sees HTTPS and does not redirect.
    headers = {
        "Authorization": f"Token {token}",
        "Accept": "application/json",
        "X-Forwarded-Proto": "https",
    }
    if body is not None:
        headers["Content-Type"] = "application/json"
        headers["Idempotency-Key"] = secrets.token_hex(8)
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read(), dict(error.headers))


def start_servers(tmp: Path) -> tuple[EmbeddedPostgres, EmbeddedRedis]:
    pg = EmbeddedPostgres(tmp / "postgres", free_port())
    pg.start()
    redis = EmbeddedRedis(tmp / "redis", free_port(), appendonly=False)
    try:
        redis.start()
    except BaseException:
        pg.stop(mode="immediate")
        raise
    return pg, redis


def seed_template(stack: FaultStack) -> None:
    """Migrate and seed the template database every test copies (seed_demo is a development
    command: it runs with AIDC_ENV=development)."""
    with psycopg.connect(stack.pg.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
    env = stack.env(TEMPLATE_DB, 0, AIDC_ENV="development")
    stack.manage(TEMPLATE_DB, "migrate", "--noinput", "-v", "0", env=env)
    out = stack.manage(TEMPLATE_DB, "seed_demo", env=env)
    for user, token in re.findall(r"^\s*(\w+)\s+\w+\s+token (\S+)", out, re.M):
        stack.tokens[user] = token
    assert {"finance", "tenant1", "operator", "admin"} <= stack.tokens.keys(), out
