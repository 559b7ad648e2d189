"""The production-like stack seeds no demo users and has no default secret; `make run` binds to
loopback unless told otherwise."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from scripts import stack as stack_script

ROOT = Path(__file__).resolve().parents[2]


def test_the_compose_stack_seeds_no_demo_users_and_needs_a_secret_key() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    text = (ROOT / "docker-compose.yml").read_text()
    assert "seed_demo" not in text
    assert "demo-password" not in text
    env = compose["x-app"]["environment"]
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")  # compose refuses to start without it
    assert env["AIDC_ENV"] == "production"
    assert env["TEST_CLOCK"] == "false"
    # HTTPS-only guards stay on unless the operator turns them off for a local trial
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        assert env[name] == f"${{{name}:-true}}", name
    assert env["API_DOCS_PUBLIC"] == "${API_DOCS_PUBLIC:-false}"


def test_make_run_listens_on_loopback_unless_host_is_set() -> None:
    stack = stack_script
    assert stack.web_bind({}) == "127.0.0.1:8000"
    assert stack.web_bind({"HOST": "0.0.0.0", "PORT": "9000"}) == "0.0.0.0:9000"


def test_make_run_and_exec_mark_the_environment_as_development(monkeypatch) -> None:
    stack = stack_script
    monkeypatch.delenv("AIDC_ENV", raising=False)
    monkeypatch.setattr(stack, "ensure_database", lambda url, *, create: None)
    monkeypatch.setattr(stack, "check_redis", lambda url: None)
    monkeypatch.setenv("DATABASE_URL", "postgres://x@127.0.0.1:1/x")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    assert stack.resolve(prefer_local=True, create_database=False)["AIDC_ENV"] == "development"


def test_seed_demo_refuses_outside_make_run_and_the_tests(settings) -> None:
    settings.DEV_CONVENIENCES = False
    with pytest.raises(CommandError, match="create_user"):
        call_command("seed_demo")


def test_stack_exec_does_not_create_the_application_database(monkeypatch) -> None:
    """`make test` runs under `stack.py exec`: the suite makes its own test_* database."""
    import argparse
    import os
    from urllib.parse import urlparse

    import psycopg

    stack = stack_script
    server = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"))
    name = "aidc_never_made_by_exec"
    admin_url = server._replace(path="/postgres").geturl()
    monkeypatch.setenv("DATABASE_URL", server._replace(path=f"/{name}").geturl())
    assert stack.cmd_exec(argparse.Namespace(command=["--", "true"])) == 0
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    assert exists is None


def test_stack_exec_leaves_the_settings_module_to_the_command() -> None:
    # `make test` runs pytest through `stack.py exec`: pytest must load config.test_settings
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    probe = "import os; print(os.environ.get('DJANGO_SETTINGS_MODULE'))"
    result = subprocess.run(
        [sys.executable, "scripts/stack.py", "exec", "--", sys.executable, "-c", probe],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == "None"
