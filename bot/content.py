"""The content allybot ships as YAML in `bot/` (tips, conversation starters, the guide)."""

from __future__ import annotations

from importlib import resources
from typing import Any


def read(name: str) -> Any:
    """One of the content files, parsed. The YAML parser is imported on the first read, not
    when allybot starts: about a twentieth of every command's start-up, and most commands
    (a refusal, `report`, `migrate`) never read content."""
    import yaml

    return yaml.safe_load(resources.files("bot").joinpath(name).read_text(encoding="utf-8"))
