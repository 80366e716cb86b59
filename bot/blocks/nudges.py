"""The daily message: a greeting line, then one section per due item with its buttons."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot import text as texts
from bot.blocks import long_day
from bot.i18n import _
from bot.ids import Action


def build_tip_blocks(*, title: str, text: str, shown_id: int) -> list[Block]:
    """A conduct tip, with a way to say whether it helped."""
    return [
        SectionBlock(text=MarkdownTextObject(text=f":bulb: *{title}*\n{text}")),
        ActionsBlock(
            block_id=f"tip:{shown_id}",
            elements=[
                # Translators: a button rating a tip.
                ButtonElement(text=_("Helpful"), action_id=Action.TIP_HELPFUL, value=str(shown_id)),
                # Translators: a button rating a tip.
                ButtonElement(
                    text=_("Not for me"), action_id=Action.TIP_NOT_FOR_ME, value=str(shown_id)
                ),
            ],
        ),
    ]


def build_daily_message_blocks(*, day: date, items: Sequence[Sequence[Block]]) -> list[Block]:
    """Several due items as one message, so a person hears from allybot once a day."""
    blocks: list[Block] = [
        ContextBlock(elements=[MarkdownTextObject(text=f"*allybot* · {long_day(day)}")])
    ]
    for i, item in enumerate(items):
        if i:
            blocks.append(DividerBlock())
        blocks.extend(item)
    return blocks


def replace_block(
    blocks: Sequence[dict[str, Any]], block_id: str, note: str
) -> list[dict[str, Any]]:
    """The same message with one item's buttons swapped for a short note, for chat.update."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("block_id") == block_id:
            out.append(
                ContextBlock(
                    elements=[MarkdownTextObject(text=texts.excerpt(note, texts.CONTEXT_LIMIT))]
                ).to_dict()
            )
        else:
            out.append(block)
    return out
