"""The fault tests' servers: one embedded PostgreSQL and one Redis for the session, on free
ports under pytest's temporary directory, with a migrated and seeded template database."""

from collections.abc import Iterator

import pytest

from tests.faults.stack import FaultStack, seed_template, start_servers


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    tmp = tmp_path_factory.mktemp("faults")
    pg, redis = start_servers(tmp)
    stack = FaultStack(pg=pg, redis=redis, tmp=tmp, tokens={})
    try:
        seed_template(stack)
        yield stack
    finally:
        try:
            redis.stop()
        finally:
            pg.stop(mode="immediate")
