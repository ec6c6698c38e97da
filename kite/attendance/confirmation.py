"""Confirmation links after a form check-in, signed so that nobody can make one up.

The page a member lands on after posting the form shows the name, branch and lesson
or activity that the endpoint itself put into the link's signed token, never what a
URL claims (``…/checkin/done?state=recorded&name=冒名顶替`` shows nothing).  The endpoint
signs with its shared secret (``secret.SharedSecret``: ``KITE_SECRET_KEY``, else the one
kept in the database), so a link made by one instance reads on every other one.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable
from urllib.parse import urlencode

from itsdangerous import BadData, URLSafeSerializer

from .secret import SECRET_VARIABLE

SALT = "kite.checkin.confirmation"
MAX_AGE = timedelta(days=7)  # long enough to show a secretary next week, short enough to go stale
CLOCK_SKEW = timedelta(minutes=5)
STATES = ("recorded", "duplicate")


@dataclass(frozen=True)
class Confirmation:
    state: str  # "recorded" or "duplicate"
    session: str  # "lessons/SLUG" or "announcements/SLUG"
    branch: str
    name: str
    at: datetime  # when the endpoint answered, UTC

    @property
    def recorded(self) -> bool:
        return self.state == "recorded"


class LinkInvalid(Exception):
    """The token was not made by this endpoint's key, was altered, or is too old."""

    def __init__(self, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


class Confirmations:
    """Makes and reads the links.  ``key`` is the key, or a function giving it when first
    needed (the endpoint's shared secret, which may have to be read from the database);
    without one, ``$KITE_SECRET_KEY`` or a key of this object's own."""

    def __init__(self, key: str | Callable[[], str] | None = None):
        if key is None:
            key = os.environ.get(SECRET_VARIABLE) or secrets.token_urlsafe(32)
        self._key = key
        self._made: URLSafeSerializer | None = None

    @property
    def _serializer(self) -> URLSafeSerializer:
        if self._made is None:
            self._made = URLSafeSerializer(self._key() if callable(self._key) else self._key, salt=SALT)
        return self._made

    def link(self, confirmation: Confirmation) -> str:
        """The confirmation page's address, relative to the check-in URL (works behind a proxy path)."""
        token = self._serializer.dumps([confirmation.state, confirmation.session, confirmation.branch,
                                        confirmation.name, int(confirmation.at.timestamp())])
        return "checkin/done?" + urlencode({"t": token})

    def read(self, token: str, now: datetime | None = None) -> Confirmation:
        """The confirmation a token carries; raises ``LinkInvalid``."""
        now = now or datetime.now(timezone.utc)
        try:
            data = self._serializer.loads(token)
        except BadData:
            raise LinkInvalid(expired=False)
        if (not isinstance(data, list) or len(data) != 5 or data[0] not in STATES
                or not all(isinstance(value, str) for value in data[1:4]) or not isinstance(data[4], int)):
            raise LinkInvalid(expired=False)  # signed by this key, but not by this code
        at = datetime.fromtimestamp(data[4], timezone.utc)
        if now - at > MAX_AGE or at - now > CLOCK_SKEW:
            raise LinkInvalid(expired=True)
        return Confirmation(data[0], data[1], data[2], data[3], at)
