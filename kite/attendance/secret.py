"""The secret every endpoint instance shares: ``KITE_SECRET_KEY`` where set, else one in the database.

Confirmation links are signed with it and live check-in codes are derived from it, so
several ``attend`` processes behind one address agree on both without talking to each
other.  Without ``KITE_SECRET_KEY`` the first instance that needs it stores a random one
in the database (``LiveStore.server_secret``); a restart keeps it, so links and codes
outlive restarts too.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from typing import Callable

from ..storage import LiveStore, Store

SECRET_VARIABLE = "KITE_SECRET_KEY"


class SharedSecret:
    """The secret, read once and kept; reading it may raise ``StorageUnavailable``."""

    def __init__(self, load: Callable[[], str], configured: str | None = None):
        self._value = configured or None
        self._load = load
        self._lock = threading.Lock()

    @property
    def known(self) -> bool:
        """True once the value is at hand: using it costs no database round trip."""
        return self._value is not None

    def value(self) -> str:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._load()
        return self._value

    def derive(self, purpose: str) -> bytes:
        """A key for one purpose: knowing it tells nothing about the secret or other purposes' keys."""
        return hmac.new(self.value().encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256).digest()


def shared_secret(store: Store, configured: str | None = None) -> SharedSecret:
    """``configured``, else ``$KITE_SECRET_KEY``, else the secret kept in ``store``'s database."""
    return SharedSecret(LiveStore(store).server_secret, configured or os.environ.get(SECRET_VARIABLE))
