"""Logging set-up: one line per event, secrets redacted, noisy HTTP loggers quieted.

httpx logs request URLs at INFO, and Telegram's Bot API puts the token in the URL, so the httpx
and httpcore loggers are held at WARNING and every record passes through a filter that replaces
any configured secret (and anything shaped like a bot token) with ``[redacted]``.
"""

from __future__ import annotations

import logging
import re
import sys

from bot.settings import Settings

TOKEN_SHAPES = re.compile(
    r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b|\bxox[abpr]-[A-Za-z0-9-]{10,}\b|\bxapp-[A-Za-z0-9-]{10,}\b"
)


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 6]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return TOKEN_SHAPES.sub("[redacted]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


def setup_logging(settings: Settings, *, verbose: bool = False) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(settings.secrets()))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default", "hpack", "telegram.ext.Updater"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Library chatter that repeats what our own one-line logs say.
    for quiet in ("trafilatura", "htmldate", "charset_normalizer", "feedparser"):
        logging.getLogger(quiet).setLevel(logging.ERROR)
