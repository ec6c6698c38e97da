"""What can go wrong with the database, in two kinds the callers treat differently."""

from __future__ import annotations


class StorageError(Exception):
    """The database cannot be used at all (a newer Kite's, not Kite's, cannot be opened).

    The message is for whoever runs Kite, in Chinese; ``attend`` prints it and exits.
    """


class StorageUnavailable(Exception):
    """The database cannot take this request now: disk full, read-only, server down.

    Nothing was stored.  The endpoint answers 503 and the next request tries again.
    """
