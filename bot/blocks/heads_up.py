"""The heads-up before an intros round (in the daily message) and the upcoming round on
Home: Skip this round / I'm in, and the person's answer."""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    MarkdownTextObject,
    SectionBlock,
)

from bot.ids import Action
from bot.services.intros.skips import IN, SKIP, RoundChoice

HOME_BLOCK = "home_intro_round"


def _day(round_day: date) -> str:
    return f"{round_day:%A %-d %b}"


def choice_line(round_day: date, choice: str | None) -> str:
    """Where the person stands for that round, in a few words."""
    if choice == SKIP:
        return f"You're skipping the round on {_day(round_day)}; you're back in the one after."
    if choice == IN:
        return f"You're in the round on {_day(round_day)}."
    return f"You're in the round on {_day(round_day)} unless you skip it."


def choice_note(round_day: date, choice: str) -> str:
    """What replaces the buttons once the person answered."""
    if choice == SKIP:
        return (
            f":no_entry_sign: Skipped: no intro for you on {_day(round_day)}, only that round. "
            "Changed your mind? *I'm in* on your Home tab, until the round is made."
        )
    return f":white_check_mark: You're in: allybot pairs you on {_day(round_day)}."


def heads_up_text(round_day: date) -> str:
    return f"Intros round on {_day(round_day)}: skip it, or you're in."


def _buttons(round_day: date, block_id: str) -> ActionsBlock:
    value = round_day.isoformat()
    return ActionsBlock(
        block_id=block_id,
        elements=[
            ButtonElement(
                text="I'm in", action_id=Action.INTRO_ROUND_IN, value=value, style="primary"
            ),
            ButtonElement(text="Skip this round", action_id=Action.INTRO_ROUND_SKIP, value=value),
        ],
    )


def build_heads_up_blocks(*, round_day: date, channel_id: str, choice: str | None) -> list[Block]:
    """The working day before a round: who it is for, what they chose already (on Home),
    and the two buttons, tied to that day."""
    text = (
        f":calendar: *Next intros round: {_day(round_day)}.* allybot will put you with people "
        f"from <#{channel_id}> that day. Busy that week? Skip this round: you're left out of "
        "that one only."
    )
    if choice is not None:
        text += "\n" + choice_line(round_day, choice)
    return [
        SectionBlock(text=MarkdownTextObject(text=text)),
        _buttons(round_day, f"intro_round:{round_day.isoformat()}"),
    ]


def build_home_round_blocks(upcoming: RoundChoice) -> list[Block]:
    """The upcoming round on Home, with the person's answer and the same two buttons."""
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"*Next intros round:* {choice_line(upcoming.round_day, upcoming.choice)}"
            )
        ),
        _buttons(upcoming.round_day, HOME_BLOCK),
    ]
