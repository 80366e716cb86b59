"""The dashboard's pure parts: pages escape whatever people typed, cookies and CSRF tokens
cannot be forged, and built reports are shared and refreshed without making a page wait."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.dashboard import pages
from bot.dashboard.report_cache import ReportCache
from bot.dashboard.routes import Dashboard
from bot.dashboard.signin import Signer, Visitor, slack_origin
from bot.db import Database
from bot.models import Ally, Commitment, SettingChange
from bot.services import report
from bot.services.allies import AllyView
from bot.services.insights import Figures, PersonInsights, Ratio, Window
from bot.settings import Settings
from bot.slack import SlackClients
from bot.text import Source, TextRefused, carry

CHROME = pages.Chrome(is_admin=True, csrf="token", current=pages.ME)
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)

# What people type: any Unicode, control characters, Slack's <…> tokens, markup, huge text.
typed = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            '"><img src=x onerror=alert(1)>',
            "<!channel> <@U123|ann> <#C123|general> <https://evil.example|click>",
            "*bold* _it_ `code` ~strike~",
            "\x00\x07\u202e\ufeff",
            "x" * 4000,
        ]
    ),
)


def _window(n: int) -> Window:
    r = Ratio(n, n + 1)
    return Window(breadth=r, reciprocity=r, follow_through=r, rhythm=r)


def _figures() -> Figures:
    return Figures(given_30d=3, received_30d=4, person=PersonInsights(_window(2), _window(1)))


class _Tags(HTMLParser):
    """Every tag and attribute name in a page, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


PAGE_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "link",
    "body",
    "a",
    "header",
    "span",
    "nav",
    "ul",
    "li",
    "form",
    "input",
    "button",
    "main",
    "h1",
    "h2",
    "p",
    "div",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "time",
    "ol",
    "label",
    "select",
    "option",
    "strong",
    "em",
    "code",
}


def _no_markup_from(typed_text: str, page: str) -> None:
    """Nothing the person typed became a tag or an attribute; it reads as text."""
    found = _Tags()
    found.feed(page)
    assert found.tags <= PAGE_TAGS, found.tags - PAGE_TAGS
    assert not any(name.startswith("on") for name in found.attrs)
    visible = "".join(found.text)
    for line in typed_text.splitlines():
        if line.strip() and line.isprintable() and len(line) < 200:
            assert line.strip() in visible or line.strip() in page


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(promise=typed, ally_name=typed)
def test_me_page_escapes_promises_and_names(promise: str, ally_name: str) -> None:
    ally = Ally(
        team_id="T1",
        user_id="U1",
        ally_id="U2",
        cadence_days=14,
        last_contact_at=NOW - timedelta(days=3),
        due_day=date(2026, 12, 10),
    )
    try:  # stored as allybot stores what a person typed: Slack markup
        stored = carry(promise, source=Source.INPUT)
    except TextRefused:
        assume(False)
    commitment = Commitment(team_id="T1", owner_id="U1", text=stored, due_day=None)
    page = pages.me_page(
        _figures(),
        chrome=CHROME,
        allies=[AllyView(ally=ally, person=None)],
        promises=[commitment],
        names={"U2": ally_name},
        now=NOW,
    )
    _no_markup_from(promise, page)
    _no_markup_from(ally_name, page)
    body = page.split('<main id="main">', 1)[1]
    assert body.count("<li>") >= 5  # four figures and the promise, whatever it says
    assert "3 days ago" in page


@settings(max_examples=40, deadline=None)
@given(value=typed, who=typed)
def test_settings_form_keeps_what_was_typed_escaped(value: str, who: str) -> None:
    change = SettingChange(
        team_id="T1",
        changed_by="U9",
        field="kudos_emoji",
        old_value=value,
        new_value=":tada:",
        changed_at=NOW,
    )
    page = pages.settings_page(
        {"kudos_emoji": value, "tags": value},
        chrome=CHROME,
        history=[change],
        names={"U9": who},
        errors={"kudos_emoji": "Give an emoji name, such as :raised_hands:."},
    )
    _no_markup_from(value, page)
    _no_markup_from(who, page)
    assert 'aria-describedby="kudos_emoji-hint kudos_emoji-error"' in page
    assert page.count('name="csrf" value="token"') == 2  # the form and sign-out


def test_mrkdwn_marks_become_html_after_escaping() -> None:
    out = pages.mrkdwn("*Breadth:* you <b>did</b> _well_, try `/kudos @x`")
    assert out == (
        "<strong>Breadth:</strong> you &lt;b&gt;did&lt;/b&gt; <em>well</em>, try "
        "<code>/kudos @x</code>"
    )


def test_signed_values_and_csrf_tokens_cannot_be_forged() -> None:
    signer = Signer("secret")
    cookie = signer.sign("abc")
    assert signer.unsign(cookie) == "abc"
    assert signer.unsign(cookie[:-1] + ("A" if cookie[-1] != "A" else "B")) is None
    assert signer.unsign("abd." + cookie.split(".")[1]) is None
    assert Signer("other").unsign(cookie) is None
    assert signer.unsign("abc") is None and signer.unsign("") is None
    assert signer.csrf_ok("h1", signer.csrf("h1"))
    assert not signer.csrf_ok("h2", signer.csrf("h1"))
    assert not signer.csrf_ok("h1", None) and not signer.csrf_ok("h1", "")


def test_slack_pages_follow_the_api_hosts() -> None:
    assert slack_origin("https://slack.com/api/") == "https://slack.com"
    assert slack_origin("https://slack-gov.com/api/") == "https://slack-gov.com"
    assert slack_origin("http://127.0.0.1:4321/api/") == "http://127.0.0.1:4321"


async def test_reports_are_built_once_and_refreshed_in_the_background() -> None:
    cache = ReportCache(ttl=0.05)
    builds: list[int] = []
    gate = asyncio.Event()

    async def build() -> Any:
        builds.append(len(builds))
        await gate.wait()
        return f"report {len(builds)}"

    key = ("T1", date(2026, 9, 1), date(2026, 12, 5))
    first = [cache.get(key, build) for _ in range(3)]
    await asyncio.sleep(0.01)
    gate.set()
    assert [await t for t in first] == ["report 1"] * 3 and len(builds) == 1
    assert await cache.get(key, build) == "report 1"
    await asyncio.sleep(0.06)  # stale now: shown at once, rebuilt behind it
    assert await cache.get(key, build) == "report 1"
    await asyncio.sleep(0.01)
    assert await cache.get(key, build) == "report 2" and len(builds) == 2


async def test_a_slow_report_gives_a_page_that_reloads_itself(
    db: Database, database_url: str
) -> None:
    settings = Settings(
        slack_client_id="1.2",
        slack_client_secret=SecretStr("s"),
        slack_api_url="http://127.0.0.1:9/api/",
        database_url=database_url,
    )
    dash = Dashboard(settings, db, SlackClients(settings))
    gate = asyncio.Event()
    builds: list[str] = []

    def slow_builder(team_id: str, since: date, until: date) -> Callable[[], Awaitable[Any]]:
        async def build() -> Any:
            builds.append(team_id)
            await gate.wait()
            async with db.session() as session:
                return await report.build(session, team_id=team_id, until=NOW, since=since)

        return build

    dash._builder = slow_builder  # type: ignore[method-assign]
    visitor = Visitor("TSLOW0001", "U1", True, "csrf", "hash")
    request = make_mocked_request("GET", "/dashboard/workspace")
    first = await dash.workspace(request, visitor)
    assert isinstance(first, web.Response) and first.status == 200
    assert first.text is not None and 'http-equiv="refresh" content="2"' in first.text
    assert "being worked out" in first.text and first.headers["Retry-After"] == "2"
    again = await dash.workspace(request, visitor)
    assert isinstance(again, web.Response) and "being worked out" in (again.text or "")
    gate.set()
    for _ in range(100):
        page = await dash.workspace(request, visitor)
        assert isinstance(page, web.Response)
        if "Recognised in the last 7 days" in (page.text or ""):
            break
        await asyncio.sleep(0.05)
    assert "Recognised in the last 7 days" in (page.text or "")
    assert builds == ["TSLOW0001"], "one build, however many pages asked"
