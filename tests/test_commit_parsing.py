"""`/commit` text → (promise, counterparts, due), in the person's own time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.services.commitments import CommitRejected, parse_commit_text
from bot.services.when import WhenError, parse_when

LONDON, NY, TOKYO, LA, BERLIN, SYD = (
    "Europe/London",
    "America/New_York",
    "Asia/Tokyo",
    "America/Los_Angeles",
    "Europe/Berlin",
    "Australia/Sydney",
)
THU_10 = "2026-11-26 10:00"  # a Thursday
FRI_EVE = "2026-11-27 19:00"  # a Friday evening


def local(text: str, tz: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


CASES = [
    # (text, tz, now local, promise, counterparts, due local or None)
    (
        "send the deck to <@U1|bob> by Friday",
        LONDON,
        THU_10,
        "send the deck",
        ("U1",),
        "2026-11-27 17:00",
    ),
    (
        "send the deck to <@U1> by Friday",
        LONDON,
        THU_10,
        "send the deck",
        ("U1",),
        "2026-11-27 17:00",
    ),
    ("review the PR by tomorrow 3pm", LONDON, THU_10, "review the PR", (), "2026-11-27 15:00"),
    ("review the PR by tomorrow at 15:30", LONDON, THU_10, "review the PR", (), "2026-11-27 15:30"),
    ("write the RFC by in 2 weeks", LONDON, THU_10, "write the RFC", (), "2026-12-10 17:00"),
    ("close the books by end of month", LONDON, THU_10, "close the books", (), "2026-11-30 17:00"),
    (
        "close the books by end of the month",
        NY,
        "2026-11-30 18:00",
        "close the books",
        (),
        "2026-12-31 17:00",
    ),
    ("ship it by 2026-12-01", LONDON, THU_10, "ship it", (), "2026-12-01 17:00"),
    (
        "pair with <@U2> by next Tuesday morning",
        LONDON,
        THU_10,
        "pair",
        ("U2",),
        "2026-12-01 09:00",
    ),
    ("call the vendor by Monday", NY, FRI_EVE, "call the vendor", (), "2026-11-30 17:00"),
    ("call the vendor by monday 10am", NY, FRI_EVE, "call the vendor", (), "2026-11-30 10:00"),
    ("send notes by Friday", NY, "2026-11-27 09:00", "send notes", (), "2026-11-27 17:00"),
    ("send notes by Friday", NY, FRI_EVE, "send notes", (), "2026-12-04 17:00"),
    ("fix the flaky test by 3pm", NY, FRI_EVE, "fix the flaky test", (), "2026-11-28 15:00"),
    ("fix the flaky test by 3pm", NY, THU_10, "fix the flaky test", (), "2026-11-26 15:00"),
    ("update the doc by eod", TOKYO, THU_10, "update the doc", (), "2026-11-26 17:00"),
    ("update the doc by end of week", TOKYO, THU_10, "update the doc", (), "2026-11-27 17:00"),
    (
        "update the doc by end of week",
        TOKYO,
        "2026-11-28 11:00",
        "update the doc",
        (),
        "2026-12-04 17:00",
    ),
    ("draft the plan by in 3 days", LA, THU_10, "draft the plan", (), "2026-11-29 17:00"),
    ("draft the plan by Dec 3", LA, THU_10, "draft the plan", (), "2026-12-03 17:00"),
    ("draft the plan by 3 December 9am", LA, THU_10, "draft the plan", (), "2026-12-03 09:00"),
    ("book the room by in 2 hours", BERLIN, THU_10, "book the room", (), "2026-11-26 12:00"),
    # DST: the wall time is kept across the change, whatever the UTC offset.
    (
        "send the report by Monday 9am",
        NY,
        "2026-10-30 10:00",
        "send the report",
        (),
        "2026-11-02 09:00",
    ),
    (
        "send the report by 2026-03-09 9am",
        NY,
        "2026-03-06 12:00",
        "send the report",
        (),
        "2026-03-09 09:00",
    ),
    (
        "plan the offsite by 2026-10-05",
        SYD,
        "2026-10-01 12:00",
        "plan the offsite",
        (),
        "2026-10-05 17:00",
    ),
    (
        "send the report by Monday",
        LONDON,
        "2026-03-27 16:00",
        "send the report",
        (),
        "2026-03-30 17:00",
    ),
    # end of month edges
    (
        "pay the invoice by end of month",
        LONDON,
        "2027-02-10 09:00",
        "pay the invoice",
        (),
        "2027-02-28 17:00",
    ),
    (
        "pay the invoice by end of month",
        LONDON,
        "2028-02-10 09:00",
        "pay the invoice",
        (),
        "2028-02-29 17:00",
    ),
    (
        "pay the invoice by eom",
        LONDON,
        "2026-12-31 18:00",
        "pay the invoice",
        (),
        "2027-01-31 17:00",
    ),
    # several counterparts, both mention forms, and "and"/commas
    (
        "send the deck to <@U1|bob> and <@U2> by Friday",
        LONDON,
        THU_10,
        "send the deck",
        ("U1", "U2"),
        "2026-11-27 17:00",
    ),
    (
        "send the deck to <@U1>, <@U2|cy> by Friday",
        LONDON,
        THU_10,
        "send the deck",
        ("U1", "U2"),
        "2026-11-27 17:00",
    ),
    (
        "review <@U3|dee>'s PR by tomorrow",
        LONDON,
        THU_10,
        "review <@U3>'s PR",
        ("U3",),
        "2026-11-27 17:00",
    ),
    (
        "bring the figures for <@W4> by Monday",
        LONDON,
        THU_10,
        "bring the figures",
        ("W4",),
        "2026-11-30 17:00",
    ),
    # "by" inside the promise
    (
        "fix the bug reported by <@U5> by Friday",
        LONDON,
        THU_10,
        "fix the bug reported by <@U5>",
        ("U5",),
        "2026-11-27 17:00",
    ),
    ("walk through the design by the window with <@U6>", LONDON, THU_10, None, None, None),
    # no date
    ("send the deck to <@U1>", LONDON, THU_10, "send the deck", ("U1",), None),
    ("think about the roadmap", LONDON, THU_10, "think about the roadmap", (), None),
    # non-ASCII
    (
        "envoyer le résumé à l'équipe to <@U7> by Friday",
        BERLIN,
        THU_10,
        "envoyer le résumé à l'équipe",
        ("U7",),
        "2026-11-27 17:00",
    ),
    (
        "日本語の資料を共有する by tomorrow",
        TOKYO,
        THU_10,
        "日本語の資料を共有する",
        (),
        "2026-11-27 17:00",
    ),
    (
        "Straße ausmessen 📏 by Monday",
        BERLIN,
        THU_10,
        "Straße ausmessen 📏",
        (),
        "2026-11-30 17:00",
    ),
    (
        "mañana: revisar el contrato by 2026-12-02",
        LA,
        THU_10,
        "mañana: revisar el contrato",
        (),
        "2026-12-02 17:00",
    ),
]


@pytest.mark.parametrize(("text", "tz", "now", "promise", "parties", "due"), CASES)
def test_commit_text(
    text: str,
    tz: str,
    now: str,
    promise: str | None,
    parties: tuple[str, ...] | None,
    due: str | None,
) -> None:
    if promise is None:
        with pytest.raises((CommitRejected, WhenError)):
            draft = parse_commit_text(text)
            assert draft.when is not None
            parse_when(draft.when, tz=tz, now=local(now, tz))
        return
    draft = parse_commit_text(text)
    assert draft.what == promise
    assert draft.parties == parties
    if due is None:
        assert draft.when is None
    else:
        assert draft.when is not None
        got = parse_when(draft.when, tz=tz, now=local(now, tz))
        assert got.astimezone(ZoneInfo(tz)) == local(due, tz)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "What did you promise"),
        ("to <@U1> by Friday", "What did you promise"),
        ("x" * 1001, "characters"),
    ],
)
def test_rejected_promises(text: str, fragment: str) -> None:
    with pytest.raises(CommitRejected) as err:
        parse_commit_text(text)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ("yesterday", "already passed"),
        ("2020-01-01", "already passed"),
        ("the blue moon", "couldn't understand"),
    ],
)
def test_rejected_dates(when: str, fragment: str) -> None:
    with pytest.raises(WhenError) as err:
        parse_when(when, tz=LONDON, now=local(THU_10, LONDON))
    assert fragment in str(err.value)


def test_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
