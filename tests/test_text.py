"""The one text path (bot/text.py): generated text in, safe markup within Slack's limits out."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import MarkdownTextObject, PlainTextInputElement, SectionBlock

from bot import text as texts
from bot.blocks.kudos import build_kudos_dm_blocks, build_kudos_post_blocks, kudos_post_text
from bot.text import Source, TextRefused
from tests.text_checks import GROUPS, person_text, problems

MEANT = ("U0ANN", "U0BOB")
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(text=person_text(MEANT), source=st.sampled_from(Source))
def test_whatever_is_carried_is_safe_and_fits_every_surface(text: str, source: Source) -> None:
    try:
        carried = texts.carry(text, source=source, mentions=MEANT)
    except TextRefused as exc:
        assert texts.group_mention(texts.clean(text), source), "refused only for a group"
        assert "`@" in str(exc) or "user group" in str(exc)
        return
    assert problems(carried, meant=MEANT) == []
    assert texts.carry(carried, source=Source.MARKUP, mentions=MEANT) == carried  # idempotent
    for limit in (40, 200, 2900):
        quoted = texts.quote(carried, limit)
        assert len(quoted) <= limit and problems(quoted, meant=MEANT) == []
        assert len(texts.one_line(carried, limit)) <= limit
    for block in [
        *build_kudos_post_blocks(
            giver_id="U0GIVER",
            receiver_ids=MEANT,
            reason=carried,
            tags=("teamwork",),
            emoji="x" * 100,
        ),
        *build_kudos_dm_blocks(
            team_id="T0", giver_id="U0GIVER", channel_id="C0", reason=carried, tags=(), emoji="x"
        ),
    ]:
        block.to_dict()  # slack_sdk's checks of Slack's limits raise here
    assert len(kudos_post_text(giver_id="U0G", receiver_ids=MEANT, reason=carried)) < 4000
    prefill = texts.plain(carried)[:1000]
    PlainTextInputElement(action_id="x", initial_value=prefill or None, max_length=1000).to_dict()


@FAST
@given(text=person_text(MEANT), group=st.sampled_from(GROUPS), source=st.sampled_from(Source))
def test_a_group_mention_anywhere_is_refused_on_every_source(
    text: str, group: str, source: Source
) -> None:
    with pytest.raises(TextRefused):
        texts.carry(text + " " + group + " " + text, source=source, mentions=MEANT)


@pytest.mark.parametrize(
    ("source", "text", "expected"),
    [
        (Source.MARKUP, "<https://evil.example|your bonus>", "your bonus (<https://evil.example>)"),
        (Source.MARKUP, "<https://example.com|https://example.com>", "<https://example.com>"),
        (Source.MARKUP, "see <mailto:a@example.com|a@example.com>", "see <mailto:a@example.com>"),
        (Source.MARKUP, "<javascript:alert(1)|x>", "&lt;javascript:alert(1)|x&gt;"),
        (Source.MARKUP, "at <!date^1392734382^{date_num}|Feb 18>", "at Feb 18"),
        (Source.MARKUP, "thanks <@U0ANN|ann> and <@U0EVE|eve>", "thanks <@U0ANN> and <~U0EVE>"),
        (Source.MARKUP, "thanks <@U0EVE>", "thanks <~U0EVE>"),
        (Source.MARKUP, "thanks <~U0EVE> &lt;~U0EVE&gt;", "thanks <~U0EVE> &lt;~U0EVE&gt;"),
        (Source.MARKUP, "in <#C0GEN|general> &amp; more", "in <#C0GEN> &amp; more"),
        (Source.MARKUP, "pay\u202eyap \u200bnow", "payyap now"),
        (Source.MARKUP, "team 👩\u200d💻 work", "team 👩\u200d💻 work"),
        (
            Source.INPUT,
            "a < b & <@U0ANN> <@U0EVE> <https://x.example|y>",
            "a &lt; b &amp; <@U0ANN> <~U0EVE> &lt;https://x.example|y&gt;",
        ),
        (Source.INPUT, "one\r\n\n\n\n\ntwo\x00", "one\n\ntwo"),
    ],
)
def test_examples_of_the_rules(source: Source, text: str, expected: str) -> None:
    assert texts.carry(text, source=source, mentions=MEANT) == expected


def test_a_name_survives_the_edit_modal() -> None:
    """A promise's text goes into the edit modal as `plain` and comes back as typed input:
    a name stays a name (not `~U…`), a mention of a party stays a mention."""
    stored = texts.carry(
        "send <@U0EVE|eve> the deck, <@U0ANN>", source=Source.MARKUP, mentions=MEANT
    )
    assert stored == "send <~U0EVE> the deck, <@U0ANN>"
    assert texts.plain(stored) == "send <@U0EVE> the deck, <@U0ANN>"
    assert texts.carry(texts.plain(stored), source=Source.INPUT, mentions=MEANT) == stored


@pytest.mark.parametrize(
    ("source", "text", "named"),
    [
        (Source.MARKUP, "kudos <!here>", "`@here`"),
        (Source.MARKUP, "kudos <!channel|channel>", "`@channel`"),
        (Source.MARKUP, "kudos <!everyone>", "`@everyone`"),
        (Source.MARKUP, "kudos <!subteam^S0ENG|@eng>", "`@eng`"),
        (Source.INPUT, "kudos <!here>", "`@here`"),
        (Source.INPUT, "thanks @Channel for the help", "`@channel`"),
    ],
)
def test_group_mentions_are_refused_by_name(source: Source, text: str, named: str) -> None:
    with pytest.raises(TextRefused, match=named):
        texts.carry(text, source=source)


def test_a_thousand_line_breaks_fit_a_section() -> None:
    carried = texts.carry("a\n" * 500 + "\n" * 500, source=Source.INPUT)
    section = SectionBlock(text=MarkdownTextObject(text="header\n" + texts.quote(carried, 2990)))
    section.to_dict()
    assert texts.quote(carried, 2990).count("\n") < texts.MAX_LINES


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=4000))
def test_an_error_quotes_at_most_a_short_excerpt(text: str) -> None:
    quoted = texts.snippet(text)
    assert len(quoted) <= 40 and problems(quoted, meant=()) == []


def test_edge_normalisation_takes_control_characters_out_of_every_string() -> None:
    body = {"a": "x\x00y", "b": ["\x07ok\ud800", {"c": "line\r\nbreak"}], "n": 3}
    assert texts.normalise_edge(body) == {"a": "xy", "b": ["ok", {"c": "line\nbreak"}], "n": 3}


TRIMMED = " ,.:;-–—!"


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("ab <>&;.,:-! \u2014"), max_size=40))
def test_trimming_punctuation_keeps_every_entity_whole(text: str) -> None:
    """`trim` strips like `str.strip` on what the reader sees, never the `;` of `&gt;`."""
    assert texts.trim(texts.escape(text), TRIMMED) == texts.escape(text.strip(TRIMMED))


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("review the &lt;br&gt;", "review the &lt;br&gt;"),
        ("R&amp;D;", "R&amp;D"),
        ("notes &amp;", "notes &amp;"),
        ("; <@U0ANN>, thanks!", "<@U0ANN>, thanks"),
    ],
)
def test_trim_examples(markup: str, expected: str) -> None:
    assert texts.trim(markup, TRIMMED) == expected
