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

from bot.blocks import listing, words
from bot.i18n import _, ngettext
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


def _named(d: DueAlly) -> str:
    """An ally in a list of those due, with how long it has been."""
    if d.days == 0:
        return _("<@{ally}> (today)", ally=d.ally_id)
    return ngettext("<@{ally}> ({n} day)", "<@{ally}> ({n} days)", d.days, ally=d.ally_id)


def build_checkin_blocks(team_id: str, due: Sequence[DueAlly]) -> list[Block]:
    """Allies due for a check-in, most overdue first; at most three named."""
    named, rest = list(due[:MAX_NAMED]), len(due) - MAX_NAMED
    lines: list[str] = []
    if len(named) == 1 and named[0].days == 0:
        lines.append(_(":handshake: Time to reconnect with <@{ally}>.", ally=named[0].ally_id))
    elif len(named) == 1:
        lines.append(
            ngettext(
                ":handshake: It's been {n} day since you and <@{ally}> connected.",
                ":handshake: It's been {n} days since you and <@{ally}> connected.",
                named[0].days,
                ally=named[0].ally_id,
            )
        )
    else:
        people = listing([_named(d) for d in named])
        lines.append(_(":handshake: Time to reconnect with {people}.", people=people))
    if rest > 0:
        lines.append(
            ngettext("And {n} more in `/ally list`.", "And {n} more in `/ally list`.", rest)
        )
    head = " ".join(lines)
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text="\n".join([head, _("A short message or a coffee keeps an alliance alive.")])
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
                        text=_("We talked"), action_id=Action.CHECKIN_TALKED, value=str(d.row_id)
                    ),
                    ButtonElement(
                        text=_("Snooze 1 week"),
                        action_id=Action.CHECKIN_SNOOZE,
                        value=str(d.row_id),
                    ),
                    ButtonElement(
                        text=_("Open a DM"),
                        action_id=Action.CHECKIN_OPEN_DM,
                        url=dm_link(team_id, d.ally_id),
                        value=str(d.row_id),
                    ),
                    StaticSelectElement(
                        action_id=Action.CHECKIN_CADENCE,
                        # Translators: a menu's placeholder, at most 150 characters.
                        placeholder=_("Change how often"),
                        options=options,
                        initial_option=current,
                    ),
                ],
            )
        )
    return blocks


def resolve_guide(other_id: str, topic: str) -> str:
    """How to talk to someone directly about a difficulty, kindly and early."""
    return guide.direct_conversation(f"<@{other_id}>", words(topic))


def build_resolve_follow_up_blocks(resolve_id: int, other_id: str, topic: str) -> list[Block]:
    value = str(resolve_id)
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=_(
                    ":speech_balloon: Did you get to talk with <@{other}> about {topic}?",
                    other=other_id,
                    # Their words, cut for what they show: each name in them may take 81
                    # characters once shown (bot/named.py), past a section's limit.
                    topic=words(topic),
                )
            )
        ),
        ActionsBlock(
            block_id=f"resolve:{resolve_id}",
            elements=[
                # Translators: a button answering "Did you get to talk…?".
                ButtonElement(text=_("Resolved"), action_id=Action.RESOLVE_DONE, value=value),
                ButtonElement(text=_("Not yet"), action_id=Action.RESOLVE_NOT_YET, value=value),
                ButtonElement(text=_("Need help"), action_id=Action.RESOLVE_HELP, value=value),
            ],
        ),
    ]


def third_party_help() -> str:
    return guide.when_hard()


def build_give_back_blocks(team_id: str, giver_id: str, times: int) -> list[Block]:
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=ngettext(
                    ":leftwards_arrow_with_hook: <@{giver}> has recognised you {n} time this "
                    "month. Is there something they did well that you could recognise in return, "
                    "or simply thank them for?",
                    ":leftwards_arrow_with_hook: <@{giver}> has recognised you {n} times this "
                    "month. Is there something they did well that you could recognise in return, "
                    "or simply thank them for?",
                    times,
                    giver=giver_id,
                )
            )
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"`/kudos <@{giver_id}> …` · "
                    + _("<{link}|Open a DM>", link=dm_link(team_id, giver_id))
                )
            ]
        ),
    ]


def build_breadth_blocks(count: int, people: int) -> list[Block]:
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=ngettext(
                    ":seedling: Your last {count} kudos went to {n} person. Who else made your "
                    "work easier lately? Recognising someone outside your usual circle widens it.",
                    ":seedling: Your last {count} kudos went to {n} people. Who else made your "
                    "work easier lately? Recognising someone outside your usual circle widens it.",
                    people,
                    count=count,
                )
            )
        )
    ]
