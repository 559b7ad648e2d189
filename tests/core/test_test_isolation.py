"""The suite touches only its own Redis keys (and its own test_* database)."""

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from tests.conftest import redis_test_keys

pytestmark = pytest.mark.django_db


def test_every_redis_key_the_suite_writes_has_its_own_prefix(tenant_client) -> None:
    assert settings.REDIS_KEY_PREFIX.startswith("aidc-test-")
    client = redis.Redis.from_url(settings.REDIS_URL)
    before = set(client.keys("*"))
    cache.set("probe", 1)
    tenant_client.get("/api/v1/me/")  # a throttle counter
    written = set(client.keys("*")) - before
    assert written  # the cache value and the throttle counter
    assert all(key.decode().startswith(settings.REDIS_KEY_PREFIX) for key in written)
    assert set(redis_test_keys()) >= written
    cache.delete("probe")


def test_celery_keys_carry_the_test_prefix() -> None:
    prefix = f"{settings.REDIS_KEY_PREFIX}:"
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] == prefix
    assert settings.CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS["global_keyprefix"] == prefix
