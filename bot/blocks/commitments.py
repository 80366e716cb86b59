"""Commitment surfaces: the private confirmation, reminders, the parties' DMs, the modal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DateTimePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import mention, section, words
from bot.ids import Action, Callback
from bot.models import Commitment


def when_text(due_at: datetime | None, tz: str) -> str:
    """A due time in a person's own zone: "Fri 4 Dec, 17:00"."""
    if due_at is None:
        return "no date"
    return f"{due_at.astimezone(ZoneInfo(tz)):%a %-d %b, %H:%M}"


def people(user_ids: Sequence[str]) -> str:
    names = [mention(u) for u in user_ids]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def summary(commitment: Commitment, parties: Sequence[str], tz: str) -> str:
    to = f" to {people(parties)}" if parties else ""
    return f"*{words(commitment.text)}*{to}, by {when_text(commitment.due_at, tz)}"


def build_confirmation_blocks(
    commitment: Commitment, parties: Sequence[str], tz: str
) -> list[Block]:
    """What allybot understood, privately, with a way to fix it before anyone is told."""
    told = f"\n{people(parties)} will be told when you press *Looks right*." if parties else ""
    no_date = (
        "\nNo date yet: add one with *Edit* so I can remind you."
        if commitment.due_at is None
        else ""
    )
    value = str(commitment.id)
    return [
        section(
            f"You committed to {summary(commitment, parties, tz)} (your time)." + told + no_date
        ),
        ActionsBlock(
            block_id=f"commit_confirm:{commitment.id}",
            elements=[
                ButtonElement(
                    text="Looks right",
                    action_id=Action.COMMIT_CONFIRM,
                    value=value,
                    style="primary",
                ),
                ButtonElement(text="Edit", action_id=Action.COMMIT_EDIT, value=value),
                ButtonElement(text="Cancel", action_id=Action.COMMIT_CANCEL, value=value),
            ],
        ),
    ]


def build_reminder_blocks(
    commitment: Commitment, parties: Sequence[str], tz: str, *, overdue: bool
) -> list[Block]:
    """A due-today or overdue reminder with everything needed to act on it."""
    to = f" to {people(parties)}" if parties else ""
    if overdue:
        head = f":hourglass: *Overdue* since {when_text(commitment.due_at, tz)}"
        hint = (
            "\nIf the date no longer works, agreeing a new one early keeps trust."
            if parties
            else ""
        )
    else:
        head = f":alarm_clock: *Due today* at {when_text(commitment.due_at, tz)[-5:]}"
        hint = ""
    value = str(commitment.id)
    return [
        section(f"{head}: {words(commitment.text)}{to}{hint}"),
        ActionsBlock(
            block_id=f"commitment:{commitment.id}",
            elements=[
                ButtonElement(
                    text="Done", action_id=Action.COMMIT_DONE, value=value, style="primary"
                ),
                ButtonElement(text="Snooze 1 day", action_id=Action.COMMIT_SNOOZE_DAY, value=value),
                ButtonElement(
                    text="Snooze 1 week", action_id=Action.COMMIT_SNOOZE_WEEK, value=value
                ),
                ButtonElement(text="New date", action_id=Action.COMMIT_NEW_DATE, value=value),
                ButtonElement(text="Drop", action_id=Action.COMMIT_DROP, value=value),
            ],
        ),
    ]


def build_party_blocks(commitment: Commitment, tz: str) -> list[Block]:
    """The DM to someone a promise was made to, in their own time zone."""
    value = str(commitment.id)
    return [
        section(
            f"<@{commitment.owner_id}> committed to *{words(commitment.text)}* for you, "
            f"by {when_text(commitment.due_at, tz)} your time."
        ),
        ActionsBlock(
            block_id=f"commit_party:{commitment.id}",
            elements=[
                ButtonElement(text="Got it", action_id=Action.COMMIT_GOT_IT, value=value),
                ButtonElement(
                    text="That's not what we agreed", action_id=Action.COMMIT_DISPUTED, value=value
                ),
            ],
        ),
    ]


def build_delivered_blocks(commitment: Commitment) -> list[Block]:
    """Telling a party the promise was kept, with one click to recognise it."""
    return [
        section(
            f":white_check_mark: <@{commitment.owner_id}> delivered: *{words(commitment.text)}*"
        ),
        ActionsBlock(
            block_id=f"commit_delivered:{commitment.id}",
            elements=[
                ButtonElement(
                    text="Give kudos", action_id=Action.COMMIT_GIVE_KUDOS, value=str(commitment.id)
                )
            ],
        ),
    ]


def build_dropped_blocks(commitment: Commitment) -> list[Block]:
    """Telling a party a promise to them no longer stands."""
    return [
        section(
            f"<@{commitment.owner_id}> let you know they can't deliver "
            f"*{words(commitment.text)}* after all. A quick chat may help you both plan around it."
        )
    ]


def build_disputed_blocks(commitment: Commitment, *, party_id: str, tz: str) -> list[Block]:
    """Telling the owner that someone they promised says it's not what was agreed."""
    return [
        section(
            f"<@{party_id}> says *{words(commitment.text)}* by "
            f"{when_text(commitment.due_at, tz)} isn't what you agreed. "
            "A quick word with them, then *Edit* to match."
        )
    ]


def build_drop_question_blocks(commitment: Commitment, parties: Sequence[str]) -> list[Block]:
    """Dropping a promise made to someone: tell them, or not."""
    value = str(commitment.id)
    return [
        section(
            f"Drop *{words(commitment.text)}*? It was a promise to {people(parties)}; "
            "letting them know is the kind thing to do."
        ),
        ActionsBlock(
            block_id=f"commit_drop:{commitment.id}",
            elements=[
                ButtonElement(
                    text="Drop and tell them", action_id=Action.COMMIT_DROP_TELL, value=value
                ),
                ButtonElement(
                    text="Drop without telling", action_id=Action.COMMIT_DROP_QUIET, value=value
                ),
                ButtonElement(text="Keep it", action_id=Action.COMMIT_KEEP, value=value),
            ],
        ),
    ]


LISTED = 20  # promises listed in full in `/commit list`; the rest are counted


def build_list_blocks(head: str, items: Sequence[str], tail: str) -> list[Block]:
    """`/commit list`: one section per promise, so a few long ones can't push the answer past
    Slack's limits; past LISTED, a count."""
    blocks: list[Block] = [section(head), *(section(item) for item in items[:LISTED])]
    if len(items) > LISTED:
        more = len(items) - LISTED
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=f"…and {more} more: your allybot Home lists them.")
                ]
            )
        )
    if tail:
        blocks.append(section(tail))
    return blocks


def build_commit_modal(
    *,
    what: str,
    due_at: datetime | None,
    parties: Sequence[str],
    metadata: dict[str, object],
    offer_tell: bool,
) -> View:
    """Create or edit a commitment: what, when (date and time picker), to whom."""
    due = DateTimePickerElement(action_id="due")
    if due_at is not None:
        due.initial_date_time = int(due_at.timestamp())
    blocks: list[Block] = [
        InputBlock(
            block_id="what",
            label="What did you promise?",
            element=PlainTextInputElement(
                action_id="what", initial_value=what or None, max_length=1000
            ),
        ),
        InputBlock(block_id="due", label="By when", element=due),
        InputBlock(
            block_id="parties",
            label="To whom",
            optional=True,
            element=UserMultiSelectElement(
                action_id="parties", initial_users=list(parties) or None, max_selected_items=10
            ),
        ),
    ]
    if offer_tell:
        tell = Option(value="tell", label="Tell them about the change")
        blocks.append(
            InputBlock(
                block_id="tell",
                label="Keep them in the loop",
                optional=True,
                element=CheckboxesElement(action_id="tell", options=[tell], initial_options=[tell]),
            )
        )
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text="Times are in your Slack time zone.")])
    )
    return View(
        type="modal",
        callback_id=Callback.COMMIT_MODAL,
        title="Commitment",
        submit="Save",
        close="Cancel",
        private_metadata=json.dumps(metadata),
        blocks=blocks,
    )
