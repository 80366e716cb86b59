"""The dashboard and the HTML report in each reader's language, end to end in headless
Chromium: a Spanish-speaking admin's workspace and settings pages (refusals included), a
German-speaking member's own page, the report file in the workspace's language, and the
language chosen from the browser before anyone signs in. Every page is checked against the
English catalogue: no English sentence from any catalogue is left on it."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st
from playwright.async_api import Page, async_playwright
from sqlalchemy import update

from bot import i18n, report_html
from bot.catalogue import LOCALES
from bot.dashboard import language, notices, pages
from bot.dashboard.language import browser_language
from bot.db import Database
from bot.models import Ally, Commitment, Person, SettingChange, Workspace
from bot.services import network, people, report
from bot.services.allies import AllyView
from bot.services.workspace_settings import WorkspaceSettings
from tests.conftest import Server
from tests.dashboard import installed
from tests.slack_double import SlackDouble
from tests.test_dashboard_browser import chromium_path, launch, seed_figures, shot
from tests.test_dm_budget_e2e import promise, run
from tests.test_report import run_cli

__all__ = ["chromium_path"]  # the fixture, shared with the other browser test

# Placeholders, Slack tokens, :emoji: and `code` stay as written in every language.
KEPT = re.compile(r"\{[^{}]*\}|<[^<>]*>|:[a-z0-9_+\-]+:|`[^`]*`|\*|(?<!\w)_|_(?!\w)")
# Everything on a page a person can read, or hear from a screen reader.
VISIBLE_JS = """() => {
  const out = [document.title];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) out.push(walk.currentNode.nodeValue);
  for (const el of document.querySelectorAll('[aria-label],[title],[placeholder],[alt]'))
    for (const name of ['aria-label', 'title', 'placeholder', 'alt'])
      if (el.getAttribute(name)) out.push(el.getAttribute(name));
  return out.join('\\n');
}"""


@cache
def english_fragments(code: str) -> tuple[str, ...]:
    """The English pieces of every catalogue string (between its placeholders and markup)
    that the language writes differently: two words or more, or a one-word string."""
    found: set[str] = set()
    translations = i18n.translations(code)
    for pot in sorted(LOCALES.glob("*.pot")):
        with pot.open("rb") as fh:
            template = read_po(fh)
        for message in template:
            if not message.id:
                continue
            if isinstance(message.id, tuple | list):
                ids = list(message.id)
                theirs = " ".join(translations.ngettext(ids[0], ids[1], n) for n in (1, 2, 5))
            else:
                ids = [message.id]
                if message.context:
                    theirs = translations.pgettext(message.context, message.id)
                else:
                    theirs = translations.gettext(message.id)
            for text in ids:
                for piece in KEPT.split(text):
                    piece = piece.strip(" \t\n.,;:!?()—–-·/\"'“”")
                    words = piece.split()
                    if not any(c.isalpha() for c in piece) or piece in theirs:
                        continue
                    # A lone word counts only as a whole string (a heading, a button):
                    # cut from a sentence, it is too common to say a sentence is left.
                    if len(words) >= 2 or (piece == text.strip() and len(piece) >= 4):
                        found.add(piece)
    return tuple(sorted(found, key=len, reverse=True))


def english_left(text: str, code: str) -> list[str]:
    """The English catalogue pieces found in `text`, as whole words (the regular expression
    only for a piece that is in it at all: compiling one for each of a thousand pieces took
    a third of a second a page)."""
    return [
        piece
        for piece in english_fragments(code)
        if piece in text and re.search(r"(?<!\w)" + re.escape(piece) + r"(?!\w)", text)
    ]


async def visible(page: Page) -> str:
    text = await page.evaluate(VISIBLE_JS)
    assert isinstance(text, str)
    return text


async def check_page(page: Page, code: str, *, data: tuple[str, ...] = ()) -> str:
    """The page says it is in `code`, and no English catalogue string is left on it (what
    people typed, `data`, is theirs and is not checked)."""
    assert await page.get_attribute("html", "lang") == code
    text = await visible(page)
    for typed in data:
        text = text.replace(typed, " ")
    left = english_left(text, code)
    assert left == [], f"English on {page.url}: {left[:10]}"
    return text


class _Text(HTMLParser):
    """A report file's readable text: its text and labels, without the stylesheet."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.lang: str | None = None
        self._style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        self._style = tag == "style"
        self.parts += [v for k, v in values.items() if k in ("aria-label", "title") and v]

    def handle_endtag(self, tag: str) -> None:
        self._style = False

    def handle_data(self, data: str) -> None:
        if not self._style:
            self.parts.append(data)


async def test_each_reader_gets_the_dashboard_and_report_in_their_language(
    dash_server: Server,
    slack: SlackDouble,
    db: Database,
    database_url: str,
    backend: str,
    chromium_path: str,
    tmp_path: Path,
) -> None:
    ws = await installed(dash_server, slack, "Idiomas Co")
    slack.set_locale(ws.admin, "es-ES")
    slack.set_locale(ws.member, "de-DE")
    await seed_figures(db, slack, ws)
    async with db.session() as session:
        await session.execute(
            update(Workspace).where(Workspace.team_id == ws.team.team_id).values(language="es")
        )
    # The member keeps an ally and a promise, so their page has every table.
    key = await run(dash_server, ws.team, "/ally", f"add <@{ws.admin}> every 2 weeks", ws.member)
    await slack.wait_for("response_url", _key=key)
    await promise(dash_server, ws.team, slack, db, ws.member, ws.admin, "send the slides")
    names = ("ada.admin", "max.member", "Idiomas Co", "send the slides", ws.team.team_id)

    async with async_playwright() as pw:
        browser = await launch(pw, chromium_path)
        # Before signing in: the browser's language.
        guest = await browser.new_context(locale="de-DE")
        page = await guest.new_page()
        await page.goto(f"{dash_server.url}/dashboard/callback?error=access_denied")
        await check_page(page, "de")
        assert "Nicht angemeldet" in await page.inner_text("h1")
        await guest.close()

        # The Spanish-speaking admin, from a browser set to English: their own language.
        admin = await browser.new_context(locale="en-US", viewport={"width": 1100, "height": 900})
        page = await admin.new_page()
        slack.sign_in_as(ws.admin)
        await page.goto(f"{dash_server.url}/dashboard")
        assert urlsplit(page.url).path == "/dashboard/workspace"
        await page.wait_for_selector("section.headline", timeout=60_000)
        assert await page.title() == "Cifras del espacio de trabajo · allybot"
        text = await check_page(page, "es", data=names)
        assert re.search(r"50\s%", text) and "Semana a semana" in text
        await shot(page, "workspace-es", backend)

        await page.click("nav >> text=Ajustes")
        text = await check_page(page, "es", data=names)
        assert "Guardar ajustes" in text and "lunes" in text
        # A refusal from the validation the Slack modal shares, in Spanish too.
        await page.fill("#kudos_emoji", "no:way")
        await page.fill("#daily_kudos_limit", "500")
        await page.click("button[type=submit]:not(.quiet)")
        await page.wait_for_selector("p.problem")
        text = await check_page(page, "es", data=(*names, "no:way"))
        assert "2 campos" in await page.inner_text("p.problem")
        # Corrected and saved: the change history in Spanish too.
        await page.fill("#kudos_emoji", ":tada:")
        await page.fill("#daily_kudos_limit", "5")
        await page.select_option("#intros_day", "wednesday")
        await page.select_option("#welcome_newcomers", "off")
        await page.click("button[type=submit]:not(.quiet)")
        await page.wait_for_selector("p.ok")
        text = await check_page(page, "es", data=names)
        history = await page.inner_text("table")
        assert "Ajustes guardados." in text and "lunes → miércoles" in history
        assert "Activado → Desactivado" in history and ":raised_hands: → :tada:" in history
        await shot(page, "settings-es", backend)
        await admin.close()

        # The German-speaking member, from a browser set to Spanish: their own language.
        member = await browser.new_context(locale="es-ES", viewport={"width": 1100, "height": 900})
        page = await member.new_page()
        slack.sign_in_as(ws.member)
        await page.goto(f"{dash_server.url}/dashboard")
        assert urlsplit(page.url).path == "/dashboard/me"
        text = await check_page(page, "de", data=names)
        assert "Deine Verbündeten" in text and "Deine offenen Zusagen" in text
        await shot(page, "me-de", backend)
        await member.close()
        await browser.close()

    # The report file: in the workspace's language (Spanish), whoever runs it.
    report = tmp_path / "report.html"
    done = await asyncio.to_thread(
        run_cli, database_url, "--team", ws.team.team_id, "--html", str(report)
    )
    assert done.returncode == 0, done.stderr
    parsed = _Text()
    parsed.feed(report.read_text(encoding="utf-8"))
    assert parsed.lang == "es"
    text = "\n".join(parsed.parts).replace(ws.team.team_id, " ")
    assert english_left(text, "es") == [], english_left(text, "es")[:10]
    assert "Semana del" in text


@given(st.text(max_size=200))
def test_any_accept_language_header_gives_a_shipped_language_or_none(header: str) -> None:
    assert browser_language(header) in (None, *i18n.LANGUAGES, i18n.PSEUDO)


def test_the_browser_language_follows_accept_language() -> None:
    assert browser_language("de-DE,de;q=0.9,en;q=0.8") == "de"
    assert browser_language("fr-FR, es;q=0.5, de;q=0.4") == "es"
    assert browser_language("en;q=0.1, es;q=0.9") == "es"
    assert browser_language("es;q=0, de") == "de"
    assert browser_language("fr, ja") is None
    assert browser_language("*") is None and browser_language("") is None
    assert browser_language("es;q=abc, de;q=0.2") == "de"
    assert i18n.choose(browser_language("pt-BR")) == "en"


class _Runs(HTMLParser):
    """Every run of text a page shows, and the labels a screen reader reads."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.runs: list[str] = []
        self._style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._style = tag == "style"
        self.runs += [v for k, v in attrs if k in ("aria-label", "title") and v]

    def handle_endtag(self, tag: str) -> None:
        self._style = False

    def handle_data(self, data: str) -> None:
        if not self._style and data.strip():
            self.runs.append(data.strip())


def unmarked(page: str, *, data: tuple[str, ...] = ()) -> list[str]:
    """Runs of text in the pseudo language's page with a letter outside any ⟦…⟧: a string
    nobody marked (what people typed, `data`, and allybot's name are theirs)."""
    parser = _Runs()
    parser.feed(page)
    left = []
    for shown in parser.runs:
        rest = re.sub(r"⟦[^⟦⟧]*⟧", " ", shown)
        for kept in (*data, "allybot", "CSV", "JSON", "UTC", "Slack"):
            if kept:
                rest = rest.replace(kept, " ")
        if re.search(r"[A-Za-z]{2}", rest):
            left.append(shown)
    return left


def test_every_notice_is_marked() -> None:
    """Each one-message page in the pseudo language: nothing left in English."""
    with i18n.speaking(i18n.PSEUDO):
        pages = [
            notices.session_ended(),
            notices.form_expired("/dashboard/me"),
            notices.admins_only(),
            notices.too_many_sign_ins(),
            notices.cancelled(),
            *(notices.refused(reason) for reason in notices.REFUSAL_STATUS),
            notices.not_installed("Acme"),
            notices.not_installed(None),
            notices.signed_out(),
            notices.not_saved(),
            notices.nothing_erased(),
            notices.erased(3, 1),
            notices.message_page(notices.saved(2), notices.saved(0)),
            notices.message_page(notices.range_problem("format"), notices.range_problem("x")),
        ]
    for page in pages:
        assert 'lang="qps"' in page
        assert unmarked(page, data=("Acme",)) == []
    assert unmarked(notices.signed_out()) != [], "in English, the check finds every run"


def test_the_settings_and_me_pages_are_marked() -> None:
    """The settings form (help, choices, weekdays, a refusal's count) and a person's page
    in the pseudo language."""
    from tests.test_dashboard_pages import CHROME, NOW, _figures

    change = SettingChange(
        team_id="T1",
        changed_by="U9",
        field="kudos_emoji",
        old_value=":clap:",
        new_value=":tada:",
        changed_at=NOW,
    )
    ally = Ally(
        team_id="T1",
        user_id="U1",
        ally_id="U2",
        cadence_days=14,
        last_contact_at=NOW - timedelta(days=3),
        due_day=date(2026, 12, 10),
    )
    promises = [
        Commitment(team_id="T1", owner_id="U1", text="ship <@U2>", due_day=date(2026, 12, 9)),
        Commitment(team_id="T1", owner_id="U1", text="tidy", due_day=None),
    ]
    with i18n.speaking(i18n.PSEUDO):
        values = pages.form_values(WorkspaceSettings())
        settings = pages.settings_page(
            values,
            chrome=CHROME,
            history=[change],
            names={"U9": "Ada"},
            errors={"kudos_emoji": "⟦refused⟧"},
            saved=notices.saved(1),
        )
        me = pages.me_page(
            _figures(),
            chrome=CHROME,
            allies=[AllyView(ally=ally, person=None)],
            promises=promises,
            names={"U2": "Bob"},
            now=NOW,
        )
        # Dates are Babel's English in the pseudo language.
        dates = tuple(i18n.format_date(d) for d in (date(2026, 12, 9), date(2026, 12, 10)))
        weekdays = tuple(i18n.weekday_name(i) for i in range(5))
    # Weekdays are Babel's English in the pseudo language; languages go by their own names.
    data = (*weekdays, *i18n.LANGUAGES.values(), "Ada", ":clap:", ":tada:")
    assert unmarked(settings, data=data) == []
    assert unmarked(me, data=("Bob", "ship", "tidy", *dates)) == []


async def test_the_reader_is_their_choice_then_slack_then_the_workspace(db: Database) -> None:
    """A signed-in person's page: their own choice, else their Slack locale, else the
    workspace's default (also for someone allybot has no record of), else English."""
    team = "TLANG" + uuid.uuid4().hex[:6].upper()
    now = datetime.now(UTC)
    async with db.session() as session:
        workspace = await people.ensure_workspace(session, team_id=team)
        workspace.language = "de"
        for user_id, chosen, locale in (
            ("U1", "es", "de-DE"),
            ("U2", None, "es-LA"),
            ("U3", None, "pt-BR"),
        ):
            await people.ensure_person(
                session, team_id=team, user_id=user_id, now=now, workspace_known=True
            )
            await session.execute(
                update(Person)
                .where(Person.team_id == team, Person.user_id == user_id)
                .values(language=chosen, slack_locale=locale)
            )
    async with db.session() as session:
        found = [
            await language.reader(session, team_id=team, user_id=u)
            for u in ("U1", "U2", "U3", "UNOBODY")
        ]
        assert await language.workspace_default(session, team_id=team) == "de"
        assert await language.workspace_default(session, team_id="TNONE") is None
        assert await language.reader(session, team_id="TNONE", user_id="U1") == "en"
    assert found == ["es", "es", "de", "de"]


async def test_the_workspace_page_and_report_are_marked(db: Database) -> None:
    """The workspace page (figures shown and not shown, the network with its curve) and the
    report file in the pseudo language: nothing left in English but Babel's dates."""
    from tests.test_dashboard_pages import CHROME

    now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    async with db.session() as session:
        built = await report.build(session, team_id="TPSEUDO01", until=now)
    # A workspace's network with a curve and a closed group, and a week with figures shown.
    shape = network.Shape(
        people=12,
        kudos=40,
        top_decile_share=0.3,
        gini=0.41,
        received_none=3,
        closed_groups=[3],
        lorenz=[(0.0, 0.0), (0.5, 0.2), (1.0, 1.0)],
    )
    first = built.series[0]
    shown = replace(first, points=[replace(p, value=12, people=8) for p in first.points])
    built = replace(built, shape=shape, series=[shown, *built.series[1:]])
    with i18n.speaking(i18n.PSEUDO):
        page = pages.workspace_page(built, chrome=CHROME, until=now.date(), problem=None)
        problem = pages.workspace_page(
            built, chrome=CHROME, until=now.date(), problem=notices.range_problem("order")
        )
        waiting = pages.preparing_page(chrome=CHROME, refresh=2)
        html = report_html.render(built)
        days = {
            text
            for d in [*(p.week for p in first.points), built.since, now.date(), now]
            for text in (
                i18n.format_date(d),
                i18n.format_skeleton(d, "MMMd"),
                i18n.format_time(d) if isinstance(d, datetime) else "",
            )
        }
    babel = tuple(sorted(days, key=len, reverse=True))
    for shown_page in (page, problem, waiting, html):
        assert 'lang="qps"' in shown_page
        assert unmarked(shown_page, data=(*babel, "TPSEUDO01")) == []
    assert "⟦" in problem.split('class="problem"')[1][:60]
