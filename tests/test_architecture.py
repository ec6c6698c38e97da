"""Which module may import what: the seams README's architecture section describes."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import REPO

KITE = REPO / "kite"


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports, relative imports resolved."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_the_imports_seen_are_real():
    # The scan itself must find imports, or the tests below would pass on nothing.
    assert "kite.models" in imported_modules(KITE / "loader.py")
    assert "kite.sessions" not in imported_modules(KITE / "attendance/web.py")
    assert "kite.attendance.sessions" in imported_modules(KITE / "attendance/web.py")


def test_the_build_does_not_import_the_endpoint():
    # The preview runs the endpoint beside it, and the CLI starts either; nothing else may.
    # The desk's pages are the endpoint's own, mounted by it, in its templates' look.
    allowed = {KITE / "cli.py", KITE / "preview.py", KITE / "desk/web.py"}
    for path in modules(KITE):
        if path in allowed or KITE / "attendance" in path.parents:
            continue
        wrong = {name for name in imported_modules(path) if name.startswith("kite.attendance")}
        assert not wrong, f"{path.relative_to(REPO)} imports {sorted(wrong)}"


def test_only_the_engine_imports_mkdocs_or_material():
    engine = KITE / "engine"
    assert any(name.startswith("mkdocs") for path in modules(engine) for name in imported_modules(path))
    for path in modules(KITE):
        if engine in path.parents:
            continue
        wrong = {name for name in imported_modules(path) if name.split(".")[0] in ("mkdocs", "material")}
        assert not wrong, f"{path.relative_to(REPO)} imports {sorted(wrong)}; MkDocs belongs in kite/engine/"
