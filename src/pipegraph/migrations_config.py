"""Configuration for tortoise's CLI (`make migrations`): models compared against the committed migrations."""

import os

from pipegraph.db import tortoise_config

TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL", "sqlite://:memory:"))
