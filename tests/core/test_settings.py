import os
import subprocess
import sys
from pathlib import Path

from config.checkout import embedded_ports

ROOT = Path(__file__).resolve().parents[2]


def _run_settings(
    env: dict[str, str], expr: str, unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    code = f"import django; django.setup(); from django.conf import settings; print({expr})"
    base = {k: v for k, v in os.environ.items() if k not in unset}
    # A checkout where `make run` ran has var/dev.env: these starts must not read it.
    base["AIDC_DEV_ENV_FILE"] = "/nonexistent/dev.env"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def _settings_in_subprocess(env: dict[str, str], expr: str, unset: tuple[str, ...] = ()) -> str:
    result = _run_settings(env, expr, unset)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _refused(env: dict[str, str], unset: tuple[str, ...] = ()) -> str:
    result = _run_settings(env, "settings.SECRET_KEY", unset)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    return result.stderr


def test_settings_are_read_from_the_environment() -> None:
    out = _settings_in_subprocess(
        {
            "VAT_RATE": "0.09",
            "CURRENCY": "USD",
            "OPERATOR_TIME_ZONE": "Europe/Berlin",
            "DATABASE_URL": "postgres://u@db.example:6543/other",
            "REDIS_URL": "redis://cache.example:6390/3",
            "TEST_CLOCK": "true",
            "DEBUG": "false",
        },
        "settings.VAT_RATE, settings.CURRENCY, settings.OPERATOR_TIME_ZONE, "
        "settings.DATABASES['default']['HOST'], settings.DATABASES['default']['PORT'], "
        "settings.DATABASES['default']['NAME'], settings.CELERY_BROKER_URL, settings.TEST_CLOCK",
    )
    assert out == ("0.09 USD Europe/Berlin db.example 6543 other redis://cache.example:6390/3 True")


def test_defaults_point_at_the_embedded_servers() -> None:
    names = (
        "DATABASE_URL",
        "REDIS_URL",
        "VAT_RATE",
        "CURRENCY",
        "OPERATOR_TIME_ZONE",
        "TEST_CLOCK",
    )
    out = _settings_in_subprocess(
        {},
        "settings.VAT_RATE, settings.CURRENCY, settings.OPERATOR_TIME_ZONE, settings.TEST_CLOCK, "
        "settings.DATABASES['default']['PORT'], settings.REDIS_URL",
        unset=names,
    )
    ports = embedded_ports(ROOT)  # this checkout's own (config/checkout.py)
    assert out == f"0.06 CNY Asia/Shanghai False {ports.postgres} redis://127.0.0.1:{ports.redis}/0"


def test_a_production_start_without_secret_key_refuses_to_start() -> None:
    # AIDC_ENV unset is a production start: no variable turns a convenience on by its absence
    stderr = _refused({}, unset=("SECRET_KEY", "AIDC_ENV"))
    assert "SECRET_KEY is not set" in stderr
    _refused({"AIDC_ENV": "production", "DEBUG": "true"}, unset=("SECRET_KEY",))


def test_a_production_start_with_a_secret_key_runs_on_it() -> None:
    out = _settings_in_subprocess(
        {"AIDC_ENV": "production", "SECRET_KEY": "s3cret-from-the-environment"},
        "settings.SECRET_KEY",
    )
    assert out == "s3cret-from-the-environment"


def test_make_run_and_the_tests_get_a_dev_only_secret_key() -> None:
    for mode in ("development", "test"):
        out = _settings_in_subprocess(
            {"AIDC_ENV": mode}, "settings.SECRET_KEY", unset=("SECRET_KEY",)
        )
        assert out.startswith("dev-only-")


def test_an_unknown_environment_name_refuses_to_start() -> None:
    _refused({"AIDC_ENV": "prod", "SECRET_KEY": "x"})


def test_the_test_clock_is_refused_in_a_production_start_with_debug_off() -> None:
    stderr = _refused(
        {"AIDC_ENV": "production", "SECRET_KEY": "x", "TEST_CLOCK": "true", "DEBUG": "false"}
    )
    assert "TEST_CLOCK" in stderr


def test_the_test_clock_is_allowed_under_make_run_or_with_debug_on() -> None:
    for env in (
        {"AIDC_ENV": "development", "DEBUG": "false"},
        {"AIDC_ENV": "production", "SECRET_KEY": "x", "DEBUG": "true"},
    ):
        assert (
            _settings_in_subprocess({**env, "TEST_CLOCK": "true"}, "settings.TEST_CLOCK") == "True"
        )


def test_a_checkout_running_make_run_is_a_development_one_for_manage_py(tmp_path: Path) -> None:
    dev_env = tmp_path / "dev.env"
    dev_env.write_text("AIDC_ENV=development\nSECRET_KEY=this-checkouts-own-key\n")
    given = {"AIDC_DEV_ENV_FILE": str(dev_env)}
    out = _settings_in_subprocess(
        given, "settings.AIDC_ENV, settings.SECRET_KEY", unset=("SECRET_KEY", "AIDC_ENV")
    )
    assert out == "development this-checkouts-own-key"
    # an explicit AIDC_ENV (the image sets production) ignores the file
    _refused({**given, "AIDC_ENV": "production"}, unset=("SECRET_KEY",))
