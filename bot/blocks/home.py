"""The Home tab and the personal settings modal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    SectionBlock,
    StaticSelectElement,
    TimePickerElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot import i18n
from bot import text as texts
from bot.blocks import minutes_clock, short_day
from bot.blocks.allies import DueAlly
from bot.blocks.commitments import summary
from bot.blocks.insights import insight_lines
from bot.blocks.language import build_home_language_blocks, build_language_input
from bot.i18n import N_, _, ngettext
from bot.ids import Action, Callback
from bot.models import Commitment, Kudos, Person
from bot.services.dm_budget import MAX_MUTES
from bot.services.insights import Figures
from bot.services.preferences import clock, effective_window

MAX_LISTED = 5
# Translators: choices of how often tips come, in a menu (at most 75 characters).
TIP_OPTIONS = {"weekly": N_("Tips weekly"), "daily": N_("Tips daily"), "off": N_("Tips off")}
# The tips part of the preferences line on Home.
TIP_STATES = {"weekly": N_("tips weekly"), "daily": N_("tips daily"), "off": N_("tips off")}


def _tip_choices() -> list[Option]:
    return [Option(value=k, label=_(v)) for k, v in TIP_OPTIONS.items()]


def _quote(markup: str, limit: int = 200) -> str:
    return texts.one_line(markup, limit)


def figure_lines(figures: Figures) -> list[str]:
    """The four figures, each with its trend, what it means and a suggestion (or "not
    enough yet")."""
    return insight_lines(figures.person)


def preferences_line(person: Person, now: datetime, window: tuple[int, int] | None = None) -> str:
    """One line with the person's preferences in effect, in their time zone."""
    start, end = window or effective_window(person, None)
    own = person.window_start is not None
    cadence = TIP_STATES.get(person.tips_cadence)
    window_text = (
        _("window {start}–{end}", start=minutes_clock(start), end=minutes_clock(end))
        if own
        else _(
            "window {start}–{end} (workspace default)",
            start=minutes_clock(start),
            end=minutes_clock(end),
        )
    )
    parts = [_(cadence) if cadence else person.tips_cadence, window_text]
    if person.quiet_start is not None and person.quiet_end is not None:
        parts.append(
            _(
                "quiet {start}–{end}",
                start=minutes_clock(person.quiet_start),
                end=minutes_clock(person.quiet_end),
            )
        )
    if person.kudos_private:
        parts.append(_("kudos you receive are not posted"))
    if person.opted_out:
        parts.append(_("*all nudges off*"))
    elif person.paused_until and person.paused_until > now:
        until = person.paused_until.astimezone(ZoneInfo(person.tz))
        parts.append(_("*paused until {day}*", day=short_day(until.date())))
    return _("Your nudges: {settings} ({zone}).", settings=" · ".join(parts), zone=person.tz)


def build_mute_blocks(muted: Sequence[str]) -> list[Block]:
    """Whose promises and kudos DMs don't reach you: add or remove people in one picker."""
    return [
        SectionBlock(
            block_id="home_mutes",
            text=MarkdownTextObject(
                text=_(
                    "*Muted:* people whose promises and kudos don't reach you in a DM. "
                    "Private: they are not told."
                )
            ),
            accessory=UserMultiSelectElement(
                action_id=Action.HOME_MUTES,
                # Translators: a people picker's placeholder when nobody is chosen.
                placeholder=_("Nobody muted"),
                initial_users=list(muted)[:MAX_MUTES] or None,
                max_selected_items=MAX_MUTES,
            ),
        ),
        DividerBlock(),
    ]


def build_home_view(
    *,
    person: Person,
    due_allies: Sequence[DueAlly],
    commitments: Sequence[tuple[Commitment, Sequence[str]]],
    figures: Figures,
    received: Sequence[Kudos],
    now: datetime,
    window: tuple[int, int] | None = None,
    intros: Sequence[Block] = (),
    muted: Sequence[str] = (),
    slack_language: str | None = None,
) -> View:
    """Allies due, open promises, recent kudos, three figures, and preferences (`window`:
    the person's delivery window in effect, theirs or the workspace's default;
    `slack_language`: what following Slack's language gives them)."""
    blocks: list[Block] = [
        HeaderBlock(text=_("Your alliances")),
        ContextBlock(elements=[MarkdownTextObject(text=_("Private to you."))]),
        SectionBlock(text=MarkdownTextObject(text=_("*Check-ins due*"))),
    ]
    if due_allies:
        for d in due_allies[:MAX_LISTED]:
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=ngettext(
                            "<@{ally}> · {n} day since you connected",
                            "<@{ally}> · {n} days since you connected",
                            d.days,
                            ally=d.ally_id,
                        )
                    ),
                    accessory=ButtonElement(
                        # Translators: a button, at most 75 characters.
                        text=_("We talked"),
                        action_id=Action.CHECKIN_TALKED,
                        value=str(d.row_id),
                    ),
                )
            )
    else:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=_("None due. `/ally add @bob every 2 weeks` keeps someone close.")
                    )
                ]
            )
        )
    blocks.append(SectionBlock(text=MarkdownTextObject(text=_("*Open commitments*"))))
    if commitments:
        for commitment, parties in commitments[:MAX_LISTED]:
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=_quote(summary(commitment, parties, person.tz), 2900)
                    ),
                    accessory=ButtonElement(
                        # Translators: a button marking a promise kept, at most 75 characters.
                        text=_("Done"),
                        action_id=Action.COMMIT_DONE,
                        value=str(commitment.id),
                    ),
                )
            )
    else:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=_("None open. `/commit <what> to @bob by Friday`."))
                ]
            )
        )
    kudos_text = _(
        "*Kudos, last 30 days:* you gave {given}, you received {received}.",
        given=i18n.format_number(figures.given_30d),
        received=i18n.format_number(figures.received_30d),
    )
    for k in received[:3]:
        kudos_text += f"\n> <@{k.giver_id}>: {_quote(k.text)}"
    blocks += [
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=kudos_text)),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text="\n".join(figure_lines(figures)))),
        DividerBlock(),
        *intros,  # the intros line and buttons (bot/blocks/intros.py), when set up
        *build_mute_blocks(muted),
        *build_home_language_blocks(person, slack_language or i18n.choose(person.slack_locale)),
        ContextBlock(elements=[MarkdownTextObject(text=preferences_line(person, now, window))]),
    ]
    label = TIP_OPTIONS.get(person.tips_cadence)
    current = Option(value=person.tips_cadence, label=_(label) if label else person.tips_cadence)
    paused = bool(person.opted_out or (person.paused_until and person.paused_until > now))
    blocks.append(
        ActionsBlock(
            block_id="home_preferences",
            elements=[
                StaticSelectElement(
                    action_id=Action.HOME_TIPS,
                    options=_tip_choices(),
                    initial_option=current,
                ),
                ButtonElement(text=_("Resume nudges"), action_id=Action.HOME_RESUME, value="resume")
                if paused
                else ButtonElement(text=_("Pause 1 week"), action_id=Action.HOME_PAUSE, value="7"),
                ButtonElement(
                    text=_("Post kudos I receive"),
                    action_id=Action.HOME_KUDOS_PRIVACY,
                    value="public",
                )
                if person.kudos_private
                else ButtonElement(
                    text=_("Don't post kudos I receive"),
                    action_id=Action.HOME_KUDOS_PRIVACY,
                    value="private",
                ),
                ButtonElement(text=_("All settings"), action_id=Action.HOME_SETTINGS, value="open"),
            ],
        )
    )
    return View(type="home", blocks=blocks)


def _time_picker(action_id: str, minutes: int | None) -> TimePickerElement:
    picker = TimePickerElement(action_id=action_id)
    if minutes is not None:
        picker.initial_time = clock(minutes % (24 * 60))
    return picker


def _welcomer_input(welcomer: bool) -> InputBlock:
    welcome = Option(
        value="welcomer",
        label=_("Welcome newcomers"),
        # Translators: under a checkbox, at most 75 characters.
        description=_("Be in the first intro of people who join the workspace."),
    )
    return InputBlock(
        block_id="welcomer",
        label=_("Intros"),
        optional=True,
        element=CheckboxesElement(
            action_id="welcomer", options=[welcome], initial_options=[welcome] if welcomer else None
        ),
    )


def build_settings_modal(
    person: Person,
    window: tuple[int, int] | None = None,
    slack_language: str | None = None,
    welcomer: bool | None = None,
) -> View:
    """Every personal preference in one place (`window`: the delivery window in effect;
    `slack_language`: what following Slack's language gives the person; `welcomer`: whether
    they volunteer to welcome newcomers, None where intros are not set up)."""
    start, end = window or effective_window(person, None)
    tips = Option(value=person.tips_cadence, label=_(TIP_OPTIONS[person.tips_cadence]))
    opt_out = Option(value="opt_out", label=_("Send me no nudges at all"))
    quiet_kudos = Option(
        value="kudos_private",
        label=_("Don't post kudos I receive"),
        # Translators: under a checkbox, at most 75 characters.
        description=_("Kudos to you reach you by DM only; givers are told once."),
    )
    return View(
        type="modal",
        callback_id=Callback.SETTINGS_MODAL,
        # Translators: a dialog's title, at most 24 characters.
        title=_("allybot settings"),
        # Translators: a dialog's button, at most 24 characters.
        submit=_("Save"),
        # Translators: a dialog's button, at most 24 characters.
        close=_("Cancel"),
        blocks=[
            build_language_input(person, slack_language or i18n.choose(person.slack_locale)),
            InputBlock(
                block_id="tips",
                label=_("Conduct tips"),
                element=StaticSelectElement(
                    action_id="tips",
                    options=_tip_choices(),
                    initial_option=tips,
                ),
            ),
            InputBlock(
                block_id="window_start",
                label=_("Nudges from"),
                element=_time_picker("window_start", start),
            ),
            InputBlock(
                block_id="window_end",
                label=_("Nudges until"),
                element=_time_picker("window_end", end),
            ),
            InputBlock(
                block_id="quiet_start",
                label=_("Quiet hours from"),
                optional=True,
                element=_time_picker("quiet_start", person.quiet_start),
            ),
            InputBlock(
                block_id="quiet_end",
                label=_("Quiet hours until"),
                optional=True,
                element=_time_picker("quiet_end", person.quiet_end),
            ),
            InputBlock(
                block_id="pause_days",
                label=_("Pause all nudges for (days)"),
                optional=True,
                element=NumberInputElement(
                    action_id="pause_days", is_decimal_allowed=False, min_value="1", max_value="365"
                ),
            ),
            InputBlock(
                block_id="opt_out",
                label=_("Opt out"),
                optional=True,
                element=CheckboxesElement(
                    action_id="opt_out",
                    options=[opt_out],
                    initial_options=[opt_out] if person.opted_out else None,
                ),
            ),
            InputBlock(
                block_id="kudos_private",
                label=_("Kudos"),
                optional=True,
                element=CheckboxesElement(
                    action_id="kudos_private",
                    options=[quiet_kudos],
                    initial_options=[quiet_kudos] if person.kudos_private else None,
                ),
            ),
            *([_welcomer_input(welcomer)] if welcomer is not None else []),
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=_("Times are in your Slack time zone, {zone}.", zone=person.tz)
                    )
                ]
            ),
        ],
    )
