"""The dashboard's settings page: the `/ally admin` fields as a form, with each field's help
and each refusal in the reader's language, and who changed what, when."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from bot import i18n
from bot.blocks.admin import CADENCE_NAMES
from bot.dashboard.layout import SETTINGS, Chrome, csrf_field, document, mrkdwn
from bot.i18n import N_, _, ngettext
from bot.models import SettingChange
from bot.report_html import moment
from bot.services.dm_budget import MAX_BUDGET
from bot.services.intro_settings import MAX_SHARED_CHANNELS
from bot.services.workspace_settings import (
    CADENCES,
    DAYS,
    LABELS,
    MAX_DAILY_LIMIT,
    WORKING_DAYS,
    WorkspaceSettings,
    describe,
)

# -- settings ------------------------------------------------------------------------------


def form_values(current: WorkspaceSettings) -> dict[str, str]:
    """The stored settings as the form shows them (a setting added later shows as a
    settings file writes it)."""
    written = {
        name: "" if current.model_dump()[name] is None else describe(name, getattr(current, name))
        for name in LABELS
    }
    return written | {
        "kudos_channel": current.kudos_channel or "",
        "kudos_emoji": f":{current.kudos_emoji}:",
        "daily_kudos_limit": str(current.daily_kudos_limit),
        "daily_dm_budget": str(current.daily_dm_budget),
        "tags": ", ".join(f"#{t}" for t in current.tags),
        "intros_channel": current.intros_channel or "",
        "intros_cadence": str(current.intros_cadence),
        "intros_group_size": str(current.intros_group_size),
        "intros_day": DAYS[current.intros_day],
        "intros_mode": current.intros_mode,
        "digest_day": DAYS[current.digest_day],
        "window_start": describe("window_start", current.window_start),
        "window_end": describe("window_end", current.window_end),
    }


def _hint(name: str) -> str:
    """The help under a settings field, in the reader's language ("" for none)."""
    match name:
        case "kudos_channel":
            return _(
                "Where /kudos used in a DM is posted: a channel id (C…, in the channel's About "
                "tab). Empty for none."
            )
        case "kudos_emoji":
            return _("Reacting with this emoji gives kudos, such as :raised_hands:.")
        case "daily_kudos_limit":
            return _(
                "How many kudos one person may give a day, 1 to {most}.",
                most=i18n.format_number(MAX_DAILY_LIMIT),
            )
        case "daily_dm_budget":
            return _(
                "How many DMs one person's actions may make allybot send one colleague a day, "
                "1 to {most}; more wait for that colleague's next daily message.",
                most=i18n.format_number(MAX_BUDGET),
            )
        case "tags":
            return _("Extra #tags for /kudos, besides the built-in ones, separated by commas.")
        case "intros_channel":
            return _("The channel whose members are paired: a channel id (C…). Empty: no intros.")
        case "welcome_newcomers":
            return _("A welcome DM and a first intro for people who join the workspace.")
        case "intros_without_overlap":
            return _(
                "Off: intros never group people whose working hours (their delivery window in "
                "their own time zone) share no half hour. On: only when nobody else is left for "
                "them."
            )
        case "intros_team_field":
            return _(
                "A Slack profile field naming each person's team or manager (its label, such as "
                "Team, or its id Xf…): people with the same value are kept apart. Empty: not "
                "used."
            )
        case "intros_location_field":
            return _(
                "A Slack profile field naming each person's location (such as Office): people "
                "who meet in person are grouped at one location. Empty: not used."
            )
        case "intros_shared_channels":
            return _(
                "Keep apart people who share at least this many channels allybot is in, 2 to "
                "{most}; 0 or off: channels are not looked at.",
                most=i18n.format_number(MAX_SHARED_CHANNELS),
            )
        case "language":
            return _(
                "Channel posts and the weekly digest are in this language, and so is everything "
                "for people whose Slack language allybot doesn't speak."
            )
        case "window_start":
            return _(
                "People's nudges arrive within this window, in their own time zone, unless they "
                "choose their own."
            )
    return ""


def _input(name: str, value: str, kind: str = "text", extra: str = "") -> str:
    return (
        f'<input type="{kind}" id="{name}" name="{name}" value="{escape(value)}" '
        f'aria-describedby="{name}-hint {name}-error"{extra}>'
    )


def _options(name: str, choices: Mapping[str, str], value: str) -> str:
    options = "".join(
        f'<option value="{escape(v)}"{" selected" if v == value else ""}>{escape(label)}</option>'
        for v, label in choices.items()
    )
    return (
        f'<select id="{name}" name="{name}" aria-describedby="{name}-hint {name}-error">'
        f"{options}</select>"
    )


def _choices(name: str) -> Mapping[str, str] | None:
    """A field's choices (the value the form sends, and what the reader sees), if it has any."""
    match name:
        case "intros_cadence":
            return {str(k): _(CADENCE_NAMES.get(v, v)) for k, v in CADENCES.items()}
        case "intros_group_size":
            # Translators: the sizes of intros groups, as choices in a list.
            return {"2": _("Pairs"), "3": _("Groups of three"), "4": _("Groups of four")}
        case "intros_mode":
            return {"opt_in": _(OPT_IN), "opt_out": _(OPT_OUT)}
        case "welcome_newcomers" | "intros_without_overlap":
            return {"on": _(ON), "off": _(OFF)}
        case "intros_day" | "digest_day":
            return {d: i18n.weekday_name(DAYS.index(d)) for d in WORKING_DAYS}
        case "language":
            # Each language by its own name, as a language picker shows them.
            return dict(i18n.LANGUAGES)
    return None


# Translators: a menu choice, at most 75 characters.
OPT_IN = N_("Opt-in: people who run /ally intros join")
# Translators: a menu choice, at most 75 characters.
OPT_OUT = N_("Opt-out: everyone in the channel unless they leave")
# Translators: a setting's two choices.
ON, OFF = N_("On"), N_("Off")


def shown(field: str, stored: str | None) -> str:
    """A value from the change history (written as a settings file writes it) in the
    reader's words where allybot knows them: a weekday, a cadence, on or off, a language."""
    text = (stored or "").strip()
    lowered = text.lower()
    match field:
        case "intros_day" | "digest_day" if lowered in DAYS:
            return i18n.weekday_name(DAYS.index(lowered))
        case "intros_cadence" if lowered in CADENCE_NAMES:
            return _(CADENCE_NAMES[lowered])
        case "intros_mode" if lowered in ("opt-in", "opt_in"):
            return _(OPT_IN)
        case "intros_mode" if lowered in ("opt-out", "opt_out"):
            return _(OPT_OUT)
        case "welcome_newcomers" | "intros_without_overlap" if lowered in ("on", "off"):
            return _(ON) if lowered == "on" else _(OFF)
        case "language" if lowered in i18n.LANGUAGES:
            return i18n.LANGUAGES[lowered]
    if lowered == "none":
        # Translators: a setting with no value (no channel, no extra tags).
        return _("(none)")
    return text


def _control(name: str, value: str) -> str:
    choices = _choices(name)
    if choices is not None:
        return _options(name, choices, value)
    match name:
        case "daily_kudos_limit":
            return _input(name, value, "number", f' min="1" max="{MAX_DAILY_LIMIT}" step="1"')
        case "daily_dm_budget":
            return _input(name, value, "number", f' min="1" max="{MAX_BUDGET}" step="1"')
        case "intros_shared_channels":
            return _input(
                name,
                "0" if value == "off" else value,
                "number",
                f' min="0" max="{MAX_SHARED_CHANNELS}" step="1"',
            )
        case "window_start" | "window_end":
            return _input(name, value, "time")
    return _input(name, value)


def _label(name: str) -> str:
    """A field's label as a heading: the reader's words, first letter capitalised."""
    text = _(LABELS.get(name, name))
    return text[:1].upper() + text[1:]


def settings_page(
    values: Mapping[str, str],
    *,
    chrome: Chrome,
    history: Sequence[SettingChange],
    names: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    saved: str | None = None,
) -> str:
    """Admins: the `/ally admin` fields as a form, and who changed what, when."""
    errors = errors or {}
    title = _("Workspace settings")
    body = [f"<h1>{escape(title)}</h1>"]
    if saved:
        body.append(f'<p class="ok" role="status">{escape(saved)}</p>')
    if errors:
        problem = ngettext(
            "Nothing was saved: {n} field needs a change, marked below.",
            "Nothing was saved: {n} fields need a change, marked below.",
            len(errors),
        )
        body.append(f'<p class="problem" role="alert">{escape(problem)}</p>')
    body.append(f'<form method="post" action="{SETTINGS}" novalidate>{csrf_field(chrome.csrf)}')
    for name in LABELS:
        error = errors.get(name)
        body.append(
            f'<div class="field{" invalid" if error else ""}">'
            f'<label for="{name}">{escape(_label(name))}</label>'
            f"{_control(name, values.get(name, ''))}"
            f'<p class="hint" id="{name}-hint">{escape(_hint(name))}</p>'
            f'<p class="error" id="{name}-error">{mrkdwn(error or "")}</p></div>'
        )
    save, changes = escape(_("Save settings")), escape(_("Change history"))
    body.append(f'<button type="submit">{save}</button></form><h2>{changes}</h2>')
    if not history:
        none_yet = escape(_("No setting has been changed yet."))
        body.append(f"<p>{none_yet}</p>")
    else:
        rows = "".join(
            f"<tr><td>{escape(names.get(c.changed_by, c.changed_by))}</td>"
            f"<td>{escape(_(LABELS.get(c.field, c.field)))}: "
            f"{escape(shown(c.field, c.old_value))} → {escape(shown(c.field, c.new_value))}</td>"
            f"<td>{escape(moment(c.changed_at))}</td></tr>"
            for c in history
        )
        # Translators: the change history's column headings.
        who, what, when = escape(_("Who")), escape(_("What")), escape(_("When"))
        body.append(
            f'<div class="scroll"><table><thead><tr><th scope="col">{who}</th>'
            f'<th scope="col">{what}</th><th scope="col">{when}</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )
    return document(title, "".join(body), chrome)
