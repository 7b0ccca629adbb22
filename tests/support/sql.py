"""Counting the SQL statements a request costs, as tortoise logs them."""

from __future__ import annotations

import logging


class StatementCounter(logging.Handler):
    """Counts SQL statements as tortoise logs them (each executed statement is one debug record)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.split(None, 1)[:1] and message.split(None, 1)[0].upper() in {
            "SELECT",
            "INSERT",
            "UPDATE",
            "DELETE",
        }:
            self.statements.append(message)
