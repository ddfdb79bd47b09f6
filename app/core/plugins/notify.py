"""Notifiers for when there is no window: to the log, or into a list."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from app.core.plugins.services import NoticeLevel

log = logging.getLogger(__name__)

_LOG_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class LogNotifier:
    """Sends notices to the log file only."""

    def notify(self, message: str, level: NoticeLevel = "info") -> None:
        log.log(_LOG_LEVELS.get(level, logging.INFO), "notice: %s", message)


@dataclass
class ListNotifier:
    """Keeps notices in order (tests, the command line) and logs them too."""

    notices: list[tuple[NoticeLevel, str]] = field(default_factory=list)

    def notify(self, message: str, level: NoticeLevel = "info") -> None:
        self.notices.append((level, message))
        LogNotifier().notify(message, level)

    @property
    def messages(self) -> list[str]:
        return [message for _, message in self.notices]
