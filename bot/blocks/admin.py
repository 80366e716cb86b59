"""The workspace settings modal (`/ally admin`), with who changed what at the bottom."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View

from bot import i18n
from bot.i18n import N_, _
from bot.ids import Callback
from bot.models import SettingChange
from bot.services.dm_budget import MAX_BUDGET
from bot.services.intro_settings import MAX_FIELD_NAME, MAX_SHARED_CHANNELS
from bot.services.kudos import DEFAULT_TAGS
from bot.services.preferences import clock
from bot.services.workspace_settings import (
    CADENCES,
    CHANNEL_ID,
    DAYS,
    LABELS,
    MAX_DAILY_LIMIT,
    MODES,
    WORKING_DAYS,
    WorkspaceSettings,
)
from bot.text import snippet

SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
CHANNELS = ConversationFilter(include=["public", "private"], exclude_bot_users=True)
# Translators: how often intros rounds come, in a menu.
CADENCE_NAMES = {
    "weekly": N_("Weekly"),
    "every 2 weeks": N_("Every 2 weeks"),
    "every 4 weeks": N_("Every 4 weeks"),
}


def field_name(field: str) -> str:
    """A setting's name for the reader; a field this version doesn't know, as stored."""
    known = LABELS.get(field)
    return _(known) if known else field


def _select(block_id: str, label: str, options: dict[str, str], current: str) -> InputBlock:
    choices = [Option(value=value, label=text) for value, text in options.items()]
    return InputBlock(
        block_id=block_id,
        label=label,
        element=StaticSelectElement(
            action_id=block_id,
            options=choices,
            initial_option=next((o for o in choices if o.value == current), None),
        ),
    )


def _profile_field(block_id: str, label: str, current: str | None, hint: str) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=True,
        hint=hint,
        element=PlainTextInputElement(
            action_id=block_id, initial_value=current or None, max_length=MAX_FIELD_NAME
        ),
    )


def _channel(block_id: str, label: str, current: str | None, hint: str) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=True,
        hint=hint,
        element=ConversationSelectElement(
            action_id=block_id, initial_conversation=current, filter=CHANNELS
        ),
    )


def _time(block_id: str, label: str, minutes: int) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        element=TimePickerElement(action_id=block_id, initial_time=clock(minutes)),
    )


def who(changed_by: str) -> str:
    """A Slack person as a mention; someone erased as "someone"; a deployer's label (settings
    file) as text that cannot ping, whatever an older record holds."""
    if SLACK_USER.match(changed_by):
        return f"<@{changed_by}>"
    if changed_by.startswith("anon-"):
        return _("someone")
    return _("`{label}` (settings file)", label=snippet(changed_by, 64))


# Translators: a setting's value in its change history: nothing set, a switch on or off.
STORED_WORDS = {
    "none": N_("none"),
    "on": N_("on"),
    "off": N_("off"),
    # Translators: who takes part in intros, as a setting's value in its history.
    "opt-in": N_("opt-in"),
    "opt-out": N_("opt-out"),
}


def _value(text: str | None) -> str:
    """A stored value (as a settings file writes it) for the reader: a channel id as a link
    Slack renders with the channel's name, words and weekdays in the reader's language."""
    if text and CHANNEL_ID.match(text):
        return f"<#{text}>"
    value = str(text)
    if value in STORED_WORDS:
        return _(STORED_WORDS[value])
    if value in CADENCE_NAMES:
        return _(CADENCE_NAMES[value])
    if value.lower() in DAYS:
        return i18n.weekday_name(DAYS.index(value.lower()))
    return value


def change_lines(changes: Sequence[SettingChange], saves: int = 3) -> list[str]:
    """ "Last changed by @ann on 26 Nov 2026: daily kudos limit (5 → 8), …", one line per save
    (newest first, in the reader's time zone)."""
    groups: list[list[SettingChange]] = []
    for change in changes:
        last = groups[-1][0] if groups else None
        if last and (last.changed_by, last.changed_at) == (change.changed_by, change.changed_at):
            groups[-1].append(change)
        elif len(groups) < saves:
            groups.append([change])
    lines = []
    for index, group in enumerate(groups):
        first = group[0]
        stamp = int(first.changed_at.timestamp())
        day = i18n.format_date(first.changed_at.astimezone(UTC).date())
        when = f"<!date^{stamp}^{{date_short}}|{day} UTC>"
        what = ", ".join(
            f"{field_name(c.field)} ({_value(c.old_value)} → {_value(c.new_value)})"
            for c in reversed(group)
        )
        values = {"who": who(first.changed_by), "when": when, "what": what}
        line = (
            _("Last changed by {who} on {when}: {what}", **values)
            if index == 0
            else _("Before that by {who} on {when}: {what}", **values)
        )
        lines.append(line if len(line) <= 2000 else line[:1999] + "…")
    return lines


def build_admin_modal(settings: WorkspaceSettings, changes: Sequence[SettingChange]) -> View:
    """Every workspace setting, prefilled with what is in effect, and the latest changes."""
    days = {name: i18n.weekday_name(DAYS.index(name)) for name in WORKING_DAYS}
    blocks: list[Block] = [
        _channel(
            "kudos_channel",
            _("Kudos channel"),
            settings.kudos_channel,
            _("Kudos given in a DM are posted here, and the weekly digest. Invite allybot to it."),
        ),
        InputBlock(
            block_id="kudos_emoji",
            label=_("Kudos emoji"),
            hint=_("A reaction with this emoji gives kudos, e.g. :raised_hands: or :tada:."),
            element=PlainTextInputElement(
                action_id="kudos_emoji", initial_value=f":{settings.kudos_emoji}:", max_length=102
            ),
        ),
        InputBlock(
            block_id="daily_kudos_limit",
            label=_("Kudos each person can give a day"),
            element=NumberInputElement(
                action_id="daily_kudos_limit",
                is_decimal_allowed=False,
                min_value="1",
                max_value=str(MAX_DAILY_LIMIT),
                initial_value=str(settings.daily_kudos_limit),
            ),
        ),
        InputBlock(
            block_id="daily_dm_budget",
            label=_("DMs one person can make allybot send a colleague a day"),
            hint=_(
                "Promises, their changes and kudos DMs from one person to another; past it, "
                "the rest wait for the colleague's next daily message and the sender is told."
            ),
            element=NumberInputElement(
                action_id="daily_dm_budget",
                is_decimal_allowed=False,
                min_value="1",
                max_value=str(MAX_BUDGET),
                initial_value=str(settings.daily_dm_budget),
            ),
        ),
        InputBlock(
            block_id="tags",
            label=_("This workspace's own tags"),
            optional=True,
            hint=_(
                "Separated by commas, e.g. craft, customer-first. Always there: {tags}",
                tags=" ".join(f"#{t}" for t in DEFAULT_TAGS),
            ),
            element=PlainTextInputElement(
                action_id="tags",
                initial_value=", ".join(settings.tags) or None,
                max_length=1000,
            ),
        ),
        _channel(
            "intros_channel",
            _("Intros channel"),
            settings.intros_channel,
            _("Members of this channel can be paired for intros. Empty: no intros."),
        ),
        _select(
            "intros_cadence",
            _("Intros cadence"),
            {
                name: _(CADENCE_NAMES[name]) if name in CADENCE_NAMES else name
                for name in CADENCES.values()
            },
            CADENCES.get(settings.intros_cadence, "every 2 weeks"),
        ),
        _select(
            "intros_group_size",
            _("Intros group size"),
            {"2": _("Pairs"), "3": _("Groups of three"), "4": _("Groups of four")},
            str(settings.intros_group_size),
        ),
        _select("intros_day", _("Intros pairing day"), days, DAYS[settings.intros_day % 7]),
        _select(
            "intros_mode",
            _("Who takes part in intros"),
            {
                # Translators: a menu choice, at most 75 characters.
                "opt-in": _("Opt-in: people who run /ally intros join"),
                # Translators: a menu choice, at most 75 characters.
                "opt-out": _("Opt-out: everyone in the channel unless they leave"),
            },
            MODES.get(settings.intros_mode, "opt-in"),
        ),
        _select(
            "welcome_newcomers",
            _("Welcome newcomers"),
            {
                # Translators: a menu choice, at most 75 characters.
                "on": _("On: a welcome DM and a first intro to volunteer welcomers"),
                # Translators: a menu choice: the setting is off.
                "off": _("Off"),
            },
            "on" if settings.welcome_newcomers else "off",
        ),
        _select(
            "intros_without_overlap",
            _("Intros between people whose working hours don't overlap"),
            {
                # Translators: a menu choice, at most 75 characters.
                "off": _("Never: such people sit the round out"),
                # Translators: a menu choice, at most 75 characters.
                "on": _("Only when nobody else is left for them"),
            },
            "on" if settings.intros_without_overlap else "off",
        ),
        _profile_field(
            "intros_team_field",
            _("Intros: profile field naming a person's team or manager"),
            settings.intros_team_field,
            _(
                "People with the same value are kept apart. The field's label as profiles show "
                "it (such as Team or Manager) or its id (Xf…). Empty: not used."
            ),
        ),
        _profile_field(
            "intros_location_field",
            _("Intros: profile field naming a person's location"),
            settings.intros_location_field,
            _(
                "People who meet in person are grouped with others at the same location. "
                "Empty: people name their location on Home."
            ),
        ),
        InputBlock(
            block_id="intros_shared_channels",
            label=_("Intros: keep apart people who share this many channels"),
            hint=_(
                "Counted over the channels allybot is in (members only, never messages), "
                "leaving out the intros channel and channels of more than 200. 0: off."
            ),
            element=NumberInputElement(
                action_id="intros_shared_channels",
                is_decimal_allowed=False,
                min_value="0",
                max_value=str(MAX_SHARED_CHANNELS),
                initial_value=str(settings.intros_shared_channels),
            ),
        ),
        _select("digest_day", _("Weekly kudos digest day"), days, DAYS[settings.digest_day % 7]),
        _select(
            "language",
            # Translators: a form label in the workspace settings
            _("Default language"),
            dict(i18n.LANGUAGES),
            settings.language,
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_(
                        "Channel posts and the weekly digest are in this language, and so is "
                        "everything for people whose Slack language allybot doesn't speak. "
                        "Everyone else reads allybot in their own language."
                    )
                )
            ]
        ),
        _time("window_start", _("Default delivery window: from"), settings.window_start),
        _time("window_end", _("Default delivery window: until"), settings.window_end),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_(
                        "The delivery window is in each person's own time zone. People who "
                        "chose their own window in `/ally settings` keep theirs."
                    )
                )
            ]
        ),
    ]
    if changes:
        blocks.append(DividerBlock())
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=line) for line in change_lines(changes)])
        )
    return View(
        type="modal",
        callback_id=Callback.ADMIN_MODAL,
        # Translators: a dialog's title, at most 24 characters.
        title=_("allybot admin"),
        submit=_("Save"),
        close=_("Cancel"),
        blocks=blocks,
    )
