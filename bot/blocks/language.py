"""The language picker: in the settings modal and on Home, "Slack's language (…)" first, then
each language allybot speaks, named in itself."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot import i18n
from bot.i18n import _
from bot.ids import Action
from bot.models import Person
from bot.services.preferences import FOLLOW_SLACK

# The modal's block id, also the field its error is shown under.
BLOCK = "language"


def _named(code: str) -> str:
    """A language's own name; the pseudo language (tests only) reads as English."""
    return i18n.LANGUAGES.get(code, i18n.LANGUAGES[i18n.DEFAULT])


def language_options(slack_language: str) -> list[Option]:
    """ "Slack's language (Español)" (what following Slack gives now), then every language."""
    follow = Option(
        value=FOLLOW_SLACK,
        # Translators: a choice in a list; {language} is a language's own name, "Deutsch"
        label=_("Slack's language ({language})", language=_named(slack_language)),
    )
    return [follow, *(Option(value=code, label=name) for code, name in i18n.LANGUAGES.items())]


def _current(person: Person, options: list[Option]) -> Option:
    chosen = person.language if person.language in i18n.LANGUAGES else FOLLOW_SLACK
    return next(o for o in options if o.value == chosen)


def build_language_input(person: Person, slack_language: str) -> InputBlock:
    """The settings modal's language field."""
    options = language_options(slack_language)
    return InputBlock(
        block_id=BLOCK,
        # Translators: a form label
        label=_("Language"),
        hint=_("How allybot writes to you: in DMs, on Home and in its replies."),
        element=StaticSelectElement(
            action_id=BLOCK, options=options, initial_option=_current(person, options)
        ),
    )


def build_home_language_blocks(person: Person, slack_language: str) -> list[Block]:
    """Home's language line, changed in place (Home is republished in the new language)."""
    options = language_options(slack_language)
    return [
        SectionBlock(
            block_id="home_language",
            text=MarkdownTextObject(text=_("*Language:* how allybot writes to you.")),
            accessory=StaticSelectElement(
                action_id=Action.HOME_LANGUAGE,
                options=options,
                initial_option=_current(person, options),
            ),
        )
    ]
