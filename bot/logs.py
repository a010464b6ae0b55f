"""Logging set-up: secrets and personal numbers never reach a log line."""

from __future__ import annotations

import logging
import re

# Resident ID numbers (18 digits, the last may be X) and phone numbers (11+ digits, maybe +).
_PERSONAL = re.compile(r"(?<![0-9])(?:\d{17}[0-9Xx]|\+?\d{11,16})(?![0-9])")


class RedactingFilter(logging.Filter):
    """Replaces known secrets and anything shaped like an ID or phone number in every record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return _PERSONAL.sub("[number]", text)


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    install_redaction(handler, secrets)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_http_loggers()


def install_redaction(handler: logging.Handler, secrets: list[str]) -> None:
    handler.addFilter(RedactingFilter(secrets))


def quiet_http_loggers() -> None:
    # httpx logs every request URL at INFO, and the URL carries the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
