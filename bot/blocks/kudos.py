"""The kudos post in the channel and the receiver's DM."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticMultiSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot import i18n
from bot import text as texts
from bot.blocks import listing, mention, mention_list, section
from bot.i18n import _, ngettext
from bot.ids import Action, Callback
from bot.models import Kudos
from bot.services.digest import WeekInKudos

FALLBACK_LIMIT = 1500  # a notification's text: the reason on one line, cut to this
MAX_NOTICE_SECTIONS = 10  # a private reply's sections, far below a message's 50 blocks


def _with_quote(head: str, reason: str) -> str:
    """A header line and the reason quoted below it, within a section's limit."""
    if not reason.strip():  # the giver erased their data: their words went with it
        return head
    return head + "\n" + texts.quote(reason, texts.SECTION_LIMIT - len(head) - 1)


def _with_line(head: str, reason: str) -> str:
    """A notification's text: the header and the reason on one line, when there is one."""
    line = texts.one_line(reason, FALLBACK_LIMIT)
    # Translators: a notification: what happened, then the giver's words on one line.
    return _("{head}: {reason}", head=head, reason=line) if line else head


def _tags(tags: Sequence[str]) -> str:
    return "  ".join(f"`#{t}`" for t in tags)


def kudos_post_text(*, giver_id: str, receiver_ids: Sequence[str], reason: str) -> str:
    """The notification fallback for the public post."""
    head = _(
        "Kudos from {giver} to {receivers}",
        giver=mention(giver_id),
        receivers=mention_list(receiver_ids),
    )
    return _with_line(head, reason)


def joined_line(joined: int, emoji: str) -> str:
    """How many added their voice with the kudos emoji (never who: the reactions show it)."""
    return ngettext(
        ":{emoji}: {n} person joined in. React with :{emoji}: to add yours.",
        ":{emoji}: {n} people joined in. React with :{emoji}: to add yours.",
        joined,
        emoji=emoji,
    )


def build_kudos_post_blocks(
    *,
    giver_id: str,
    receiver_ids: Sequence[str],
    reason: str,
    tags: Sequence[str],
    emoji: str,
    joined: int = 0,
) -> list[Block]:
    """The public recognition: who, to whom, why, the habits it shows, how many joined in."""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=_with_quote(
                    _(
                        ":{emoji}: *Kudos to {receivers}* from {giver}",
                        emoji=emoji,
                        receivers=mention_list(receiver_ids),
                        giver=mention(giver_id),
                    ),
                    reason,
                )
            )
        )
    ]
    if tags:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_tags(tags))]))
    if joined:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=joined_line(joined, emoji))]))
    return blocks


def _gave(giver_id: str, channel_id: str | None, private_by: str | None) -> str:
    """Who gave the receiver kudos, and where: a private kudos was given to them only."""
    giver = mention(giver_id)
    if private_by == "giver":
        return _("{giver} gave you kudos, just for you", giver=giver)
    if channel_id and channel_id.startswith(("C", "G")):
        return _("{giver} gave you kudos in <#{channel}>", giver=giver, channel=channel_id)
    return _("{giver} gave you kudos", giver=giver)


def kudos_dm_text(
    *, giver_id: str, channel_id: str | None, reason: str, private_by: str | None = None
) -> str:
    return _with_line(_gave(giver_id, channel_id, private_by), reason)


def private_confirmation(
    rows: Sequence[Kudos], *, first_quiet: Collection[str], quiet: bool = True
) -> str:
    """What the giver of a private kudos is told: delivered, and, the first time a receiver's
    own preference kept it private, why. Empty when there is nothing they need to hear."""
    chosen = [r.receiver_id for r in rows if r.private_by == "giver"]
    by_pref = [r.receiver_id for r in rows if r.private_by == "receiver"]
    lines: list[str] = []
    if chosen:
        lines.append(
            _(
                "Delivered privately to {receivers}: nothing was posted in the channel.",
                receivers=mention_list(chosen),
            )
        )
    first = [u for u in by_pref if u in first_quiet]
    later = [u for u in by_pref if u not in first_quiet]
    if first:
        lines.append(
            _(
                "Thank you for recognising {receivers}. They prefer to receive kudos privately, "
                "so I sent yours straight to them by DM and didn't post it.",
                receivers=mention_list(first),
            )
        )
    if later and quiet:
        lines.append(
            _(
                "Delivered privately to {receivers}, as they prefer.",
                receivers=mention_list(later),
            )
        )
    return "\n".join(lines)


def build_kudos_dm_blocks(
    *,
    team_id: str,
    giver_id: str,
    channel_id: str | None,
    reason: str,
    tags: Sequence[str],
    emoji: str,
    private_by: str | None = None,
) -> list[Block]:
    """The receiver's DM, with a one-click way to say thanks in person."""
    head = f":{emoji}: {_gave(giver_id, channel_id, private_by)}"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=_with_quote(head, reason)))]
    if tags:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_tags(tags))]))
    if private_by == "receiver":
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=_(
                            "Not posted anywhere, as you prefer. "
                            "`/ally kudos public` lets kudos you receive be posted again."
                        )
                    )
                ]
            )
        )
    blocks.append(
        ActionsBlock(
            elements=[
                ButtonElement(
                    # Translators: a button opening a DM with the giver.
                    text=_("Say thanks"),
                    action_id=Action.SAY_THANKS,
                    url=f"slack://user?team={team_id}&id={giver_id}",
                    value=giver_id,
                )
            ]
        )
    )
    return blocks


def build_notice_blocks(text: str) -> list[Block]:
    """A private reply: one section of mrkdwn, or, for a text longer than a section holds
    (the overview in a wordier language), one section per run of whole lines."""
    # Measured as shown: a name (`<~U…>`) in a person's words may take 81 characters then.
    if texts.shown_length(text) <= texts.SECTION_LIMIT:
        return [section(text)]
    chunks: list[str] = []
    for line in text.split("\n"):
        if chunks and texts.shown_length(chunks[-1] + "\n" + line) <= texts.SECTION_LIMIT:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    blocks: list[Block] = [section(chunk) for chunk in chunks if chunk.strip()]
    return blocks[:MAX_NOTICE_SECTIONS]


def build_give_kudos_modal(
    *, author_id: str | None, permalink: str | None, tags: Sequence[str], metadata: str
) -> View:
    """ "Give kudos for this" on a message: who, why, which habits."""
    # Translators: a people picker's placeholder.
    receiver = UserSelectElement(action_id="receiver", placeholder=_("Who"))
    if author_id:
        receiver.initial_user = author_id
    blocks: list[Block] = [
        InputBlock(block_id="receiver", label=_("Kudos to"), element=receiver),
        InputBlock(
            block_id="reason",
            label=_("What did they do well?"),
            element=PlainTextInputElement(action_id="reason", multiline=True, max_length=1000),
        ),
        InputBlock(
            block_id="tags",
            label=_("Habits it shows"),
            optional=True,
            element=StaticMultiSelectElement(
                action_id="tags",
                placeholder=_("Tags"),
                options=[Option(value=t, label=f"#{t}") for t in tags],
            ),
        ),
    ]
    blocks.append(
        InputBlock(
            block_id="private",
            label=_("Who sees it"),
            optional=True,
            element=CheckboxesElement(
                action_id="private",
                options=[
                    Option(
                        value="private",
                        label=_("Send privately"),
                        # Translators: under a checkbox, at most 75 characters.
                        description=_("Only they see it: nothing is posted in the channel."),
                    )
                ],
            ),
        )
    )
    if permalink:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        # Translators: keep <{permalink}|…>: the words after | are the link.
                        text=_("For <{permalink}|this message>.", permalink=permalink)
                    )
                ]
            )
        )
    return View(
        type="modal",
        callback_id=Callback.GIVE_KUDOS_FOR_MESSAGE,
        # Translators: a dialog's title, at most 24 characters.
        title=_("Give kudos"),
        # Translators: a dialog's button, at most 24 characters.
        submit=_("Give kudos"),
        close=_("Cancel"),
        private_metadata=metadata,
        blocks=blocks,
    )


def build_digest_blocks(week: WeekInKudos) -> list[Block]:
    """The week's recognition for the whole channel: counts and newcomers, no ranking."""
    lines = [
        ngettext(
            ":sparkles: *Kudos this week:* {kudos} from {n} person to {receivers}.",
            ":sparkles: *Kudos this week:* {kudos} from {n} people to {receivers}.",
            week.givers,
            kudos=i18n.format_number(week.kudos),
            receivers=i18n.format_number(week.receivers),
        )
    ]
    if week.first_timers:
        lines.append(
            _(
                "Recognised for the first time: {people}. Welcome to the club!",
                people=listing([f"<@{u}>" for u in week.first_timers]),
            )
        )
    if week.tags:
        lines.append(
            _(
                "Habits of the week: {tags}",
                tags="  ".join(f"`#{t}` {i18n.format_number(n)}" for t, n in week.tags),
            )
        )
    return [
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_("Who helped you this week? `/kudos @name what they did` says thanks.")
                )
            ]
        ),
    ]
