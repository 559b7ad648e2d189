"""`make run`'s embedded servers belong to the checkout: ports of its own, derived from its path
or kept in its var/ports.env, and a server of another checkout on them is never taken as ours."""

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

from config.checkout import SLOTS, EmbeddedPorts, derived_slot, embedded_ports
from scripts import stack as stack_script

ROOT = Path(__file__).resolve().parents[2]


def test_each_checkout_has_its_own_stable_ports(tmp_path) -> None:
    one, two = tmp_path / "wt-one", tmp_path / "wt-two"
    assert embedded_ports(one) == embedded_ports(one)
    assert embedded_ports(one) != embedded_ports(two)
    slots = {derived_slot(tmp_path / f"checkout-{i}") for i in range(50)}
    assert len(slots) > 40  # spread over the range, not one shared pair
    low, _high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    for ports in (
        embedded_ports(one),
        EmbeddedPorts.for_slot(0),
        EmbeddedPorts.for_slot(SLOTS - 1),
    ):
        assert ports.postgres != ports.redis
        # never a port the kernel lends to outgoing connections (a bind there can fail at random)
        assert 1024 < ports.postgres < low and 1024 < ports.redis < low


def test_var_ports_env_is_what_the_settings_and_the_script_read(tmp_path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "ports.env").write_text(EmbeddedPorts(55002, 57002).env_text())
    assert embedded_ports(tmp_path) == EmbeddedPorts(postgres=55002, redis=57002)


def test_a_server_that_is_not_this_checkouts_is_refused_not_reused(tmp_path, monkeypatch) -> None:
    """The test servers stand in for another checkout's: they serve another directory."""
    stack = stack_script
    monkeypatch.setattr(stack, "VAR", tmp_path)
    pg = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"))
    redis = urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    assert stack.postgres_data_directory(pg.port or 5432)  # it answers, with its own directory
    with pytest.raises(SystemExit, match="not this checkout"):
        stack.embedded_postgres(pg.port or 5432)
    with pytest.raises(SystemExit, match="not this checkout"):
        stack.embedded_redis(redis.port or 6379)
    assert stack._STARTED == []  # nothing started, nothing to stop


def test_make_run_hands_web_worker_and_beat_to_honcho() -> None:
    stack = stack_script
    argv = stack.honcho_argv({"PORT": "8111"})
    assert argv[1:4] == ["-m", "honcho", "start"]
    assert argv[argv.index("--port") + 1] == "8111"
    procfile = (ROOT / "Procfile").read_text()
    names = [line.split(":", 1)[0] for line in procfile.splitlines() if line[:1].isalpha()]
    assert names == ["web", "worker", "beat"]
    assert "${WEB_BIND:-127.0.0.1:$PORT}" in procfile  # loopback unless HOST says otherwise
    assert "_commands" not in (ROOT / "scripts" / "stack.py").read_text()  # public API only
