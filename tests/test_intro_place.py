"""A meeting place is text a person typed (or their Slack profile holds) that allybot shows
to the whole intro group: whatever it is, it reaches them as plain words, never as markup
that pings, links or mentions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.blocks.intro_meeting import meeting_text
from bot.blocks.intros import build_intro_blocks
from bot.services.intros.meeting import IN_PERSON, MAX_PLACE, PLACE, Meeting, parse_place
from bot.services.intros.rules import IntrosError
from bot.text import escape

PIECES = st.sampled_from(
    [
        *("<!channel>", "<!here>", "<@U1>", "<#C1>", "<https://x.example|office>", "&lt;!here&gt;"),
        *("*", "_", "`", "&", " ", "\n", "London", "office", "Zürich", "東京", "3/F", "(", "'"),
    ]
)
TYPED = st.one_of(st.text(max_size=80), st.lists(PIECES, max_size=12).map("".join))


def _intro_place_line(place: str) -> str:
    blocks = build_intro_blocks(
        user_ids=["U1", "U2"], channel_id="C1", starter="Say hello.", time_lines=[], place=place
    )
    return str(blocks[1].to_dict()["text"]["text"])


@given(TYPED, st.booleans())
def test_a_typed_place_is_plain_words_or_refused(text: str, markup: bool) -> None:
    try:
        place = parse_place(text, markup=markup)
    except IntrosError as exc:
        assert "can't be a place" in str(exc)
        return
    if place is None:
        return
    assert 0 < len(place) <= MAX_PLACE and PLACE.match(place)
    assert place == " ".join(place.split())
    assert not set(place) & set("<>`*\n")


@given(TYPED.filter(lambda t: t.strip() != ""))
def test_any_place_reaches_the_group_and_home_without_markup(place: str) -> None:
    """Also a profile's place, which is not checked like a typed one."""
    line = _intro_place_line(place)
    assert escape(place) in line
    assert "<" not in line and ">" not in line
    home = meeting_text(Meeting(mode=IN_PERSON, place=None, profile_place=place))
    assert "<" not in home and ">" not in home
