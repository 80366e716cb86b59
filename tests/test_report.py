"""The admin report: weekly series, the network's shape, suppression under 5 people, no names
in any output, `/ally report` for admins only, and the HTML page in headless Chromium."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from allybot import cli
from bot import report_html
from bot.db import Database
from bot.models import CheckIn, Commitment, Person, Workspace
from bot.services import network, report
from tests.conftest import ROOT, Server, Team, server_env
from tests.helpers import new_id
from tests.slack_double import SlackDouble
from tests.test_insights import kudos

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday
WEEK = date(2026, 11, 16)  # a Monday inside the default thirteen weeks
IN_WEEK = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)


async def build(db: Database, team_id: str, until: datetime = NOW) -> report.Report:
    async with db.session() as session:
        return await report.build(session, team_id=team_id, until=until)


def point(built: report.Report, key: str, week: date = WEEK) -> report.Point:
    series = next(s for s in built.series if s.key == key)
    return next(p for p in series.points if p.week == week)


async def add_people(db: Database, team_id: str, ids: list[str], **kw: object) -> None:
    async with db.session() as session:
        if await session.get(Workspace, team_id) is None:
            session.add(Workspace(team_id=team_id))
        session.add_all(Person(team_id=team_id, user_id=u, **kw) for u in ids)


# -- pure figures --------------------------------------------------------------------------


def test_gini_and_top_share_on_known_distributions() -> None:
    assert network.gini([1, 1, 1, 1]) == 0
    assert network.gini([0, 0, 0, 4]) == pytest.approx(0.75)
    assert network.gini([0, 0]) is None
    assert network.top_share([0] * 9 + [10]) == 1.0  # the top 10% of 10 people is 1 person
    assert network.top_share([1] * 20) == pytest.approx(0.1)


def test_a_closed_cycle_that_is_not_a_clique_is_not_a_tight_group() -> None:
    cycle = [("a", "b", 1), ("b", "c", 1), ("c", "d", 1), ("d", "a", 1)]
    assert network.tight_closed_groups(network.recognition_graph(cycle, [])) == []
    leaky = [("x", "y", 1), ("y", "x", 1), ("x", "z", 1), ("z", "x", 1), ("y", "z", 1)]
    leaky.append(("z", "outside", 1))
    assert network.tight_closed_groups(network.recognition_graph(leaky, [])) == []
    closed = [*leaky[:-1], ("z", "y", 1)]
    assert network.tight_closed_groups(network.recognition_graph(closed, [])) == []  # everyone
    with_outsider = [*closed, ("w", "x", 1)]
    assert network.tight_closed_groups(network.recognition_graph(with_outsider, [])) == [
        {"x", "y", "z"}
    ]


# -- the network's shape -------------------------------------------------------------------


async def test_a_four_person_clique_inside_twenty_people_is_found(db: Database) -> None:
    team = new_id("T")
    people = [new_id("U") for _ in range(20)]
    await add_people(db, team, people)
    ring, clique = people[:12], people[16:]
    rows = []
    for i, giver in enumerate(ring):  # broad recognition around a ring of twelve
        rows += [
            kudos(team, giver, ring[(i + 1) % 12], 10),
            kudos(team, giver, ring[(i + 5) % 12], 20),
        ]
    rows.append(kudos(team, people[12], clique[0], 5))  # an outsider recognises the clique
    rows.append(kudos(team, people[13], ring[0], 5))
    rows += [kudos(team, a, b, 3) for a in clique for b in clique if a != b]
    rows.append(kudos(team, ring[1], ring[2], 120))  # older than 90 days: not in the graph
    async with db.session() as session:
        session.add_all(rows)
    built = await build(db, team)
    shape = built.shape
    assert built.shape_shown
    assert shape.closed_groups == [4]
    assert shape.people == 20 and shape.kudos == 24 + 2 + 12
    assert shape.received_none == 4  # people 12 to 15
    received = [3] + [2] * 11 + [0] * 4 + [4, 3, 3, 3]
    assert shape.top_decile_share == pytest.approx((4 + 3) / 38)
    n, mean = len(received), sum(received) / len(received)
    by_pairs = sum(abs(a - b) for a in received for b in received) / (2 * n * n * mean)
    assert shape.gini == pytest.approx(by_pairs)
    lines = report.shape_lines(built)
    assert "1 tight closed group (people who recognise only each other), of 4 people." in lines[-1]


# -- weekly series -------------------------------------------------------------------------


async def test_weekly_series_count_what_happened_each_week(db: Database) -> None:
    team = new_id("T")
    givers, receivers = [new_id("U") for _ in range(6)], [new_id("U") for _ in range(6)]
    owners = [new_id("U") for _ in range(12)]
    await add_people(db, team, givers + receivers + owners)
    at = (NOW - IN_WEEK).total_seconds() / 86400
    rows: list[object] = [kudos(team, g, r, at) for g, r in zip(givers, receivers, strict=True)]
    rows += [kudos(team, givers[i], givers[5], at + 7) for i in range(3)]  # 3 givers
    due = datetime(2026, 11, 19, 17, 0, tzinfo=UTC)
    for i, owner in enumerate(owners):
        kept = i < 6
        late = i == 6
        closed = due - timedelta(days=1) if kept else due + timedelta(days=1) if late else None
        rows.append(
            Commitment(
                team_id=team,
                owner_id=owner,
                text="the deck",
                due_at=due,
                due_day=due.date(),
                created_day=IN_WEEK.date(),
                status="done" if closed else "open",
                created_at=IN_WEEK,
                closed_at=closed,
                kept_on_time=(True if kept else False if late else None),
                source_key=new_id("c"),
            )
        )
    rows.append(
        Commitment(
            team_id=team,
            owner_id=owners[0],
            text="a correction",
            due_at=due,
            created_day=IN_WEEK.date(),
            status="cancelled",
            created_at=IN_WEEK,
            closed_at=IN_WEEK,
            source_key=new_id("c"),
        )
    )
    rows += [
        CheckIn(team_id=team, user_id=owners[i], ally_id=givers[0], at=IN_WEEK, source="command")
        for i in range(5)
    ]
    async with db.session() as session:
        session.add_all(rows)
    built = await build(db, team)
    assert built.since == date(2026, 8, 31) and len(built.series[0].points) == 13
    assert point(built, "kudos").shown == 6
    assert point(built, "givers").shown == 6
    assert point(built, "receivers").shown == 6
    assert point(built, "first_time").shown == 6
    assert point(built, "commitments_made").shown == 12
    assert point(built, "commitments_kept").shown == 6
    assert point(built, "commitments_overdue").shown == 6  # 1 done late, 5 still open
    assert point(built, "check_ins").shown == 5
    earlier = WEEK - timedelta(weeks=1)
    assert point(built, "kudos", earlier).value == 3
    assert point(built, "kudos", earlier).shown is None  # over 3 givers: suppressed
    intros = [s for s in built.series if s.key.startswith("intros")]
    assert len(intros) == 3 and all(len(s.points) == 13 for s in intros)


async def test_crossing_share_uses_each_persons_home_channel(db: Database) -> None:
    team = new_id("T")
    a, b = [new_id("U") for _ in range(5)], [new_id("U") for _ in range(5)]
    await add_people(db, team, a + b)
    at = (NOW - IN_WEEK).total_seconds() / 86400
    rows = []
    for group, channel in ((a, "C1"), (b, "C2")):
        for _ in range(2):
            rows += [
                kudos(team, group[i], group[(i + 1) % 5], at, channel_id=channel) for i in range(5)
            ]
    rows += [kudos(team, a[i], b[i], at, channel_id="C1") for i in range(5)]  # across
    rows.append(kudos(team, a[0], a[1], at, channel_id="D0123"))  # a DM: no home channel
    async with db.session() as session:
        session.add_all(rows)
    crossing = point(await build(db, team), "crossing")
    assert crossing.value == pytest.approx(5 / 26)


async def test_figures_over_fewer_than_five_people_are_suppressed(db: Database) -> None:
    team = new_id("T")
    few = [new_id("U") for _ in range(4)]
    await add_people(db, team, few)
    async with db.session() as session:
        session.add_all(kudos(team, g, r, 3) for g in few for r in few if g != r)
    built = await build(db, team)
    assert point(built, "kudos", date(2026, 11, 23)).value == 12
    assert all(p.shown is None for s in built.series for p in s.points)
    assert not built.shape_shown
    data = report.to_dict(built)
    assert data["network"]["gini"] == "fewer than 5"
    assert data["network"]["closed_groups"] == "fewer than 5"
    assert {w["value"] for s in data["series"] for w in s["weeks"]} == {"fewer than 5"}
    text = report.render_text(built)
    assert "Not shown: the workspace has fewer than 5 people." in text
    page = report_html.render(built)
    assert page.count("<svg") == report_html.chart_count(built) == len(built.series)
    assert "fewer than 5" in page and "concentration" not in page
    assert " 12 " not in text


# -- the command line, and no names anywhere -----------------------------------------------


DISTINCT_NAMES = ["Zanzibar Quokkafeather", "Ottoline Brambleworth", "Peregrine Vantablack"]
DISTINCT_TEXT = "purple-walrus-sentence-9071"


async def seed_named_workspace(db: Database) -> tuple[str, list[str]]:
    """Eight people with memorable names, kudos, promises and check-ins over recent weeks."""
    team = new_id("T")
    people = [f"UQK{new_id('')[:8]}" for _ in range(8)]
    async with db.session() as session:
        session.add(Workspace(team_id=team, name="Quokka Industries"))
        for i, user_id in enumerate(people):
            name = DISTINCT_NAMES[i % len(DISTINCT_NAMES)] + f" {i}"
            session.add(Person(team_id=team, user_id=user_id, name=name))
    now = datetime.now(UTC)
    rows: list[object] = []
    for week in range(4):
        for i, giver in enumerate(people):
            receiver = people[(i + 1 + week) % len(people)]
            rows.append(kudos(team, giver, receiver, 0, text=f"{DISTINCT_TEXT} {i}"))
            rows[-1].created_at = now - timedelta(days=7 * week, hours=1)  # type: ignore[attr-defined]
            made = now - timedelta(days=7 * week + 2)
            rows.append(
                Commitment(
                    team_id=team,
                    owner_id=giver,
                    text=f"{DISTINCT_TEXT} promise",
                    due_at=made + timedelta(days=1),
                    created_day=made.date(),
                    status="done",
                    created_at=made,
                    closed_at=made + timedelta(hours=3),
                    kept_on_time=True,
                    source_key=new_id("c"),
                )
            )
            rows.append(
                CheckIn(
                    team_id=team,
                    user_id=giver,
                    ally_id=receiver,
                    at=made,
                    note=f"{DISTINCT_TEXT} lunch",
                    source="command",
                )
            )
    async with db.session() as session:
        session.add_all(rows)
    return team, people


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = server_env(database_url, "http://127.0.0.1:9/api/")
    return subprocess.run(
        [sys.executable, "-m", "allybot.cli", "report", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_no_name_user_id_or_text_in_any_admin_output(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    team, people = await seed_named_workspace(db)
    page = tmp_path / "report.html"
    text_run, json_run = await asyncio.gather(
        asyncio.to_thread(run_cli, database_url, "--team", team),
        asyncio.to_thread(run_cli, database_url, "--team", team, "--json", "--html", str(page)),
    )
    assert text_run.returncode == 0, text_run.stderr
    assert json_run.returncode == 0, json_run.stderr
    html = page.read_text()
    data = json.loads(json_run.stdout)
    kudos_weeks = next(s for s in data["series"] if s["key"] == "kudos")["weeks"]
    assert [w["value"] for w in kudos_weeks[-4:]].count(8) >= 3  # the figures are there
    assert data["network"]["people"] == 8
    assert data["network"]["closed_groups"] == {"count": 0, "sizes": []}  # all eight: no clique
    assert "Kudos given" in text_run.stdout and "<svg" in html
    # The headline, first in each output: all eight active, all eight recognised this week.
    assert data["recognised_last_7_days"]["weeks"][-1]["active"] == 8
    headline = "100% of active people were recognised in the last 7 days (8 of 8)."
    assert headline in text_run.stdout.splitlines()[3] and headline in html
    assert data["recognised_last_7_days"]["reading"].startswith(headline)
    secrets = [*people, *DISTINCT_NAMES, DISTINCT_TEXT, "Quokka", "quokkafeather", "UQK"]
    for output in (text_run.stdout, text_run.stderr, json_run.stdout, html):
        lowered = output.lower()
        for secret in secrets:
            assert secret.lower() not in lowered, secret


def test_cli_refuses_an_unknown_workspace_and_a_bad_date(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # `main` sets up logging for a process
    try:
        assert cli.main(["report", "--team", "TNOPE"]) == 2
        assert "no workspace 'TNOPE'" in capsys.readouterr().err
        assert cli.main(["report", "--since", "2999-01-01"]) == 2
        assert "is after today" in capsys.readouterr().err
        with pytest.raises(SystemExit) as exc:
            cli.main(["report", "--since", "last year"])
        assert exc.value.code == 2 and "is not a day such as" in capsys.readouterr().err
    finally:
        root.handlers[:], root.level = handlers, level


# -- /ally report through Slack ------------------------------------------------------------


async def test_ally_report_for_an_admin_and_a_polite_no_for_anyone_else(
    server: Server, team: Team, slack: SlackDouble
) -> None:
    boss = team.user("boss", is_admin=True)
    ann, bob = team.user("ann"), team.user("bob")
    body, _ = team.command("/kudos", f"<@{bob}> {DISTINCT_TEXT} on the rollout", user_id=ann)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("chat.postMessage", channel=bob)

    body, key = team.command("/ally", "report", user_id=ann)
    assert (await server.post(body))[0] == 200
    refused = (await slack.wait_for("response_url", _key=key))[0].args
    assert "for Slack admins and owners" in str(refused["text"])
    assert "Workspace insights" not in json.dumps(refused)

    body, key = team.command("/ally", "report", user_id=boss)
    assert (await server.post(body))[0] == 200
    answer = (await slack.wait_for("response_url", _key=key))[0].args
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    shown = json.dumps(answer)
    assert "Workspace insights" in shown and "week of" in shown
    assert "Not shown: the workspace has fewer than 5 people." in shown
    assert "Recognised in the last 7 days: not shown" in shown, "the headline comes first"
    for secret in (ann, bob, boss, DISTINCT_TEXT):
        assert secret not in shown


# -- the page in headless Chromium ---------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


# Chromium's own services, which it calls whatever page it shows (component updates,
# sign-in, network time); a request to any other host came from the page.
CHROMIUM_OWN = {
    "update.googleapis.com",
    "accounts.google.com",
    "clients2.google.com",
    "safebrowsing.googleapis.com",
    "optimizationguide-pa.googleapis.com",
    "content-autofill.googleapis.com",
    "redirector.gvt1.com",
    "edgedl.me.gvt1.com",
}


class Trap:
    """A proxy that answers nothing and records the host of every request sent to it."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.port = 0

    @property
    def page_requests(self) -> list[str]:
        return [h for h in self.hosts if h not in CHROMIUM_OWN]

    async def __aenter__(self) -> Trap:
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            line = (await reader.readline()).decode(errors="replace").split()
            target = line[1] if len(line) > 1 else ""
            host = re.sub(r"^[a-z]+://", "", target).split("/")[0].rsplit(":", 1)[0]
            self.hosts.append(host)
            writer.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()


async def chromium(page: Path, screenshot: Path, trap: Trap, profile: Path) -> str:
    """Load the page with every request sent to the trap; return the DOM Chromium built."""
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-pings",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--safebrowsing-disable-auto-update",
        "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate",
        f"--user-data-dir={profile}",
        f"--proxy-server=http://127.0.0.1:{trap.port}",
        "--proxy-bypass-list=<-loopback>",
        "--window-size=800,4800",
        f"--screenshot={screenshot}",
        "--dump-dom",
        page.as_uri(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode == 0
    return out.decode()


async def test_the_html_page_renders_every_chart_offline_in_chromium(
    db: Database, database_url: str, backend: str, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing in CI: .ci/run installs it with apt")
        pytest.skip("chromium is not installed here (apt-get install chromium); CI runs this")
    team, _ = await seed_named_workspace(db)
    page = tmp_path / "report.html"
    run = await asyncio.to_thread(run_cli, database_url, "--team", team, "--html", str(page))
    assert run.returncode == 0, run.stderr
    charts = int(re.search(r"(\d+) charts", run.stdout).group(1))  # type: ignore[union-attr]
    assert charts == 13  # twelve series and the concentration curve
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = artifacts / f"report-{backend}.png"
    shot.unlink(missing_ok=True)
    # The trap works: a page that asks for an image is caught.
    control = tmp_path / "control.html"
    control.write_text('<img src="http://example.com/pixel.png">')
    async with Trap() as trap:
        await chromium(control, tmp_path / "control.png", trap, tmp_path / "p1")
    assert "example.com" in trap.page_requests
    async with Trap() as trap:
        dom = await chromium(page, shot, trap, tmp_path / "p2")
    assert trap.page_requests == []
    assert len(re.findall(r"<svg\b", dom)) == charts
    assert len(re.findall(r"<rect class=\"bar\"", dom)) > 0
    assert not re.search(r"\s(src|href|srcset|action)\s*=", dom, re.IGNORECASE)
    assert "Content-Security-Policy" in dom and "default-src 'none'" in dom
    assert shot.exists() and shot.stat().st_size > 10_000


async def test_intros_series_come_from_the_intros_rounds(db: Database) -> None:
    from bot.models import IntroMatch, IntroMatchMember, IntroRound

    team = new_id("T")
    people = [new_id("U") for _ in range(6)]
    await add_people(db, team, people)
    async with db.session() as session:
        round_ = IntroRound(
            team_id=team,
            period="2026-W47",  # the week of 16 November
            channel_id="CINTROS",
            seed=1,
            status="matched",
            matched_at=IN_WEEK,
        )
        session.add(round_)
        await session.flush()
        for i in range(3):
            match = IntroMatch(
                round_id=round_.id,
                team_id=team,
                size=2,
                starter_id="starter",
                met_at=IN_WEEK + timedelta(days=3) if i < 2 else None,
            )
            session.add(match)
            await session.flush()
            session.add_all(
                IntroMatchMember(match_id=match.id, round_id=round_.id, team_id=team, user_id=u)
                for u in people[2 * i : 2 * i + 2]
            )
        session.add(kudos(team, people[0], people[1], (NOW - IN_WEEK).days + 30))  # met before
    built = await build(db, team)
    assert point(built, "intros_matched").shown == 6
    assert point(built, "intros_met").shown == 2
    assert point(built, "intros_new").shown == 2


# -- the recognition headline --------------------------------------------------------------


async def test_share_of_active_people_recognised_in_the_last_seven_days(db: Database) -> None:
    team = new_id("T")
    people = [new_id("U") for _ in range(12)]
    bot, gone = new_id("U"), new_id("U")
    await add_people(db, team, people)
    await add_people(db, team, [bot], is_bot=True)
    await add_people(db, team, [gone], deleted=True)
    async with db.session() as session:
        # Ten people active 10 days ago: six give, four receive.
        session.add_all(kudos(team, people[i], people[6 + i % 4], 10) for i in range(6))
        # This week two of them are recognised; a bot and a deactivated person do not count.
        session.add_all(
            [
                kudos(team, people[0], people[1], 2),
                kudos(team, people[2], people[3], 6.9),
                kudos(team, people[4], bot, 1),
                kudos(team, people[4], gone, 1),
                kudos(team, people[5], "UNKNOWN1", 1),
            ]
        )
        # Someone last seen 30 days ago is no longer active; a check-in makes someone active.
        session.add(kudos(team, people[10], people[0], 30))
        session.add(
            CheckIn(
                team_id=team,
                user_id=people[11],
                ally_id=people[0],
                at=NOW - timedelta(3),
                source="command",
            )
        )
    built = await build(db, team)
    now = built.headline.latest
    assert (now.end, now.recognised, now.active) == (NOW.date(), 2, 11)
    before = built.headline.windows[-2]
    assert (before.recognised, before.active) == (4, 11)
    assert built.headline.windows[0].share is None, "no one active then: not shown"
    sentence = built.headline.sentence
    assert sentence.startswith("18% of active people were recognised in the last 7 days")
    assert "(2 of 11)" in sentence and "Down from 36% a week ago." in sentence
    assert "Gallup" in sentence and "50%" in sentence
    # The same sentence in every admin output.
    assert sentence in report.render_text(built)
    assert sentence.replace("'", "&#x27;") in report_html.render(built)
    data = report.to_dict(built)["recognised_last_7_days"]
    assert data["weeks"][-1] == {
        "end": NOW.date().isoformat(),
        "share": 2 / 11,
        "recognised": 2,
        "active": 11,
    }


async def test_the_headline_is_not_shown_over_fewer_than_five_active_people(
    db: Database,
) -> None:
    team = new_id("T")
    few = [new_id("U") for _ in range(4)]
    await add_people(db, team, few)
    async with db.session() as session:
        session.add_all(kudos(team, g, r, 1) for g in few for r in few if g != r)
    built = await build(db, team)
    assert built.headline.latest.active == 4 and built.headline.latest.share is None
    assert "not shown" in built.headline.sentence and "4" not in built.headline.sentence
    assert report.to_dict(built)["recognised_last_7_days"]["weeks"][-1]["share"] == ("fewer than 5")
