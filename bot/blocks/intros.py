"""Intros messages: the group DM introduction, "Did you meet?", the notice to people left
out of a round, and the intros part of Home."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    SectionBlock,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import long_day, mention_list, slack_moment
from bot.blocks.intro_meeting import meeting_text
from bot.i18n import _, ngettext
from bot.ids import Action, Callback
from bot.pairing import ALONE, NO_MATCH, NO_OVERLAP
from bot.services.intros.members import IntroStatus
from bot.services.intros.rules import INACTIVE, MAX_NEVER, NOT_IN_CHANNEL
from bot.text import escape


def intro_text(user_ids: Sequence[str]) -> str:
    return _("Meet each other: {people}", people=mention_list(user_ids))


def slot_line(moment: datetime, local_times: Sequence[tuple[str, str]]) -> str:
    """One proposed slot: Slack shows each reader the time in their own zone (the fallback
    is UTC), then each member's local time spelled out."""
    each = " · ".join(f"<@{user_id}> {label}" for user_id, label in local_times)
    return f"• {slack_moment(moment)} ({each})"


def slots_text(lines: Sequence[str]) -> str:
    if not lines:
        return _(
            "Your working hours don't overlap in the week ahead, so find a time that suits "
            "you all, or swap a few messages here instead."
        )
    return "\n".join([_("*Times you all work, in the week ahead:*"), *lines])


def build_intro_blocks(
    *,
    user_ids: Sequence[str],
    channel_id: str,
    starter: str,
    time_lines: Sequence[str],
    slot_lines: Sequence[str] | None = None,
    place: str | None = None,
) -> list[Block]:
    """The introduction: who, why, a starter, slots inside the hours they all work (each in
    every member's local time), and each person's own time right now."""
    slots: list[Block] = (
        [SectionBlock(text=MarkdownTextObject(text=slots_text(slot_lines)))]
        if slot_lines is not None
        else []
    )
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=_(
                    ":wave: *Meet each other: {people}.* You're this round's intro from "
                    "<#{channel}>: people who haven't had much chance to work together yet.",
                    people=mention_list(user_ids),
                    channel=channel_id,
                )
            )
        ),
        SectionBlock(
            text=MarkdownTextObject(
                text=_(
                    "You all meet in person at *{place}*: find 20 minutes in the next week "
                    "for a coffee or a walk. *To get going:* {starter}",
                    place=escape(place),
                    starter=starter,
                )
                if place
                else _(
                    "Find 20 minutes in the next week for a call, a coffee or a walk. "
                    "*To get going:* {starter}",
                    starter=starter,
                )
            )
        ),
        *slots,
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_("Your local times now: {times}", times=" · ".join(time_lines))
                ),
                MarkdownTextObject(text=_("In a week I'll ask here whether you met.")),
            ]
        ),
    ]


def follow_up_text() -> str:
    return _("Did you meet? One answer from any of you is enough.")


def build_follow_up_blocks(match_id: int) -> list[Block]:
    """ "Did you meet?" to the group, the buttons tied to this match."""
    value = str(match_id)
    return [
        SectionBlock(text=MarkdownTextObject(text=f":coffee: *{follow_up_text()}*")),
        ActionsBlock(
            block_id=f"intro_met:{match_id}",
            elements=[
                ButtonElement(
                    # Translators: a button answering "Did you meet?".
                    text=_("Yes"),
                    action_id=Action.INTRO_MET_YES,
                    value=value,
                    style="primary",
                ),
                # Translators: a button answering "Did you meet?".
                ButtonElement(text=_("Not yet"), action_id=Action.INTRO_MET_NOT_YET, value=value),
                # Translators: a button answering "Did you meet?": no answer this time.
                ButtonElement(text=_("Skip"), action_id=Action.INTRO_MET_SKIP, value=value),
            ],
        ),
    ]


def met_note(user_id: str) -> str:
    return _(
        ":white_check_mark: <@{person}> says you met. Noted, and it counts as contact for you all.",
        person=user_id,
    )


def left_out_text(reason: str, channel_id: str | None) -> str:
    """Why someone in the pool was not paired this round, and what changes it."""
    channel = f"<#{channel_id}>" if channel_id else _("the intros channel")
    if reason == ALONE:
        return _(
            "No intro for you this round: you were the only person in {channel}'s pool. "
            "Invite a colleague to join with `/ally intros join`.",
            channel=channel,
        )
    if reason == NO_MATCH:
        return _(
            "No intro for you this round: nobody left in the pool could be paired with you. "
            "You're in the next round as usual."
        )
    if reason == NO_OVERLAP:
        return _(
            "No intro for you this round: nobody else in the pool works hours that overlap "
            "yours (your delivery window, in your time zone). A wider window in "
            "`/ally settings` lets allybot find someone next round."
        )
    if reason == NOT_IN_CHANNEL:
        return _(
            "No intro for you this round: intros pair people in {channel}, and you're not in "
            "it any more. Rejoin the channel to be paired, or `/ally intros leave` to stop.",
            channel=channel,
        )
    if reason == INACTIVE:
        return _(
            "No intro for you this round: allybot hasn't seen you use it for 30 days, so it "
            "skipped you rather than pair you with someone who might wait in vain. "
            "`/ally intros join` puts you back in from the next round."
        )
    return _("No intro for you this round.")


def build_left_out_blocks(reason: str, channel_id: str | None) -> list[Block]:
    return [
        SectionBlock(text=MarkdownTextObject(text=":coffee: " + left_out_text(reason, channel_id)))
    ]


def status_text(status: IntroStatus, tz: str) -> str:
    """One line on where a person stands in intros."""
    if status.channel_id is None:
        return _("Intros aren't set up in this workspace yet.")
    channel = status.channel_id
    if status.paused_until is not None:
        until = long_day(status.paused_until.astimezone(ZoneInfo(tz)).date())
        lines = [
            _("*Intros* in <#{channel}>: you're paused until {day}.", channel=channel, day=until)
        ]
    elif status.in_pool:
        lines = [_("*Intros* in <#{channel}>: you're in.", channel=channel)]
    else:
        lines = [_("*Intros* in <#{channel}>: you're not in.", channel=channel)]
    if status.next_round and status.in_pool and status.paused_until is None:
        lines.append(_("Next round: {day}.", day=long_day(status.next_round)))
    if status.never_count:
        lines.append(
            ngettext(
                "Never paired with: {n} person (private).",
                "Never paired with: {n} people (private).",
                status.never_count,
            )
        )
    if status.welcomer:
        lines.append(_("You welcome newcomers."))
    lines.append(meeting_text(status.meets))
    return " ".join(lines)


def build_home_intros_blocks(status: IntroStatus, tz: str) -> list[Block]:
    """The intros line and its buttons, for Home."""
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=status_text(status, tz)))]
    if status.channel_id is None:
        return blocks
    buttons: list[ButtonElement] = []
    if status.in_pool:
        if status.paused_until is not None:
            buttons.append(
                ButtonElement(
                    text=_("Resume intros"), action_id=Action.INTRO_HOME_RESUME, value="resume"
                )
            )
        else:
            buttons.append(
                ButtonElement(
                    text=_("Pause 4 weeks"), action_id=Action.INTRO_HOME_PAUSE, value="28"
                )
            )
        buttons.append(
            ButtonElement(text=_("Leave intros"), action_id=Action.INTRO_HOME_LEAVE, value="leave")
        )
    else:
        buttons.append(
            ButtonElement(
                text=_("Join intros"),
                action_id=Action.INTRO_HOME_JOIN,
                value="join",
                style="primary",
            )
        )
    buttons.append(
        ButtonElement(
            text=_("Never pair me with…"), action_id=Action.INTRO_HOME_NEVER, value="edit"
        )
    )
    buttons.append(
        ButtonElement(text=_("How I meet…"), action_id=Action.INTRO_HOME_MEET, value="edit")
    )
    buttons.append(
        ButtonElement(
            text=_("Stop welcoming newcomers"), action_id=Action.INTRO_HOME_WELCOME, value="off"
        )
        if status.welcomer
        else ButtonElement(
            text=_("Welcome newcomers"), action_id=Action.INTRO_HOME_WELCOME, value="on"
        )
    )
    blocks.append(ActionsBlock(block_id="home_intros", elements=buttons))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_(
                        "`/ally intros never @name` keeps someone out of your intros; "
                        "nobody is told."
                    )
                )
            ]
        )
    )
    return blocks


def build_never_modal(current: Sequence[str]) -> View:
    """The never list, edited as a whole; private like the command."""
    picker = UserMultiSelectElement(
        # Translators: a people picker's placeholder.
        action_id="never",
        placeholder=_("People"),
        max_selected_items=MAX_NEVER,
    )
    if current:
        picker.initial_users = list(current)
    return View(
        type="modal",
        callback_id=Callback.INTRO_NEVER_MODAL,
        # Translators: a dialog's title, at most 24 characters.
        title=_("Never pair me"),
        submit=_("Save"),
        close=_("Cancel"),
        blocks=[
            InputBlock(
                block_id="never",
                label=_("Never pair me with"),
                optional=True,
                element=picker,
            ),
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=_("Private: nobody is told, nobody else sees it. It works both ways.")
                    )
                ]
            ),
        ],
    )
