"""Live check-in codes: 4 digits that change every ``code_seconds``, the same on every instance.

RFC 6238's scheme with 4 digits: the code for a moment is the HOTP (RFC 4226) of the
number of whole ``code_seconds`` steps since the Unix epoch, keyed by the activity's own
key, an HMAC of the instances' shared secret and the session (``secret.SharedSecret``).
Any instance, the host's screen and the QR code therefore show and accept the same code
at the same moment without talking to each other, and one activity's code says nothing
about another's.  The code of the step before is still accepted, for the member who
typed it just as it changed.

pyotp computes the HOTP.  It makes 6 digits at least; RFC 4226's truncation is the
HMAC's number modulo 10^digits, so the last 4 of its 6 digits are the 4-digit HOTP.

Wrong codes are counted per session, branch and name (the name as the desk matches it,
``names.match_key``) in the database, so the count holds across instances; after
``MAX_WRONG`` of them every further try for that person and session is refused, the
right code included.  What is stored for a person is a keyed digest, never the name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone

import pyotp

from ..desk.names import match_key
from ..storage import LiveStore, Store
from .secret import SharedSecret

DIGITS = 4
MAX_WRONG = 20

# What ``LiveCodes.check`` finds.
ACCEPTED = "accepted"
MISSING = "missing"  # no code sent: not a guess, not counted
MALFORMED = "malformed"  # not 4 digits, so it cannot be right: not counted
WRONG = "wrong"  # counted
BLOCKED = "blocked"  # MAX_WRONG wrong codes already: refused whatever was sent


@dataclass(frozen=True)
class LiveCode:
    code: str  # "0427"
    valid_until: datetime  # aware, UTC: when the next code replaces it (it is still accepted one step longer)

    def as_json(self) -> dict[str, str]:
        """``{"code": "0427", "valid_until": "2026-12-05T11:32:00+00:00"}``"""
        return {"code": self.code, "valid_until": self.valid_until.isoformat()}


@dataclass(frozen=True)
class Check:
    verdict: str  # ACCEPTED, MISSING, MALFORMED, WRONG or BLOCKED
    remaining: int = MAX_WRONG  # wrong codes this person may still send before BLOCKED


def step_of(at: datetime, seconds: int) -> int:
    """The number of whole ``seconds``-long steps from the Unix epoch to ``at`` (RFC 6238's T)."""
    if at.utcoffset() is None:
        raise ValueError("live codes need an aware datetime")
    return int(at.timestamp()) // seconds


def code_of_step(key: bytes, step: int) -> str:
    """The 4-digit code of one step for the activity whose key is ``key``."""
    hotp = pyotp.HOTP(base64.b32encode(key).decode("ascii"), digits=6, digest=hashlib.sha1)
    return hotp.at(step)[-DIGITS:]


def normalise(typed: str) -> str:
    """A code as typed, as compared: full-width digits (from Chinese keyboards) folded, spaces dropped."""
    return "".join(unicodedata.normalize("NFKC", typed).split())


class LiveCodes:
    """The live codes of every ``attendance: code`` activity, and who has guessed too often."""

    def __init__(self, secret: SharedSecret, store: LiveStore):
        self._secret = secret
        self._store = store

    def _activity_key(self, session: str) -> bytes:
        return hmac.new(self._secret.derive("kite.live.code"), session.encode("utf-8"), hashlib.sha256).digest()

    def current(self, session: str, seconds: int, at: datetime) -> LiveCode:
        """The code to show for ``session`` at ``at``, and when the next one replaces it."""
        step = step_of(at, seconds)
        until = datetime.fromtimestamp((step + 1) * seconds, timezone.utc)
        return LiveCode(code_of_step(self._activity_key(session), step), until)

    def accepts(self, session: str, seconds: int, code: str, at: datetime) -> bool:
        """True for the current code and the one just before it."""
        key = self._activity_key(session)
        step = step_of(at, seconds)
        typed = normalise(code).encode("ascii", "replace")
        # Both compared, in constant time, so timing tells nothing about which one matched.
        matches = [hmac.compare_digest(typed, code_of_step(key, s).encode("ascii")) for s in (step, step - 1)]
        return any(matches)

    def person(self, session: str, branch: str, name: str) -> str:
        """The opaque key wrong codes are counted under: the same for 张三 and 张 三."""
        message = "\0".join((session, branch, match_key(name))).encode("utf-8")
        return hmac.new(self._secret.derive("kite.live.person"), message, hashlib.sha256).hexdigest()

    def check(self, session: str, branch: str, name: str, seconds: int, typed: str, at: datetime) -> Check:
        """Whether ``typed`` lets this person check in to ``session`` now; counts a wrong code.

        The name is not looked up anywhere, so the answer is the same whether or not it
        is on a roster.  Raises StorageUnavailable when the database cannot answer.
        """
        person = self.person(session, branch, name)
        wrong = self._store.wrong_codes(session, person)
        if wrong >= MAX_WRONG:
            return Check(BLOCKED, 0)
        code = normalise(typed)
        if not code:
            return Check(MISSING, MAX_WRONG - wrong)
        if not (len(code) == DIGITS and code.isascii() and code.isdigit()):
            return Check(MALFORMED, MAX_WRONG - wrong)
        if self.accepts(session, seconds, code, at):
            return Check(ACCEPTED, MAX_WRONG - wrong)
        # Counted before answering: of many wrong codes sent at once, only those within the limit get 403.
        wrong = self._store.add_wrong_code(session, person, at)
        return Check(WRONG, MAX_WRONG - wrong) if wrong <= MAX_WRONG else Check(BLOCKED, 0)


def live_codes(secret: SharedSecret, store: Store) -> LiveCodes:
    """The live codes over an open ``Store``, with ``secret`` shared with the confirmation links."""
    return LiveCodes(secret, LiveStore(store))
