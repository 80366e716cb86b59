"""allybot's languages (bot/i18n.py, bot/catalogue.py): catalogues, choice, pseudo language."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Catalog
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot import catalogue, i18n
from bot.db import Database
from bot.models import Person
from tests import payloads
from tests.conftest import Server, Team
from tests.slack_double import SlackDouble
from tests.test_allies_e2e import wait_until


def test_every_catalogue_is_complete_with_the_same_placeholders() -> None:
    """Every marked string is extracted, and translated in every shipped language with the
    same {placeholders} and the language's plural forms (`make messages` updates them)."""
    assert catalogue.problems() == []


def test_a_missing_or_extra_placeholder_is_a_problem(tmp_path: object) -> None:
    assert catalogue.placeholders("Kudos to {who} from {giver}") == {"who", "giver"}
    assert catalogue.placeholders("{n} people") == {"n"}
    assert catalogue.placeholders("broken {") == {"<unbalanced braces>"}


@pytest.mark.parametrize(
    ("candidates", "chosen"),
    [
        (("es-ES", None, "en"), "es"),
        ((None, "de-DE", "en"), "de"),
        ((None, "pt-BR", "es"), "es"),  # not shipped: the workspace's default
        ((None, "ja-JP", None), "en"),
        (("de", "es-LA", "en"), "de"),  # the person's own choice first
        ((None, None, None), "en"),
        (("", "xx", "zz"), "en"),
    ],
)
def test_choose_the_first_language_allybot_speaks(
    candidates: tuple[str | None, ...], chosen: str
) -> None:
    assert i18n.choose(*candidates) == chosen


def test_speaking_sets_and_restores_the_language() -> None:
    assert i18n.language() == "en"
    with i18n.speaking("es"):
        assert i18n.language() == "es"
        with i18n.speaking("xx"):  # unknown: the default
            assert i18n.language() == "en"
        assert i18n.language() == "es"
    assert i18n.language() == "en"


@pytest.mark.parametrize("code", [c for c in i18n.LANGUAGES if c != i18n.DEFAULT])
def test_plural_forms_follow_each_language(code: str) -> None:
    """The compiled catalogue's plural rule is the language's own (CLDR via Babel)."""
    forms = Catalog(locale=code).num_plurals
    plural = getattr(i18n.translations(code), "plural", None)
    if plural is None:
        pytest.skip("no catalogue strings yet")
    assert plural(1) == 0
    assert {plural(n) for n in (0, 1, 2, 5, 21, 1000000)} <= set(range(forms))
    assert plural(2) == forms - 1  # "other"


def test_formats_follow_the_language() -> None:
    from datetime import date, time

    day = date(2026, 12, 5)
    with i18n.speaking("en"):
        assert i18n.weekday_name(0) == "Monday"
        assert i18n.format_time(time(15, 0)) == "3:00\u202fPM"
    with i18n.speaking("de"):
        assert i18n.weekday_name(0) == "Montag"
        assert i18n.format_date(day) == "05.12.2026"
        assert i18n.format_time(time(15, 0)) == "15:00"
    with i18n.speaking("es"):
        assert i18n.weekday_name(4) == "viernes"
        assert i18n.format_number(1234) == "1234" or i18n.format_number(1234) == "1.234"


TOKENS = st.sampled_from(
    [
        "{who}",
        "{n}",
        "<@U0ANN>",
        "<#C0KUDOS>",
        "<!date^1764950400^{date_short}|Dec 5>",
        ":raised_hands:",
        "`/ally add`",
        "https://example.com/a?b=c",
        "*bold*",
        "_it_",
        "&amp;",
    ]
)


# Free text around the tokens holds none of the characters that open one, so each token
# stays the token it is (a stray backtick would open a code span of its own).
PLAIN = st.text(alphabet=st.characters(blacklist_characters="`{}<>:&"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.one_of(TOKENS, PLAIN), max_size=12))
def test_the_pseudo_language_keeps_markup_and_placeholders(parts: list[str]) -> None:
    text = " ".join(parts)
    out = i18n.pseudo(text)
    if not text:
        assert out == text
        return
    assert out.startswith(i18n.PSEUDO_OPEN) and out.endswith(i18n.PSEUDO_CLOSE)
    assert catalogue.placeholders(out) == catalogue.placeholders(text) or "{" in text
    for kept in re.findall(r"<@U0ANN>|<#C0KUDOS>|:raised_hands:|`/ally add`", text):
        assert kept in out
    assert not re.search(r"\b(?:who|bold|ally)\b", re.sub(r"\{[^}]*\}|`[^`]*`", "", out))


async def saved_locale(db: Database, team_id: str, user_id: str) -> str | None:
    async with db.session() as session:
        found = await session.scalar(
            select(Person.slack_locale).where(Person.team_id == team_id, Person.user_id == user_id)
        )
        return found


async def test_the_slack_locale_is_kept_and_a_change_in_slack_takes_effect(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """users.info is asked with include_locale; a user_change (which carries no locale)
    makes allybot ask again the next time the person is needed."""
    ann = team.user("ann", locale="es-ES")
    body, key = team.command("/ally", "help", user_id=ann)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("response_url", _key=key)
    asked = slack.calls_to("users.info", user=ann)
    assert asked and all(c.args.get("include_locale") in ("1", "true", True) for c in asked)
    assert await saved_locale(db, team.team_id, ann) == "es-ES"

    slack.set_locale(ann, "de-DE")
    event = payloads.event_callback(
        payloads.user_change_event(slack.user(ann)), team_id=team.team_id
    )
    assert (await server.post(event))[0] == 200

    async def marked_stale() -> bool:  # the event is handled after its ack
        async with db.session() as session:
            found = await session.get(Person, (team.team_id, ann))
            return found is not None and found.profile_refreshed_at is None

    await wait_until(marked_stale)
    body, key = team.command("/ally", "help", user_id=ann)
    assert (await server.post(body))[0] == 200
    await slack.wait_for("response_url", _key=key)

    async def changed() -> bool:
        return await saved_locale(db, team.team_id, ann) == "de-DE"

    await wait_until(changed)
