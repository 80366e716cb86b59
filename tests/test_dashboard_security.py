"""The dashboard's sign-in and what a session may see, against a real `allybot serve` for many
workspaces and the Slack double's Sign in with Slack stand-in (no browser: see
test_dashboard_browser.py for Chromium)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select, update

from bot.db import Database
from bot.models import SLACK_OAUTH_STATES, DashboardSession, Kudos, SettingChange, Workspace
from tests.conftest import Server
from tests.dashboard import (
    SESSION,
    authorize,
    begin,
    callback,
    csrf_of,
    fetch,
    installed,
    sign_in,
    submit,
)
from tests.installs import CLIENT_ID
from tests.slack_double import SlackDouble


async def test_no_session_is_sent_to_sign_in_with_slack(
    dash_server: Server, slack: SlackDouble
) -> None:
    for path in ("/dashboard", "/dashboard/workspace", "/dashboard/settings", "/dashboard/me"):
        status, _, headers = await fetch(dash_server, path)
        assert (status, headers["Location"]) == (302, "/dashboard/signin"), path
    status, page, _ = await submit(dash_server, "/dashboard/settings", None, {"csrf": "x"})
    assert status == 401 and "nothing was changed" in page

    begun = await begin(dash_server.http, dash_server.url)
    where = urlsplit(begun.location)
    # Slack's authorize page is on SLACK_API_URL's host: here the double.
    assert f"{where.scheme}://{where.netloc}" == slack.origin
    assert where.path == "/openid/connect/authorize"
    query = parse_qs(where.query)
    assert query["client_id"] == [CLIENT_ID] and query["response_type"] == ["code"]
    assert set(query["scope"][0].split(",")) == {"openid", "profile"}
    assert query["redirect_uri"] == [f"{dash_server.url}/dashboard/callback"]
    assert begun.state == begun.cookie_state
    flags = {part.strip().lower() for part in begun.set_cookie.split(";")}
    assert {"httponly", "secure", "samesite=lax", "path=/dashboard"} <= flags


async def test_admin_and_member_see_what_they_may(
    dash_server: Server, slack: SlackDouble, db: Database
) -> None:
    ws = await installed(dash_server, slack)
    slack.clear_calls()
    admin = await sign_in(dash_server, slack, ws.admin)
    # Asked of Slack at sign-in, with the workspace's own bot token.
    (asked,) = slack.calls_to("users.info", user=ws.admin)
    assert asked.token == ws.token
    assert (await slack.wait_for("openid.connect.token"))[0].args["client_id"] == CLIENT_ID
    status, _, headers = await fetch(dash_server, "/dashboard", admin)
    assert (status, headers["Location"]) == (302, "/dashboard/workspace")
    for path in ("/dashboard/workspace", "/dashboard/settings", "/dashboard/me"):
        status, page, headers = await fetch(dash_server, path, admin)
        assert status == 200, (path, page)
        assert "default-src 'none'" in headers["Content-Security-Policy"]

    member = await sign_in(dash_server, slack, ws.member)
    status, _, headers = await fetch(dash_server, "/dashboard", member)
    assert (status, headers["Location"]) == (302, "/dashboard/me")
    status, page, _ = await fetch(dash_server, "/dashboard/me", member)
    assert status == 200 and 'href="/dashboard/workspace"' not in page
    for path in (
        "/dashboard/workspace",
        "/dashboard/workspace.csv",
        "/dashboard/workspace.json",
        "/dashboard/settings",
    ):
        status, page, _ = await fetch(dash_server, path, member)
        assert status == 403 and "admins and owners" in page, path
    status, page, _ = await submit(
        dash_server,
        "/dashboard/settings",
        member,
        {"csrf": csrf_of((await fetch(dash_server, "/dashboard/me", member))[1])},
    )
    assert status == 403
    async with db.session() as session:
        changes = await session.execute(
            select(SettingChange).where(SettingChange.team_id == ws.team.team_id)
        )
        assert changes.scalars().all() == []


async def test_forged_replayed_expired_and_foreign_states_are_refused(
    dash_server: Server, slack: SlackDouble, db: Database
) -> None:
    ws = await installed(dash_server, slack)
    slack.sign_in_as(ws.admin)
    http = dash_server.http

    # Forged: a state allybot never issued, even with a cookie that matches it.
    begun = await begin(http, dash_server.url)
    back = await authorize(http, begun.location.replace(begun.state, "forged"))
    status, page, jar = await callback(http, back, "forged")
    assert status == 401 and "expired or was already used" in page and SESSION not in jar
    # Foreign: a real state, but the browser coming back is not the one that started.
    begun = await begin(http, dash_server.url)
    back = await authorize(http, begun.location)
    status, page, jar = await callback(http, back, "someone-else")
    assert status == 400 and "different browser" in page and SESSION not in jar
    status, page, jar = await callback(http, back, None)
    assert status == 400 and SESSION not in jar
    # Replayed: the first use signs in, the same state again is refused.
    begun = await begin(http, dash_server.url)
    back = await authorize(http, begun.location)
    assert (await callback(http, back, begun.cookie_state))[0] == 303
    status, page, jar = await callback(http, back, begun.cookie_state)
    assert status == 401 and SESSION not in jar
    # Expired: issued more than ten minutes ago.
    begun = await begin(http, dash_server.url)
    async with db.session() as session:
        await session.execute(
            update(SLACK_OAUTH_STATES)
            .where(SLACK_OAUTH_STATES.c.state == begun.state)
            .values(expire_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1))
        )
    back = await authorize(http, begun.location)
    status, page, jar = await callback(http, back, begun.cookie_state)
    assert status == 401 and SESSION not in jar
    # Cancelled on Slack's consent screen.
    slack.sign_in_as(ws.admin, deny=True)
    begun = await begin(http, dash_server.url)
    status, page, jar = await callback(http, await authorize(http, begun.location), None)
    assert status == 200 and "cancelled" in page and SESSION not in jar


async def test_a_workspace_without_allybot_gets_no_session(
    dash_server: Server, slack: SlackDouble
) -> None:
    from tests.conftest import Team

    stranger = Team(slack=slack).user("someone", is_admin=True)
    slack.sign_in_as(stranger)
    begun = await begin(dash_server.http, dash_server.url)
    status, page, jar = await callback(
        dash_server.http, await authorize(dash_server.http, begun.location), begun.cookie_state
    )
    assert status == 403 and "not installed" in page and SESSION not in jar


async def test_forms_without_the_csrf_token_change_nothing(
    dash_server: Server, slack: SlackDouble, db: Database
) -> None:
    ws = await installed(dash_server, slack)
    admin = await sign_in(dash_server, slack, ws.admin)
    other = await sign_in(dash_server, slack, ws.admin)
    form = {"kudos_emoji": ":tada:", "daily_kudos_limit": "7", "window_start": "09:00"}
    status, page, _ = await submit(dash_server, "/dashboard/settings", admin, form)
    assert status == 403 and "nothing was changed" in page
    # Another session's token is not this session's.
    other_token = csrf_of((await fetch(dash_server, "/dashboard/settings", other))[1])
    status, _, _ = await submit(
        dash_server, "/dashboard/settings", admin, {**form, "csrf": other_token}
    )
    assert status == 403
    status, _, _ = await submit(dash_server, "/dashboard/signout", admin, {})
    assert status == 403
    status, _, _ = await submit(dash_server, "/dashboard/me/forget", admin, {"confirm": "yes"})
    assert status == 403
    async with db.session() as session:
        workspace = await session.get(Workspace, ws.team.team_id)
        assert workspace is not None and workspace.kudos_emoji == "raised_hands"
    # Still signed in: nothing was erased or ended.
    assert (await fetch(dash_server, "/dashboard/me", admin))[0] == 200


async def test_settings_are_checked_by_the_admin_models_rules(
    dash_server: Server, slack: SlackDouble, db: Database
) -> None:
    ws = await installed(dash_server, slack)
    admin = await sign_in(dash_server, slack, ws.admin)
    page = (await fetch(dash_server, "/dashboard/settings", admin))[1]
    form = {
        "csrf": csrf_of(page),
        "kudos_channel": "",
        "kudos_emoji": ":clap::skin-tone-2:",
        "daily_kudos_limit": "500",
        "daily_dm_budget": "5",
        "tags": "#craft",
        "intros_channel": "",
        "intros_cadence": "2",
        "intros_group_size": "2",
        "intros_day": "monday",
        "intros_mode": "opt_in",
        "digest_day": "monday",
        "window_start": "17:00",
        "window_end": "09:00",
    }
    status, page, _ = await submit(dash_server, "/dashboard/settings", admin, form)
    assert status == 400 and "Nothing was saved" in page
    assert "without a skin tone" in page and "from 1 to 50" in page
    assert 'value=":clap::skin-tone-2:"' in page, "what the admin typed is kept"
    form.update(kudos_emoji=":tada:", daily_kudos_limit="8")
    status, page, _ = await submit(dash_server, "/dashboard/settings", admin, form)
    assert status == 400 and "at least an hour after it starts" in page
    async with db.session() as session:
        workspace = await session.get(Workspace, ws.team.team_id)
        assert workspace is not None and workspace.daily_kudos_limit == 5

    form.update(window_start="08:00", window_end="18:00")
    status, _, headers = await submit(dash_server, "/dashboard/settings", admin, form)
    assert (status, headers["Location"]) == (303, "/dashboard/settings?saved=5")
    page = (await fetch(dash_server, "/dashboard/settings?saved=5", admin))[1]
    assert "Settings saved." in page and "ada.admin" in page and ":tada:" in page
    async with db.session() as session:
        workspace = await session.get(Workspace, ws.team.team_id)
        assert workspace is not None
        assert (workspace.kudos_emoji, workspace.daily_kudos_limit) == ("tada", 8)
        assert workspace.custom_tags == ["craft"]
        by = await session.execute(
            select(SettingChange.changed_by).where(SettingChange.team_id == ws.team.team_id)
        )
        assert set(by.scalars()) == {ws.admin}


async def test_admin_rights_are_asked_again_after_an_hour(
    dash_server: Server, slack: SlackDouble, db: Database
) -> None:
    ws = await installed(dash_server, slack)
    admin = await sign_in(dash_server, slack, ws.admin)
    slack.add_user(ws.admin, team_id=ws.team.team_id, name="ada.admin", is_admin=False)
    slack.clear_calls()
    # Within the hour the answer Slack gave at sign-in stands.
    assert (await fetch(dash_server, "/dashboard/workspace", admin))[0] == 200
    assert slack.calls_to("users.info", user=ws.admin) == []
    async with db.session() as session:
        await session.execute(
            update(DashboardSession)
            .where(DashboardSession.user_id == ws.admin)
            .values(admin_checked_at=datetime.now(UTC) - timedelta(minutes=61))
        )
    status, page, _ = await fetch(dash_server, "/dashboard/workspace", admin)
    assert status == 403 and "admins and owners" in page
    assert len(slack.calls_to("users.info", user=ws.admin)) == 1
    # A deactivated account loses the session altogether.
    slack.add_user(ws.admin, team_id=ws.team.team_id, name="ada.admin", deleted=True)
    async with db.session() as session:
        await session.execute(
            update(DashboardSession)
            .where(DashboardSession.user_id == ws.admin)
            .values(admin_checked_at=datetime.now(UTC) - timedelta(hours=2))
        )
    status, _, headers = await fetch(dash_server, "/dashboard/me", admin)
    assert (status, headers["Location"]) == (302, "/dashboard/signin")


async def test_tampered_expired_and_signed_out_sessions_are_refused(
    dash_server: Server, slack: SlackDouble, db: Database
) -> None:
    ws = await installed(dash_server, slack)
    session_cookie = await sign_in(dash_server, slack, ws.member)
    value, _, mac = session_cookie.rpartition(".")
    for forged in (f"{value}x.{mac}", f"{value}.{mac[:-2]}AA", value, "anything"):
        status, _, _ = await fetch(dash_server, "/dashboard/me", forged)
        assert status == 302, forged
    async with db.session() as session:
        await session.execute(
            update(DashboardSession)
            .where(DashboardSession.user_id == ws.member)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert (await fetch(dash_server, "/dashboard/me", session_cookie))[0] == 302

    fresh = await sign_in(dash_server, slack, ws.member)
    token = csrf_of((await fetch(dash_server, "/dashboard/me", fresh))[1])
    status, page, headers = await submit(dash_server, "/dashboard/signout", fresh, {"csrf": token})
    assert status == 200 and "signed out" in page
    assert any(
        c.startswith(f"{SESSION}=") and "max-age=0" in c.lower()
        for c in headers.getall("Set-Cookie")  # type: ignore[union-attr]
    )
    # The cookie, replayed after signing out, opens nothing.
    assert (await fetch(dash_server, "/dashboard/me", fresh))[0] == 302


async def test_another_workspaces_figures_are_never_shown(
    dash_server: Server, slack: SlackDouble, db: Database
) -> None:
    ours = await installed(dash_server, slack, "Ours")
    theirs = await installed(dash_server, slack, "Theirs")
    now = datetime.now(UTC)
    async with db.session() as session:
        for ws, count in ((ours, 3), (theirs, 40)):
            for i in range(count):
                session.add(
                    Kudos(
                        team_id=ws.team.team_id,
                        giver_id=ws.member,
                        receiver_id=ws.admin,
                        text=f"secret kudos text {ws.team.team_id}",
                        source="command",
                        source_key=f"k{i}",
                        created_at=now - timedelta(minutes=i),
                    )
                )
    admin = await sign_in(dash_server, slack, ours.admin)
    status, body, _ = await fetch(dash_server, "/dashboard/workspace.json", admin)
    data = json.loads(body)
    assert status == 200 and data["team_id"] == ours.team.team_id
    kudos = next(s for s in data["series"] if s["key"] == "kudos")
    shown = [w["value"] for w in kudos["weeks"] if w["value"] != "fewer than 5"]
    assert 40 not in shown
    for path in ("/dashboard/workspace", "/dashboard/workspace.csv", "/dashboard/me"):
        page = (await fetch(dash_server, path, admin))[1]
        assert theirs.team.team_id not in page and theirs.admin not in page
        assert "secret kudos text" not in page
    # The workspace page names nobody: no user ids, no names, no kudos text.
    page = (await fetch(dash_server, "/dashboard/workspace", admin))[1]
    for secret in (ours.admin, ours.member, "ada.admin", "max.member", "secret kudos"):
        assert secret not in page
    # Their admin's session sees theirs, never ours.
    their_admin = await sign_in(dash_server, slack, theirs.admin)
    data = json.loads((await fetch(dash_server, "/dashboard/workspace.json", their_admin))[1])
    assert data["team_id"] == theirs.team.team_id


async def test_dashboard_is_off_without_the_client_pair(server: Server) -> None:
    log = server.log()
    lines = [ln for ln in log.splitlines() if "dashboard" in ln]
    assert len(lines) == 1 and "dashboard off" in lines[0] and "SLACK_CLIENT_ID" in lines[0]
    # Said before where allybot listens, the start-up's last line (what a supervisor waits
    # for): a health probe's log read from then on holds nothing of the start-up.
    assert log.index("dashboard off") < log.index("serving on")
    assert (await server.get("/dashboard"))[0] == 404


async def test_dashboard_says_it_is_on_with_its_redirect_url(dash_server: Server) -> None:
    lines = [ln for ln in dash_server.log().splitlines() if "dashboard on" in ln]
    assert len(lines) == 1 and "/dashboard/callback" in lines[0]


async def test_me_exports_and_forgets_only_the_person_signed_in(
    dash_server: Server, slack: SlackDouble, db: Database
) -> None:
    ws = await installed(dash_server, slack)
    now = datetime.now(UTC)
    async with db.session() as session:
        for i, (giver, receiver) in enumerate(((ws.admin, ws.member), (ws.member, ws.admin))):
            session.add(
                Kudos(
                    team_id=ws.team.team_id,
                    giver_id=giver,
                    receiver_id=receiver,
                    text="thanks for the review",
                    source="command",
                    source_key=f"me{i}",
                    created_at=now - timedelta(days=1),
                )
            )
    member = await sign_in(dash_server, slack, ws.member)
    other_session = await sign_in(dash_server, slack, ws.member)
    admin = await sign_in(dash_server, slack, ws.admin)

    status, body, headers = await fetch(dash_server, "/dashboard/me/export.json", member)
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    data = json.loads(body)
    assert data["user_id"] == ws.member and data["team_id"] == ws.team.team_id

    page = (await fetch(dash_server, "/dashboard/me", member))[1]
    token = csrf_of(page)
    # Without the box ticked nothing happens.
    status, page, _ = await submit(dash_server, "/dashboard/me/forget", member, {"csrf": token})
    assert status == 400 and "Nothing erased" in page
    slack.clear_calls()
    status, page, headers = await submit(
        dash_server, "/dashboard/me/forget", member, {"csrf": token, "confirm": "yes"}
    )
    assert status == 200 and "Your data is erased" in page
    assert any(
        c.startswith(f"{SESSION}=") and "max-age=0" in c.lower()
        for c in headers.getall("Set-Cookie")  # type: ignore[union-attr]
    )
    published = (await slack.wait_for("views.publish", user_id=ws.member))[0]
    assert published.token == ws.token
    # Every session of theirs is over; the admin's is not.
    for cookie in (member, other_session):
        assert (await fetch(dash_server, "/dashboard/me", cookie))[0] == 302
    assert (await fetch(dash_server, "/dashboard/me", admin))[0] == 200
    async with db.session() as session:
        rows = await session.execute(
            select(Kudos.giver_id, Kudos.receiver_id).where(Kudos.team_id == ws.team.team_id)
        )
        pairs = rows.all()
        left = await session.execute(
            select(DashboardSession).where(DashboardSession.user_id == ws.member)
        )
        assert left.scalars().all() == []
    assert all(ws.member not in pair for pair in pairs) and len(pairs) == 2
    assert all(ws.admin in pair for pair in pairs)


async def test_a_form_without_a_setting_leaves_that_setting_alone(
    dash_server: Server, slack: SlackDouble, db: Database
) -> None:
    """A page rendered before a setting existed still saves what it shows."""
    ws = await installed(dash_server, slack)
    admin = await sign_in(dash_server, slack, ws.admin)
    token = csrf_of((await fetch(dash_server, "/dashboard/settings", admin))[1])
    status, _, headers = await submit(
        dash_server, "/dashboard/settings", admin, {"csrf": token, "daily_kudos_limit": "9"}
    )
    assert (status, headers["Location"]) == (303, "/dashboard/settings?saved=1")
    async with db.session() as session:
        workspace = await session.get(Workspace, ws.team.team_id)
        assert workspace is not None
        assert (workspace.daily_kudos_limit, workspace.kudos_emoji) == (9, "raised_hands")
