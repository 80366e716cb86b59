"""Choosing a language through `allybot serve` and the Slack double: `/ally language`, the
pickers in the settings modal and on Home, the workspace default an admin sets, export and
forget-me."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.views import View

from bot import i18n
from bot.dashboard import pages
from bot.db import Database
from bot.models import Person, Workspace
from bot.services import preferences, workspace_settings
from bot.services.preferences import PreferenceError
from tests import payloads
from tests.conftest import Server, Team
from tests.slack_double import Call, SlackDouble
from tests.test_admin_e2e import open_admin, state
from tests.test_allies_e2e import wait_until
from tests.test_commitments_e2e import press
from tests.test_privacy_e2e import export_of


def view_of(call: Call) -> dict[str, Any]:
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


async def ally(server: Server, team: Team, slack: SlackDouble, user: str, text: str) -> str:
    body, key = team.command("/ally", text, user_id=user)
    assert (await server.post(body))[0] == 200
    return str((await slack.wait_for("response_url", _key=key))[0].args["text"])


async def person_of(db: Database, team_id: str, user_id: str) -> Person | None:
    async with db.session() as session:
        return await session.get(Person, (team_id, user_id))


async def open_home(server: Server, team: Team, slack: SlackDouble, user: str) -> dict[str, Any]:
    before = len(slack.calls_to("views.publish", user_id=user))
    event = payloads.app_home_opened_event(user=user, team_id=team.team_id)
    assert (await server.post(payloads.event_callback(event, team_id=team.team_id)))[0] == 200
    calls = await slack.wait_for("views.publish", user_id=user, count=before + 1)
    return view_of(calls[-1])


def language_block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    View(**view).validate_json()  # within Slack's limits, whatever the language
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


async def home_saying(
    slack: SlackDouble, user: str, line: str, *, count: int = 1
) -> dict[str, Any]:
    """The `count`th Home published for `user` whose language line reads `line`."""

    def says(call: Call) -> bool:
        blocks = view_of(call)["blocks"]
        return any(
            b.get("block_id") == "home_language" and b["text"]["text"] == line for b in blocks
        )

    return view_of(
        (await slack.wait_for("views.publish", user_id=user, where=says, count=count))[-1]
    )


def pick(user_id: str, team_id: str, value: str) -> str:
    """Home's language select, changed (Slack sends the chosen option, no value)."""
    body = payloads.block_actions(
        user_id=user_id,
        team_id=team_id,
        action_id="home_language",
        value="",
        block_id="home_language",
        view={"id": "V1", "type": "home"},
    )
    payload = json.loads(parse_qs(body)["payload"][0])
    action = payload["actions"][0]
    action.pop("value")
    action.pop("text")
    action["type"] = "static_select"
    action["selected_option"] = {"text": {"type": "plain_text", "text": value}, "value": value}
    return payloads.form_payload(payload)


async def test_ally_language_answers_in_the_new_language_and_auto_follows_slack(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann = team.user("ann", locale="en-US")
    said = await ally(server, team, slack, ann, "language es")
    assert said.startswith("A partir de ahora, allybot te habla en Español.")
    saved = await person_of(db, team.team_id, ann)
    assert saved is not None and saved.language == "es" and saved.slack_locale == "en-US"

    said = await ally(server, team, slack, ann, "language Deutsch")
    assert said.startswith("allybot spricht ab jetzt Deutsch mit dir.")

    # Bad input: said in the language in effect, privately, and nothing changes.
    said = await ally(server, team, slack, ann, "language klingon")
    assert said.startswith("allybot spricht English (`en`), Español (`es`) und Deutsch (`de`).")
    saved = await person_of(db, team.team_id, ann)
    assert saved is not None and saved.language == "de"
    said = await ally(server, team, slack, ann, "language")
    assert "`/ally language auto`" in said and "Schreib" in said

    said = await ally(server, team, slack, ann, "language auto")
    assert said.startswith("allybot follows your Slack language again: English.")
    saved = await person_of(db, team.team_id, ann)
    assert saved is not None and saved.language is None


async def test_home_picker_shows_slacks_language_and_the_choice_wins_over_it(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ana = team.user("ana", locale="es-ES")
    home = await open_home(server, team, slack, ana)
    block = language_block(home, "home_language")
    assert block["text"]["text"] == "*Idioma:* cómo te escribe allybot."
    picker = block["accessory"]
    assert picker["initial_option"]["value"] == "auto"
    assert [o["text"]["text"] for o in picker["options"]] == [
        "Idioma de Slack (Español)",
        "English",
        "Español",
        "Deutsch",
    ]

    assert (await server.post(pick(ana, team.team_id, "de")))[0] == 200
    block = language_block(
        await home_saying(slack, ana, "*Sprache:* wie allybot dir schreibt."), "home_language"
    )
    assert block["accessory"]["initial_option"]["value"] == "de"
    assert block["accessory"]["options"][0]["text"]["text"] == "Slack-Sprache (Español)"
    saved = await person_of(db, team.team_id, ana)
    assert saved is not None and saved.language == "de"

    # A reply to her own command follows her choice, not Slack's Spanish.
    assert (await ally(server, team, slack, ana, "language de")).startswith("allybot spricht")

    assert (await server.post(pick(ana, team.team_id, "auto")))[0] == 200
    back = await home_saying(slack, ana, "*Idioma:* cómo te escribe allybot.", count=2)
    assert language_block(back, "home_language")["accessory"]["initial_option"]["value"] == "auto"
    saved = await person_of(db, team.team_id, ana)
    assert saved is not None and saved.language is None


async def test_settings_modal_has_the_picker_and_saves_the_choice(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ana = team.user("ana", locale="es-ES")
    await open_home(server, team, slack, ana)
    body, _ = team.command("/ally", "settings", user_id=ana)
    assert (await server.post(body))[0] == 200
    (opened,) = await slack.wait_for("views.open", trigger_id=parse_qs(body)["trigger_id"][0])
    field = language_block(view_of(opened), "language")
    assert field["label"]["text"] == "Idioma"
    assert field["element"]["initial_option"]["text"]["text"] == "Idioma de Slack (Español)"

    def submit(language: str) -> str:
        fields: dict[str, Any] = {
            "language": {"type": "static_select", "selected_option": {"value": language}},
            "tips": {"type": "static_select", "selected_option": {"value": "weekly"}},
            "window_start": {"type": "timepicker", "selected_time": "09:00"},
            "window_end": {"type": "timepicker", "selected_time": "17:00"},
        }
        return payloads.view_submission(
            user_id=ana,
            team_id=team.team_id,
            callback_id="settings_modal",
            state_values={block: {block: value} for block, value in fields.items()},
        )

    status, text = await server.post(submit("tlh"))
    assert status == 200 and list(json.loads(text)["errors"]) == ["language"]
    status, text = await server.post(submit("en"))
    assert status == 200 and text == ""
    await home_saying(slack, ana, "*Language:* how allybot writes to you.")
    saved = await person_of(db, team.team_id, ana)
    assert saved is not None and saved.language == "en"


async def test_the_workspace_default_is_an_admin_setting_for_languages_allybot_lacks(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann = team.user("ann", is_admin=True)
    joao = team.user("joao", locale="pt-BR")  # a language allybot doesn't speak
    view = await open_admin(server, team, slack, ann)
    field = next(b for b in view["blocks"] if b.get("block_id") == "language")
    assert field["element"]["initial_option"]["value"] == "en"
    assert [o["value"] for o in field["element"]["options"]] == list(i18n.LANGUAGES)

    refused = payloads.view_submission(
        user_id=ann,
        team_id=team.team_id,
        callback_id="admin_settings_modal",
        state_values=state(language="tlh"),
    )
    status, text = await server.post(refused)
    assert status == 200 and "language" in json.loads(text)["errors"]

    saved = payloads.view_submission(
        user_id=ann,
        team_id=team.team_id,
        callback_id="admin_settings_modal",
        state_values=state(language="de"),
    )
    assert (await server.post(saved))[0] == 200
    await slack.wait_for(
        "chat.postMessage", channel=ann, where=lambda c: "default language" in str(c.args)
    )
    async with db.session() as session:
        workspace = await session.get(Workspace, team.team_id)
    assert workspace is not None and workspace.language == "de"

    home = await open_home(server, team, slack, joao)
    block = language_block(home, "home_language")
    assert block["text"]["text"] == "*Sprache:* wie allybot dir schreibt."
    assert block["accessory"]["options"][0]["text"]["text"] == "Slack-Sprache (Deutsch)"
    view = await open_admin(server, team, slack, ann)  # ann's own Slack language: English
    field = next(b for b in view["blocks"] if b.get("block_id") == "language")
    assert field["element"]["initial_option"]["value"] == "de"


async def test_export_holds_the_choice_and_forget_me_takes_it(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann = team.user("ann", locale="de-DE")
    await ally(server, team, slack, ann, "language es")
    __, data = await export_of(server, team, slack, ann)
    found = json.dumps(data)
    assert '"language": "es"' in found and '"slack_locale": "de-DE"' in found
    body, key = team.command("/ally", "forget-me", user_id=ann)
    assert (await server.post(body))[0] == 200
    (question,) = await slack.wait_for("response_url", _key=key)
    erased = await press(server, slack, team, ann, question, "privacy_erase")
    await slack.wait_for("response_url", _key=erased, timeout=10.0)
    assert await person_of(db, team.team_id, ann) is None  # the choice went with the person


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("es", "es"),
        (" ES ", "es"),
        ("es-MX", "es"),
        ("Español", "es"),
        ("spanish", "es"),
        ("de_AT", "de"),
        ("Deutsch", "de"),
        ("en-GB", "en"),
        ("English", "en"),
        ("auto", None),
        ("Slack", None),
    ],
)
def test_language_choice_reads_codes_names_and_locales(typed: str, code: str | None) -> None:
    assert preferences.language_choice(typed) == code


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_typed_language_is_a_shipped_one_auto_or_a_clear_refusal(typed: str) -> None:
    try:
        chosen = preferences.language_choice(typed)
    except PreferenceError as exc:
        assert "`/ally language auto`" in str(exc)
        return
    assert chosen is None or chosen in i18n.LANGUAGES


def test_the_settings_file_takes_a_default_language() -> None:
    assert workspace_settings.parse_file("language: Español\n").language == "es"
    assert workspace_settings.parse_file("language: de\n").language == "de"
    with pytest.raises(workspace_settings.SettingsFileError) as refused:
        workspace_settings.parse_file("window_start: '09:00'\nwindow_end: '17:00'\nlanguage: fr\n")
    assert refused.value.problems[0].startswith("settings file:3: language: The default language")


def test_the_dashboard_settings_page_offers_the_default_language() -> None:
    current = workspace_settings.WorkspaceSettings.model_construct(
        **(workspace_settings.WorkspaceSettings().model_dump() | {"language": "es"})
    )
    page = pages.settings_page(
        pages.form_values(current),
        chrome=pages.Chrome(is_admin=True, csrf="token", current=pages.SETTINGS),
        history=[],
        names={},
    )
    assert '<select id="language" name="language"' in page
    assert '<option value="es" selected>Español</option>' in page
    assert '<option value="de">Deutsch</option>' in page


async def test_a_change_of_slack_language_shows_in_the_next_reply_and_home(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann = team.user("ann", locale="es-ES")
    tips_daily = "You'll get a conduct tip each working day."
    with i18n.speaking("es"):
        spanish = i18n._(tips_daily)
    with i18n.speaking("de"):
        german = i18n._(tips_daily)
    await open_home(server, team, slack, ann)
    assert await ally(server, team, slack, ann, "tips daily") == spanish

    slack.set_locale(ann, "de-DE")
    event = payloads.event_callback(
        payloads.user_change_event(slack.user(ann)), team_id=team.team_id
    )
    assert (await server.post(event))[0] == 200

    async def asked_again() -> bool:
        found = await person_of(db, team.team_id, ann)
        return found is not None and found.profile_refreshed_at is None

    await wait_until(asked_again)
    assert await ally(server, team, slack, ann, "tips daily") == german
    await home_saying(slack, ann, "*Sprache:* wie allybot dir schreibt.")
