"""Logging to a rotating file in the data folder."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler

from app.core.paths import AppPaths

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"
_MAX_BYTES = 2 * 1024**2
_BACKUPS = 3


def configure_logging(paths: AppPaths, level: int = logging.INFO) -> RotatingFileHandler | None:
    """Send the ``app`` loggers to ``paths.log_file``, rotating at 2 MB.

    Returns the handler, or None when the log folder cannot be written (a
    read-only data dir must not stop the app; logging then stays off).
    """
    try:
        paths.log_dir.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(paths.log_file, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger = logging.getLogger("app")
    for old in [h for h in logger.handlers if isinstance(h, RotatingFileHandler)]:
        logger.removeHandler(old)
        old.close()
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler
