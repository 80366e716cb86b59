"""Replies in the language of the person who acted, end to end: a person whose Slack locale is
es-ES (or de-DE) gets `/kudos`, `/commit` and `/ally` refusals and confirmations, a modal's
field errors, and the answer to a DM in their language, through `allybot serve` and the Slack
double; an English-speaking colleague in the same workspace still reads English."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot import i18n
from bot.services import workspace_settings
from tests import payloads
from tests.conftest import Server, Team
from tests.slack_double import Call, SlackDouble
from tests.test_admin_e2e import open_admin, submit
from tests.test_commitments_e2e import blocks_of, commit, press

# Per language: what the person's answers say (fragments of the catalogue's translations).
SAID = {
    "es-ES": {
        "who": "Menciona para quién son los kudos",
        "private": "Entregado en privado a <@",
        "self": "no puedes dártelos a ti",
        "tag": "No conozco la etiqueta #nonsense",
        "committed": "Te has comprometido a",
        "not_a_number": "no es un número de `/commit list`",
        "passed": "ya ha pasado",
        "none_open": "No tienes compromisos abiertos",
        "added": "está en tu lista de aliados, cada 2 semanas",
        "every": "cada 2 semanas",
        "monthly": "mensual",
        "not_listed": "no está en tu lista de aliados",
        "unknown": "No conozco `/ally frobnicate`",
        "paused": "En pausa: allybot no te enviará recordatorios durante 14 días",
        "mute_self": "No puedes silenciarte a ti",
        "modal_passed": "Esa hora ya ha pasado",
        "dm_logged": "registrados",
        "working_day": "es un día laborable, de lunes a viernes",
        "window": "Termina la franja de envío al menos una hora después de su inicio.",
        "saved": "Ajustes del espacio de trabajo guardados: límite diario de kudos: 5 → 3.",
        "headline": "Reconocidos en los últimos 7 días: no se muestra, menos de 5 personas",
        "series": "*Kudos dados:* Todas las semanas tienen menos de 5 personas",
    },
    "de-DE": {
        "who": "Erwähne, für wen die Kudos sind",
        "private": "Privat an <@",
        "self": "dir selbst kannst du keine geben",
        "tag": "Ich kenne den Tag #nonsense nicht",
        "committed": "Du hast zugesagt",
        "not_a_number": "ist keine Nummer aus `/commit list`",
        "passed": "schon vorbei",
        "none_open": "Keine offenen Zusagen",
        "added": "steht auf deiner Liste der Verbündeten, alle 2 Wochen",
        "every": "alle 2 Wochen",
        "monthly": "monatlich",
        "not_listed": "steht nicht auf deiner Liste der Verbündeten",
        "unknown": "Ich kenne `/ally frobnicate` nicht",
        "paused": "Pausiert: 14 Tage lang keine Erinnerungen von allybot",
        "mute_self": "Du kannst dich nicht selbst stummschalten",
        "modal_passed": "Diese Zeit ist schon vorbei",
        "dm_logged": "festgehalten",
        "working_day": "ist ein Arbeitstag, von Montag bis Freitag",
        "window": "Das Zustellfenster muss mindestens eine Stunde nach seinem Beginn enden.",
        "saved": "Workspace-Einstellungen gespeichert: tägliches Kudos-Limit: 5 → 3.",
        "headline": "In den letzten 7 Tagen gewürdigt: nicht angezeigt, weniger als 5 aktive",
        "series": "*Vergebene Kudos:* Jede Woche betrifft weniger als 5 Personen",
    },
}
LOCALES = list(SAID)


async def reply(
    server: Server, team: Team, slack: SlackDouble, user: str, command: str, text: str
) -> str:
    """The private answer to a slash command: its text, checked as Block Kit Slack accepts."""
    body, key = team.command(command, text, user_id=user)
    assert (await server.post(body))[0] == 200
    call = (await slack.wait_for("response_url", _key=key))[0]
    valid_blocks(call)
    return str(call.args["text"])


def valid_blocks(call: Call) -> None:
    """Every block parses as slack_sdk's model and is within Slack's limits."""
    for raw in blocks_of(call):
        block = Block.parse(raw)
        assert block is not None
        block.validate_json()


@pytest.mark.parametrize("locale", LOCALES)
async def test_kudos_refusals_in_the_givers_language(
    server: Server, team: Team, slack: SlackDouble, locale: str
) -> None:
    said = SAID[locale]
    ana, bob = team.user("ana", locale=locale), team.user("bob")
    assert said["who"] in await reply(server, team, slack, ana, "/kudos", "great demo")
    assert said["self"] in await reply(
        server, team, slack, ana, "/kudos", f"<@{ana}|ana> for being me"
    )
    assert said["tag"] in await reply(
        server, team, slack, ana, "/kudos", f"<@{bob}|bob> steady hands #nonsense"
    )
    # A private kudos is confirmed to its giver, in the giver's language.
    assert said["private"] in await reply(
        server, team, slack, ana, "/kudos", f"private <@{bob}|bob> for the calm demo"
    )
    # bob's Slack is in English: his refusal is too, in the same workspace.

    english = await reply(server, team, slack, bob, "/kudos", "great demo")
    assert english.startswith("Mention who the kudos are for.")


@pytest.mark.parametrize("locale", LOCALES)
async def test_commit_replies_in_the_owners_language(
    server: Server, team: Team, slack: SlackDouble, locale: str
) -> None:
    said = SAID[locale]
    ana, bob = team.user("ana", locale=locale, tz="Europe/Madrid"), team.user("bob")
    assert said["none_open"] in await reply(server, team, slack, ana, "/commit", "list")
    assert said["not_a_number"] in await reply(server, team, slack, ana, "/commit", "done x")
    assert said["passed"] in await reply(
        server, team, slack, ana, "/commit", "ship it by 2020-01-01"
    )
    made = await commit(server, team, slack, ana, f"send the plan to <@{bob}> by 2030-01-01")
    assert said["committed"] in str(made.args["text"])
    # The edit modal remembers the language it was opened in: its field errors, answered
    # in the ack before anyone is looked up, are in it too.
    await press(server, slack, team, ana, made, "commit_edit")
    opened = (await slack.wait_for("views.open", where=lambda c: _by(c, bob)))[-1]
    view = opened.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    status, body = await server.post(_commit_submission(team, ana, bob, view, 1_600_000_000))
    assert status == 200
    assert json.loads(body)["errors"]["due"].startswith(said["modal_passed"])


def _by(call: Call, user: str) -> bool:
    return user in json.dumps(call.args.get("view"))


def _commit_submission(team: Team, user: str, party: str, view: dict[str, Any], due: int) -> str:
    return payloads.view_submission(
        user_id=user,
        team_id=team.team_id,
        callback_id="commit_modal",
        private_metadata=view["private_metadata"],
        state_values={
            "what": {"what": {"type": "plain_text_input", "value": "send the plan"}},
            "due": {"due": {"type": "datetimepicker", "selected_date_time": due}},
            "parties": {"parties": {"type": "multi_users_select", "selected_users": [party]}},
            "tell": {"tell": {"type": "checkboxes", "selected_options": []}},
        },
    )


@pytest.mark.parametrize("locale", LOCALES)
async def test_ally_replies_in_the_persons_language(
    server: Server, team: Team, slack: SlackDouble, locale: str
) -> None:
    said = SAID[locale]
    ana, bob, cy = team.user("ana", locale=locale), team.user("bob"), team.user("cy")
    added = await reply(server, team, slack, ana, "/ally", f"add <@{bob}|bob> {said['every']}")
    assert said["added"] in added and f"<@{bob}>" in added
    # How often, said in their own words too: a month is 30 days.
    again = await reply(server, team, slack, ana, "/ally", f"add <@{bob}> {said['monthly']}")
    assert i18n.translations(locale[:2]).ngettext("every month", "every {n} months", 1) in again

    assert said["not_listed"] in await reply(server, team, slack, ana, "/ally", f"remove <@{cy}>")
    assert said["unknown"] in await reply(server, team, slack, ana, "/ally", "frobnicate")
    assert said["paused"] in await reply(server, team, slack, ana, "/ally", "pause 2w")
    assert said["mute_self"] in await reply(server, team, slack, ana, "/ally", f"mute <@{ana}>")


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_kudos_written_to_allybot_is_confirmed_in_the_givers_language(
    server: Server, team: Team, slack: SlackDouble, locale: str
) -> None:
    """A DM to allybot isn't a listener that enrols its author: the language kept for them
    (from an earlier command) is still the one they are answered in."""
    said = SAID[locale]
    ana, bob = team.user("ana", locale=locale), team.user("bob")
    await reply(server, team, slack, ana, "/ally", "help")  # allybot learns ana's locale
    event = payloads.message_event(
        channel="D" + ana[1:],
        user=ana,
        text=f"kudos <@{bob}> for the calm demo",
        team=team.team_id,
        channel_type="im",
    )
    assert (await server.post(payloads.event_callback(event, team_id=team.team_id)))[0] == 200

    answer = (
        await slack.wait_for(
            "chat.postMessage",
            channel=ana,
            where=lambda c: f"<@{bob}>" in str(c.args.get("text")),
        )
    )[0]
    assert said["dm_logged"] in str(answer.args["text"])


@pytest.mark.parametrize("locale", LOCALES)
async def test_workspace_settings_errors_and_saves_in_the_admins_language(
    server: Server, team: Team, slack: SlackDouble, locale: str
) -> None:
    """The admin modal's field errors (answered in the ack) and the DM after saving."""
    said = SAID[locale]
    ana = team.user("ana", is_admin=True, locale=locale)
    await open_admin(server, team, slack, ana)  # allybot learns ana's locale
    status, text = await submit(server, team, ana, intros_day="sunday")
    assert status == 200
    assert said["working_day"] in json.loads(text)["errors"]["intros_day"]
    status, text = await submit(server, team, ana, window_start="16:00", window_end="09:00")
    assert json.loads(text)["errors"] == {"window_end": said["window"]}
    status, text = await submit(server, team, ana, daily_kudos_limit="3")
    assert status == 200 and text == ""
    told = await slack.wait_for(
        "chat.postMessage", channel=ana, where=lambda c: "3." in str(c.args.get("text"))
    )
    assert said["saved"] in str(told[0].args["text"])


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_workspace_report_reads_in_the_admins_language(
    server: Server, team: Team, slack: SlackDouble, locale: str
) -> None:
    """`/ally report`: the headline and each series' reading, in Slack's limits."""
    said = SAID[locale]
    ana = team.user("ana", is_admin=True, locale=locale)
    body, key = team.command("/ally", "report", user_id=ana)
    assert (await server.post(body))[0] == 200
    call = (await slack.wait_for("response_url", _key=key))[0]
    valid_blocks(call)
    shown = json.dumps(blocks_of(call), ensure_ascii=False)
    assert said["headline"] in shown and said["series"] in shown


def test_a_settings_file_is_refused_in_english_for_the_deployer() -> None:
    """`allybot settings apply` speaks to whoever deploys allybot: the default language."""
    with pytest.raises(workspace_settings.SettingsFileError) as refused:
        workspace_settings.parse_file("intros_day: sunday\n")
    assert "The intros day is a working day, from Monday to Friday." in str(refused.value)


def test_every_reply_language_is_complete() -> None:
    """The refusals and confirmations above come from a catalogue with no gaps."""
    for code in ("es", "de"):
        with i18n.speaking(code):
            assert i18n._("Settings saved.") != "Settings saved."


# What may stay as written in a pseudo-language reply: translated runs, Slack's tokens,
# `code`, :emoji:, *bold* markers, numbers and punctuation.
UNTRANSLATED = re.compile(r"⟦[^⟧]*⟧|<[^<>]*>|`[^`]*`|:[a-z0-9_+\-]+:")


def english_left(text: str) -> list[str]:
    """Words of three letters or more outside every translated run and kept token."""
    return re.findall(r"[A-Za-z]{3,}", UNTRANSLATED.sub(" ", text))


async def test_every_reply_is_marked_in_the_pseudo_language(
    server: Server, team: Team, slack: SlackDouble
) -> None:
    """A person whose Slack speaks the pseudo language (accented, bracketed English) sees no
    bare English in `/kudos`, `/commit` and `/ally` refusals and confirmations."""
    ana = team.user("ana", locale="qps-PLOC", tz="Europe/Madrid")
    bob, cy = team.user("bob"), team.user("cy")
    asked = [
        ("/kudos", "help"),
        ("/kudos", "great demo"),
        ("/kudos", f"<@{ana}> for being me"),
        ("/kudos", f"<@{bob}> steady hands #nonsense"),
        ("/commit", "help"),
        ("/commit", "list"),
        ("/commit", "done x"),
        ("/commit", "drop 9"),
        ("/ally", f"add <@{bob}> every 2 weeks"),
        ("/ally", "list"),
        ("/ally", f"remove <@{cy}>"),
        ("/ally", f"met <@{bob}>"),
        ("/ally", "pause 2w"),
        ("/ally", "resume"),
        ("/ally", "quiet 18:00-09:00"),
        ("/ally", "tips daily"),
        ("/ally", "kudos private"),
        ("/ally", f"mute <@{ana}>"),
        ("/ally", "mute"),
        ("/ally", "intros"),
        ("/ally", "intros never"),
        ("/ally", "frobnicate"),
    ]
    for command, text in asked:
        said = await reply(server, team, slack, ana, command, text)
        assert i18n.PSEUDO_OPEN in said, (command, text, said)
        assert english_left(said) == [], (command, text, said)


TYPED = st.lists(
    st.one_of(
        st.sampled_from(["<@U0BOB>", "by", "every", "2", "weeks", "#nonsense", "<!here>", "&gt;"]),
        st.text(alphabet="abcz019 :-#@<>|&;`.,!?éß", max_size=8),
    ),
    max_size=8,
).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(typed=TYPED)
def test_a_refusal_of_anything_typed_is_all_translated(typed: str) -> None:
    """Whatever someone types after `/kudos`, `/commit`, `/ally pause|quiet|add`, a refusal is
    allybot's words in their language around what they typed (in `code`), never English."""
    from datetime import UTC, datetime

    from bot.services import allies, commitments, kudos, preferences
    from bot.services.when import WhenError, parse_when

    now = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    attempts = [
        lambda: kudos.parse_kudos_text(typed),
        lambda: commitments.parse_commit_text(typed),
        lambda: preferences.parse_duration(typed),
        lambda: preferences.parse_clock_range(typed),
        lambda: allies.parse_cadence(typed),
        lambda: parse_when(typed, tz="Europe/Madrid", now=now),
    ]
    refusals = (
        kudos.KudosRejected,
        commitments.CommitRejected,
        preferences.PreferenceError,
        allies.AllyRejected,
        WhenError,
    )
    with i18n.speaking(i18n.PSEUDO):
        for attempt in attempts:
            try:
                attempt()
            except refusals as exc:
                said = str(exc)
                assert said.startswith(i18n.PSEUDO_OPEN), said
                assert english_left(re.sub(r"#\w+", " ", said)) == [], said


@pytest.mark.parametrize(
    ("said", "days"),
    [
        ("every 2 weeks", 14),
        ("weekly", 7),
        ("every other week", 14),
        ("cada 2 semanas", 14),
        ("cada semana", 7),
        ("cada 10 días", 10),
        ("mensual", 30),
        ("quincenal", 14),
        ("alle 2 Wochen", 14),
        ("jeden Monat", 30),
        ("alle 10 Tage", 10),
        ("wöchentlich", 7),
        ("Täglich", 1),
    ],
)
def test_how_often_reads_english_spanish_and_german(said: str, days: int) -> None:
    from bot.services import allies

    assert allies.parse_cadence(said) == days


@pytest.mark.parametrize("said", ["cada año", "alle 0 Tage", "cada 400 días", "jede", "semanas 2"])
def test_how_often_refuses_what_it_cannot_read_in_any_language(said: str) -> None:
    from bot.services import allies

    with pytest.raises(allies.AllyRejected):
        allies.parse_cadence(said)
