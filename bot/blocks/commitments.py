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

from bot.blocks import clock, day_and_time, mention_list, section, words
from bot.i18n import _, ngettext
from bot.ids import Action, Callback
from bot.models import Commitment


def when_text(due_at: datetime | None, tz: str) -> str:
    """A due time in a person's own zone: "Fri, Dec 4, 17:00"."""
    if due_at is None:
        # Translators: stands for a promise's missing due date.
        return _("no date")
    return day_and_time(due_at.astimezone(ZoneInfo(tz)))


def people(user_ids: Sequence[str]) -> str:
    """The people a promise was made to, listed as the reader's language lists them."""
    return mention_list(user_ids)


def summary(commitment: Commitment, parties: Sequence[str], tz: str) -> str:
    what = words(commitment.text)
    if commitment.due_at is None:
        if parties:
            return _("*{what}* to {people}, no date yet", what=what, people=people(parties))
        return _("*{what}*, no date yet", what=what)
    when = when_text(commitment.due_at, tz)
    if parties:
        return _("*{what}* to {people}, by {when}", what=what, people=people(parties), when=when)
    return _("*{what}*, by {when}", what=what, when=when)


def build_confirmation_blocks(
    commitment: Commitment, parties: Sequence[str], tz: str
) -> list[Block]:
    """What allybot understood, privately, with a way to fix it before anyone is told."""
    lines = [_("You committed to {summary} (your time).", summary=summary(commitment, parties, tz))]
    if parties:
        lines.append(
            _("{people} will be told when you press *Looks right*.", people=people(parties))
        )
    if commitment.due_at is None:
        lines.append(_("No date yet: add one with *Edit* so I can remind you."))
    value = str(commitment.id)
    return [
        section("\n".join(lines)),
        ActionsBlock(
            block_id=f"commit_confirm:{commitment.id}",
            elements=[
                ButtonElement(
                    # Translators: a button; the confirmation above quotes it as *Looks right*.
                    text=_("Looks right"),
                    action_id=Action.COMMIT_CONFIRM,
                    value=value,
                    style="primary",
                ),
                # Translators: a button; the confirmation above quotes it as *Edit*.
                ButtonElement(text=_("Edit"), action_id=Action.COMMIT_EDIT, value=value),
                ButtonElement(text=_("Cancel"), action_id=Action.COMMIT_CANCEL, value=value),
            ],
        ),
    ]


def build_reminder_blocks(
    commitment: Commitment, parties: Sequence[str], tz: str, *, overdue: bool
) -> list[Block]:
    """A due-today or overdue reminder with everything needed to act on it."""
    what = words(commitment.text)
    due = when_text(commitment.due_at, tz)
    lines: list[str] = []
    if overdue:
        if parties:
            lines.append(
                _(
                    ":hourglass: *Overdue* since {when}: {what} to {people}",
                    when=due,
                    what=what,
                    people=people(parties),
                )
            )
            lines.append(_("If the date no longer works, agreeing a new one early keeps trust."))
        else:
            lines.append(_(":hourglass: *Overdue* since {when}: {what}", when=due, what=what))
    else:
        at = clock(commitment.due_at.astimezone(ZoneInfo(tz))) if commitment.due_at else due
        if parties:
            lines.append(
                _(
                    ":alarm_clock: *Due today* at {time}: {what} to {people}",
                    time=at,
                    what=what,
                    people=people(parties),
                )
            )
        else:
            lines.append(_(":alarm_clock: *Due today* at {time}: {what}", time=at, what=what))
    value = str(commitment.id)
    return [
        section("\n".join(lines)),
        ActionsBlock(
            block_id=f"commitment:{commitment.id}",
            elements=[
                ButtonElement(
                    # Translators: a button marking a promise kept, at most 75 characters.
                    text=_("Done"),
                    action_id=Action.COMMIT_DONE,
                    value=value,
                    style="primary",
                ),
                ButtonElement(
                    text=_("Snooze 1 day"), action_id=Action.COMMIT_SNOOZE_DAY, value=value
                ),
                ButtonElement(
                    text=_("Snooze 1 week"), action_id=Action.COMMIT_SNOOZE_WEEK, value=value
                ),
                # Translators: a button; other messages quote it as *New date*.
                ButtonElement(text=_("New date"), action_id=Action.COMMIT_NEW_DATE, value=value),
                # Translators: a button giving up a promise.
                ButtonElement(text=_("Drop"), action_id=Action.COMMIT_DROP, value=value),
            ],
        ),
    ]


def build_party_blocks(commitment: Commitment, tz: str) -> list[Block]:
    """The DM to someone a promise was made to, in their own time zone."""
    value = str(commitment.id)
    return [
        section(
            _(
                "<@{owner}> committed to *{what}* for you, by {when} your time.",
                owner=commitment.owner_id,
                what=words(commitment.text),
                when=when_text(commitment.due_at, tz),
            )
        ),
        ActionsBlock(
            block_id=f"commit_party:{commitment.id}",
            elements=[
                ButtonElement(text=_("Got it"), action_id=Action.COMMIT_GOT_IT, value=value),
                ButtonElement(
                    text=_("That's not what we agreed"),
                    action_id=Action.COMMIT_DISPUTED,
                    value=value,
                ),
            ],
        ),
    ]


def build_delivered_blocks(commitment: Commitment) -> list[Block]:
    """Telling a party the promise was kept, with one click to recognise it."""
    return [
        section(
            _(
                ":white_check_mark: <@{owner}> delivered: *{what}*",
                owner=commitment.owner_id,
                what=words(commitment.text),
            )
        ),
        ActionsBlock(
            block_id=f"commit_delivered:{commitment.id}",
            elements=[
                ButtonElement(
                    text=_("Give kudos"),
                    action_id=Action.COMMIT_GIVE_KUDOS,
                    value=str(commitment.id),
                )
            ],
        ),
    ]


def build_dropped_blocks(commitment: Commitment) -> list[Block]:
    """Telling a party a promise to them no longer stands."""
    return [
        section(
            _(
                "<@{owner}> let you know they can't deliver *{what}* after all. A quick chat may "
                "help you both plan around it.",
                owner=commitment.owner_id,
                what=words(commitment.text),
            )
        )
    ]


def build_disputed_blocks(commitment: Commitment, *, party_id: str, tz: str) -> list[Block]:
    """Telling the owner that someone they promised says it's not what was agreed."""
    return [
        section(
            _(
                "<@{party}> says *{what}* by {when} isn't what you agreed. A quick word with "
                "them, then *Edit* to match.",
                party=party_id,
                what=words(commitment.text),
                when=when_text(commitment.due_at, tz),
            )
        )
    ]


def build_drop_question_blocks(commitment: Commitment, parties: Sequence[str]) -> list[Block]:
    """Dropping a promise made to someone: tell them, or not."""
    value = str(commitment.id)
    return [
        section(
            _(
                "Drop *{what}*? It was a promise to {people}; letting them know is the kind "
                "thing to do.",
                what=words(commitment.text),
                people=people(parties),
            )
        ),
        ActionsBlock(
            block_id=f"commit_drop:{commitment.id}",
            elements=[
                ButtonElement(
                    text=_("Drop and tell them"), action_id=Action.COMMIT_DROP_TELL, value=value
                ),
                ButtonElement(
                    text=_("Drop without telling"), action_id=Action.COMMIT_DROP_QUIET, value=value
                ),
                # Translators: a button keeping a promise that was about to be dropped.
                ButtonElement(text=_("Keep it"), action_id=Action.COMMIT_KEEP, value=value),
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
                    MarkdownTextObject(
                        text=ngettext(
                            "…and {n} more: your allybot Home lists it.",
                            "…and {n} more: your allybot Home lists them.",
                            more,
                        )
                    )
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
            label=_("What did you promise?"),
            element=PlainTextInputElement(
                action_id="what", initial_value=what or None, max_length=1000
            ),
        ),
        InputBlock(block_id="due", label=_("By when"), element=due),
        InputBlock(
            block_id="parties",
            label=_("To whom"),
            optional=True,
            element=UserMultiSelectElement(
                action_id="parties", initial_users=list(parties) or None, max_selected_items=10
            ),
        ),
    ]
    if offer_tell:
        tell = Option(value="tell", label=_("Tell them about the change"))
        blocks.append(
            InputBlock(
                block_id="tell",
                label=_("Keep them in the loop"),
                optional=True,
                element=CheckboxesElement(action_id="tell", options=[tell], initial_options=[tell]),
            )
        )
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text=_("Times are in your Slack time zone."))])
    )
    return View(
        type="modal",
        callback_id=Callback.COMMIT_MODAL,
        # Translators: a dialog's title, at most 24 characters.
        title=_("Commitment"),
        submit=_("Save"),
        close=_("Cancel"),
        private_metadata=json.dumps(metadata),
        blocks=blocks,
    )
