"""Usage text, shown for `/ally help`, unknown input and @-mentions."""

from __future__ import annotations


def ally_help_text() -> str:
    return (
        "*allybot* helps you turn colleagues into allies.\n"
        "• `/kudos @ann <why> [#tag]`: recognise what someone did, in the channel; "
        "they get a DM too. `/kudos private @ann <why>` sends it to them only.\n"
        "• `/ally kudos private|public`: whether kudos you receive are posted, or reach you "
        "by DM only.\n"
        "• `/commit send the deck to @bob by Friday`: keep track of a promise; allybot "
        "reminds you and tells @bob. `/commit list` shows yours.\n"
        "• `/ally add @bob every 2 weeks` · `/ally list` · `/ally met @bob` · "
        "`/ally remove @bob`: a private ally list; allybot nudges you to reconnect.\n"
        "• `/ally resolve @bob <topic>`: a guide to a direct conversation, and a follow-up.\n"
        "• `/ally intros join|leave|pause 4w|resume` · `/ally intros never @bob`: be paired "
        "now and then with someone from the intros channel you rarely work with; the never "
        "list is private.\n"
        "• `/ally tips weekly|daily|off`: short tips on gossip-free, direct, respectful "
        "work, in a DM on your working days.\n"
        "• `/ally pause 7d` · `/ally resume`: a break from every nudge.\n"
        "• `/ally quiet 18:00-09:00` · `/ally quiet off`: hours when allybot stays silent "
        "(your time zone).\n"
        "• `/ally mute @bob` · `/ally unmute @bob` · `/ally mute`: stop someone's promises "
        "and kudos reaching you in a DM (they are not told); also on your Home tab.\n"
        "• `/ally export`: everything allybot holds about you, as a JSON file in your DM.\n"
        "• `/ally forget-me`: erase it (allybot asks first; kudos stay, anonymously).\n"
        "• `/ally settings`: all your preferences. Your Home tab shows your alliances.\n"
        "• `/ally admin`: workspace settings (kudos channel, emoji, daily limits, tags, intros, "
        "digest day, default delivery window), for the workspace's admins and owners.\n"
        "• `/ally me`: your breadth, reciprocity, follow-through and check-in rhythm, "
        "privately. `/ally report`: the workspace's figures, counts only, for admins.\n"
        "• `/ally help`: this overview.\n"
        "allybot sends you at most one DM a day, on working days, inside your delivery window "
        "(the workspace's, 09:00–17:00 unless changed, or your own from `/ally settings`), "
        "your time. Everything it tells you about yourself stays private to you."
    )
