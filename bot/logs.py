"""Logging set-up: secrets and personal data never reach a log line.

Three layers, because one slip here leaks an ID card: PTB's debug lines that dump request
parameters, API results or webhook bodies (the texts people type: names, ID numbers) have
those parts withheld; known secrets (the bot and payment tokens) are replaced; and anything
shaped like an ID or phone number is masked wherever it appears.
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

# The update being handled, for every log line written while handling it (set by
# bot.ordering; tasks a handler starts inherit it).
UPDATE_ID: ContextVar[int | None] = ContextVar("update_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [update %(update_id)s]: %(message)s"

# 18-character resident ID numbers (the last may be X), and runs of 11+ digits that may be
# split by spaces or hyphens (phone numbers as people type them). ``\d`` on purpose here,
# unlike everywhere else: redaction must catch a number typed in any script's digits.
_RESIDENT_ID = re.compile(r"(?<!\d)(?:\d[\s\-]*){17}[\dXx](?!\d)")
_DIGIT_RUN = re.compile(r"(?<!\d)\+?\d(?:[\s\-]*\d){10,24}(?!\d)")
# PTB debug messages whose arguments carry user content: keep the first N arguments.
_PAYLOAD_DUMPS = (
    ("Calling Bot API endpoint", 1),
    ("Call to Bot API endpoint", 1),
    ("Webhook received data", 0),
    ("Processing update", 0),
    ("Dropping pending update", 0),
)
WITHHELD = "[content withheld]"


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.args:
            for prefix, keep in _PAYLOAD_DUMPS:
                if record.msg.startswith(prefix) and isinstance(record.args, tuple):
                    record.args = record.args[:keep] + (WITHHELD,) * (len(record.args) - keep)
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
            # Formatters that render the exception again (the JSON one) find only the
            # redacted text.
            record.exc_info = None
        record.msg, record.args = self.redact(message), None
        return True


    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        text = _RESIDENT_ID.sub("[id-number]", text)
        return _DIGIT_RUN.sub(_digits_or_keep, text)


class UpdateIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.update_id = UPDATE_ID.get() or "-"
        return True


def _digits_or_keep(match: re.Match[str]) -> str:
    return "[number]" if sum(c.isdigit() for c in match.group()) >= 11 else match.group()


def setup_logging(level: str, secrets: list[str], fmt: str = "text") -> None:
    root = logging.getLogger()
    root.handlers[:] = [build_handler(secrets, fmt)]
    root.setLevel(level)
    quiet_leaky_loggers()


def build_handler(secrets: list[str], fmt: str = "text",
                  stream: TextIO | None = None) -> logging.Handler:
    """``fmt`` "json": one JSON object per line (time, level, logger, update_id, message)."""
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(update_id)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(UpdateIdFilter())
    install_redaction(handler, secrets)
    return handler


def install_redaction(handler: logging.Handler, secrets: list[str]) -> None:
    handler.addFilter(RedactingFilter(secrets))


def quiet_leaky_loggers() -> None:
    # httpx logs every request URL at INFO, and the URL carries the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # aiosqlite logs every statement with its parameters at DEBUG: names, hashes, amounts.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    # The job scheduler logs every run of every job at INFO (the outbox every 2 seconds).
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
