"""Usage text, shown for `/ally help`, unknown input and @-mentions."""

from __future__ import annotations

from bot.i18n import N_, _

# Each line of the overview and the commands it explains (what a direct message's answer
# picks lines by). The commands stay in English in every language; the words around them
# are the reader's.
LINES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("/kudos",),
        N_(
            "`/kudos @ann <why> [#tag]`: recognise what someone did, in the channel; they get "
            "a DM too. `/kudos private @ann <why>` sends it to them only."
        ),
    ),
    (
        ("/ally kudos",),
        N_(
            "`/ally kudos private|public`: whether kudos you receive are posted, or reach you "
            "by DM only."
        ),
    ),
    (
        ("/commit",),
        N_(
            "`/commit send the deck to @bob by Friday`: keep track of a promise; allybot "
            "reminds you and tells @bob. `/commit list` shows yours."
        ),
    ),
    (
        ("/ally add",),
        N_(
            "`/ally add @bob every 2 weeks` · `/ally list` · `/ally met @bob` · "
            "`/ally remove @bob`: a private ally list; allybot nudges you to reconnect."
        ),
    ),
    (
        ("/ally resolve",),
        N_("`/ally resolve @bob <topic>`: a guide to a direct conversation, and a follow-up."),
    ),
    (
        ("/ally intros",),
        N_(
            "`/ally intros join|leave|pause 4w|resume` · `/ally intros never @bob`: be paired "
            "now and then with someone from the intros channel you rarely work with; the "
            "never list is private."
        ),
    ),
    (
        ("/ally tips",),
        N_(
            "`/ally tips weekly|daily|off`: short tips on gossip-free, direct, respectful "
            "work, in a DM on your working days."
        ),
    ),
    (("/ally pause",), N_("`/ally pause 7d` · `/ally resume`: a break from every nudge.")),
    (
        ("/ally language",),
        N_(
            "`/ally language es|de|en` · `/ally language auto`: the language allybot writes "
            "to you in; auto follows your Slack language."
        ),
    ),
    (
        ("/ally quiet",),
        N_(
            "`/ally quiet 18:00-09:00` · `/ally quiet off`: hours when allybot stays silent "
            "(your time zone)."
        ),
    ),
    (
        ("/ally mute",),
        N_(
            "`/ally mute @bob` · `/ally unmute @bob` · `/ally mute`: stop someone's promises "
            "and kudos reaching you in a DM (they are not told); also on your Home tab."
        ),
    ),
    (
        ("/ally export",),
        N_("`/ally export`: everything allybot holds about you, as a JSON file in your DM."),
    ),
    (
        ("/ally forget-me",),
        N_("`/ally forget-me`: erase it (allybot asks first; kudos stay, anonymously)."),
    ),
    (
        ("/ally settings",),
        N_("`/ally settings`: all your preferences. Your Home tab shows your alliances."),
    ),
    (
        ("/ally admin",),
        N_(
            "`/ally admin`: workspace settings (kudos channel, emoji, daily limits, tags, "
            "intros, digest day, default delivery window), for the workspace's admins and "
            "owners."
        ),
    ),
    (
        ("/ally me",),
        N_(
            "`/ally me`: your breadth, reciprocity, follow-through and check-in rhythm, "
            "privately. `/ally report`: the workspace's figures, counts only, for admins."
        ),
    ),
    (("/ally help",), N_("`/ally help`: this overview.")),
)


def help_lines(commands: tuple[str, ...] | None = None) -> list[str]:
    """The overview's bullets in the reader's language; with `commands`, only the lines
    about those commands."""
    return [
        "• " + _(line)
        for explained, line in LINES
        if commands is None or any(c in commands for c in explained)
    ]


def ally_help_text() -> str:
    return "\n".join(
        [
            _("*allybot* helps you turn colleagues into allies."),
            *help_lines(),
            _(
                "allybot sends you at most one DM a day, on working days, inside your delivery "
                "window (the workspace's, 09:00–17:00 unless changed, or your own from "
                "`/ally settings`), your time. Everything it tells you about yourself stays "
                "private to you."
            ),
        ]
    )
