"""Newcomers: the welcome DM (three lines), the welcome group DM, the welcomer's heads-up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.blocks import mention_list, slack_moment
from bot.i18n import _


def welcome_text() -> str:
    return _("Welcome! I'm allybot: I help people here turn colleagues into allies.")


def build_welcome_blocks() -> list[Block]:
    """The newcomer's welcome: what allybot is and does, in three lines."""
    lines = [
        _("*Welcome!* I'm allybot: I help people here turn colleagues into allies."),
        "• "
        + _("Thank someone for what they did with `/kudos @name what they did`; they get a DM."),
        "• "
        + _(
            "Keep a promise with `/commit`, stay close to people with `/ally add @name`; your "
            "Home tab shows it all, `/ally help` the rest."
        ),
    ]
    return [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))]


def welcome_intro_text(newcomer_id: str, welcomers: Sequence[str]) -> str:
    return _(
        "Welcome <@{newcomer}>! Meet {welcomers}",
        newcomer=newcomer_id,
        welcomers=mention_list(welcomers),
    )


def build_welcome_intro_blocks(
    *, newcomer_id: str, welcomers: Sequence[str], starter: str, time_lines: Sequence[str]
) -> list[Block]:
    """The newcomer's first intro: people who volunteered to help newcomers find their way."""
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=_(
                    ":wave: *Welcome <@{newcomer}>!* Meet {welcomers}: they offered to help "
                    "people who are new here find their way around.",
                    newcomer=newcomer_id,
                    welcomers=mention_list(welcomers),
                )
            )
        ),
        SectionBlock(
            text=MarkdownTextObject(
                text=_(
                    "Find 20 minutes this week for a call or a coffee: who does what here, "
                    "who to ask about what. *To get going:* {starter}",
                    starter=starter,
                )
            )
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_("Your local times now: {times}", times=" · ".join(time_lines))
                ),
                MarkdownTextObject(text=_("In a week I'll ask here whether you met.")),
            ]
        ),
    ]


def welcomer_text(newcomer_id: str) -> str:
    return _(
        "<@{newcomer}> is new here, and you're in their first intro. Thank you!",
        newcomer=newcomer_id,
    )


def build_welcomer_blocks(*, newcomer_id: str, others: Sequence[str], at: datetime) -> list[Block]:
    """A welcomer's private heads-up, once per newcomer."""
    when = slack_moment(at)
    text = (
        _(
            ":seedling: <@{newcomer}> is new here. You volunteered to welcome newcomers, so "
            "you're in their first intro, with {others}, which opens {when}. Thank you!",
            newcomer=newcomer_id,
            others=mention_list(others),
            when=when,
        )
        if others
        else _(
            ":seedling: <@{newcomer}> is new here. You volunteered to welcome newcomers, so "
            "you're in their first intro which opens {when}. Thank you!",
            newcomer=newcomer_id,
            when=when,
        )
    )
    return [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ContextBlock(
            elements=[MarkdownTextObject(text=_("`/ally intros welcome off` stops these."))]
        ),
    ]
