"""The engine: MkDocs + Material, behind the few calls Kite makes.

Every import of ``mkdocs`` or ``material`` lives in this package (a test says so), so
the engine can change without the rest of Kite noticing: Material 9 reaches end of
life in 2027, and its successors read the same configuration.

- ``render``: page specs in, HTML files out (``render.py``, with the plugin in ``plugin.py``
  and the editor-facing link check in ``links.py``);
- ``livereload.PreviewServer``: the preview's web server (imported by the preview only).
"""

from .render import Job, RenderFailed, render, template_problems, theme_language

__all__ = ["Job", "RenderFailed", "render", "template_problems", "theme_language"]
