"""The answer to a message someone writes to allybot: the commands that fit what they asked,
taken from the `/ally help` overview so the two never disagree."""

from __future__ import annotations

import re

from bot.blocks.help import ally_help_text, help_lines
from bot.i18n import _

# Words people use for each thing allybot does (in English, Spanish and German: people write
# in their own language) -> the commands whose overview lines answer it.
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "kudos": (
        (
            "kudos",
            "thank",
            "thanks",
            "recognis",
            "recogniz",
            "appreciat",
            "praise",
            "shout",
            "gracias",
            "agradec",
            "reconoc",
            "danke",
            "dank",
            "anerkenn",
        ),
        ("/kudos", "/ally kudos"),
    ),
    "promises": (
        (
            "commit",
            "promise",
            "deadline",
            "due",
            "follow up",
            "follow-up",
            "todo",
            "compromiso",
            "promet",
            "promesa",
            "plazo",
            "zusage",
            "versprech",
            "frist",
        ),
        ("/commit",),
    ),
    "allies": (
        (
            "ally",
            "allies",
            "check-in",
            "check in",
            "checkin",
            "reconnect",
            "catch up",
            "1:1",
            "aliad",
            "al día",
            "verbündet",
            "melden",
        ),
        ("/ally add", "/ally resolve"),
    ),
    "intros": (
        (
            "intro",
            "pair",
            "meet",
            "coffee",
            "donut",
            "match",
            "presentac",
            "café",
            "cafe",
            "kennenlern",
            "kaffee",
        ),
        ("/ally intros",),
    ),
    "tips": (
        (
            "tip",
            "conduct",
            "conflict",
            "gossip",
            "feedback",
            "resolve",
            "difficult",
            "consejo",
            "conflicto",
            "chisme",
            "difícil",
            "konflikt",
            "klatsch",
            "schwierig",
        ),
        ("/ally tips", "/ally resolve"),
    ),
    "quiet": (
        (
            "pause",
            "quiet",
            "stop",
            "mute",
            "silence",
            "holiday",
            "vacation",
            "leave me",
            "too many",
            "paus",
            "silenc",
            "vacacion",
            "demasiad",
            "stumm",
            "ruhe",
            "urlaub",
            "zu viele",
        ),
        ("/ally pause", "/ally quiet", "/ally settings"),
    ),
    "language": (
        (
            "language",
            "english",
            "spanish",
            "german",
            "idioma",
            "español",
            "inglés",
            "alemán",
            "sprache",
            "deutsch",
            "englisch",
            "spanisch",
        ),
        ("/ally language",),
    ),
    "data": (
        (
            "export",
            "data",
            "privacy",
            "private",
            "forget",
            "delete",
            "erase",
            "gdpr",
            "datos",
            "privacidad",
            "olvid",
            "borra",
            "rgpd",
            "daten",
            "datenschutz",
            "vergiss",
            "lösch",
            "dsgvo",
        ),
        ("/ally export", "/ally forget-me", "/ally kudos"),
    ),
    "admin": (
        (
            "admin",
            "report",
            "channel",
            "emoji",
            "limit",
            "workspace",
            "digest",
            "stats",
            "informe",
            "canal",
            "resumen",
            "bericht",
            "kanal",
            "statistik",
        ),
        ("/ally admin", "/ally me"),
    ),
}
WORD = re.compile(r"[\w:/'-]+")


def topics_asked(text: str) -> list[str]:
    """The topics a message touches, in the overview's order: a word that starts with one
    of a topic's words ("tips", "pairing"), or one of its phrases ("check in")."""
    words = WORD.findall(text.lower())
    joined = " ".join(words)

    def fits(key: str) -> bool:
        return key in joined if " " in key else any(w.startswith(key) for w in words)

    return [topic for topic, (keys, __) in TOPICS.items() if any(fits(k) for k in keys)]


def dm_answer_text(text: str) -> str:
    """Only the overview's lines that fit the question; the whole overview when nothing
    does (a "hi", a question allybot has no word for)."""
    asked = topics_asked(text)
    if not asked:
        intro = _(
            "Hi! I can't chat, but here is what I do; each of these works anywhere in Slack, "
            "and `kudos @ann for …` works right here too."
        )
        return intro + "\n\n" + ally_help_text()
    commands = tuple(c for topic in asked for c in TOPICS[topic][1])
    lines = help_lines(commands)
    if "kudos" in asked:
        lines.append("• " + _("Or right here: `kudos @ann for the clear release notes #teamwork`."))
    return "\n".join(
        [
            _("I can't chat, but these should help:"),
            *lines,
            _("`/ally help` lists everything I do."),
        ]
    )
