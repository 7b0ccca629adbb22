"""Count the SQL statements tortoise runs, for the benchmarks (the test suite has its own fixture in conftest)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

# Both the SQLite and the asyncpg client log each statement they execute as one debug record on this logger,
# `"<sql>: <values>"`; connection set-up and tear-down are logged there too, and are not statements.
DB_CLIENT_LOGGER = "tortoise.db_client"
_NOT_STATEMENTS = ("Created connection", "Closed connection")


class StatementLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not message.startswith(_NOT_STATEMENTS):
            self.statements.append(message)


@contextmanager
def count_statements() -> Iterator[StatementLog]:
    logger = logging.getLogger(DB_CLIENT_LOGGER)
    log = StatementLog()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(log)
    try:
        yield log
    finally:
        logger.removeHandler(log)
        logger.setLevel(previous)
