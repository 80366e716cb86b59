"""Newcomers: the welcome DM (three lines), the welcome group DM, the welcomer's heads-up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.blocks import mention_list

WELCOME_LINES = (
    "*Welcome!* I'm allybot: I help people here turn colleagues into allies.",
    "• Thank someone for what they did with `/kudos @name what they did`; they get a DM.",
    "• Keep a promise with `/commit`, stay close to people with `/ally add @name`; "
    "your Home tab shows it all, `/ally help` the rest.",
)


def welcome_text() -> str:
    return "Welcome! I'm allybot: I help people here turn colleagues into allies."


def build_welcome_blocks() -> list[Block]:
    """The newcomer's welcome: what allybot is and does, in three lines."""
    return [SectionBlock(text=MarkdownTextObject(text="\n".join(WELCOME_LINES)))]


def welcome_intro_text(newcomer_id: str, welcomers: Sequence[str]) -> str:
    return f"Welcome <@{newcomer_id}>! Meet {mention_list(welcomers)}"


def build_welcome_intro_blocks(
    *, newcomer_id: str, welcomers: Sequence[str], starter: str, time_lines: Sequence[str]
) -> list[Block]:
    """The newcomer's first intro: people who volunteered to help newcomers find their way."""
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=(
                    f":wave: *Welcome <@{newcomer_id}>!* Meet {mention_list(welcomers)}: "
                    "they offered to help people who are new here find their way around."
                )
            )
        ),
        SectionBlock(
            text=MarkdownTextObject(
                text=(
                    "Find 20 minutes this week for a call or a coffee: who does what here, "
                    f"who to ask about what. *To get going:* {starter}"
                )
            )
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(text="Your local times now: " + " · ".join(time_lines)),
                MarkdownTextObject(text="In a week I'll ask here whether you met."),
            ]
        ),
    ]


def welcomer_text(newcomer_id: str) -> str:
    return f"<@{newcomer_id}> is new here, and you're in their first intro. Thank you!"


def build_welcomer_blocks(*, newcomer_id: str, others: Sequence[str], at: datetime) -> list[Block]:
    """A welcomer's private heads-up, once per newcomer."""
    with_others = f", with {mention_list(others)}," if others else ""
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=(
                    f":seedling: <@{newcomer_id}> is new here. You volunteered to welcome "
                    f"newcomers, so you're in their first intro{with_others} which opens "
                    f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|soon>. "
                    "Thank you!"
                )
            )
        ),
        ContextBlock(elements=[MarkdownTextObject(text="`/ally intros welcome off` stops these.")]),
    ]
