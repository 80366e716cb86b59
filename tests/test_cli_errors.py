"""Every `allybot` command refuses bad arguments, missing settings and a database it cannot
use with one line on stderr and exit status 2: no traceback, nothing created or changed."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from allybot.cli import build_parser
from tests.conftest import ROOT, Templates

SLACK = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:1/allybot"


def run_cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALLYBOT_"))}
    clean.pop("DATABASE_URL", None)
    clean.update(env)
    clean.setdefault("SLACK_API_URL", "http://127.0.0.1:9/api/")  # never Slack itself
    return subprocess.run(
        [sys.executable, "-m", "allybot.cli", *args],
        cwd=cwd,  # no .env there
        env={**clean, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def subcommands() -> list[list[str]]:
    """Every leaf command of the parser, e.g. ["serve"], ["nudges", "preview"]."""

    def walk(parser: argparse.ArgumentParser, prefix: list[str]) -> list[list[str]]:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return [prefix]
        return [leaf for name, p in subs[0].choices.items() for leaf in walk(p, [*prefix, name])]

    return walk(build_parser(), [])


LEAVES = subcommands()
NEEDS_SLACK = {("run",), ("serve",), ("socket",), ("worker",), ("tick",), ("nudges", "preview")}


def test_the_walk_sees_every_command() -> None:
    names = {" ".join(leaf) for leaf in LEAVES}
    assert names >= {"run", "serve", "socket", "worker", "migrate", "tick", "nudges preview"}
    assert names >= {"report", "settings apply"}


@pytest.mark.parametrize("leaf", LEAVES, ids=" ".join)
def test_an_unknown_option_is_one_line(tmp_path: Path, leaf: list[str]) -> None:
    line = one_line_refusal(run_cli(tmp_path, *leaf, "--no-such-option", **SLACK))
    assert "--no-such-option" in line or "required" in line
    assert "--help" in line
    assert not list(tmp_path.iterdir()), "nothing was created"


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["nudges"], ["settings"]], ids=str)
def test_a_missing_or_unknown_command_is_one_line(tmp_path: Path, args: list[str]) -> None:
    one_line_refusal(run_cli(tmp_path, *args))


@pytest.mark.parametrize("leaf", sorted(NEEDS_SLACK), ids=" ".join)
def test_missing_settings_are_all_named_in_one_line(tmp_path: Path, leaf: tuple[str, ...]) -> None:
    line = one_line_refusal(run_cli(tmp_path, *leaf))
    assert "SLACK_BOT_TOKEN" in line and "manifest.yml" in line
    if leaf in {("serve",), ("run",)}:
        assert "SLACK_SIGNING_SECRET" in line, "both missing settings, in one go"
    if leaf == ("run",):
        assert "HTTP mode" in line and "SLACK_APP_TOKEN" in line, "says which mode, and the other"
    if leaf == ("socket",):
        assert "SLACK_APP_TOKEN" in line
    assert not list(tmp_path.iterdir()), "no database was created"


def test_socket_mode_reports_both_of_its_settings(tmp_path: Path) -> None:
    line = one_line_refusal(run_cli(tmp_path, "socket", SLACK_SIGNING_SECRET="s"))
    assert "SLACK_APP_TOKEN" in line and "SLACK_BOT_TOKEN" in line


def test_malformed_settings_are_all_named_in_one_line(tmp_path: Path) -> None:
    line = one_line_refusal(
        run_cli(tmp_path, "serve", **SLACK, ALLYBOT_LOG_LEVEL="LOUD", SLACK_API_URL="ftp://x")
    )
    assert "ALLYBOT_LOG_LEVEL" in line and "SLACK_API_URL" in line


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["serve", "--port", "-1"], "not a port"),
        (["serve", "--port", "70000"], "not a port"),
        (["serve", "--port", "http"], "not a port"),
        (["run", "--port", "70000"], "not a port"),
        (["serve", "--host", "999.1.1.1"], "not an address"),
        (["serve", "--tick-seconds", "-5"], "not a number of seconds"),
        (["serve", "--tick-seconds", "nan"], "not a number of seconds"),
        (["worker", "--tick-seconds", "-5"], "not a number of seconds"),
        (["socket", "--tick-seconds", "-1"], "not a number of seconds"),
        (["serve", "--workers", "-1"], "number of processes"),
        (["tick", "--now", "next tuesday"], "ISO-8601"),
        (["nudges", "preview", "--now", "soon"], "ISO-8601"),
        (["tick", "--now", "0001-01-01T00:00:00"], "out of range"),
        (["tick", "--now", "9999-12-31T23:59:59"], "out of range"),
        (["nudges", "preview", "--now", "0001-01-01T00:00:00Z"], "out of range"),
        (["report", "--since", "0001-01-01"], "more than 53 weeks ago"),
        (["report", "--since", "last year"], "a day such as"),
        (["report", "--html", "/no/such/dir/x.html"], "does not exist"),
        (["settings", "apply", "missing.yaml", "--team", "T0123ABCD"], "can't read"),
        (["settings", "apply", "missing.yaml"], "--team"),
    ],
    ids=" ".join,
)
def test_bad_arguments_are_one_line(tmp_path: Path, args: list[str], words: str) -> None:
    db = tmp_path / "allybot.db"
    line = one_line_refusal(run_cli(tmp_path, *args, **SLACK, DATABASE_URL=f"sqlite:///{db}"))
    assert words in line
    assert not db.exists(), "refused before opening the database"


@pytest.mark.parametrize(
    "args",
    [["migrate"], ["serve", "--port", "0"], ["tick"], ["worker"], ["report"]],
    ids=" ".join,
)
def test_unreachable_postgresql_is_one_line(tmp_path: Path, args: list[str]) -> None:
    line = one_line_refusal(run_cli(tmp_path, *args, **SLACK, DATABASE_URL=UNREACHABLE_PG))
    assert "PostgreSQL at 127.0.0.1:1/allybot" in line and "DATABASE_URL" in line


@pytest.mark.parametrize(
    "args", [["migrate"], ["serve", "--port", "0"], ["tick"], ["report"]], ids=" ".join
)
def test_a_missing_sqlite_folder_is_one_line(tmp_path: Path, args: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'allybot.db'}"
    line = one_line_refusal(run_cli(tmp_path, *args, **SLACK, DATABASE_URL=url))
    assert f"{tmp_path / 'no' / 'such'}" in line and "does not exist" in line
    assert not (tmp_path / "no").exists()


def test_report_never_creates_a_database(tmp_path: Path) -> None:
    db = tmp_path / "typo.db"
    line = one_line_refusal(run_cli(tmp_path, "report", DATABASE_URL=f"sqlite:///{db}"))
    assert "no allybot database" in line and str(db) in line
    assert not db.exists()


async def test_report_on_a_database_without_allybot_is_one_line(
    tmp_path: Path, backend: str
) -> None:
    """An existing but empty database (a wrong name in DATABASE_URL) is not allybot's."""
    from tests.conftest import new_database

    async with new_database(backend, tmp_path) as url:
        if backend == "sqlite":
            Path(url.removeprefix("sqlite:///")).touch()
        line = one_line_refusal(run_cli(tmp_path, "report", DATABASE_URL=url))
    assert "no allybot tables" in line or "no allybot database" in line


@pytest.mark.parametrize("args", [["migrate"], ["serve", "--port", "0"], ["tick"]], ids=" ".join)
async def test_a_read_only_sqlite_file_is_one_line(
    tmp_path: Path, templates: Templates, args: list[str]
) -> None:
    async with templates.copy("sqlite", tmp_path) as url:  # an allybot database at head
        db = url.removeprefix("sqlite:///")
        read_only = f"sqlite:///file:{db}?mode=ro&uri=true"
        line = one_line_refusal(run_cli(tmp_path, *args, **SLACK, DATABASE_URL=read_only))
    assert "read-only" in line and db in line


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db = f"sqlite:///{tmp_path / 'allybot.db'}"
        result = run_cli(
            tmp_path,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            **SLACK,
            DATABASE_URL=db,
            ALLYBOT_LOG_LEVEL="WARNING",
        )
    line = one_line_refusal(result)
    assert f"cannot listen on 127.0.0.1:{port}" in line


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\xff\xfe\x00bad", "is not UTF-8 text (byte 0xff at offset 0)"),
        (b"tags: !!python/object:os.system echo\n", "`!!python/object:os.system` is refused"),
        (
            b"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
            b"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\ntags: [*b, *b, *b, *b]\n",
            "Each tag is one word",
        ),
        (b"tags: [" + b"x" * 5000 + b"!]\n", "can't be a tag"),
    ],
    ids=["not-utf8", "python-tag", "alias-tree", "huge-tag"],
)
def test_a_settings_file_allybot_cannot_read_is_one_short_line(
    tmp_path: Path, content: bytes, words: str
) -> None:
    (tmp_path / "acme.yaml").write_bytes(content)
    db = tmp_path / "allybot.db"
    if words == "Each tag is one word":  # two unknown keys and the tags: one line each
        result = run_cli(
            tmp_path,
            "settings",
            "apply",
            "acme.yaml",
            "--team",
            "T0123ABCD",
            DATABASE_URL=f"sqlite:///{db}",
        )
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert words in result.stderr and "lol" not in result.stderr
    else:
        line = one_line_refusal(
            run_cli(
                tmp_path,
                "settings",
                "apply",
                "acme.yaml",
                "--team",
                "T0123ABCD",
                DATABASE_URL=f"sqlite:///{db}",
            )
        )
        assert words in line and "nothing changed" in line and len(line) < 300
    assert not db.exists()


@pytest.mark.parametrize(
    "args", [["migrate"], ["serve", "--port", "0"], ["tick"], ["report"]], ids=" ".join
)
@pytest.mark.parametrize("url", ["sqlite+aiosqlite:///:memory:", "sqlite://"])
def test_an_in_memory_database_is_one_line(tmp_path: Path, args: list[str], url: str) -> None:
    line = one_line_refusal(run_cli(tmp_path, *args, **SLACK, DATABASE_URL=url))
    assert "in-memory SQLite database" in line and "name a file" in line


def test_tick_says_what_it_did_in_words(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'allybot.db'}"
    result = run_cli(tmp_path, "tick", "--now", "2026-12-01T09:00:00Z", **SLACK, DATABASE_URL=db)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("scheduler pass at 2026-12-01T09:00:00Z\n")
    assert "0 nudges" in out and "0 messages (daily, intros, digests)" in out
    assert "{" not in out and "Traceback" not in result.stderr


def test_run_chooses_socket_mode_when_the_app_token_is_set(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'allybot.db'}"
    result = run_cli(
        tmp_path,
        "run",
        **SLACK,
        SLACK_APP_TOKEN="xapp-1",
        DATABASE_URL=db,
        ALLYBOT_LOG_LEVEL="INFO",
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "SLACK_APP_TOKEN is set: running in Socket Mode" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("allybot: cannot reach Slack at http://127.0.0.1:9/api/")


async def test_run_chooses_http_mode_without_the_app_token(tmp_path: Path) -> None:
    from tests.conftest import server_env, start_server, stopped

    env = server_env(f"sqlite:///{tmp_path / 'allybot.db'}", "http://127.0.0.1:9/api/")
    log = tmp_path / "run.log"
    process, _ = await start_server(env, log, "--tick-seconds", "0", command="run")
    assert await stopped(process) == 0
    first = log.read_text().splitlines()[0]
    assert "SLACK_APP_TOKEN is not set: running in HTTP mode" in first
