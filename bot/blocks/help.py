"""Usage text, shown for `/ally help`, unknown input and @-mentions."""

from __future__ import annotations


def ally_help_text() -> str:
    return (
        "*allybot* helps you turn colleagues into allies.\n"
        "• `/kudos @ann <why> [#tag]`: recognise what someone did, in the channel; "
        "they get a DM too.\n"
        "• `/ally help`: this overview.\n"
        "Everything allybot tells you about yourself stays private to you."
    )
