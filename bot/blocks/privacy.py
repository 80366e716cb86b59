"""`/ally export` and `/ally forget-me`: the private replies and the erase confirmation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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

from bot.blocks import listing
from bot.i18n import _, ngettext
from bot.ids import Action

# What each count in the forget-me question means, for `n` of it.
HELD_LABELS: dict[str, Callable[[int], str]] = {
    "kudos_given": lambda n: ngettext("{n} kudos you gave", "{n} kudos you gave", n),
    "kudos_received": lambda n: ngettext("{n} kudos you received", "{n} kudos you received", n),
    "commitments_owned": lambda n: ngettext("{n} promise you made", "{n} promises you made", n),
    "commitments_to_you": lambda n: ngettext(
        "{n} promise made to you", "{n} promises made to you", n
    ),
    "allies": lambda n: ngettext("{n} ally on your list", "{n} allies on your list", n),
    "check_ins": lambda n: ngettext("{n} logged check-in", "{n} logged check-ins", n),
    "resolves": lambda n: ngettext(
        "{n} direct conversation you planned", "{n} direct conversations you planned", n
    ),
    "tips_shown": lambda n: ngettext("{n} tip you were sent", "{n} tips you were sent", n),
    "nudges": lambda n: ngettext("{n} nudge", "{n} nudges", n),
    "daily_messages": lambda n: ngettext("{n} daily message", "{n} daily messages", n),
    "intros": lambda n: ngettext("{n} intros membership", "{n} intros memberships", n),
    "intros_never": lambda n: ngettext(
        "{n} person on your intros never list", "{n} people on your intros never list", n
    ),
    "intro_matches": lambda n: ngettext(
        "{n} intro you were matched in", "{n} intros you were matched in", n
    ),
    "intro_answers": lambda n: ngettext(
        '{n} answer to "did you meet?"', '{n} answers to "did you meet?"', n
    ),
    "intro_profile": lambda n: ngettext(
        "{n} team and location your Slack profile gave intros",
        "{n} teams and locations your Slack profile gave intros",
        n,
    ),
    "intro_skips": lambda n: ngettext(
        "{n} answer to an intros round's heads-up (skip or in)",
        "{n} answers to intros rounds' heads-ups (skip or in)",
        n,
    ),
    "muted": lambda n: ngettext("{n} person you muted", "{n} people you muted", n),
    "dms_caused": lambda n: ngettext(
        "{n} DM you made allybot send today or lately",
        "{n} DMs you made allybot send today or lately",
        n,
    ),
}


def export_filename(team_id: str, user_id: str, day: date) -> str:
    return f"allybot-export-{team_id}-{user_id}-{day.isoformat()}.json"


def export_reply_text(*, empty: bool) -> str:
    """The private answer to `/ally export`, sent before the file."""
    if empty:
        return _(
            "allybot holds nothing about you in this workspace: your export is empty. "
            "I'm sending the (empty) file to our DM so you have it in writing."
        )
    return _(
        "Your data is on its way: a JSON file in our DM with everything allybot holds about "
        "you in this workspace. Only you can see it."
    )


def export_comment(*, empty: bool) -> str:
    """The line that comes with the file in the DM."""
    if empty:
        return _("Your allybot export: allybot holds nothing about you in this workspace.")
    return _(
        "Your allybot export: your profile and preferences, kudos given and received, "
        "promises, allies, check-ins, intros, tips, nudges. `/ally forget-me` erases it."
    )


def held_summary(held: Mapping[str, int]) -> str:
    parts = [label(held[key]) for key, label in HELD_LABELS.items() if held.get(key)]
    if held.get("person"):
        parts.append(_("your profile and preferences"))
    if not parts:
        return _("allybot holds nothing of yours in this workspace.")
    return _("allybot holds: {items}.", items=listing(parts))


def forget_me_text(held: Mapping[str, int]) -> str:
    """Exactly what pressing *Erase my data* does, before anything is changed."""
    return "\n".join(
        [
            _("*Erase what allybot holds about you in this workspace?*"),
            held_summary(held),
            _(
                "*Deleted:* the promises you made (the people you made them to no longer see "
                "them), your place on promises others made to you, your ally list and your place "
                "on other people's, check-ins and direct-conversation follow-ups that involve "
                "you, the tips you were sent and how you rated them, your nudges and daily "
                "messages, your mutes and anyone's mute of you, the count of DMs you sent "
                "through allybot, your preferences and your profile, and every record of Slack "
                "deliveries that names you."
            ),
            _(
                "*Rewritten:* where someone else's kudos, promise or note mentions you, the "
                "mention becomes an anonymous one."
            ),
            _(
                "*Kept, without your name:* kudos you gave and received still count, under an "
                "anonymous id that cannot be traced back to you; the words of the kudos you "
                "gave are erased, their tags stay."
            ),
            _(
                "*Not touched:* messages already in Slack (kudos posts, DMs): delete those in "
                "Slack."
            ),
            _("This cannot be undone. `/ally export` first if you want a copy."),
        ]
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
                    # Translators: a button; the question above quotes it as *Erase my data*.
                    text=_("Erase my data"),
                    action_id=Action.PRIVACY_ERASE,
                    value=value,
                    style="danger",
                ),
                # Translators: a button keeping one's data.
                ButtonElement(text=_("Keep it"), action_id=Action.PRIVACY_KEEP, value=value),
            ],
        ),
    ]


def erased_text(*, deleted: int, anonymised: int) -> str:
    lines = [
        ngettext(
            ":wastebasket: Done: allybot erased what it held about you here ({n} record deleted).",
            ":wastebasket: Done: allybot erased what it held about you here ({n} records deleted).",
            deleted,
        )
    ]
    if anonymised:
        lines.append(
            ngettext(
                "{n} kudos now counts anonymously.", "{n} kudos now count anonymously.", anonymised
            )
        )
    lines.append(
        _(
            "`/ally export` now comes back empty. Anything new (a command you run, a kudos "
            "someone gives you) starts afresh."
        )
    )
    return " ".join(lines)


def kept_text() -> str:
    return _("Kept: nothing was erased. `/ally export` shows what allybot holds about you.")


def not_yours_text() -> str:
    return _(
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
            HeaderBlock(text=_("Your alliances")),
            SectionBlock(
                text=MarkdownTextObject(
                    text=_(
                        "allybot holds nothing about you here: your data was erased at your "
                        "request. `/ally help` shows how to start again."
                    )
                )
            ),
        ],
    )
