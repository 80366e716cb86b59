"""The dashboard end to end in headless Chromium (Debian's package, driven by Playwright):
sign in through the Slack double's Sign in with Slack stand-in, the admin's pages and a
member's, a setting changed in the browser taking effect in Slack, signing out. Screenshots
go to test-artifacts/dashboard/."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Request,
    Response,
    async_playwright,
)

from bot.db import Database
from bot.models import Kudos
from bot.services.people import ensure_person
from tests import payloads
from tests.conftest import ROOT, Server
from tests.dashboard import Workspace, installed
from tests.helpers import seed_people
from tests.slack_double import SlackDouble

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing in CI: .ci/run installs it with apt")
        pytest.skip("chromium is not installed here (apt-get install chromium); CI runs this")
    return CHROMIUM


async def seed_figures(db: Database, slack: SlackDouble, ws: Workspace) -> None:
    """Eight active people, four of them recognised this week: a headline of 50 %."""
    team = ws.team.team_id
    others = await seed_people(db, slack, team_id=team, people=[{} for _ in range(6)])
    now = datetime.now(UTC)
    async with db.session() as session:
        for i, receiver in enumerate([ws.member, *others[:3]]):
            session.add(
                Kudos(
                    team_id=team,
                    giver_id=others[3 + i % 3],
                    receiver_id=receiver,
                    channel_id=ws.team.channel_id,
                    text="private words of thanks",
                    source="command",
                    source_key=f"seed{i}",
                    created_at=now - timedelta(days=1, minutes=i),
                )
            )
        for i, giver in enumerate([ws.admin, ws.member]):
            session.add(
                Kudos(
                    team_id=team,
                    giver_id=giver,
                    receiver_id=others[5],
                    channel_id=ws.team.channel_id,
                    text="older thanks",
                    source="command",
                    source_key=f"old{i}",
                    created_at=now - timedelta(days=20),
                )
            )
    async with db.session() as session:
        for person in (ws.admin, ws.member):
            await ensure_person(session, team_id=team, user_id=person, now=now)


class Hosts:
    """Every request the pages made, which host it went to, and any console error (a
    Content-Security-Policy violation shows up there)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bool]] = []
        self.errors: list[str] = []
        self.missing: list[str] = []

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "status of" not in message.text:
            self.errors.append(message.text)

    def response(self, response: Response) -> None:
        if response.status == 404:
            self.missing.append(response.url)

    def watch(self, context: BrowserContext) -> None:
        context.on("request", self)
        context.on("console", self.console)
        context.on("response", self.response)

    def __call__(self, request: Request) -> None:
        self.requests.append(
            (urlsplit(request.url).netloc, request.resource_type, request.is_navigation_request())
        )


async def shot(page: object, name: str, backend: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{backend}.png"
    await page.screenshot(path=str(path), full_page=full_page)  # type: ignore[attr-defined]
    assert path.stat().st_size > 5_000
    return path


async def launch(pw: object, chromium_path: str) -> Browser:
    return await pw.chromium.launch(  # type: ignore[attr-defined,no-any-return]
        executable_path=chromium_path,
        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    )


async def test_admin_and_member_in_chromium(
    dash_server: Server,
    slack: SlackDouble,
    db: Database,
    backend: str,
    chromium_path: str,
) -> None:
    ws = await installed(dash_server, slack, "Chromium Co")
    await seed_figures(db, slack, ws)
    base = urlsplit(dash_server.url).netloc
    hosts = Hosts()
    async with async_playwright() as pw:
        browser = await launch(pw, chromium_path)
        admin_ctx = await browser.new_context(viewport={"width": 1100, "height": 900})
        hosts.watch(admin_ctx)
        page = await admin_ctx.new_page()

        # Sign in: /dashboard → Slack's consent screen (the double) → back, on the first page.
        slack.sign_in_as(ws.admin)
        await page.goto(f"{dash_server.url}/dashboard")
        assert page.url == f"{dash_server.url}/dashboard/workspace"
        assert await page.title() == "Workspace insights · allybot"
        # On a busy machine the figures may still be worked out: the page reloads itself.
        await page.wait_for_selector("section.headline", timeout=60_000)
        headline = await page.inner_text("section.headline")
        assert "50%" in headline and "(4 of 8)" in headline and "Gallup" in headline
        assert await page.locator("svg[role=img]").count() >= 14
        assert await page.locator("details table").count() >= 14, "a table behind each chart"
        text = await page.inner_text("main")
        for secret in (ws.admin, ws.member, "private words", "ada.admin", "max.member"):
            assert secret not in text
        await shot(page, "workspace", backend)
        await shot(page, "workspace-top", backend, full_page=False)

        async with page.expect_download() as download_info:
            await page.click("text=CSV")
        csv = Path(await (await download_info.value).path()).read_text()
        assert csv.startswith("week,figure,title,value") and "recognised" in csv

        # Settings: change the kudos emoji in the browser ...
        await page.click("nav >> text=Settings")
        assert await page.input_value("#kudos_emoji") == ":raised_hands:"
        await page.fill("#kudos_emoji", "tada")
        await page.click("button:has-text('Save settings')")
        await page.wait_for_selector("text=Settings saved.")
        assert ":raised_hands: → :tada:" in await page.inner_text("table")
        await shot(page, "settings", backend)
        # ... and in Slack a :tada: reaction now gives kudos.
        ts = payloads.fresh_ts()
        event = payloads.reaction_added_event(
            user=ws.admin,
            reaction="tada",
            channel=ws.team.channel_id,
            item_ts=ts,
            item_user=ws.member,
        )
        status, _ = await dash_server.post(payloads.event_callback(event, team_id=ws.team.team_id))
        assert status == 200
        dm = (await slack.wait_for("chat.postMessage", channel=ws.member))[-1]
        assert dm.token == ws.token

        await page.click("nav >> text=Me")
        assert "Your alliance figures" in await page.inner_text("h1")
        await shot(page, "me-admin", backend)

        # On a phone: nothing wider than the screen.
        phone = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        hosts.watch(phone)
        await phone.add_cookies(await admin_ctx.cookies())
        small = await phone.new_page()
        await small.goto(f"{dash_server.url}/dashboard/workspace")
        await small.wait_for_selector("section.headline", timeout=60_000)
        overflow = await small.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        await shot(small, "workspace-phone", backend)
        await phone.close()

        # Sign out: the session is gone, the next visit goes back to Slack.
        await page.click("button:has-text('Sign out')")
        await page.wait_for_selector("text=You are signed out")
        slack.sign_in_as(None)
        await page.goto(f"{dash_server.url}/dashboard/settings")
        assert page.url.startswith(slack.openid_authorize_url)
        await admin_ctx.close()

        # A member: only their own page.
        member_ctx = await browser.new_context(viewport={"width": 1100, "height": 900})
        hosts.watch(member_ctx)
        page = await member_ctx.new_page()
        slack.sign_in_as(ws.member)
        await page.goto(f"{dash_server.url}/dashboard")
        assert page.url == f"{dash_server.url}/dashboard/me"
        nav = await page.inner_text("nav")
        assert "Me" in nav and "Workspace" not in nav and "Settings" not in nav
        # The seeded kudos and the one the :tada: reaction gave.
        assert "received <strong>2</strong>" in await page.inner_html("main")
        await shot(page, "me-member", backend)
        response = await page.goto(f"{dash_server.url}/dashboard/workspace")
        assert response is not None and response.status == 403
        await shot(page, "member-refused", backend)
        await member_ctx.close()
        await browser.close()

    # No page asked any other host for anything; only sign-in navigated to Slack (the double).
    double = urlsplit(slack.origin).netloc
    assert {h for h, _, _ in hosts.requests} <= {base, double}
    assert all(h == base for h, _, nav in hosts.requests if not nav)
    assert {kind for h, kind, _ in hosts.requests if h == double} == {"document"}
    assert hosts.errors == [] and hosts.missing == []
