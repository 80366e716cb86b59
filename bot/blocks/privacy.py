"""`/ally export` and `/ally forget-me`: the private replies and the erase confirmation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.ids import Action

# What each count in the forget-me question means, singular and plural.
HELD_LABELS: dict[str, tuple[str, str]] = {
    "kudos_given": ("kudos you gave", "kudos you gave"),
    "kudos_received": ("kudos you received", "kudos you received"),
    "commitments_owned": ("promise you made", "promises you made"),
    "commitments_to_you": ("promise made to you", "promises made to you"),
    "allies": ("ally on your list", "allies on your list"),
    "check_ins": ("logged check-in", "logged check-ins"),
    "resolves": ("direct conversation you planned", "direct conversations you planned"),
    "tips_shown": ("tip you were sent", "tips you were sent"),
    "nudges": ("nudge", "nudges"),
    "daily_messages": ("daily message", "daily messages"),
    "intros": ("intros membership", "intros memberships"),
    "intros_never": ("person on your intros never list", "people on your intros never list"),
    "intro_matches": ("intro you were matched in", "intros you were matched in"),
    "intro_answers": ('answer to "did you meet?"', 'answers to "did you meet?"'),
    "intro_skips": (
        "answer to an intros round's heads-up (skip or in)",
        "answers to intros rounds' heads-ups (skip or in)",
    ),
    "muted": ("person you muted", "people you muted"),
    "dms_caused": (
        "DM you made allybot send today or lately",
        "DMs you made allybot send today or lately",
    ),
}


def export_filename(team_id: str, user_id: str, day: date) -> str:
    return f"allybot-export-{team_id}-{user_id}-{day.isoformat()}.json"


def export_reply_text(*, empty: bool) -> str:
    """The private answer to `/ally export`, sent before the file."""
    if empty:
        return (
            "allybot holds nothing about you in this workspace: your export is empty. "
            "I'm sending the (empty) file to our DM so you have it in writing."
        )
    return (
        "Your data is on its way: a JSON file in our DM with everything allybot holds about "
        "you in this workspace. Only you can see it."
    )


def export_comment(*, empty: bool) -> str:
    """The line that comes with the file in the DM."""
    if empty:
        return "Your allybot export: allybot holds nothing about you in this workspace."
    return (
        "Your allybot export: your profile and preferences, kudos given and received, "
        "promises, allies, check-ins, intros, tips, nudges. `/ally forget-me` erases it."
    )


def held_summary(held: Mapping[str, int]) -> str:
    parts = [
        f"{held[key]} {one if held[key] == 1 else many}"
        for key, (one, many) in HELD_LABELS.items()
        if held.get(key)
    ]
    if held.get("person"):
        parts.append("your profile and preferences")
    if not parts:
        return "allybot holds nothing of yours in this workspace."
    return "allybot holds: " + ", ".join(parts) + "."


def forget_me_text(held: Mapping[str, int]) -> str:
    """Exactly what pressing *Erase my data* does, before anything is changed."""
    return (
        "*Erase what allybot holds about you in this workspace?*\n"
        f"{held_summary(held)}\n"
        "*Deleted:* the promises you made (the people you made them to no longer see them), "
        "your place on promises others made to you, your ally list and your place on other "
        "people's, check-ins and direct-conversation follow-ups that involve you, the tips "
        "you were sent and how you rated them, your nudges and daily messages, your mutes "
        "and anyone's mute of you, the count of DMs you sent through allybot, your "
        "preferences and your profile, and every record of Slack deliveries that names you.\n"
        "*Rewritten:* where someone else's kudos, promise or note mentions you, the mention "
        "becomes an anonymous one.\n"
        "*Kept, without your name:* kudos you gave and received still count, under an "
        "anonymous id that cannot be traced back to you; the words of the kudos you gave are "
        "erased, their tags stay.\n"
        "*Not touched:* messages already in Slack (kudos posts, DMs): delete those in Slack.\n"
        "This cannot be undone. `/ally export` first if you want a copy."
    )


def build_forget_me_blocks(*, user_id: str, nonce: str, held: Mapping[str, int]) -> list[Block]:
    """The question with its two answers; the buttons carry whose data it is."""
    value = f"{user_id}:{nonce}"
    return [
        SectionBlock(text=MarkdownTextObject(text=forget_me_text(held))),
        ActionsBlock(
            block_id=f"forget_me:{nonce}",
            elements=[
                ButtonElement(
                    text="Erase my data",
                    action_id=Action.PRIVACY_ERASE,
                    value=value,
                    style="danger",
                ),
                ButtonElement(text="Keep it", action_id=Action.PRIVACY_KEEP, value=value),
            ],
        ),
    ]


def erased_text(*, deleted: int, anonymised: int) -> str:
    kudos = f" {anonymised} kudos now count anonymously." if anonymised else ""
    return (
        f":wastebasket: Done: allybot erased what it held about you here ({deleted} "
        f"record{'s' if deleted != 1 else ''} deleted).{kudos} `/ally export` now comes back "
        "empty. Anything new (a command you run, a kudos someone gives you) starts afresh."
    )


def kept_text() -> str:
    return "Kept: nothing was erased. `/ally export` shows what allybot holds about you."


def not_yours_text() -> str:
    return (
        "That button belongs to someone else's request: only they can answer it. "
        "`/ally forget-me` concerns your own data."
    )


def build_outcome_blocks(text: str) -> list[Block]:
    """The question replaced by its outcome."""
    return [ContextBlock(elements=[MarkdownTextObject(text=text)])]


def build_erased_home_view() -> View:
    """The Home tab after an erase, so it no longer shows what was erased."""
    return View(
        type="home",
        blocks=[
            HeaderBlock(text="Your alliances"),
            SectionBlock(
                text=MarkdownTextObject(
                    text="allybot holds nothing about you here: your data was erased at your "
                    "request. `/ally help` shows how to start again."
                )
            ),
        ],
    )
