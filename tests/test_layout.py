"""The layout a newcomer relies on: layers that import downwards, handlers without SQL,
modules small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("allybot", "bot", "handlers", "scheduler")
MAX_LINES = 600


def modules(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def name_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_layers_import_downwards() -> None:
    """bot/ is the domain; handlers/ and scheduler/ build on it and not on each other;
    allybot/ wires them together and nothing imports it."""
    above = {
        "bot": ("allybot", "handlers", "scheduler"),
        "handlers": ("allybot", "scheduler"),
        "scheduler": ("allybot", "handlers"),
    }
    wrong = {
        name_of(path): sorted(m for m in imported(path) if m.split(".")[0] in above[package])
        for package in above
        for path in modules(package)
    }
    assert {module: found for module, found in wrong.items() if found} == {}


def test_handlers_open_no_sql() -> None:
    """Handlers call services; queries live in bot/services."""
    found = {
        name_of(path): sorted(m for m in imported(path) if m.split(".")[0] == "sqlalchemy")
        for path in modules("handlers")
    }
    assert {module: names for module, names in found.items() if names} == {}


def test_handlers_common_and_home_import_no_circle() -> None:
    """`engaging` republishes Home; Home must not need `engaging` back."""
    assert not any(m.startswith("handlers.common") for m in imported(ROOT / "handlers/home.py"))


def test_no_module_passes_600_lines() -> None:
    sizes = {
        name_of(p): len(p.read_text(encoding="utf-8").splitlines()) for p in modules(*PACKAGES)
    }
    assert {module: n for module, n in sizes.items() if n > MAX_LINES} == {}
