"""The kudos parser and people rules, without Slack or a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.models import Person
from bot.services.kudos import (
    MAX_RECEIVERS,
    KudosRejected,
    check_people,
    local_midnight,
    parse_kudos_text,
)


def test_mentions_reason_and_tags() -> None:
    parsed = parse_kudos_text("<@U1|ann> <@U2> great demo, thanks! #teamwork #Mentoring")
    assert parsed.receivers == ("U1", "U2")
    assert parsed.reason == "great demo, thanks"
    assert parsed.tags == ("teamwork", "mentoring")


def test_repeated_mention_counts_once() -> None:
    assert parse_kudos_text("<@U1> and <@U1|ann> for the review").receivers == ("U1",)


def test_mention_inside_reason_is_kept_as_receiver() -> None:
    parsed = parse_kudos_text("thanks <@U1|ann> for pairing with <@U2>")
    assert parsed.receivers == ("U1", "U2")
    assert parsed.reason == "thanks for pairing with"


def test_channel_links_and_issue_numbers_are_not_tags() -> None:
    parsed = parse_kudos_text("<@U1> fixed bug #123 in <#C1|general> &amp; more")
    assert parsed.tags == ()
    assert "#123" in parsed.reason


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Who is it for"),
        ("   ", "Who is it for"),
        ("great demo", "Mention who"),
        ("<@U1>", "Say why"),
        ("<@U1> #teamwork", "Say why"),
        ("<@U1> !!!", "Say why"),
        ("<@U1> thanks #teamwrok", "#teamwrok"),
        ("@nobody thanks for the help", "`@nobody`"),
        ("<!subteam^S1|@devs> thanks", "not to groups"),
        ("<!here> thanks", "not to groups"),
        ("<@U1> " + "x" * 1000, "characters"),
        (" ".join(f"<@U{i}>" for i in range(MAX_RECEIVERS + 1)) + " thanks", "at most 10"),
    ],
)
def test_bad_input_is_explained(text: str, fragment: str) -> None:
    with pytest.raises(KudosRejected) as err:
        parse_kudos_text(text)
    assert fragment in str(err.value)


def test_workspace_tags_are_accepted() -> None:
    parsed = parse_kudos_text("<@U1> shipped it #shipit", known_tags=("teamwork", "shipit"))
    assert parsed.tags == ("shipit",)


def test_email_address_is_not_a_bare_mention() -> None:
    parsed = parse_kudos_text("<@U1> answered ann@example.com within minutes")
    assert parsed.receivers == ("U1",)


def _person(uid: str, **kw: object) -> Person:
    fields: dict[str, object] = {"is_bot": False, "deleted": False, "tz": "UTC", **kw}
    return Person(team_id="T", user_id=uid, **fields)


@pytest.mark.parametrize(
    ("receiver", "fragment"),
    [
        (_person("UGIVER"), "yourself"),
        (_person("UBOT", is_bot=True), "is a bot"),
        (_person("USLACKBOT"), "is a bot"),
        (_person("UGONE", deleted=True), "no longer in this workspace"),
    ],
)
def test_people_rules(receiver: Person, fragment: str) -> None:
    with pytest.raises(KudosRejected) as err:
        check_people(_person("UGIVER"), [_person("UOK"), receiver])
    assert fragment in str(err.value)


def test_daily_limit_resets_at_local_midnight() -> None:
    now = datetime(2026, 11, 26, 3, 30, tzinfo=UTC)
    assert local_midnight(now, "America/Los_Angeles") == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert local_midnight(now, "Asia/Tokyo") == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
