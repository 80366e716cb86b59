"""Allies: the check-in nudge, the list, the direct-conversation guide and its follow-up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.ids import Action
from bot.services import guide
from bot.services.allies import cadence_text

CADENCE_CHOICES = (7, 14, 30, 60)
MAX_NAMED = 3


@dataclass(frozen=True)
class DueAlly:
    row_id: int
    ally_id: str
    days: int
    cadence_days: int


def dm_link(team_id: str, user_id: str) -> str:
    """A Slack deep link that opens a DM with someone."""
    return f"slack://user?team={team_id}&id={user_id}"


def _days(n: int) -> str:
    return "today" if n == 0 else "1 day" if n == 1 else f"{n} days"


def build_checkin_blocks(team_id: str, due: Sequence[DueAlly]) -> list[Block]:
    """Allies due for a check-in, most overdue first; at most three named."""
    named, rest = list(due[:MAX_NAMED]), len(due) - MAX_NAMED
    if len(named) == 1:
        first = named[0]
        head = (
            f":handshake: It's been {_days(first.days)} since you and <@{first.ally_id}> connected."
        )
    else:
        people = ", ".join(f"<@{d.ally_id}> ({_days(d.days)})" for d in named)
        head = f":handshake: Time to reconnect with {people}."
    if rest > 0:
        head += f" And {rest} more in `/ally list`."
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=head + "\nA short message or a coffee keeps an alliance alive."
            )
        )
    ]
    for d in named:
        current = Option(value=str(d.cadence_days), label=cadence_text(d.cadence_days))
        options = [Option(value=str(n), label=cadence_text(n)) for n in CADENCE_CHOICES]
        if d.cadence_days not in CADENCE_CHOICES:
            options.append(current)
        blocks.append(
            ActionsBlock(
                block_id=f"checkin:{d.row_id}",
                elements=[
                    ButtonElement(
                        text="We talked", action_id=Action.CHECKIN_TALKED, value=str(d.row_id)
                    ),
                    ButtonElement(
                        text="Snooze 1 week", action_id=Action.CHECKIN_SNOOZE, value=str(d.row_id)
                    ),
                    ButtonElement(
                        text="Open a DM",
                        action_id=Action.CHECKIN_OPEN_DM,
                        url=dm_link(team_id, d.ally_id),
                        value=str(d.row_id),
                    ),
                    StaticSelectElement(
                        action_id=Action.CHECKIN_CADENCE,
                        placeholder="Change how often",
                        options=options,
                        initial_option=current,
                    ),
                ],
            )
        )
    return blocks


def resolve_guide(other_id: str, topic: str) -> str:
    """How to talk to someone directly about a difficulty, kindly and early."""
    return guide.direct_conversation(f"<@{other_id}>", topic)


def build_resolve_follow_up_blocks(resolve_id: int, other_id: str, topic: str) -> list[Block]:
    value = str(resolve_id)
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":speech_balloon: Did you get to talk with <@{other_id}> about {topic}?"
            )
        ),
        ActionsBlock(
            block_id=f"resolve:{resolve_id}",
            elements=[
                ButtonElement(text="Resolved", action_id=Action.RESOLVE_DONE, value=value),
                ButtonElement(text="Not yet", action_id=Action.RESOLVE_NOT_YET, value=value),
                ButtonElement(text="Need help", action_id=Action.RESOLVE_HELP, value=value),
            ],
        ),
    ]


def third_party_help() -> str:
    return guide.when_hard()


def build_give_back_blocks(team_id: str, giver_id: str, times: int) -> list[Block]:
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":leftwards_arrow_with_hook: <@{giver_id}> has recognised you {times} "
                "times this month. Is there something they did well that you could recognise "
                "in return, or simply thank them for?"
            )
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"`/kudos <@{giver_id}> …` · <{dm_link(team_id, giver_id)}|Open a DM>"
                )
            ]
        ),
    ]


def build_breadth_blocks(count: int, people: int) -> list[Block]:
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":seedling: Your last {count} kudos went to {people} "
                f"{'person' if people == 1 else 'people'}. Who else made your work easier "
                "lately? Recognising someone outside your usual circle widens it."
            )
        )
    ]
