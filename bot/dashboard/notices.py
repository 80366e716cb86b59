"""The dashboard's one-message pages (signed out, refused, not allowed, erased) and its
short notes, each in the reader's language: built when the page is, never at import."""

from __future__ import annotations

from bot.dashboard.layout import ME, SIGNIN, message_page
from bot.i18n import _, ngettext


def _sign_in() -> tuple[str, str]:
    # Translators: a link to sign in again, as on Slack's own button.
    return (SIGNIN, _("Sign in with Slack"))


def _your_page() -> tuple[str, str]:
    # Translators: a link to the person's own dashboard page.
    return (ME, _("Your page"))


def session_ended() -> str:
    """A form sent after the session ended."""
    return message_page(
        _("Signed out"),
        _("Your session has ended, so nothing was changed."),
        link=_sign_in(),
    )


def form_expired(path: str) -> str:
    """A form whose CSRF token did not check out."""
    return message_page(
        _("Form expired"),
        _("This form could not be checked, so nothing was changed. Reload the page and try again."),
        link=(path, _("Back")),
    )


def admins_only() -> str:
    return message_page(
        _("For admins only"),
        _(
            "This page is for the workspace's Slack admins and owners. Your own figures are on "
            "your page."
        ),
        link=_your_page(),
    )


def too_many_sign_ins() -> str:
    return message_page(
        _("Too many sign-ins"),
        _(
            "Too many sign-ins were begun from here and not finished. Finish one in Slack, or "
            "try again in ten minutes."
        ),
    )


def cancelled() -> str:
    return message_page(
        _("Not signed in"),
        _("Sign-in was cancelled in Slack, so you are not signed in."),
        link=_sign_in(),
    )


# Why a sign-in did not complete (`SignInRefused.reason`): the status for each.
REFUSAL_STATUS = {
    "invalid_browser": 400,
    "invalid_state": 401,
    "missing_code": 400,
    "invalid_code": 401,
}


def _refusal(reason: str) -> str:
    match reason:
        case "invalid_browser":
            return _(
                "This sign-in link was opened in a different browser from the one that started "
                "it, or it has expired."
            )
        case "invalid_state":
            return _("This sign-in link has expired or was already used.")
        case "missing_code":
            return _("Slack did not send a sign-in code.")
    return _("Slack did not accept the sign-in; it may have been used already.")


def refused(reason: str) -> str:
    return message_page(
        _("Not signed in"),
        _refusal(reason),
        link=(SIGNIN, _("Sign in with Slack again")),
    )


def not_installed(team_name: str | None) -> str:
    if team_name:
        text = _(
            "allybot is not installed in {workspace}, or Slack does not list you there, so "
            "there is nothing to show.",
            workspace=team_name,
        )
    else:
        text = _(
            "allybot is not installed in this workspace, or Slack does not list you there, so "
            "there is nothing to show."
        )
    return message_page(
        _("allybot is not in this workspace"),
        text,
        link=("/slack/install", _("Install allybot")),
    )


def signed_out() -> str:
    return message_page(
        _("Signed out"),
        _("You are signed out of allybot's dashboard."),
        link=_sign_in(),
    )


def not_saved() -> str:
    return message_page(
        _("Not saved"),
        _("Slack no longer lists you as an admin or owner of this workspace, so nothing changed."),
        link=_your_page(),
    )


def nothing_erased() -> str:
    return message_page(
        _("Nothing erased"),
        _("Tick the box to confirm, then press Forget me again."),
        link=(ME, _("Back to your page")),
    )


def erased(deleted: int, anonymised: int) -> str:
    records = ngettext(
        "allybot deleted {n} record about you.",
        "allybot deleted {n} records about you.",
        deleted,
    )
    kept = ngettext(
        "The kudos you gave or received ({n}) keeps counting without your name.",
        "The kudos you gave or received ({n}) keep counting without your name.",
        anonymised,
    )
    return message_page(
        _("Your data is erased"),
        _("{records} {kudos} You are signed out.", records=records, kudos=kept),
    )


def saved(changed: int) -> str:
    """The note at the top of the settings page after a save."""
    if changed:
        return _("Settings saved.")
    return _("Settings saved; nothing had changed.")


def range_problem(reason: str) -> str:
    """Why the range asked for was not shown (the default, the last 13 weeks, is instead)."""
    match reason:
        case "format":
            return _("Give the dates as YYYY-MM-DD; showing the last 13 weeks.")
        case "order":
            return _("The start is after the end; showing the last 13 weeks.")
    return _("Choose at most a year; showing the last 13 weeks.")
