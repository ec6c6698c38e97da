"""The endpoint's own HTML pages: Jinja2 templates in ``templates/``, in the site's look.

Every template extends ``endpoint_base.html`` and receives ``site`` (the hub's current
config) and ``logo`` besides what its page passes; each template's first comment says
what that is.  Autoescaping is on: text from members and editors is printed as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from ..config import SiteConfig

TEMPLATES = Path(__file__).parent / "templates"
LOGO = Path(__file__).parent.parent / "theme/assets/kite.svg"


class EndpointPages:
    """Renders the endpoint's pages; ``site`` returns the hub's config as currently loaded."""

    def __init__(self, site: Callable[[], SiteConfig]):
        self.site = site
        # StrictUndefined: a template asking for something its page did not pass is a defect to see.
        environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        logo = LOGO.read_text(encoding="utf-8").replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1)
        environment.globals["logo"] = Markup(logo)
        self.templates = Jinja2Templates(env=environment)

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        response = self.templates.TemplateResponse(request, template, {"site": self.site(), **context},
                                                   status_code=status)
        response.headers["Cache-Control"] = "no-store"  # a member's name is never cached on the way
        # A confirmation's address carries the member's name and branch (its signed token): a link
        # from it back to the site must not hand that address to the site's access log as Referer
        # (same host behind the guide's nginx, and old WeChat kernels send it to other hosts too).
        # The desk's guard puts its own policy (same-origin) over this one.
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
