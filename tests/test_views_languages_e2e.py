"""allybot's views in each person's language: Home, help, modals and DMs through `allybot
serve` and the Slack double, for people whose Slack locale is Spanish or German, and the
pseudo language (every marked string bracketed) to find any string nobody marked."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot import i18n
from tests import payloads
from tests.conftest import Server, Team
from tests.slack_double import SlackDouble
from tests.test_commitments_e2e import commit
from tests.test_home_e2e import open_home, valid, view_of

# What one person in each language reads on each surface (a few words of each part).
HOME = {
    "es": ("Tus alianzas", "Solo lo ves tú.", "*Compromisos abiertos*", "Todos los ajustes"),
    "de": ("Deine Bündnisse", "Nur für dich sichtbar.", "*Offene Zusagen*", "Alle Einstellungen"),
}
HELP = {
    "es": ("te ayuda a convertir a tus colegas en aliados", "`/ally tips weekly|daily|off`"),
    "de": ("hilft dir, aus Kolleg:innen Verbündete zu machen", "`/ally tips weekly|daily|off`"),
}
SETTINGS = {
    "es": ("Ajustes de allybot", "Guardar", "Horas de silencio desde", "Consejos semanales"),
    "de": ("allybot-Einstellungen", "Speichern", "Ruhezeit ab", "Tipps wöchentlich"),
}
LOCALES = {"es": "es-ES", "de": "de-DE"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def texts_of(value: Any) -> list[str]:
    """Every text a person reads in a Block Kit payload (text objects, labels, titles)."""
    found: list[str] = []
    if isinstance(value, dict):
        if value.get("type") in ("plain_text", "mrkdwn") and isinstance(value.get("text"), str):
            found.append(value["text"])
        for key, item in value.items():
            if key not in ("text",) or not isinstance(item, str):
                found.extend(texts_of(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(texts_of(item))
    return found


# What may stay as it is in any language: placeholders' values (mentions, channels, dates
# Slack formats, times, numbers, time zones), emoji, code and the pseudo language's marks.
UNTRANSLATED = re.compile(
    r"⟦[^⟦⟧]*⟧|<[^<>]*>|:[a-z0-9_+\-]+:|`[^`]*`|[A-Z][a-z]+/[A-Za-z_]+|\bUTC\b|[\d:.,–%·•*_()\-]+"
)


def english_left(texts: list[str], allowed: tuple[str, ...] = ()) -> list[str]:
    """The words of `texts` that no catalogue string covered (outside the pseudo marks)."""
    left = []
    for text in texts:
        rest = UNTRANSLATED.sub(" ", text)
        for word in allowed:
            rest = rest.replace(word, " ")
        left.extend(w for w in re.findall(r"[A-Za-z]{2,}", rest))
    return left


async def ally(server: Server, team: Team, slack: SlackDouble, user: str, text: str) -> str:
    body, key = team.command("/ally", text, user_id=user)
    assert (await server.post(body))[0] == 200
    return str((await slack.wait_for("response_url", _key=key))[0].args["text"])


async def open_settings(
    server: Server, team: Team, slack: SlackDouble, user: str
) -> dict[str, Any]:
    before = len(slack.calls_to("views.open"))
    body, _ = team.command("/ally", "settings", user_id=user)
    assert (await server.post(body))[0] == 200
    opened = await slack.wait_for("views.open", count=before + 1)
    modal = view_of(opened[-1])
    assert modal["callback_id"] == "settings_modal"
    return modal


@pytest.mark.parametrize("language", ["es", "de"])
async def test_home_help_and_settings_in_the_persons_language(
    server: Server, team: Team, slack: SlackDouble, language: str
) -> None:
    ana = team.user("ana", locale=LOCALES[language], tz="Europe/Madrid")
    home = await open_home(server, team, slack, ana)
    valid(home)
    text = json.dumps(home, ensure_ascii=False)
    for words in HOME[language]:
        assert words in text, words
    assert "Your alliances" not in text and "All settings" not in text

    overview = await ally(server, team, slack, ana, "help")
    for words in HELP[language]:
        assert words in overview, words
    assert "helps you turn colleagues" not in overview

    modal = await open_settings(server, team, slack, ana)
    View(**modal).validate_json()
    text = json.dumps(modal, ensure_ascii=False)
    for words in SETTINGS[language]:
        assert words in text, words
    assert "Quiet hours" not in text


async def test_an_english_person_still_reads_english(
    server: Server, team: Team, slack: SlackDouble
) -> None:
    """Someone whose Slack speaks a language allybot doesn't (or English) reads English."""
    for locale in ("en-US", "pt-BR"):
        cy = team.user("cy", locale=locale)
        text = json.dumps(await open_home(server, team, slack, cy))
        assert "Your alliances" in text and "All settings" in text
        assert "helps you turn colleagues" in await ally(server, team, slack, cy, "help")


async def test_dates_and_lists_follow_the_language(
    server: Server, team: Team, slack: SlackDouble
) -> None:
    """A promise's date reads as the person's language writes it, its parties listed the
    same way, and the confirmation's buttons are theirs."""
    ana, bob, cy = (team.user(n, locale="es-ES", tz="Europe/Madrid") for n in ("ana", "bob", "cy"))
    reply = await commit(
        server, team, slack, ana, f"mandar el informe to <@{bob}> and <@{cy}> by 2030-01-04"
    )
    text = json.dumps(reply.args, ensure_ascii=False)
    assert "Te comprometiste a *mandar el informe* para" in text
    assert f"<@{bob}> y <@{cy}>" in text and "vie, 4 ene, 17:00" in text
    assert "Está bien" in text and "Editar" in text


@pytest.mark.parametrize("language", ["es", "de"])
async def test_the_views_fit_slack_with_longer_words(
    server: Server, team: Team, slack: SlackDouble, language: str
) -> None:
    """Home with promises, figures and the settings modal stay within Slack's limits in
    a longer language too, as slack_sdk's models check them."""
    ana, bob = team.user("ana", locale=LOCALES[language]), team.user("bob")
    for n in range(6):
        await commit(server, team, slack, ana, f"item {n} to <@{bob}> by 2030-01-0{n + 1}")
    await ally(server, team, slack, ana, "pause 7d")
    home = await open_home(server, team, slack, ana)
    valid(home)


async def test_the_pseudo_language_leaves_no_english_on_home(
    server: Server, team: Team, slack: SlackDouble
) -> None:
    """Every string on Home and in the settings modal is marked: in the pseudo language
    (each catalogue string bracketed and accented) no English word is left outside."""
    ana, bob = team.user("ana", locale=f"{i18n.PSEUDO}-ploc"), team.user("bob")
    await commit(server, team, slack, ana, f"zzz to <@{bob}> by 2030-01-04")
    await ally(server, team, slack, ana, "pause 7d")
    home = await open_home(server, team, slack, ana)
    valid(home)
    # The language picker names each language in itself.
    assert english_left(texts_of(home["blocks"]), allowed=("zzz", *i18n.LANGUAGES.values())) == []
    modal = await open_settings(server, team, slack, ana)
    View(**modal).validate_json()
    shown = texts_of([modal["title"], modal["submit"], *modal["blocks"]])
    assert english_left(shown, allowed=tuple(i18n.LANGUAGES.values())) == []


KUDOS_DM = {
    "es": ("te dio kudos", "Dar las gracias"),
    "de": ("hat dir Kudos", "Danke sagen"),
}
ADMIN = {
    "es": ("Admin de allybot", "Canal de kudos", "Cada 2 semanas", "lunes"),
    "de": ("allybot-Verwaltung", "Kudos-Channel", "Alle 2 Wochen", "Montag"),
}
GIVE_KUDOS = {
    "es": ("Dar kudos", "¿Qué hizo bien?", "Enviar en privado", "este mensaje"),
    "de": ("Kudos geben", "Was hat die Person gut gemacht?", "Privat senden", "diese Nachricht"),
}


def blocks_text(args: dict[str, Any]) -> str:
    blocks = args.get("blocks")
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return json.dumps(blocks or [], ensure_ascii=False)


@pytest.mark.parametrize("language", ["es", "de"])
async def test_a_kudos_dm_in_the_persons_language(
    server: Server, team: Team, slack: SlackDouble, language: str
) -> None:
    """Two colleagues who both read allybot in Spanish (German): the receiver's DM, with its
    button, in that language; the giver's words as they wrote them."""
    ana, bea = (team.user(n, locale=LOCALES[language]) for n in ("ana", "bea"))
    body, _ = team.command("/kudos", f"<@{bea}> gran demo #teamwork", user_id=ana)
    assert (await server.post(body))[0] == 200
    (dm,) = await slack.wait_for("chat.postMessage", channel=bea)
    text = blocks_text(dm.args)
    for words in KUDOS_DM[language]:
        assert words in text, words
    assert "gran demo" in text and "gave you kudos" not in text
    for block in json.loads(text):
        Block.parse(block).validate_json()


async def open_view(server: Server, slack: SlackDouble, body: str) -> dict[str, Any]:
    before = len(slack.calls_to("views.open"))
    assert (await server.post(body))[0] == 200
    opened = await slack.wait_for("views.open", count=before + 1)
    view = view_of(opened[-1])
    View(**view).validate_json()
    return view


def give_kudos_shortcut(team: Team, user: str, author: str) -> str:
    return payloads.message_shortcut(
        user_id=user,
        team_id=team.team_id,
        callback_id="give_kudos_for_message",
        channel_id=team.channel_id,
        message={"type": "message", "user": author, "ts": payloads.fresh_ts(), "text": "plan"},
    )


@pytest.mark.parametrize("language", ["es", "de"])
async def test_the_admin_modal_in_the_persons_language(
    server: Server, team: Team, slack: SlackDouble, language: str
) -> None:
    ana = team.user("ana", locale=LOCALES[language], is_admin=True)
    body, _ = team.command("/ally", "admin", user_id=ana)
    text = json.dumps(await open_view(server, slack, body), ensure_ascii=False)
    for words in ADMIN[language]:
        assert words in text, words
    assert "Kudos channel" not in text


async def test_the_pseudo_language_leaves_no_english_in_the_admin_modal_and_a_dm(
    server: Server, team: Team, slack: SlackDouble
) -> None:
    """The admin modal and a kudos DM carry no unmarked word."""
    pseudo = f"{i18n.PSEUDO}-ploc"
    ana, bea = team.user("ana", locale=pseudo, is_admin=True), team.user("bea", locale=pseudo)
    # Values Babel formats (weekday names: English in the pseudo language) and the languages'
    # own names are no strings of allybot's.
    names = (*i18n.LANGUAGES.values(), *WEEKDAYS)
    body, _ = team.command("/ally", "admin", user_id=ana)
    admin = await open_view(server, slack, body)
    shown = texts_of([admin["title"], admin["submit"], *admin["blocks"]])
    assert english_left(shown, allowed=names) == []
    body, _ = team.command("/kudos", f"<@{bea}> zzz #teamwork", user_id=ana)
    assert (await server.post(body))[0] == 200
    (dm,) = await slack.wait_for("chat.postMessage", channel=bea)
    blocks = json.loads(blocks_text(dm.args))
    assert english_left(texts_of(blocks), allowed=("zzz",)) == []


@pytest.mark.parametrize("language", ["es", "de"])
async def test_the_give_kudos_modal_in_the_persons_language(
    server: Server, team: Team, slack: SlackDouble, language: str
) -> None:
    """The message shortcut's modal speaks the language kept for the person who opened it."""
    ana, bob = team.user("ana", locale=LOCALES[language]), team.user("bob")
    await ally(server, team, slack, ana, "help")  # allybot knows ana (and her language)
    modal = await open_view(server, slack, give_kudos_shortcut(team, ana, bob))
    text = json.dumps(modal, ensure_ascii=False)
    for words in GIVE_KUDOS[language]:
        assert words in text, words
    assert "What did they do well?" not in text


async def test_a_kudos_dm_is_in_the_receivers_language_whoever_gives_it(
    server: Server, team: Team, slack: SlackDouble
) -> None:
    """An English speaker thanks a Spanish and a German speaker: each DM in its reader's
    language, the channel post in the workspace's (English by default)."""
    cy = team.user("cy")
    ana, bea = team.user("ana", locale="es-ES"), team.user("bea", locale="de-DE")
    body, _ = team.command("/kudos", f"<@{ana}> <@{bea}> great demo", user_id=cy)
    assert (await server.post(body))[0] == 200
    (to_ana,) = await slack.wait_for("chat.postMessage", channel=ana)
    (to_bea,) = await slack.wait_for("chat.postMessage", channel=bea)
    (post,) = await slack.wait_for("chat.postMessage", channel=team.channel_id)
    assert "te dio kudos" in blocks_text(to_ana.args) and "Dar las gracias" in blocks_text(
        to_ana.args
    )
    assert "hat dir Kudos" in blocks_text(to_bea.args)
    assert "te dio kudos" in str(to_ana.args["text"])
    assert "*Kudos to" in blocks_text(post.args)
