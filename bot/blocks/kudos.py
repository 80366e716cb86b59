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

from bot import text as texts
from bot.blocks import mention, mention_list, section
from bot.ids import Action, Callback
from bot.models import Kudos
from bot.services.digest import WeekInKudos

FALLBACK_LIMIT = 1500  # a notification's text: the reason on one line, cut to this


def _with_quote(head: str, reason: str) -> str:
    """A header line and the reason quoted below it, within a section's limit."""
    if not reason.strip():  # the giver erased their data: their words went with it
        return head
    return head + "\n" + texts.quote(reason, texts.SECTION_LIMIT - len(head) - 1)


def _with_line(head: str, reason: str) -> str:
    """A notification's text: the header and the reason on one line, when there is one."""
    line = texts.one_line(reason, FALLBACK_LIMIT)
    return f"{head}: {line}" if line else head


def _tags(tags: Sequence[str]) -> str:
    return "  ".join(f"`#{t}`" for t in tags)


def kudos_post_text(*, giver_id: str, receiver_ids: Sequence[str], reason: str) -> str:
    """The notification fallback for the public post."""
    head = f"Kudos from {mention(giver_id)} to {mention_list(receiver_ids)}"
    return _with_line(head, reason)


def joined_line(joined: int, emoji: str) -> str:
    """How many added their voice with the kudos emoji (never who: the reactions show it)."""
    people = "1 person" if joined == 1 else f"{joined} people"
    return f":{emoji}: {people} joined in. React with :{emoji}: to add yours."


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
                    f":{emoji}: *Kudos to {mention_list(receiver_ids)}* from {mention(giver_id)}",
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


def _where(channel_id: str | None, private_by: str | None) -> str:
    """Where the kudos was given, for the receiver; a private kudos was given to them only."""
    if private_by == "giver":
        return ", just for you"
    if channel_id and channel_id.startswith(("C", "G")):
        return f" in <#{channel_id}>"
    return ""


def kudos_dm_text(
    *, giver_id: str, channel_id: str | None, reason: str, private_by: str | None = None
) -> str:
    return _with_line(f"{mention(giver_id)} gave you kudos{_where(channel_id, private_by)}", reason)


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
            f"Delivered privately to {mention_list(chosen)}: nothing was posted in the channel."
        )
    first = [u for u in by_pref if u in first_quiet]
    later = [u for u in by_pref if u not in first_quiet]
    if first:
        lines.append(
            f"Thank you for recognising {mention_list(first)}. "
            "They prefer to receive kudos privately, "
            "so I sent yours straight to them by DM and didn't post it."
        )
    if later and quiet:
        lines.append(f"Delivered privately to {mention_list(later)}, as they prefer.")
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
    where = _where(channel_id, private_by)
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=_with_quote(f":{emoji}: {mention(giver_id)} gave you kudos{where}", reason)
            )
        )
    ]
    if tags:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_tags(tags))]))
    if private_by == "receiver":
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="Not posted anywhere, as you prefer. "
                        "`/ally kudos public` lets kudos you receive be posted again."
                    )
                ]
            )
        )
    blocks.append(
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Say thanks",
                    action_id=Action.SAY_THANKS,
                    url=f"slack://user?team={team_id}&id={giver_id}",
                    value=giver_id,
                )
            ]
        )
    )
    return blocks


def build_notice_blocks(text: str) -> list[Block]:
    """A private reply: one section of mrkdwn."""
    return [section(text)]


def build_give_kudos_modal(
    *, author_id: str | None, permalink: str | None, tags: Sequence[str], metadata: str
) -> View:
    """ "Give kudos for this" on a message: who, why, which habits."""
    receiver = UserSelectElement(action_id="receiver", placeholder="Who")
    if author_id:
        receiver.initial_user = author_id
    blocks: list[Block] = [
        InputBlock(block_id="receiver", label="Kudos to", element=receiver),
        InputBlock(
            block_id="reason",
            label="What did they do well?",
            element=PlainTextInputElement(action_id="reason", multiline=True, max_length=1000),
        ),
        InputBlock(
            block_id="tags",
            label="Habits it shows",
            optional=True,
            element=StaticMultiSelectElement(
                action_id="tags",
                placeholder="Tags",
                options=[Option(value=t, label=f"#{t}") for t in tags],
            ),
        ),
    ]
    blocks.append(
        InputBlock(
            block_id="private",
            label="Who sees it",
            optional=True,
            element=CheckboxesElement(
                action_id="private",
                options=[
                    Option(
                        value="private",
                        label="Send privately",
                        description="Only they see it: nothing is posted in the channel.",
                    )
                ],
            ),
        )
    )
    if permalink:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"For <{permalink}|this message>.")])
        )
    return View(
        type="modal",
        callback_id=Callback.GIVE_KUDOS_FOR_MESSAGE,
        title="Give kudos",
        submit="Give kudos",
        close="Cancel",
        private_metadata=metadata,
        blocks=blocks,
    )


def build_digest_blocks(week: WeekInKudos) -> list[Block]:
    """The week's recognition for the whole channel: counts and newcomers, no ranking."""
    lines = [
        f":sparkles: *Kudos this week:* {week.kudos} from {week.givers} "
        f"{'person' if week.givers == 1 else 'people'} to {week.receivers}."
    ]
    if week.first_timers:
        lines.append(
            "Recognised for the first time: "
            + ", ".join(f"<@{u}>" for u in week.first_timers)
            + ". Welcome to the club!"
        )
    if week.tags:
        lines.append("Habits of the week: " + "  ".join(f"`#{t}` {n}" for t, n in week.tags))
    return [
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Who helped you this week? `/kudos @name what they did` says thanks."
                )
            ]
        ),
    ]
