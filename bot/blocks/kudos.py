"""The kudos post in the channel and the receiver's DM."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.ids import Action


def _mentions(user_ids: Sequence[str]) -> str:
    names = [f"<@{u}>" for u in user_ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in text.splitlines() or [""])


def _tags(tags: Sequence[str]) -> str:
    return "  ".join(f"`#{t}`" for t in tags)


def kudos_post_text(*, giver_id: str, receiver_ids: Sequence[str], reason: str) -> str:
    """The notification fallback for the public post."""
    return f"Kudos from <@{giver_id}> to {_mentions(receiver_ids)}: {reason}"


def build_kudos_post_blocks(
    *, giver_id: str, receiver_ids: Sequence[str], reason: str, tags: Sequence[str], emoji: str
) -> list[Block]:
    """The public recognition: who, to whom, why, and the habits it shows."""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":{emoji}: *Kudos to {_mentions(receiver_ids)}* from <@{giver_id}>\n"
                + _quote(reason)
            )
        )
    ]
    if tags:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_tags(tags))]))
    return blocks


def kudos_dm_text(*, giver_id: str, channel_id: str | None, reason: str) -> str:
    where = f" in <#{channel_id}>" if channel_id and channel_id.startswith(("C", "G")) else ""
    return f"<@{giver_id}> gave you kudos{where}: {reason}"


def build_kudos_dm_blocks(
    *,
    team_id: str,
    giver_id: str,
    channel_id: str | None,
    reason: str,
    tags: Sequence[str],
    emoji: str,
) -> list[Block]:
    """The receiver's DM, with a one-click way to say thanks in person."""
    where = f" in <#{channel_id}>" if channel_id and channel_id.startswith(("C", "G")) else ""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":{emoji}: <@{giver_id}> gave you kudos{where}\n" + _quote(reason)
            )
        )
    ]
    if tags:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_tags(tags))]))
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
    return [SectionBlock(text=MarkdownTextObject(text=text))]
