"""Fixtures: a database per run on SQLite and PostgreSQL, the Slack double, a real server."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.db import Database
from bot.migrate import upgrade
from tests import payloads
from tests.databases import scratch_postgres
from tests.signing import signed_post
from tests.slack_double import SlackDouble

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_DSN = os.environ.get("ALLYBOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
# The "me too" edit's debounce (2 s in production) for every server the tests start and for
# the tests themselves: the end-to-end tests wait it out after each reaction.
SHORTER = {"ALLYBOT_DEBOUNCE_SECONDS": "1"}


def _backends() -> list[str]:
    wanted = os.environ.get("ALLYBOT_TEST_DATABASES", "sqlite,postgresql")
    return [b.strip() for b in wanted.split(",") if b.strip()]


def keep_bytecode() -> None:
    """With PYTHONDONTWRITEBYTECODE set, every process the run starts (each `allybot`
    command, each test worker) would compile allybot's modules and the tests again from
    source, about a quarter of a second of CPU each: the processes started from here on
    write bytecode as Python does by default, beside the sources in `__pycache__` folders
    (ignored by git), and read the libraries' own, which pip compiled when it installed them.
    (A folder of its own, PYTHONPYCACHEPREFIX, would be empty in a new checkout: the run's
    first processes each compiled every library again, 3 s of CPU apiece.)"""
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        sys.dont_write_bytecode = False


def pytest_configure(config: pytest.Config) -> None:
    """One clear message before any test runs when a configured database is unreachable,
    instead of every test erroring on its own."""
    keep_bytecode()  # before the test workers start
    os.environ.update(SHORTER)  # before allybot's modules are imported in the test processes
    if hasattr(config, "workerinput") or "postgresql" not in _backends():
        return
    problem = asyncio.run(_postgres_problem(PG_ADMIN_DSN))
    if problem:
        safe = re.sub(r"//([^:@/]+):[^@/]*@", r"//\1:***@", PG_ADMIN_DSN)
        pytest.exit(
            f"the tests need PostgreSQL at {safe} ({problem}): start it (user postgres, "
            "trust auth, a database named test; see README, Development), point "
            "ALLYBOT_TEST_PG at another, or run on SQLite only with "
            "ALLYBOT_TEST_DATABASES=sqlite",
            returncode=2,
        )


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported (allybot, its libraries, the tests) is kept out of the
    garbage collector's passes, and the youngest generation is collected less often: the
    tests allocate heavily (SQLAlchemy, the Slack double) and spent about a fifteenth of
    their CPU in collections that found little (`serve` freezes its start-up the same way)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


async def _postgres_problem(dsn: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(dsn, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return str(exc) or type(exc).__name__
    await conn.close()
    return None


@pytest.fixture(scope="session", params=_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def new_database(backend: str, tmp_dir: Path) -> AsyncIterator[str]:
    """A database of its own, dropped afterwards, so runs and tests never collide."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir / f'allybot-{uuid.uuid4().hex[:8]}.db'}"
        return
    async with scratch_postgres(PG_ADMIN_DSN, prefix="allybot_test") as url:
        yield url


class Templates:
    """Each backend's empty database at head, migrated once per test process. A test that
    needs a database of its own gets a copy of it (milliseconds) instead of running every
    Alembic step again (seconds on each backend, for each such test)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._urls: dict[str, str] = {}
        self._dropped = AsyncExitStack()

    async def _template(self, backend: str) -> str:
        if backend not in self._urls:
            if backend == "sqlite":
                url = f"sqlite:///{self.folder / 'template.db'}"
            else:
                url = await self._dropped.enter_async_context(
                    scratch_postgres(PG_ADMIN_DSN, prefix="allybot_template")
                )
            database = Database(url)
            try:
                await upgrade(database)
            finally:
                await database.dispose()  # PostgreSQL copies only a database nobody is on
            self._urls[backend] = url
        return self._urls[backend]

    @asynccontextmanager
    async def copy(self, backend: str, tmp_dir: Path) -> AsyncIterator[str]:
        """A new database at head, dropped afterwards."""
        template = await self._template(backend)
        if backend == "sqlite":
            path = tmp_dir / f"allybot-{uuid.uuid4().hex[:8]}.db"
            source = template.removeprefix("sqlite:///")
            with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(path)) as dst:
                src.backup(dst)
            yield f"sqlite:///{path}"
            return
        name = template.rsplit("/", 1)[1]
        async with scratch_postgres(PG_ADMIN_DSN, prefix="allybot_test", template=name) as url:
            yield url

    async def close(self) -> None:
        await self._dropped.aclose()


@pytest.fixture(scope="session")
async def templates(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Templates]:
    made = Templates(tmp_path_factory.mktemp("templates"))
    yield made
    await made.close()


@pytest.fixture(scope="session")
async def database_url(
    backend: str, templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """The run's shared database."""
    async with templates.copy(backend, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
async def fresh_db(
    backend: str, templates: Templates, tmp_path: Path
) -> AsyncIterator[tuple[str, Database]]:
    """An empty database at head for one test, for whole-process tests that act on all of it."""
    async with templates.copy(backend, tmp_path) as url:
        database = Database(url)
        try:
            yield url, database
        finally:
            await database.dispose()


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[Database]:
    """The run's database at the newest schema, for assertions and service tests."""
    database = Database(database_url)
    await upgrade(database)
    yield database
    await database.dispose()


@pytest.fixture(scope="session")
async def slack() -> AsyncIterator[SlackDouble]:
    async with SlackDouble(bot_token=BOT_TOKEN) as double:
        yield double


@dataclass
class Server:
    """A running `allybot serve` process and how to talk to it as Slack does."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    http: aiohttp.ClientSession
    secret: str = SIGNING_SECRET

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def post(
        self,
        body: str,
        *,
        timestamp: int | None = None,
        retry_num: int | None = None,
        secret: str | None = None,
        content_type: str | None = None,
    ) -> tuple[int, str]:
        return await signed_post(
            self.http,
            f"{self.url}/slack/events",
            body,
            secret or self.secret,
            timestamp=timestamp,
            retry_num=retry_num,
            content_type=content_type,
        )

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(f"{self.url}{path}") as resp:
            return resp.status, await resp.text()


def server_env(database_url: str, slack_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALLYBOT_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_url,
        DATABASE_URL=database_url,
        ALLYBOT_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
        **SHORTER,
    )
    env.update(extra)
    return env


async def start_server(
    env: dict[str, str],
    log_path: Path,
    *args: str,
    timeout: float = 30.0,
    command: str = "serve",
    **popen: Any,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `allybot serve` on an ephemeral port; return it once it says where it listens.
    `popen`: more for `subprocess.Popen` (how a shell would start it)."""
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "allybot", command, "--host", "127.0.0.1", "--port", "0", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        **popen,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(r"serving on (http://[\d.]+:\d+)", log_path.read_text(errors="replace"))
        if match:
            return process, match.group(1)
        if process.poll() is not None:
            break
        await asyncio.sleep(0.01)  # a read of a short log: the test goes on once it listens
    process.kill()
    raise RuntimeError("allybot serve did not start:\n" + log_path.read_text(errors="replace"))


def stop_server(process: subprocess.Popen[bytes]) -> int:
    process.terminate()
    try:
        return process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


async def stopped(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM and wait without blocking the event loop, so the Slack double (which runs in
    it) keeps answering the calls the server finishes while it shuts down."""
    return await asyncio.to_thread(stop_server, process)


@pytest.fixture(scope="session")
async def server(
    db: Database, database_url: str, slack: SlackDouble, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    """One real `allybot serve` per database backend, shared by the end-to-end tests."""
    log_path = tmp_path_factory.mktemp("server") / "allybot.log"
    # No clock in the shared server: the tests run passes themselves, at simulated instants.
    process, url = await start_server(
        server_env(database_url, slack.url), log_path, "--tick-seconds", "0"
    )
    async with aiohttp.ClientSession() as http:
        yield Server(url=url, process=process, log_path=log_path, http=http)
    await stopped(process)


@pytest.fixture(scope="session")
async def dash_server(
    db: Database, database_url: str, slack: SlackDouble, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    """`allybot serve` for many workspaces, so with the dashboard on, on the run's database;
    the OAuth install tests use it too (`oauth_server`)."""
    from tests.installs import oauth_env

    log_path = tmp_path_factory.mktemp("dashboard") / "allybot.log"
    process, url = await start_server(
        oauth_env(database_url, slack.url), log_path, "--tick-seconds", "0"
    )
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        yield Server(url=url, process=process, log_path=log_path, http=http)
    await stopped(process)


@dataclass
class Team:
    """A workspace of its own for one test, so tests sharing a server never see each other."""

    slack: SlackDouble
    team_id: str = field(default_factory=lambda: "T" + uuid.uuid4().hex[:10].upper())
    channel_id: str = field(default_factory=lambda: "C" + uuid.uuid4().hex[:10].upper())

    def user(self, name: str, **kwargs: Any) -> str:
        """A fresh user known to the Slack double."""
        user_id = "U" + uuid.uuid4().hex[:10].upper()
        self.slack.add_user(user_id, team_id=self.team_id, name=name, **kwargs)
        return user_id

    def command(
        self, command: str, text: str, *, user_id: str, channel_id: str | None = None, **kw: Any
    ) -> tuple[str, str]:
        """A slash command body and the response_url key it carries."""
        key = uuid.uuid4().hex
        body = payloads.slash_command(
            command=command,
            text=text,
            user_id=user_id,
            team_id=self.team_id,
            channel_id=channel_id or self.channel_id,
            response_url=self.slack.response_url(key),
            **kw,
        )
        return body, key


@pytest.fixture
def team(slack: SlackDouble) -> Team:
    return Team(slack=slack)
