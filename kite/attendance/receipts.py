"""The page a member lands on after sending a quarterly report by a plain form, signed like the
check-in's confirmation (``confirmation.py``): it shows only what the endpoint itself put into
the link when it stored the report, so nobody can make up a "received" page for a report that
was never sent.  The same key: ``KITE_SECRET_KEY``, else one of this process's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from .confirmation import SignedLinks

SALT = "kite.report.receipt"


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


class ReportReceipts(SignedLinks[ReportReceipt]):
    """The report's receipt links (``report/done?t=…``), signed like the check-in's."""

    def __init__(self, key: str | Callable[[], str] | None = None):
        super().__init__(ReportReceipt, SALT, "report/done", key)
