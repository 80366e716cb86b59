"""Tips, their categories, conversation starters and the guide to a direct conversation are
content under stable ids: shown in each person's language, rated and rotated by id."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from bot import i18n
from bot.blocks.allies import resolve_guide, third_party_help
from bot.services import guide
from bot.services.intros.starters import starter_text, starters
from bot.services.tips import History, choose, library
from tests.conftest import Server, Team
from tests.slack_double import SlackDouble
from tests.test_allies_e2e import ally_cmd

SHIPPED = [code for code in i18n.LANGUAGES if code != i18n.DEFAULT]


def test_the_content_counts() -> None:
    assert len(library().tips) == 80
    assert len(library().categories) == 10
    assert len(starters()) == 46
    assert len(guide.lines()) == 12


@pytest.mark.parametrize("code", SHIPPED)
def test_every_piece_of_content_has_its_own_words_in_each_language(code: str) -> None:
    """Each tip, category, starter and guide line reads differently from the English in
    every shipped language, and keeps its Slack markup."""
    lib = library()
    with i18n.speaking(code):
        pairs = [(t.text, t.shown()) for t in lib.tips]
        pairs += [(title, lib.title(key)) for key, title in lib.categories.items()]
        pairs += [(s.text, starter_text(s.id)) for s in starters()]
        pairs += [(text, guide.line(key)) for key, text in guide.lines().items()]
    assert len(pairs) == 80 + 10 + 46 + 12
    for english, shown in pairs:
        assert shown and shown != english
        assert shown.count("*") == english.count("*"), shown
        assert ("{" in shown) == ("{" in english), shown


def test_english_stays_the_source() -> None:
    tip = library().tips[0]
    assert tip.shown() == tip.text
    assert starter_text("s01") == starters()[0].text
    assert starter_text("retired-id") == starters()[0].text  # a retired id: the first one
    assert library().title("no-such-category") == ""


def test_the_guide_keeps_its_order_and_fills_in_person_and_topic() -> None:
    english = resolve_guide("U1", "the {plan}")  # braces in a topic are the person's words
    lines = english.splitlines()
    assert lines[0] == "*Talking to <@U1> about the {plan}*"
    assert [line[:2] for line in lines[1:6]] == ["1.", "2.", "3.", "4.", "5."]
    assert lines[-1].startswith("I'll check in with you in two working days")
    with i18n.speaking("de"):
        german = resolve_guide("U1", "the {plan}")
        hard = third_party_help()
    assert german.splitlines()[0] == "*Mit <@U1> über the {plan} sprechen*"
    assert german.count("\n") == english.count("\n")
    assert hard.startswith("*Wenn ein direktes Gespräch schwierig ist*")
    assert hard.count("\n• ") == 4


def test_rotation_is_by_id_whatever_the_language() -> None:
    """A person who changes language mid-cycle goes on with the same cycle: the choice sees
    ids and categories only, never the words."""
    lib = library()

    def run(languages: list[str]) -> list[str]:
        shown: list[tuple[str, str]] = []
        for code in languages:
            with i18n.speaking(code):
                past = History(
                    cycle=1,
                    seen=frozenset(t for t, _ in shown),
                    seen_categories=Counter(c for _, c in shown),
                    rejected=frozenset({"gossip_free"}),
                    last_category=shown[-1][1] if shown else None,
                )
                tip, cycle = choose(lib, past, seed="T1:U1")
                assert cycle == 1
                tip.shown()
                shown.append((tip.id, tip.category))
        return [t for t, _ in shown]

    english = run(["en"] * 30)
    mixed = run(list(itertools.islice(itertools.cycle(["es", "en", "de"]), 30)))
    assert mixed == english
    assert len(set(english)) == 30


@pytest.mark.parametrize(
    ("locale", "title", "first_step", "help_start"),
    [
        ("es-ES", "*Cómo hablar con <@{bob}> sobre el calendario*", "1. *Habla con esa", "*Cuando"),
        ("de-DE", "*Mit <@{bob}> über den Zeitplan sprechen*", "1. *Sprich mit der", "*Wenn"),
    ],
)
async def test_the_guide_to_a_direct_conversation_reads_in_the_persons_language(
    server: Server,
    team: Team,
    slack: SlackDouble,
    locale: str,
    title: str,
    first_step: str,
    help_start: str,
) -> None:
    ann, bob = team.user("ann", locale=locale), team.user("bob")
    topic = "el calendario" if locale.startswith("es") else "den Zeitplan"
    text = await ally_cmd(server, team, slack, ann, f"resolve <@{bob}> {topic}")
    lines = text.splitlines()
    assert lines[0] == title.format(bob=bob)
    assert lines[1].startswith(first_step)
    assert "Talk to them" not in text and "allybot" in lines[-1]
    with i18n.speaking(locale[:2]):
        assert text == resolve_guide(bob, topic)
        assert third_party_help().startswith(help_start)
