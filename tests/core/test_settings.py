import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _settings_in_subprocess(env: dict[str, str], expr: str, unset: tuple[str, ...] = ()) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print({expr})"
    base = {k: v for k, v in os.environ.items() if k not in unset}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


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
    assert out == "0.06 CNY Asia/Shanghai False 54329 redis://127.0.0.1:63799/0"
