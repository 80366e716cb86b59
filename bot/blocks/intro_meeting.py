"""How a member meets in intros: the line on Home and the modal that changes it."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
)
from slack_sdk.models.views import View

from bot.i18n import _
from bot.ids import Callback
from bot.services.intros.meeting import IN_PERSON, MAX_PLACE, REMOTE, Meeting
from bot.text import escape


def meeting_text(meets: Meeting) -> str:
    """ "You meet remotely." or where they meet in person, for Home and the command."""
    if meets.mode != IN_PERSON:
        return _("You meet remotely.")
    if meets.where:
        return _("You meet in person at {place}.", place=escape(meets.where))
    return _(
        "You meet in person, but no place is known: name yours (`/ally intros in-person <place>`)."
    )


def build_meeting_modal(meets: Meeting) -> View:
    """Remote or in person, and the place; empty uses the place on the Slack profile."""
    options = [
        Option(value=REMOTE, label=_("Remote: a call")),
        Option(value=IN_PERSON, label=_("In person, at my place of work")),
    ]
    hint = (
        _("Empty: {place}, from your Slack profile.", place=meets.profile_place)
        if meets.profile_place
        else _("Such as London office. In-person intros are only among people at the same place.")
    )
    return View(
        type="modal",
        callback_id=Callback.INTRO_MEET_MODAL,
        # Translators: a dialog's title, at most 24 characters.
        title=_("How you meet"),
        submit=_("Save"),
        close=_("Cancel"),
        private_metadata="profile" if meets.profile_place else "",
        blocks=[
            InputBlock(
                block_id="mode",
                label=_("Meet"),
                element=RadioButtonsElement(
                    action_id="mode",
                    options=options,
                    initial_option=next(o for o in options if o.value == meets.mode),
                ),
            ),
            InputBlock(
                block_id="place",
                label=_("Your place (for in person)"),
                optional=True,
                hint=hint[:2000],
                element=PlainTextInputElement(
                    action_id="place", initial_value=meets.place or None, max_length=MAX_PLACE
                ),
            ),
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=_(
                            "Remote people are grouped by the working hours they share; "
                            "in-person groups are made only of people at the same place."
                        )
                    )
                ]
            ),
        ],
    )
