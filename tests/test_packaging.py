"""The package metadata builds without setuptools' deprecation warnings: an SPDX licence
string, and a build backend pinned to a range that reads it."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_licence_is_an_spdx_string_not_a_table() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    assert isinstance(project["license"], str)
    assert project["license"].startswith("LicenseRef-") or project["license"].isupper()


def test_build_backend_is_pinned_to_a_bounded_range_that_reads_spdx() -> None:
    build = tomllib.loads(PYPROJECT.read_text())["build-system"]
    assert build["build-backend"] == "setuptools.build_meta"
    (setuptools,) = [Requirement(r) for r in build["requires"] if r.startswith("setuptools")]
    spec = setuptools.specifier
    assert Version("77.0") in spec, "77 is the first to read an SPDX licence string"
    assert Version("76.0") not in spec
    assert any(s.operator in ("<", "<=", "~=") for s in spec), "an upper bound"
    assert not any(r.startswith("wheel") for r in build["requires"]), "setuptools needs none"
