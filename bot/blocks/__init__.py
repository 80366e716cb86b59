"""Block Kit builders: pure functions from values to slack_sdk models.

Every text a person wrote reaches a block through `words` (their part cut at a whole token,
by its length as markup, so allybot's own words around it survive) and every section through
`section` (the whole text cut to Slack's limit), so whatever allybot accepted renders.
"""

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot import text as texts
from bot.ids import erased

logger = logging.getLogger(__name__)

WORDS = 2000  # a person's words in one section, leaving room for allybot's own around them


def mention(user_id: str) -> str:
    """A person as a mention; someone who erased their data as "someone", never their
    stand-in id (which Slack would show as a broken mention)."""
    return "someone" if erased(user_id) else f"<@{user_id}>"


def mention_list(user_ids: Sequence[str]) -> str:
    """ "<@A>", "<@A> and <@B>", "<@A>, <@B> and <@C>"."""
    names = [mention(u) for u in user_ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


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
