"""The layout a newcomer relies on: one way out to Slack, layers that import downwards,
handlers without SQL, modules small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("allybot", "bot", "handlers", "scheduler")
# Slack Web API methods that post, change or open something a person sees.
POSTING = {
    "chat_postMessage",
    "chat_postEphemeral",
    "chat_update",
    "chat_delete",
    "chat_scheduleMessage",
    "chat_meMessage",
    "conversations_open",
    "files_upload",
    "files_upload_v2",
    "files_completeUploadExternal",
    "views_publish",
    "views_open",
    "views_update",
    "views_push",
    "reactions_add",
}
POSTING_NAMES = {name.replace("_", ".", 1) for name in POSTING}
MAX_LINES = 600
# Where allybot answers the person who just acted: Bolt listeners, and the web dashboard's
# request handlers (a page's "forget me" republishes that person's Home).
REPLIES = ("handlers.", "bot.dashboard.routes")


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


def posts_to_slack(path: Path) -> set[str]:
    """The posting methods a module calls, as `client.chat_postMessage(…)` or by name."""
    calls: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in POSTING:
            calls.add(node.func.attr)
        for arg in node.args[:1]:
            if isinstance(arg, ast.Constant) and arg.value in POSTING_NAMES:
                calls.add(str(arg.value))
    return calls


def test_only_the_sender_and_the_handlers_post_to_slack() -> None:
    """What the scheduler sends goes through one sender; handlers (and the dashboard's
    request handlers) answer the person who acted; nothing else in allybot posts."""
    posting = {name_of(p): posts_to_slack(p) for p in modules(*PACKAGES)}
    posting = {module: calls for module, calls in posting.items() if calls}
    outside = {
        module: calls
        for module, calls in posting.items()
        if module != "scheduler.sender" and not module.startswith(REPLIES)
    }
    # bot.landing only reads: it opens the DM a resumed delivery already posted in, to read
    # its history for the earlier post (it posts nothing).
    assert outside == {"bot.landing": {"conversations_open"}}
    assert "chat_postMessage" in posting["scheduler.sender"]
    assert "conversations_open" in posting["scheduler.sender"]
    assert [m for m in posting if m.startswith("scheduler.")] == ["scheduler.sender"]


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
