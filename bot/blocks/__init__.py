"""Block Kit builders: pure functions from values to slack_sdk models.

Every text a person wrote reaches a block through `words` (their part cut at a whole token,
by its length as markup, so allybot's own words around it survive) and every section through
`section` (the whole text cut to Slack's limit), so whatever allybot accepted renders.
"""

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from babel.lists import format_list
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot import i18n
from bot import text as texts
from bot.i18n import _
from bot.ids import erased

logger = logging.getLogger(__name__)

WORDS = 2000  # a person's words in one section, leaving room for allybot's own around them


def mention(user_id: str) -> str:
    """A person as a mention; someone who erased their data as "someone", never their
    stand-in id (which Slack would show as a broken mention)."""
    # Translators: stands for a person who erased their data, in any sentence naming people.
    return _("someone") if erased(user_id) else f"<@{user_id}>"


def listing(items: Sequence[str]) -> str:
    """Items as this language lists them: "A, B and C", "A, B y C", "A, B und C"."""
    return format_list(list(items), locale=i18n.babel_locale()) if items else ""


def mention_list(user_ids: Sequence[str]) -> str:
    """ "<@A>", "<@A> and <@B>", "<@A>, <@B> and <@C>" (in the reader's language)."""
    return listing([mention(u) for u in user_ids])


def clock(value: datetime | time) -> str:
    """A time of day on the 24-hour clock as this language writes it ("09:00", "9:00")."""
    moment = value if isinstance(value, datetime) else datetime.combine(date(2000, 1, 1), value)
    return i18n.format_skeleton(moment, "Hm")


def minutes_clock(minutes: int) -> str:
    """Minutes after midnight (a stored window or quiet hours) as a time of day."""
    return clock(time((minutes // 60) % 24, minutes % 60))


def short_day(value: date) -> str:
    """A day in a few letters: "Fri, Dec 4", "vie, 4 dic", "Fr., 4. Dez."."""
    return i18n.format_skeleton(value, "MMMEd")


def long_day(value: date) -> str:
    """A day in full: "Friday, December 4", "viernes, 4 de diciembre"."""
    # Translators: a day in full; {weekday} is its name, {date} its day and month.
    return _(
        "{weekday}, {date}",
        weekday=i18n.weekday_name(value.weekday()),
        date=i18n.format_skeleton(value, "MMMMd"),
    )


def slack_moment(moment: datetime) -> str:
    """A moment as a Slack date token: each reader's Slack shows it in their own zone, in
    words of this language around it; the fallback (in UTC) for where Slack cannot."""
    utc = moment.astimezone(UTC)
    # Translators: Slack fills in {date_short_pretty} ("today", "Dec 5") and {time}; keep
    # both as they are and change only the words around them.
    shown = _("{date_short_pretty} at {time}")
    # Translators: a moment in UTC, when Slack cannot show it in the reader's zone.
    fallback = _("{day}, {time} UTC", day=short_day(utc.date()), time=clock(utc))
    return f"<!date^{int(moment.timestamp())}^{shown}|{fallback}>"


def day_and_time(value: datetime) -> str:
    """A moment in a person's zone, already converted: "Fri, Dec 4, 17:00"."""
    # Translators: a due date and time, e.g. "Fri, Dec 4, 17:00".
    return _("{day}, {time}", day=short_day(value.date()), time=clock(value))


def words(markup: str, limit: int = WORDS) -> str:
    """A person's stored words (safe markup) cut to `limit` characters at a whole token."""
    return texts.excerpt(markup, limit)


def section(text: str, **fields: Any) -> SectionBlock:
    """A mrkdwn section whose text always fits Slack's limit, cut at a whole token."""
    return SectionBlock(
        text=MarkdownTextObject(text=texts.excerpt(text, texts.SECTION_LIMIT)), **fields
    )


def renders(blocks: Sequence[Block]) -> bool:
    """Whether Slack's SDK builds these blocks: a last guard so one item that does not fit
    is left out of a message instead of refusing the whole message."""
    try:
        for block in blocks:
            block.to_dict()
    except SlackObjectFormationError as exc:
        logger.warning("item left out: %s", type(exc).__name__)
        return False
    return True
