from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Tenant, User
from core import clock
from core.roles import Role
from tests.factories import TenantFactory, UserFactory, api_key


def redis_test_keys(client: redis.Redis | None = None) -> list[bytes]:
    """The keys this test session wrote in Redis (all under its own prefix)."""
    client = client or redis.Redis.from_url(django_settings.REDIS_URL, socket_connect_timeout=2)
    return list(client.scan_iter(match=f"{django_settings.REDIS_KEY_PREFIX}*", count=1000))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Leave the shared Redis database as the suite found it."""
    try:
        client = redis.Redis.from_url(django_settings.REDIS_URL, socket_connect_timeout=2)
        keys = redis_test_keys(client)
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    except redis.RedisError:
        pass  # Redis away at the end: nothing we wrote can be deleted, nor needs to be


@pytest.fixture(autouse=True)
def _reset_test_clock(settings: Any) -> Iterator[None]:
    cache.delete(clock.TEST_CLOCK_KEY)
    yield
    cache.delete(clock.TEST_CLOCK_KEY)


@pytest.fixture
def tenant(db: None) -> Tenant:
    return TenantFactory()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(role: str = Role.TENANT, **kwargs: Any) -> User:
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def make_client() -> Callable[[User | None], APIClient]:
    def make(user: User | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
        return client

    return make


@pytest.fixture
def tenant_user(make_user: Callable[..., User], tenant: Tenant) -> User:
    return make_user(Role.TENANT, tenant=tenant)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(Role.OPERATOR)


@pytest.fixture
def finance(make_user: Callable[..., User]) -> User:
    return make_user(Role.FINANCE)


@pytest.fixture
def admin_user(make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def tenant_client(make_client: Callable[..., APIClient], tenant_user: User) -> APIClient:
    return make_client(tenant_user)


@pytest.fixture
def operator_client(make_client: Callable[..., APIClient], operator: User) -> APIClient:
    return make_client(operator)


@pytest.fixture
def finance_client(make_client: Callable[..., APIClient], finance: User) -> APIClient:
    return make_client(finance)


@pytest.fixture
def admin_client_api(make_client: Callable[..., APIClient], admin_user: User) -> APIClient:
    return make_client(admin_user)
