"""The page a member lands on after sending a quarterly report by a plain form, signed like the
check-in's confirmation (``confirmation.py``): it shows only what the endpoint itself put into
the link when it stored the report, so nobody can make up a "received" page for a report that
was never sent.  The same key: ``KITE_SECRET_KEY``, else one of this process's own.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import urlencode

from itsdangerous import BadData, URLSafeSerializer

from .confirmation import CLOCK_SKEW, MAX_AGE, SECRET_VARIABLE, LinkInvalid

SALT = "kite.report.receipt"
STATES = ("recorded", "duplicate")


@dataclass(frozen=True)
class ReportReceipt:
    state: str  # "recorded" or "duplicate"
    branch: str
    name: str
    quarter: str  # "2026Q4"
    at: datetime  # when the endpoint answered, UTC

    @property
    def recorded(self) -> bool:
        return self.state == "recorded"


class ReportReceipts:
    """Makes and reads receipt links.  ``key`` is the key, or a function giving it when first
    needed (a secret kept in the database, say); without one, ``$KITE_SECRET_KEY`` or a key
    of this object's own."""

    def __init__(self, key: str | Callable[[], str] | None = None):
        self._key = key or os.environ.get(SECRET_VARIABLE) or secrets.token_urlsafe(32)
        self._made: URLSafeSerializer | None = None

    @property
    def _serializer(self) -> URLSafeSerializer:
        if self._made is None:
            self._made = URLSafeSerializer(self._key() if callable(self._key) else self._key, salt=SALT)
        return self._made

    def link(self, receipt: ReportReceipt) -> str:
        """The receipt page's address, relative to the report URL (works behind a proxy path)."""
        token = self._serializer.dumps([receipt.state, receipt.branch, receipt.name, receipt.quarter,
                                        int(receipt.at.timestamp())])
        return "report/done?" + urlencode({"t": token})

    def read(self, token: str, now: datetime | None = None) -> ReportReceipt:
        """The receipt a token carries; raises ``LinkInvalid``."""
        now = now or datetime.now(timezone.utc)
        try:
            data = self._serializer.loads(token)
        except BadData:
            raise LinkInvalid(expired=False)
        if (not isinstance(data, list) or len(data) != 5 or data[0] not in STATES
                or not all(isinstance(value, str) for value in data[1:4]) or not isinstance(data[4], int)):
            raise LinkInvalid(expired=False)
        at = datetime.fromtimestamp(data[4], timezone.utc)
        if now - at > MAX_AGE or at - now > CLOCK_SKEW:
            raise LinkInvalid(expired=True)
        return ReportReceipt(data[0], data[1], data[2], data[3], at)
