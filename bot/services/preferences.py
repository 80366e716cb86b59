"""A person's preferences: tip cadence, pause, quiet hours, whether kudos they receive are
posted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import i18n
from bot.i18n import _, ngettext
from bot.models import Person, Workspace
from bot.services import people
from bot.services.intros import members as intro_members
from bot.text import snippet

TIP_CADENCES = ("weekly", "daily", "off")
MAX_PAUSE = timedelta(days=365)
DURATION = re.compile(r"^(\d{1,3})\s*(d|day|days|w|wk|week|weeks)$")
CLOCK_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


DEFAULT_WINDOW = (9 * 60, 17 * 60)


def effective_window(person: Person, workspace: Workspace | None) -> tuple[int, int]:
    """The person's own delivery window; the workspace's default when they chose none."""
    if person.window_start is not None and person.window_end is not None:
        return person.window_start, person.window_end
    if workspace is not None:
        return workspace.window_start, workspace.window_end
    return DEFAULT_WINDOW


async def window_of(session: AsyncSession, person: Person) -> tuple[int, int]:
    """`effective_window`, reading the workspace only for people who follow its default."""
    if person.window_start is not None and person.window_end is not None:
        return person.window_start, person.window_end
    return effective_window(person, await session.get(Workspace, person.team_id))


class PreferenceError(ValueError):
    """Input a person typed that allybot cannot use; the message says what would work."""


def parse_duration(text: str) -> timedelta:
    """'7d', '2w', '10 days', '3 weeks'."""
    match = DURATION.match(text.strip().lower())
    if not match:
        raise PreferenceError(
            _("I couldn't read `{text}` as a length of time: try `7d` or `2w`.", text=snippet(text))
        )
    count, unit = int(match.group(1)), match.group(2)
    length = timedelta(weeks=count) if unit.startswith("w") else timedelta(days=count)
    if not timedelta(days=1) <= length <= MAX_PAUSE:
        raise PreferenceError(_("A pause can last from 1 day to 365 days."))
    return length


def parse_clock_range(text: str) -> tuple[int, int]:
    """'18:00-09:00' as minutes after midnight; the range may cross midnight."""
    match = CLOCK_RANGE.match(text.strip())
    if not match:
        raise PreferenceError(
            _(
                "I couldn't read `{text}` as hours: try `18:00-09:00` (24-hour clock).",
                text=snippet(text),
            )
        )
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise PreferenceError(
            _("`{text}` has a time that doesn't exist on a 24-hour clock.", text=snippet(text))
        )
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise PreferenceError(_("Quiet hours need a start and an end that differ."))
    return start, end


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Change:
    """What a preference command changed, to tell the person."""

    summary: str


async def _set(
    session: AsyncSession, team_id: str, user_id: str, now: datetime, **values: object
) -> None:
    await people.ensure_person(session, team_id=team_id, user_id=user_id, now=now)
    await session.execute(
        update(Person).where(Person.team_id == team_id, Person.user_id == user_id).values(**values)
    )


async def set_tip_cadence(
    session: AsyncSession, *, team_id: str, user_id: str, cadence: str, now: datetime
) -> Change:
    cadence = cadence.strip().lower()
    if cadence not in TIP_CADENCES:
        raise PreferenceError(_("Tips can be `weekly`, `daily` or `off`."))
    await _set(session, team_id, user_id, now, tips_cadence=cadence)
    return Change(
        {
            "weekly": _("You'll get a conduct tip each week, on your first working day."),
            "daily": _("You'll get a conduct tip each working day."),
            "off": _("Conduct tips are off. `/ally tips weekly` brings them back."),
        }[cadence]
    )


async def pause(
    session: AsyncSession, *, team_id: str, user_id: str, length: timedelta, now: datetime
) -> Change:
    until = now + length
    await _set(session, team_id, user_id, now, paused_until=until)
    return Change(
        ngettext(
            "Paused: no nudges from allybot for {n} day. `/ally resume` ends it early.",
            "Paused: no nudges from allybot for {n} days. `/ally resume` ends it early.",
            length.days,
        )
    )


async def resume(session: AsyncSession, *, team_id: str, user_id: str, now: datetime) -> Change:
    await _set(session, team_id, user_id, now, paused_until=None, opted_out=False)
    return Change(_("Welcome back: nudges are on again."))


async def set_quiet_hours(
    session: AsyncSession, *, team_id: str, user_id: str, text: str, now: datetime
) -> Change:
    if text.strip().lower() in ("off", "none"):
        await _set(session, team_id, user_id, now, quiet_start=None, quiet_end=None)
        return Change(_("Quiet hours are off."))
    start, end = parse_clock_range(text)
    await _set(session, team_id, user_id, now, quiet_start=start, quiet_end=end)
    return Change(
        _(
            "Quiet hours set: nothing from allybot between {start} and {end} your time.",
            start=clock(start),
            end=clock(end),
        )
    )


KUDOS_PRIVACY = ("private", "public")


async def set_kudos_privacy(
    session: AsyncSession, *, team_id: str, user_id: str, choice: str, now: datetime
) -> Change:
    """ "Don't post kudos I receive": `private` keeps them between giver and receiver."""
    choice = choice.strip().lower()
    if choice not in KUDOS_PRIVACY:
        raise PreferenceError(
            _(
                "Say `/ally kudos private` (kudos you receive reach you by DM only, never posted) "
                "or `/ally kudos public` (they are posted as usual)."
            )
        )
    await _set(session, team_id, user_id, now, kudos_private=choice == "private")
    if choice == "private":
        return Change(
            _(
                "Kudos you receive will reach you by DM only: nothing is posted about them, and "
                "each giver is told once that you prefer it this way. "
                "`/ally kudos public` undoes it."
            )
        )
    return Change(_("Kudos you receive will be posted in the channel again, as usual."))


# What `/ally language …` and the pickers take for "follow my Slack language".
FOLLOW_SLACK = "auto"
# Names people may type for a language, besides its code and its own name ("Español").
LANGUAGE_NAMES = {
    "english": "en",
    "inglés": "en",
    "ingles": "en",
    "englisch": "en",
    "spanish": "es",
    "castellano": "es",
    "espanol": "es",
    "spanisch": "es",
    "german": "de",
    "alemán": "de",
    "aleman": "de",
}
FOLLOW_WORDS = (FOLLOW_SLACK, "slack", "default")


def language_choice(text: str) -> str | None:
    """A language someone typed or picked, as a code allybot speaks; None for "follow my
    Slack language" (`auto`). Anything else raises `PreferenceError`."""
    word = " ".join(text.strip().lower().split())
    if word in FOLLOW_WORDS:
        return None
    by_name = {name.lower(): code for code, name in i18n.LANGUAGES.items()}
    code = LANGUAGE_NAMES.get(word) or by_name.get(word)
    if code is None and len(word) <= 16:
        found = i18n.shipped(word)  # a code or a Slack locale: "de", "es-ES", "en_GB"
        code = found if found in i18n.LANGUAGES else None
    if code is None:
        raise PreferenceError(
            _(
                "allybot speaks English (`en`), Español (`es`) and Deutsch (`de`). Say "
                "`/ally language es`, or `/ally language auto` to follow your Slack language."
            )
        )
    return code


async def set_language(
    session: AsyncSession, *, team_id: str, user_id: str, choice: str, now: datetime
) -> Change:
    """The person's own language (`/ally language`, the pickers), or back to Slack's. The
    answer is already in the language they will be spoken to from now on."""
    code = language_choice(choice)
    await _set(session, team_id, user_id, now, language=code)
    person = await session.get(Person, (team_id, user_id), populate_existing=True)
    workspace = await session.get(Workspace, team_id)
    with i18n.speaking(people.language_of(person, workspace)):
        if code is None:
            followed = people.slack_language(person, workspace)
            name = i18n.LANGUAGES.get(followed, i18n.LANGUAGES[i18n.DEFAULT])
            return Change(
                _(
                    "allybot follows your Slack language again: {language}. You change it in "
                    "Slack under *Preferences → Language & region*.",
                    language=name,
                )
            )
        return Change(
            _(
                "allybot speaks {language} with you from now on. `/ally language auto` "
                "follows your Slack language again.",
                language=i18n.LANGUAGES[code],
            )
        )


COMMANDS = (
    "tips",
    "pause",
    "resume",
    "quiet",
    "kudos",
    "language",
)  # `/ally <command> …` that change preferences


async def apply_command(
    session: AsyncSession, *, team_id: str, user_id: str, command: str, rest: str, now: datetime
) -> Change:
    """`/ally tips|pause|resume|quiet|kudos|language …`; bad input raises `PreferenceError`."""
    match command:
        case "tips":
            return await set_tip_cadence(
                session, team_id=team_id, user_id=user_id, cadence=rest, now=now
            )
        case "pause":
            length = parse_duration(rest or "7d")
            return await pause(session, team_id=team_id, user_id=user_id, length=length, now=now)
        case "resume":
            return await resume(session, team_id=team_id, user_id=user_id, now=now)
        case "kudos":
            return await set_kudos_privacy(
                session, team_id=team_id, user_id=user_id, choice=rest, now=now
            )
        case "language":
            return await set_language(
                session, team_id=team_id, user_id=user_id, choice=rest, now=now
            )
        case "quiet":
            if not rest:
                raise PreferenceError(
                    _("Say when: `/ally quiet 18:00-09:00`, or `/ally quiet off`.")
                )
            return await set_quiet_hours(
                session, team_id=team_id, user_id=user_id, text=rest, now=now
            )
    raise PreferenceError(_("I don't know `/ally {word}`.", word=snippet(command)))


@dataclass(frozen=True)
class SettingsInput:
    """The settings modal's fields, as the person left them."""

    tips: str
    window_start: str | None
    window_end: str | None
    quiet_start: str | None
    quiet_end: str | None
    pause_days: str | None
    opt_out: bool
    kudos_private: bool = False
    language: str | None = None  # FOLLOW_SLACK or a code; None: a modal without the picker
    welcomer: bool | None = None  # None: a modal without it (intros not set up)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def settings_errors(values: SettingsInput) -> dict[str, str]:
    """Field errors for the settings modal, keyed by block id; empty when all is well."""
    errors: dict[str, str] = {}
    if values.tips not in TIP_CADENCES:
        # Translators: the options of the tips picker in the settings modal
        errors["tips"] = _("Pick weekly, daily or off.")
    if not values.window_start:
        errors["window_start"] = _("Pick a start time.")
    if not values.window_end:
        errors["window_end"] = _("Pick an end time.")
    start, end = values.window_start, values.window_end
    if start and end and _minutes(end) - _minutes(start) < 60:
        errors["window_end"] = _("End at least an hour after the start, on the same day.")
    if bool(values.quiet_start) != bool(values.quiet_end):
        errors["quiet_end" if values.quiet_start else "quiet_start"] = _(
            "Set both ends of your quiet hours, or neither."
        )
    elif values.quiet_start and values.quiet_start == values.quiet_end:
        errors["quiet_end"] = _("Quiet hours need a start and an end that differ.")
    days = values.pause_days
    if days and (not days.isdecimal() or not 1 <= int(days) <= 365):
        errors["pause_days"] = _("A whole number of days from 1 to 365.")
    if values.language is not None:
        try:
            language_choice(values.language)
        except PreferenceError:
            errors["language"] = _("Pick one of the languages in the list.")
    return errors


async def welcomer_of(session: AsyncSession, workspace: Workspace, user_id: str) -> bool | None:
    """Whether the person volunteers to welcome newcomers; None where intros are not set up."""
    if not workspace.intros_channel_id:
        return None
    found = await intro_members.member(session, workspace.team_id, user_id)
    return bool(found is not None and found.welcomer)


async def apply_settings(
    session: AsyncSession, *, team_id: str, user_id: str, values: SettingsInput, now: datetime
) -> Change:
    """Save the settings modal, already checked by `settings_errors`.

    A window equal to the workspace's default is kept as "follow the workspace default", so
    saving the modal unchanged does not pin it and the admin's later changes still apply.
    """
    window: tuple[int | None, int | None] = (
        _minutes(values.window_start or "09:00"),
        _minutes(values.window_end or "17:00"),
    )
    workspace = await session.get(Workspace, team_id)
    default = (workspace.window_start, workspace.window_end) if workspace else DEFAULT_WINDOW
    if window == default:
        window = (None, None)
    fields: dict[str, object] = {
        "tips_cadence": values.tips,
        "window_start": window[0],
        "window_end": window[1],
        "quiet_start": _minutes(values.quiet_start) if values.quiet_start else None,
        "quiet_end": _minutes(values.quiet_end) if values.quiet_end else None,
        "opted_out": values.opt_out,
        "kudos_private": values.kudos_private,
    }
    if values.pause_days:
        fields["paused_until"] = now + timedelta(days=int(values.pause_days))
    if values.language is not None:
        fields["language"] = language_choice(values.language)
    await _set(session, team_id, user_id, now, **fields)
    if values.welcomer is not None and workspace is not None and workspace.intros_channel_id:
        await intro_members.set_welcomer(
            session, team_id=team_id, user_id=user_id, on=values.welcomer, now=now
        )
    return Change(_("Settings saved."))
