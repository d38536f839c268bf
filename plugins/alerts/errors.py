"""The one error the alert rules raise, shared by every module that writes alerts."""

from __future__ import annotations


class AlertError(Exception):
    """A change the rules refuse; the message is translated and says why. status: the HTTP status."""

    def __init__(self, message: str, status: int = 409, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
