"""QR codes of an activity's page, as SVG: with the live code for the host's screen, without it for the poster.

segno draws them.  The page URL is the announcement's own address (percent-encoded, so
a Chinese slug survives every scanner); ``?code=`` fills in the form's code field on
the page (``assets/checkin.js``).  Error correction M survives a projector's glare and a
phone held at an angle while keeping the symbol small enough to scan from the back of a room.
"""

from __future__ import annotations

import io
from urllib.parse import urlencode, urlsplit, urlunsplit

import segno

# Four modules of white around the symbol: the quiet zone scanners need to find it.
QUIET_ZONE = 4


def url_with_code(page_url: str, code: str) -> str:
    """The page's address with ``?code=0427`` (replacing any query it had)."""
    parts = urlsplit(page_url)
    return urlunsplit(parts._replace(query=urlencode({"code": code}), fragment=""))


def qr_svg(url: str, *, title: str | None = None, standalone: bool = False) -> str:
    """``url`` as a QR code in SVG that scales to any size (no width or height: CSS sets it).

    Inline SVG for an HTML page by default; ``standalone`` adds the XML declaration and
    namespace that an ``.svg`` file needs.  Dark modules on white, whatever the page's colours.
    """
    symbol = segno.make(url, error="m", micro=False)
    options = dict(border=QUIET_ZONE, dark="#000", light="#fff", omitsize=True, title=title, svgclass="kite-qr")
    if not standalone:
        return symbol.svg_inline(**options)
    out = io.BytesIO()
    symbol.save(out, kind="svg", xmldecl=True, svgns=True, **options)
    return out.getvalue().decode("utf-8")
