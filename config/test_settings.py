"""Settings for the test suite: `config.settings` with the `test` environment signal set.

pytest loads this module (pyproject's DJANGO_SETTINGS_MODULE) so the suite gets the same dev
conveniences `make run` has, without any variable to remember.
"""

import os

os.environ["AIDC_ENV"] = "test"

from config.settings import *  # noqa: F403
