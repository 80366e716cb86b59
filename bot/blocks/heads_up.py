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

from bot.blocks import long_day
from bot.i18n import _
from bot.ids import Action
from bot.services.intros.skips import IN, SKIP, RoundChoice

HOME_BLOCK = "home_intro_round"


def choice_line(round_day: date, choice: str | None) -> str:
    """Where the person stands for that round, in a few words."""
    day = long_day(round_day)
    if choice == SKIP:
        return _("You're skipping the round on {day}; you're back in the one after.", day=day)
    if choice == IN:
        return _("You're in the round on {day}.", day=day)
    return _("You're in the round on {day} unless you skip it.", day=day)


def choice_note(round_day: date, choice: str) -> str:
    """What replaces the buttons once the person answered."""
    day = long_day(round_day)
    if choice == SKIP:
        return _(
            ":no_entry_sign: Skipped: no intro for you on {day}, only that round. Changed your "
            "mind? *I'm in* on your Home tab, until the round is made.",
            day=day,
        )
    return _(":white_check_mark: You're in: allybot pairs you on {day}.", day=day)


def heads_up_text(round_day: date) -> str:
    return _("Intros round on {day}: skip it, or you're in.", day=long_day(round_day))


def _buttons(round_day: date, block_id: str) -> ActionsBlock:
    value = round_day.isoformat()
    return ActionsBlock(
        block_id=block_id,
        elements=[
            ButtonElement(
                # Translators: a button; other messages quote it as *I'm in*.
                text=_("I'm in"),
                action_id=Action.INTRO_ROUND_IN,
                value=value,
                style="primary",
            ),
            ButtonElement(
                text=_("Skip this round"), action_id=Action.INTRO_ROUND_SKIP, value=value
            ),
        ],
    )


def build_heads_up_blocks(*, round_day: date, channel_id: str, choice: str | None) -> list[Block]:
    """The working day before a round: who it is for, what they chose already (on Home),
    and the two buttons, tied to that day."""
    text = _(
        ":calendar: *Next intros round: {day}.* allybot will put you with people from "
        "<#{channel}> that day. Busy that week? Skip this round: you're left out of that one "
        "only.",
        day=long_day(round_day),
        channel=channel_id,
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
                text=_(
                    "*Next intros round:* {choice}",
                    choice=choice_line(upcoming.round_day, upcoming.choice),
                )
            )
        ),
        _buttons(upcoming.round_day, HOME_BLOCK),
    ]
