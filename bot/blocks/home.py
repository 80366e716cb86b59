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
from bot.blocks.allies import DueAlly
from bot.blocks.commitments import summary
from bot.blocks.insights import insight_lines
from bot.blocks.language import build_home_language_blocks, build_language_input
from bot.ids import Action, Callback
from bot.models import Commitment, Kudos, Person
from bot.services.dm_budget import MAX_MUTES
from bot.services.insights import Figures
from bot.services.preferences import clock, effective_window

MAX_LISTED = 5
TIP_OPTIONS = {"weekly": "Tips weekly", "daily": "Tips daily", "off": "Tips off"}


def _quote(markup: str, limit: int = 200) -> str:
    return texts.one_line(markup, limit)


def figure_lines(figures: Figures) -> list[str]:
    """The four figures, each with its trend, what it means and a suggestion (or "not
    enough yet")."""
    return insight_lines(figures.person)


def preferences_line(person: Person, now: datetime, window: tuple[int, int] | None = None) -> str:
    start, end = window or effective_window(person, None)
    own = person.window_start is not None
    parts = [
        f"tips {person.tips_cadence}",
        f"window {clock(start)}–{clock(end)}" + ("" if own else " (workspace default)"),
    ]
    if person.quiet_start is not None and person.quiet_end is not None:
        parts.append(f"quiet {clock(person.quiet_start)}–{clock(person.quiet_end)}")
    if person.kudos_private:
        parts.append("kudos you receive are not posted")
    if person.opted_out:
        parts.append("*all nudges off*")
    elif person.paused_until and person.paused_until > now:
        until = person.paused_until.astimezone(ZoneInfo(person.tz))
        parts.append(f"*paused until {until:%a %-d %b}*")
    return "Your nudges: " + " · ".join(parts) + f" ({person.tz})."


def build_mute_blocks(muted: Sequence[str]) -> list[Block]:
    """Whose promises and kudos DMs don't reach you: add or remove people in one picker."""
    return [
        SectionBlock(
            block_id="home_mutes",
            text=MarkdownTextObject(
                text="*Muted:* people whose promises and kudos don't reach you in a DM. "
                "Private: they are not told."
            ),
            accessory=UserMultiSelectElement(
                action_id=Action.HOME_MUTES,
                placeholder="Nobody muted",
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
        HeaderBlock(text="Your alliances"),
        ContextBlock(elements=[MarkdownTextObject(text="Private to you.")]),
        SectionBlock(text=MarkdownTextObject(text="*Check-ins due*")),
    ]
    if due_allies:
        for d in due_allies[:MAX_LISTED]:
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=f"<@{d.ally_id}> · {d.days} days since you connected"
                    ),
                    accessory=ButtonElement(
                        text="We talked", action_id=Action.CHECKIN_TALKED, value=str(d.row_id)
                    ),
                )
            )
    else:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="None due. `/ally add @bob every 2 weeks` keeps someone close."
                    )
                ]
            )
        )
    blocks.append(SectionBlock(text=MarkdownTextObject(text="*Open commitments*")))
    if commitments:
        for commitment, parties in commitments[:MAX_LISTED]:
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=_quote(summary(commitment, parties, person.tz), 2900)
                    ),
                    accessory=ButtonElement(
                        text="Done", action_id=Action.COMMIT_DONE, value=str(commitment.id)
                    ),
                )
            )
    else:
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text="None open. `/commit <what> to @bob by Friday`.")]
            )
        )
    kudos_text = (
        f"*Kudos, last 30 days:* you gave {figures.given_30d}, you received {figures.received_30d}."
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
    current = Option(value=person.tips_cadence, label=TIP_OPTIONS.get(person.tips_cadence, "Tips"))
    paused = bool(person.opted_out or (person.paused_until and person.paused_until > now))
    blocks.append(
        ActionsBlock(
            block_id="home_preferences",
            elements=[
                StaticSelectElement(
                    action_id=Action.HOME_TIPS,
                    options=[Option(value=k, label=v) for k, v in TIP_OPTIONS.items()],
                    initial_option=current,
                ),
                ButtonElement(text="Resume nudges", action_id=Action.HOME_RESUME, value="resume")
                if paused
                else ButtonElement(text="Pause 1 week", action_id=Action.HOME_PAUSE, value="7"),
                ButtonElement(
                    text="Post kudos I receive", action_id=Action.HOME_KUDOS_PRIVACY, value="public"
                )
                if person.kudos_private
                else ButtonElement(
                    text="Don't post kudos I receive",
                    action_id=Action.HOME_KUDOS_PRIVACY,
                    value="private",
                ),
                ButtonElement(text="All settings", action_id=Action.HOME_SETTINGS, value="open"),
            ],
        )
    )
    return View(type="home", blocks=blocks)


def _time_picker(action_id: str, minutes: int | None) -> TimePickerElement:
    picker = TimePickerElement(action_id=action_id)
    if minutes is not None:
        picker.initial_time = clock(minutes % (24 * 60))
    return picker


def build_settings_modal(
    person: Person, window: tuple[int, int] | None = None, slack_language: str | None = None
) -> View:
    """Every personal preference in one place (`window`: the delivery window in effect;
    `slack_language`: what following Slack's language gives the person)."""
    start, end = window or effective_window(person, None)
    tips = Option(value=person.tips_cadence, label=TIP_OPTIONS[person.tips_cadence])
    opt_out = Option(value="opt_out", label="Send me no nudges at all")
    quiet_kudos = Option(
        value="kudos_private",
        label="Don't post kudos I receive",
        description="Kudos to you reach you by DM only; givers are told once.",
    )
    return View(
        type="modal",
        callback_id=Callback.SETTINGS_MODAL,
        title="allybot settings",
        submit="Save",
        close="Cancel",
        blocks=[
            build_language_input(person, slack_language or i18n.choose(person.slack_locale)),
            InputBlock(
                block_id="tips",
                label="Conduct tips",
                element=StaticSelectElement(
                    action_id="tips",
                    options=[Option(value=k, label=v) for k, v in TIP_OPTIONS.items()],
                    initial_option=tips,
                ),
            ),
            InputBlock(
                block_id="window_start",
                label="Nudges from",
                element=_time_picker("window_start", start),
            ),
            InputBlock(
                block_id="window_end",
                label="Nudges until",
                element=_time_picker("window_end", end),
            ),
            InputBlock(
                block_id="quiet_start",
                label="Quiet hours from",
                optional=True,
                element=_time_picker("quiet_start", person.quiet_start),
            ),
            InputBlock(
                block_id="quiet_end",
                label="Quiet hours until",
                optional=True,
                element=_time_picker("quiet_end", person.quiet_end),
            ),
            InputBlock(
                block_id="pause_days",
                label="Pause all nudges for (days)",
                optional=True,
                element=NumberInputElement(
                    action_id="pause_days", is_decimal_allowed=False, min_value="1", max_value="365"
                ),
            ),
            InputBlock(
                block_id="opt_out",
                label="Opt out",
                optional=True,
                element=CheckboxesElement(
                    action_id="opt_out",
                    options=[opt_out],
                    initial_options=[opt_out] if person.opted_out else None,
                ),
            ),
            InputBlock(
                block_id="kudos_private",
                label="Kudos",
                optional=True,
                element=CheckboxesElement(
                    action_id="kudos_private",
                    options=[quiet_kudos],
                    initial_options=[quiet_kudos] if person.kudos_private else None,
                ),
            ),
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=f"Times are in your Slack time zone, {person.tz}.")
                ]
            ),
        ],
    )
