"""Where the tests read Slack's published schemas (never copied into the project).

The shared oracles folder sits beside the project. A fresh clone made elsewhere (CI clones
main into a temporary folder) finds it beside the checkout it was cloned from; a deployer
can also name the folder in ALLYBOT_ORACLES.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def oracles_dir() -> Path:
    """The oracles folder: ALLYBOT_ORACLES, beside this checkout, or beside its origin."""
    named = os.environ.get("ALLYBOT_ORACLES")
    if named:
        return Path(named)
    beside = PROJECT_ROOT.parent / "shared" / "oracles"
    if beside.is_dir():
        return beside
    origin = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "remote", "get-url", "origin"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    source = Path(origin.removeprefix("file://")) if origin else None
    if source is not None and source.is_dir():
        cloned_from = source.resolve().parent / "shared" / "oracles"
        if cloned_from.is_dir():
            return cloned_from
    return beside
