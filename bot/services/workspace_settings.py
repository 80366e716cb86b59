"""A workspace's settings, as its admins set them in the modal or a deployer in a YAML file.

One pydantic model checks both, so a value the modal refuses is refused from a file too, with
the same message; `apply` writes what changed and records who changed it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import i18n
from bot.i18n import N_, _
from bot.models import SettingChange, Workspace
from bot.services import intro_settings, people
from bot.services.dm_budget import DEFAULT_BUDGET, MAX_BUDGET
from bot.services.kudos import DEFAULT_TAGS
from bot.services.preferences import clock
from bot.services.setting_values import CHANNEL_ID as CHANNEL_ID
from bot.services.setting_values import DAYS as DAYS
from bot.services.setting_values import WORKING_DAYS as WORKING_DAYS
from bot.services.setting_values import channel as _channel
from bot.services.setting_values import clock_minutes as _clock
from bot.services.setting_values import refuse as _refuse
from bot.services.setting_values import working_day as _day
from bot.text import snippet

MAX_DAILY_LIMIT = 50
MAX_TAGS = 20
MAX_TAG_LENGTH = 30
CADENCES = {1: "weekly", 2: "every 2 weeks", 4: "every 4 weeks"}
MODES = {"opt_in": "opt-in", "opt_out": "opt-out"}
EMOJI = re.compile(r"^[a-z0-9_+\-]{1,100}$")
# A tag as `/kudos` reads it (kudos.TAG), kept to plain lower-case letters, digits, - and _.
TAG = re.compile(r"^[a-z](?:[a-z0-9_\-]*[a-z0-9])?$")
WINDOW = ("window_start", "window_end")

# Field name (the YAML key and the modal's block id) -> Workspace column.
COLUMNS = {
    "kudos_channel": "kudos_channel_id",
    "kudos_emoji": "kudos_emoji",
    "daily_kudos_limit": "daily_kudos_limit",
    "daily_dm_budget": "daily_dm_budget",
    "tags": "custom_tags",
    "intros_channel": "intros_channel_id",
    "intros_cadence": "intros_cadence_weeks",
    "intros_group_size": "intros_group_size",
    "intros_day": "intros_day",
    "intros_mode": "intros_mode",
    "welcome_newcomers": "welcome_newcomers",
    "intros_without_overlap": "intros_without_overlap",
    "intros_team_field": "intros_team_field",
    "intros_location_field": "intros_location_field",
    "intros_shared_channels": "intros_shared_channels",
    "digest_day": "digest_day",
    "window_start": "window_start",
    "window_end": "window_end",
    "language": "language",
}
LABELS = {
    "kudos_channel": N_("kudos channel"),
    "kudos_emoji": N_("kudos emoji"),
    "daily_kudos_limit": N_("daily kudos limit"),
    "daily_dm_budget": N_("daily DM budget per pair"),
    "tags": N_("tags"),
    "intros_channel": N_("intros channel"),
    "intros_cadence": N_("intros cadence"),
    "intros_group_size": N_("intros group size"),
    "intros_day": N_("intros day"),
    "intros_mode": N_("intros mode"),
    "welcome_newcomers": N_("welcome newcomers"),
    "intros_without_overlap": N_("intros without shared working hours"),
    "intros_team_field": N_("intros: profile field for team or manager"),
    "intros_location_field": N_("intros: profile field for location"),
    "intros_shared_channels": N_("intros: shared channels that keep people apart"),
    "digest_day": N_("digest day"),
    "window_start": N_("delivery window start"),
    "window_end": N_("delivery window end"),
    "language": N_("default language"),
}


class WorkspaceSettings(BaseModel):
    """Every setting a workspace's admins control; each invalid field says what would work.

    Values are kept as the workspace stores them (channel ids, minutes after midnight,
    weekday numbers); the validators also read the forms people write (`:tada:`, "friday",
    "every 2 weeks", "09:00").
    """

    model_config = ConfigDict(extra="forbid")

    kudos_channel: str | None = None
    kudos_emoji: str = "raised_hands"
    daily_kudos_limit: int = 5
    daily_dm_budget: int = DEFAULT_BUDGET
    tags: list[str] = []
    intros_channel: str | None = None
    intros_cadence: int = 2
    intros_group_size: int = 2
    intros_day: int = 0
    intros_mode: Literal["opt_in", "opt_out"] = "opt_in"
    welcome_newcomers: bool = True
    intros_without_overlap: bool = False
    intros_team_field: str | None = None
    intros_location_field: str | None = None
    intros_shared_channels: int = 0
    digest_day: int = 0
    window_start: int = 9 * 60
    window_end: int = 17 * 60
    language: str = i18n.DEFAULT

    @field_validator("kudos_channel", "intros_channel", mode="before")
    @classmethod
    def _channels(cls, value: Any, info: ValidationInfo) -> str | None:
        return _channel(value, str(info.field_name))

    @field_validator("kudos_emoji", mode="before")
    @classmethod
    def _emoji(cls, value: Any) -> str:
        text = str(value if value is not None else "").strip()
        name = text[1:-1] if len(text) > 2 and text[0] == text[-1] == ":" else text
        if not name:
            raise _refuse(_("Give an emoji name, such as :raised_hands:."))
        if ":" in name:
            raise _refuse(
                _(
                    "`{text}` is not one emoji name. Give it without a skin tone, such as :clap:.",
                    text=snippet(text),
                )
            )
        if not EMOJI.match(name):
            raise _refuse(
                _(
                    "`{text}` is not a Slack emoji name: lower-case letters, digits, - and _ "
                    "only, such as :raised_hands:.",
                    text=snippet(text),
                )
            )
        return name

    @field_validator("daily_kudos_limit", mode="before")
    @classmethod
    def _limit(cls, value: Any) -> int:
        if (limit := _whole(value, MAX_DAILY_LIMIT)) is None:
            raise _refuse(
                _(
                    "The daily limit is a whole number of kudos from 1 to {limit}.",
                    limit=i18n.format_number(MAX_DAILY_LIMIT),
                )
            )
        return limit

    @field_validator("daily_dm_budget", mode="before")
    @classmethod
    def _dm_budget(cls, value: Any) -> int:
        if (budget := _whole(value, MAX_BUDGET)) is None:
            raise _refuse(
                _(
                    "The daily DM budget is how many DMs one person can make allybot send one "
                    "colleague a day: a whole number from 1 to {limit}.",
                    limit=i18n.format_number(MAX_BUDGET),
                )
            )
        return budget

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            words = re.split(r"[\s,]+", value.strip())
        elif isinstance(value, list):
            # A nested list (or an alias tree) is no word, and its text can be huge: refused
            # before it is ever turned into text.
            for index, word in enumerate(value):
                if not isinstance(word, str | int | float):
                    raise _refuse(_("Each tag is one word, such as craft."), index=index)
            words = [str(w).strip() for w in value]
        else:
            raise _refuse(_("Give the tags as a list of words, such as [craft, customer-first]."))
        tags: list[str] = []
        for index, word in enumerate(words):
            tag = word.lstrip("#").lower()
            if not tag:
                continue
            if len(tag) > MAX_TAG_LENGTH or not TAG.match(tag):
                raise _refuse(
                    _(
                        "`#{tag}` can't be a tag: start with a letter, then letters, digits, "
                        "- or _, at most {limit} characters (such as #customer-first).",
                        tag=snippet(tag),
                        limit=i18n.format_number(MAX_TAG_LENGTH),
                    ),
                    index=index,
                )
            if tag not in tags and tag not in DEFAULT_TAGS:
                tags.append(tag)
        if len(tags) > MAX_TAGS:
            raise _refuse(
                _(
                    "That's {count} tags; a workspace can add at most {limit}.",
                    count=i18n.format_number(len(tags)),
                    limit=i18n.format_number(MAX_TAGS),
                )
            )
        return tags

    @field_validator("intros_cadence", mode="before")
    @classmethod
    def _cadence(cls, value: Any) -> int:
        text = " ".join(str(value).strip().lower().split())
        for weeks, name in CADENCES.items():
            if text in (name, str(weeks), f"{weeks} weeks", f"every {weeks} weeks"):
                return weeks
        raise _refuse(_("Intros run weekly, every 2 weeks or every 4 weeks."))

    @field_validator("intros_group_size", mode="before")
    @classmethod
    def _group_size(cls, value: Any) -> int:
        if isinstance(value, bool) or str(value).strip() not in ("2", "3", "4"):
            raise _refuse(_("Intros groups are pairs (2), threes (3) or fours (4)."))
        return int(str(value).strip())

    @field_validator("welcome_newcomers", mode="before")
    @classmethod
    def _welcome(cls, value: Any) -> bool:
        if value is None or isinstance(value, bool):
            return True if value is None else value
        text = str(value).strip().lower()
        if text in ("on", "yes", "true"):
            return True
        if text in ("off", "no", "false"):
            return False
        raise _refuse(_("Welcoming newcomers is `on` or `off`."))

    @field_validator(*intro_settings.PARSERS, mode="before")
    @classmethod
    def _intros_fit(cls, value: Any, info: ValidationInfo) -> Any:
        return intro_settings.PARSERS[str(info.field_name)](value)

    @field_validator("intros_mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> str:
        text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        if text not in MODES:
            raise _refuse(
                _(
                    "Intros are opt-in (people run `/ally intros join`) or opt-out (everyone in "
                    "the intros channel takes part unless they leave)."
                )
            )
        return text

    @field_validator("intros_day", "digest_day", mode="before")
    @classmethod
    def _days(cls, value: Any, info: ValidationInfo) -> int:
        return _day(value, str(info.field_name))

    @field_validator(*WINDOW, mode="before")
    @classmethod
    def _window_ends(cls, value: Any, info: ValidationInfo) -> int:
        return _clock(value, str(info.field_name))

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> str:
        text = " ".join(str(value if value is not None else "").strip().lower().split())
        by_name = {name.lower(): code for code, name in i18n.LANGUAGES.items()}
        code = by_name.get(text) or (text if text in i18n.LANGUAGES else None)
        if code is None:
            known = ", ".join(f"{c} ({n})" for c, n in i18n.LANGUAGES.items())
            raise _refuse(
                _(
                    "The default language is one allybot speaks: {known}. It is used for "
                    "channel posts, the digest, and people whose Slack language allybot "
                    "doesn't speak.",
                    known=known,
                )
            )
        return code

    @model_validator(mode="after")
    def _window(self) -> WorkspaceSettings:
        given = {"window_start", "window_end"} & self.model_fields_set
        if len(given) == 1:
            missing = ({"window_start", "window_end"} - given).pop()
            raise _WindowError(missing, _("Set both ends of the delivery window, or neither."))
        if given and self.window_end - self.window_start < 60:
            raise _WindowError(
                "window_end", _("End the delivery window at least an hour after it starts.")
            )
        return self

    @classmethod
    def of(cls, workspace: Workspace) -> WorkspaceSettings:
        """The settings a workspace has now, to prefill the modal."""
        return cls.model_construct(
            **{field: getattr(workspace, column) for field, column in COLUMNS.items()}
        )


def _whole(value: Any, high: int) -> int | None:
    """A whole number from 1 to `high` as written, or None. `isdecimal`, not `isdigit`:
    "²" is a digit that `int` cannot read."""
    text = str(value).strip() if value is not None else ""
    if isinstance(value, bool) or not text.isdecimal() or not 1 <= int(text) <= high:
        return None
    return int(text)


class _WindowError(ValueError):
    """A cross-field error on the window, kept with the field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _problem(item: Mapping[str, Any]) -> tuple[str, str]:
    """The field one pydantic error belongs to, and what to tell the person."""
    loc = item.get("loc") or ()
    field = str(loc[0]) if loc else ""
    error = (item.get("ctx") or {}).get("error")
    if isinstance(error, _WindowError):
        return error.field, str(error)
    if item["type"] == "extra_forbidden":
        return field, _(
            "`{field}` is not a setting allybot knows. Known: {known}.",
            field=field,
            known=", ".join(COLUMNS),
        )
    return field, str(item["msg"])


def field_errors(error: ValidationError) -> dict[str, str]:
    """One message per field (the modal's block id), from pydantic's errors."""
    errors: dict[str, str] = {}
    for item in error.errors():
        field, message = _problem(item)
        errors.setdefault(field, message)
    return errors


def validate(values: Mapping[str, Any]) -> WorkspaceSettings:
    """The model from raw values; raises pydantic's ValidationError (see `field_errors`)."""
    return WorkspaceSettings.model_validate(dict(values))


def describe(field: str, value: Any) -> str:
    """A stored value as a person or a settings file writes it."""
    if value is None or value == []:
        return "none"
    match field:
        case "kudos_channel" | "intros_channel":
            return str(value)
        case "kudos_emoji":
            return f":{value}:"
        case "tags":
            return ", ".join(f"#{t}" for t in value)
        case "intros_cadence":
            return CADENCES.get(int(value), f"every {value} weeks")
        case "intros_mode":
            return MODES.get(str(value), str(value))
        case "welcome_newcomers" | "intros_without_overlap":
            return "on" if value else "off"
        case "intros_shared_channels":
            return str(value) if value else "off"
        case "intros_day" | "digest_day":
            return DAYS[int(value)].title()
        case "window_start" | "window_end":
            return clock(int(value))
    return str(value)


@dataclass(frozen=True)
class FieldChange:
    """One setting that `apply` changed, as the admin or deployer is told it."""

    field: str
    old: str
    new: str

    def summary(self) -> str:
        """The change in the current language's words for the setting ("kudos channel: …")."""
        return _(
            "{setting}: {old} → {new}", setting=_(LABELS[self.field]), old=self.old, new=self.new
        )


async def exists(session: AsyncSession, *, team_id: str) -> bool:
    """Whether allybot has seen this workspace (installed, or a request from it)."""
    found = await session.execute(select(Workspace.team_id).where(Workspace.team_id == team_id))
    return found.first() is not None


async def apply(
    session: AsyncSession,
    *,
    team_id: str,
    settings: WorkspaceSettings,
    changed_by: str,
    now: datetime,
) -> list[FieldChange]:
    """Write the fields given in `settings` that differ from the workspace's, each recorded
    as a `SettingChange`; fields not given (a partial file) keep their values."""
    await people.ensure_workspace(session, team_id=team_id)
    # Lock the row so two admins saving at once record each other's changes in order.
    workspace = (
        await session.execute(
            select(Workspace).where(Workspace.team_id == team_id).with_for_update()
        )
    ).scalar_one()
    changes: list[FieldChange] = []
    for field, column in COLUMNS.items():
        if field not in settings.model_fields_set:
            continue
        old, new = getattr(workspace, column), getattr(settings, field)
        if old == new or (field == "tags" and list(old or []) == list(new)):
            continue
        setattr(workspace, column, list(new) if field == "tags" else new)
        change = FieldChange(field=field, old=describe(field, old), new=describe(field, new))
        session.add(
            SettingChange(
                team_id=team_id,
                changed_by=changed_by,
                field=field,
                old_value=change.old,
                new_value=change.new,
                changed_at=now,
            )
        )
        changes.append(change)
    await session.flush()
    return changes


async def recent_changes(
    session: AsyncSession, *, team_id: str, limit: int = 3 * len(COLUMNS)
) -> Sequence[SettingChange]:
    """The latest changes, newest first, for "last changed by" under the modal."""
    stmt = (
        select(SettingChange)
        .where(SettingChange.team_id == team_id)
        .order_by(SettingChange.changed_at.desc(), SettingChange.id.desc())
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


# -- the settings file --------------------------------------------------------------------


class SettingsFileError(ValueError):
    """A settings file allybot will not apply; `problems` name the lines to fix."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


TEAM_ID = re.compile(r"^T[A-Z0-9]{2,31}$")


def check_team_id(team_id: str) -> str:
    """A deployer's `--team`, refused unless it has the shape of a Slack workspace id."""
    if not TEAM_ID.match(team_id):
        raise SettingsFileError(
            [f"`{team_id}` is not a Slack workspace id: those start with T, such as T0123ABCD."]
        )
    return team_id


LABEL = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# A change record's author is a Slack user id when an admin saved it; a file's label must never
# look like one (or like an erased person's stand-in), or the history would credit someone else.
PERSON_LIKE = re.compile(r"^(?:[UW][A-Z0-9]{2,}|anon-.*)$")


def check_label(label: str) -> str:
    """Who applies a file, as the change record shows it: a plain name that can neither ping
    nor pass for a person in the history."""
    label = label.strip()
    if not LABEL.match(label):
        raise SettingsFileError(
            [
                f"--by `{snippet(label)}` is not a name: use 1 to 64 letters, digits, dots, "
                "dashes or underscores, such as deploy-bot"
            ]
        )
    if PERSON_LIKE.match(label):
        raise SettingsFileError(
            [
                f"--by `{label}` looks like a Slack person's id, so the history would credit them: "
                "use a name such as deploy-bot"
            ]
        )
    return label


@cache
def _loader() -> type[Any]:
    """YAML's safe loader, except that it reads an unquoted 17:00 as a time, where YAML 1.1
    reads the number 1020. Built on the first settings file (the YAML parser is imported
    then, not on every command's start: bot.content)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:int"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789")
    )
    return Loader


def parse_file(text: str, *, name: str = "settings file") -> WorkspaceSettings:
    """A settings file's YAML, checked by the modal's model; every problem with its line."""
    import yaml

    try:
        root = yaml.compose(text, Loader=_loader())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise SettingsFileError([f"{name}:{line}: not valid YAML: {exc.problem}"]) from None
    if root is None:
        raise SettingsFileError([f"{name}:1: the file is empty; write one `setting: value` a line"])
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1
        raise SettingsFileError([f"{name}:{line}: write one `setting: value` a line"])
    lines: dict[tuple[Any, ...], int] = {}
    problems: list[tuple[int, str]] = []
    for key_node, value_node in root.value:
        key = key_node.value
        line = key_node.start_mark.line + 1
        if (key,) in lines:
            problems.append((line, f"`{key}` is set twice (first on line {lines[(key,)]})"))
            continue
        lines[(key,)] = line
        if isinstance(value_node, yaml.SequenceNode):
            for index, item in enumerate(value_node.value):
                lines[(key, index)] = item.start_mark.line + 1
    try:
        data = yaml.load(text, Loader=_loader())  # a SafeLoader: yaml.safe_load's tags only
    except yaml.MarkedYAMLError as exc:  # e.g. !!python/object, which safe_load refuses
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        found = re.search(r"tag '([^']+)'", str(exc.problem))
        tag = found.group(1).replace("tag:yaml.org,2002:", "!!") if found else "a tag"
        raise SettingsFileError(
            [
                f"{name}:{line}: `{snippet(tag)}` is refused: settings files are read with "
                "yaml.safe_load, which takes plain values only; take the tag out"
            ]
        ) from None
    settings: WorkspaceSettings | None = None
    try:
        settings = validate({str(k): v for k, v in data.items()})
    except ValidationError as exc:
        for item in exc.errors():
            field, message = _problem(item)
            position = (item.get("ctx") or {}).get("index")
            at = (
                lines.get((field, position))
                or lines.get((field,))
                # "both ends of the window": the end that is there
                or min((lines[(f,)] for f in WINDOW if (f,) in lines), default=1)
            )
            problems.append((at, f"{field}: {message}"))
    if problems or settings is None:
        raise SettingsFileError([f"{name}:{line}: {problem}" for line, problem in sorted(problems)])
    return settings
