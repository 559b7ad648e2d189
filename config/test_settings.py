"""Settings for the test suite: `config.settings` with the `test` environment signal set.

pytest loads this module (pyproject's DJANGO_SETTINGS_MODULE) so the suite gets the same dev
conveniences `make run` has, without any variable to remember. Every Redis key the suite writes
(cache, test clock, throttling, Celery's queue and results) carries a prefix of its own run, and
tests/conftest.py deletes that prefix when the session ends: the suite never touches the keys of
a service sharing the Redis database.
"""

import os
import uuid

os.environ["AIDC_ENV"] = "test"
os.environ["REDIS_KEY_PREFIX"] = f"aidc-test-{uuid.uuid4().hex[:12]}"

from config.settings import *  # noqa: F403  (REDIS_KEY_PREFIX above prefixes Celery's keys too)

# The alias a REPLICA_DATABASE_URL configures, mirroring the test database (Django's test MIRROR),
# so that the replica's tests can turn the setting on (core/replica.py reads it).
if "replica" not in DATABASES:  # noqa: F405
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
