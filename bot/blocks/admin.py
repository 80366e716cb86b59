"""The workspace settings modal (`/ally admin`), with who changed what at the bottom."""

from __future__ import annotations

import re
from collections.abc import Sequence

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
from bot.i18n import _
from bot.ids import Callback
from bot.models import SettingChange
from bot.services.dm_budget import MAX_BUDGET
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
        return "someone"
    return f"`{snippet(changed_by, 64)}` (settings file)"


def _value(text: str | None) -> str:
    """A channel id as a link Slack renders with the channel's name."""
    return f"<#{text}>" if text and CHANNEL_ID.match(text) else str(text)


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
        when = f"<!date^{stamp}^{{date_short}}|{first.changed_at:%d %b %Y} UTC>"
        what = ", ".join(
            f"{LABELS.get(c.field, c.field)} ({_value(c.old_value)} → {_value(c.new_value)})"
            for c in reversed(group)
        )
        lead = "Last changed" if index == 0 else "Before that"
        line = f"{lead} by {who(first.changed_by)} on {when}: {what}"
        lines.append(line if len(line) <= 2000 else line[:1999] + "…")
    return lines


def build_admin_modal(settings: WorkspaceSettings, changes: Sequence[SettingChange]) -> View:
    """Every workspace setting, prefilled with what is in effect, and the latest changes."""
    days = {name: name.title() for name in WORKING_DAYS}
    blocks: list[Block] = [
        _channel(
            "kudos_channel",
            "Kudos channel",
            settings.kudos_channel,
            "Kudos given in a DM are posted here, and the weekly digest. Invite allybot to it.",
        ),
        InputBlock(
            block_id="kudos_emoji",
            label="Kudos emoji",
            hint="A reaction with this emoji gives kudos, e.g. :raised_hands: or :tada:.",
            element=PlainTextInputElement(
                action_id="kudos_emoji", initial_value=f":{settings.kudos_emoji}:", max_length=102
            ),
        ),
        InputBlock(
            block_id="daily_kudos_limit",
            label="Kudos each person can give a day",
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
            label="DMs one person can make allybot send a colleague a day",
            hint="Promises, their changes and kudos DMs from one person to another; past it, "
            "the rest wait for the colleague's next daily message and the sender is told.",
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
            label="This workspace's own tags",
            optional=True,
            hint="Separated by commas, e.g. craft, customer-first. Always there: "
            + " ".join(f"#{t}" for t in DEFAULT_TAGS),
            element=PlainTextInputElement(
                action_id="tags",
                initial_value=", ".join(settings.tags) or None,
                max_length=1000,
            ),
        ),
        _channel(
            "intros_channel",
            "Intros channel",
            settings.intros_channel,
            "Members of this channel can be paired for intros. Empty: no intros.",
        ),
        _select(
            "intros_cadence",
            "Intros cadence",
            {name: name.capitalize() for name in CADENCES.values()},
            CADENCES.get(settings.intros_cadence, "every 2 weeks"),
        ),
        _select(
            "intros_group_size",
            "Intros group size",
            {"2": "Pairs", "3": "Groups of three", "4": "Groups of four"},
            str(settings.intros_group_size),
        ),
        _select("intros_day", "Intros pairing day", days, DAYS[settings.intros_day % 7]),
        _select(
            "intros_mode",
            "Who takes part in intros",
            {
                "opt-in": "Opt-in: people who run /ally intros join",
                "opt-out": "Opt-out: everyone in the channel unless they leave",
            },
            MODES.get(settings.intros_mode, "opt-in"),
        ),
        _select(
            "welcome_newcomers",
            "Welcome newcomers",
            {
                "on": "On: a welcome DM and a first intro to volunteer welcomers",
                "off": "Off",
            },
            "on" if settings.welcome_newcomers else "off",
        ),
        _select(
            "intros_without_overlap",
            "Intros between people whose working hours don't overlap",
            {
                "off": "Never: such people sit the round out",
                "on": "Only when nobody else is left for them",
            },
            "on" if settings.intros_without_overlap else "off",
        ),
        _select("digest_day", "Weekly kudos digest day", days, DAYS[settings.digest_day % 7]),
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
        _time("window_start", "Default delivery window: from", settings.window_start),
        _time("window_end", "Default delivery window: until", settings.window_end),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="The delivery window is in each person's own time zone. People who "
                    "chose their own window in `/ally settings` keep theirs."
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
        title="Workspace settings",
        submit="Save",
        close="Cancel",
        blocks=blocks,
    )
