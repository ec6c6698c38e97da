"""What the members' report and suggestion forms ask for: one set of rules for both ends.

The site's forms (``pages.py``, ``theme/report.html``, ``theme/suggest.html``) show these
limits and choices; the endpoint (``attendance/submissions.py``) enforces them.  Here, and not
in the endpoint's package, because the build never imports the endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = ("项目招引", "民生实事", "组织建设", "其他")


@dataclass(frozen=True)
class TextLimits:
    fewest: int  # characters (code points) after trimming, as the endpoint counts them
    most: int


REPORT_TEXT = TextLimits(10, 5000)
SUGGESTION_TEXT = TextLimits(5, 2000)
NAME_LIMIT = 40  # as for check-in
CONTACT_LIMIT = 100

# The endpoint's pages and files a browser may open (GET), relative to its root; each covers what lies
# below it.  Where the endpoint's address is the site's own folder (or above it), the two share addresses,
# and the site's service worker must still leave these alone (tests/test_offline.py keeps the list whole).
ENDPOINT_PAGES = ("checkin", "report/done", "suggestion", "desk", "export.csv", "health")
