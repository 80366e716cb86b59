"""Someone a kudos or a note mentions without meaning (not its receiver, not the person it is
about) is kept by id (`<~U…>`) and shown by name on the way to Slack, never pinged: so their
erase leaves their name nowhere, in the database or in what allybot shows afterwards."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot import named
from bot import text as texts
from bot.db import Database
from bot.models import Commitment, Kudos, Person
from scheduler.preview import preview
from tests import payloads
from tests.conftest import Server, Team
from tests.helpers import at, running_bot
from tests.slack_double import Call, SlackDouble
from tests.test_commitments_e2e import (
    TZ,
    commit,
    commitments_of,
    edit_modal,
    press,
    today,
    working_day_on_or_after,
)
from tests.test_dm_budget_e2e import run, settle
from tests.test_erasure_e2e import dump, forget
from tests.test_home_e2e import open_home
from tests.test_me_too_e2e import give, react
from tests.test_me_too_e2e import rows as me_too_rows
from tests.test_privacy_e2e import ally, export_of
from tests.text_checks import SHOWN_AS_TEXT, TRICKY, mrkdwn_texts, problems, slack_tokens

SENDS = {"chat.postMessage", "chat.postEphemeral", "chat.update", "response_url"}


def unique_name() -> str:
    return "zeb" + uuid.uuid4().hex[:10]


async def kept_promise_kudos(
    server: Server, team: Team, slack: SlackDouble, db: Database, *, owner: str, to: str, what: str
) -> Call:
    """`owner` promises `what … to @to` (anyone `what` mentions is a party too), marks it
    done, and `to` presses *Give kudos*: the DM the owner gets."""
    key = await run(server, team, "/commit", f"{what} to <@{to}|x>", owner)
    reply = (await slack.wait_for("response_url", _key=key))[0]
    await press(server, slack, team, owner, reply, "commit_confirm")
    await settle(db, team.team_id)
    before = len(slack.calls_to("chat.postMessage", channel=owner))
    await commit(server, team, slack, owner, "done 1")
    delivered = (
        await slack.wait_for(
            "chat.postMessage", channel=to, where=lambda c: "delivered" in str(c.args.get("text"))
        )
    )[0]
    await press(server, slack, team, to, delivered, "commit_give_kudos")
    dm = await slack.wait_for(
        "chat.postMessage",
        channel=owner,
        count=before + 1,
        where=lambda c: "kept their promise" in json.dumps(c.args),
    )
    await settle(db, team.team_id)
    return dm[-1]


def texts_of(team: Team) -> Any:
    return select(Kudos.text).where(Kudos.team_id == team.team_id)


def holding(rows: list[tuple[str, str, str]], needles: list[str]) -> list[tuple[str, str, str]]:
    return [r for r in rows if any(n.lower() in r[2].lower() for n in needles)]


async def test_a_name_in_a_kept_promise_and_a_note_goes_with_the_erase(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    name = unique_name()
    ann, bob, zeb = team.user("ann"), team.user("bob"), team.user(name)

    dm = await kept_promise_kudos(
        server, team, slack, db, owner=ann, to=bob, what=f"send <@{zeb}|{name}> the deck"
    )
    # Shown by name to the owner, without a ping and without allybot's own token.
    said = json.dumps(dm.args)
    assert f"@{name}" in said and f"<@{zeb}" not in said and "<~" not in said
    await ally(server, team, slack, bob, f"met <@{ann}> over lunch with <@{zeb}|{name}>")

    await forget(server, team, slack, db, zeb)

    assert holding(await dump(db), [zeb, name]) == []
    async with db.session() as session:
        (stored,) = (await session.execute(texts_of(team))).scalars().all()
    assert stored.startswith("kept their promise: send @anon-") and stored.endswith(" the deck")
    home = json.dumps(await open_home(server, team, slack, ann))
    assert "kept their promise: send @anon-" in home and name not in home.lower()


async def test_a_name_older_versions_wrote_out_goes_with_the_erase(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """Before `<~U…>`, such a mention was stored as the name itself: the erase rewrites the
    name allybot holds for the person wherever a text has it as `@name`."""
    name = unique_name()
    ann, bob, zeb = team.user("ann"), team.user("bob"), team.user(name)
    await run(server, team, "/kudos", f"<@{bob}|bob> for the deck", ann)
    await ally(server, team, slack, zeb, "me")  # allybot holds zeb's name
    await settle(db, team.team_id)
    async with db.session() as session:
        (row,) = (
            (await session.execute(select(Kudos).where(Kudos.team_id == team.team_id)))
            .scalars()
            .all()
        )
        row.text = f"kept their promise: send @{name} the deck, not @{name}x"
    await forget(server, team, slack, db, zeb)
    async with db.session() as session:
        (text,) = (await session.execute(texts_of(team))).scalars().all()
    assert text.startswith("kept their promise: send @anon-") and text.endswith(f"@{name}x")


PLAIN = st.characters(blacklist_categories=("Cs",))
NAMES = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
    slack_tokens(("U0BOB",)),
    st.sampled_from(["@here", "*bold* _x_", "<https://evil.example|bonus>"]),
)


OTHERS = st.sampled_from(["<@U0ZEB>", "<@U0ZEB|zeb>", "<@U0CY|cy>", "&lt;~U0CY&gt;", "<~U0CY>"])


def promise_words() -> st.SearchStrategy[list[str]]:
    """What a promise says: generated words, Slack's tokens and look-alikes (no mention of
    anyone unknown: that promise is refused), and mentions of people who are neither the
    giver nor the receiver of the kudos for it."""
    piece = st.one_of(
        st.text(PLAIN, max_size=20),
        TRICKY.filter(lambda t: t != "\ud800"),
        st.sampled_from(SHOWN_AS_TEXT),
        OTHERS,
    )
    return st.builds(lambda ws, other: ["send", *ws, other], st.lists(piece, max_size=6), OTHERS)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(words=promise_words(), zeb_name=NAMES, cy_name=NAMES)
async def test_generated_mentions_of_others_never_ping_from_a_kudos(
    server: Server, slack: SlackDouble, db: Database, words: list[str], zeb_name: str, cy_name: str
) -> None:
    """Whatever the promise says and whatever the others' names hold, what reaches Slack from
    the kudos for it mentions only its giver and receiver, hides no link, pings no group."""
    team = Team(slack=slack)
    ann, bob = team.user("ann"), team.user("bob")
    zeb, cy = team.user(zeb_name or "zeb"), team.user(cy_name or "cy")
    what = " ".join(words).replace("U0ZEB", zeb).replace("U0CY", cy)
    key = await run(server, team, "/commit", f"{what} to <@{bob}|x>", ann)
    reply = (await slack.wait_for("response_url", _key=key))[0]
    if not _has_button(reply, "commit_confirm"):
        event("refused")  # nothing promised, a date that can't be read: nothing is given
        return
    await press(server, slack, team, ann, reply, "commit_confirm")
    await settle(db, team.team_id)
    await commit(server, team, slack, ann, "done 1")
    delivered = (
        await slack.wait_for(
            "chat.postMessage", channel=bob, where=lambda c: "delivered" in str(c.args.get("text"))
        )
    )[0]
    start = len(slack.calls)
    await press(server, slack, team, bob, delivered, "commit_give_kudos")
    await slack.wait_for(
        "chat.postMessage", channel=ann, where=lambda c: "kept their promise" in json.dumps(c.args)
    )
    await settle(db, team.team_id)
    found: list[str] = []
    ours = (ann, bob, zeb, cy, team.team_id, team.channel_id)
    for call in slack.calls[start:]:
        dumped = json.dumps(call.args)
        if not any(i in dumped for i in ours):
            continue  # another test's work, finishing meanwhile
        if "<~" in dumped:
            found.append(f"allybot's own token reached Slack: {call.method}")
        if call.method in SENDS and call.ok:
            # Bob's own view of the promise (made to him, zeb and cy) names its parties.
            to_bob = call.args.get("channel") in (bob, slack.dm_id(bob), "D" + bob[1:]) or (
                call.method == "response_url"
                and call.args.get("response_type", "ephemeral") == "ephemeral"
            )
            meant = {ann, bob, zeb, cy} if to_bob else {ann, bob}
            for text in [str(call.args.get("text") or ""), *mrkdwn_texts(call.args.get("blocks"))]:
                found += [
                    f"{call.method} {call.args.get('channel')}: {p}"
                    for p in problems(text, meant=meant)
                ]
    assert found == [], (what, zeb_name, cy_name, found)


def _has_button(call: Call, action_id: str) -> bool:
    return action_id in json.dumps(call.args)


def test_names_are_plain_text_whatever_they_hold() -> None:
    """The rendering itself: a name is never markup."""
    from bot.named import shown

    for name in ["<!channel>", "<https://evil.example|bonus>", "a & b", "<@U0BOB>", ""]:
        out = shown({"text": "thanks <~U0ZEB> and <~U0NONE>"}, {"U0ZEB": name})["text"]
        assert problems(out, meant=()) == [] and "<~" not in out, (name, out)
        assert out.endswith("and @someone")
    assert texts.named_in("a <~U1> <@U2> <~W3> <~U1>") == ["U1", "W3"]


async def _post_naming(
    server: Server, team: Team, slack: SlackDouble, db: Database, giver: str, ann: str, text: str
) -> str:
    """A kudos post whose stored reason names people by id, as a kept promise's does."""
    ts = await give(server, team, slack, db, giver, f"<@{ann}> a calm review")
    async with db.session() as session:
        (row,) = (
            (await session.execute(select(Kudos).where(Kudos.team_id == team.team_id)))
            .scalars()
            .all()
        )
        row.text = text
    return ts


async def _plus_one_text(db: Database, team: Team) -> str:
    for _ in range(200):
        plus = await me_too_rows(db, team.team_id, source="plusone")
        if plus:
            return str(plus[0].text)
        await asyncio.sleep(0.05)
    raise AssertionError("the +1 was never stored")


async def test_a_plus_one_repeats_the_names_it_can_and_no_id_it_cannot(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    name = unique_name()
    giver, ann, cy, zeb = (team.user(n) for n in ("giver", "ann", "cy", name))
    await ally(server, team, slack, zeb, "me")  # allybot holds zeb's name
    gone = "U" + uuid.uuid4().hex[:10].upper()  # someone allybot holds nothing of
    ts = await _post_naming(
        server, team, slack, db, giver, ann, f"a calm review with <~{zeb}> and <~{gone}>"
    )
    await react(server, team, cy, ts)
    text = await _plus_one_text(db, team)
    assert f"<~{zeb}>" in text and gone not in text and "@someone" in text, text
    dm = await slack.wait_for(
        "chat.postMessage", channel=ann, where=lambda c: "+1" in json.dumps(c.args)
    )
    said = json.dumps(dm[-1].args)
    assert f"@{name}" in said and "<~" not in said and gone not in said


async def test_a_plus_one_under_way_when_someone_its_reason_names_erases_keeps_no_id(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """The +1's delivery does not name the people its original's reason names: their erase
    cannot stop it. It read the reason before the erase; what it stores after names nobody."""
    name = unique_name()
    giver, ann, cy, zeb = (team.user(n) for n in ("giver", "ann", "cy", name))
    await ally(server, team, slack, zeb, "me")
    ts = await _post_naming(server, team, slack, db, giver, ann, f"a review with <~{zeb}>")
    slack.delay("users.info", 2)  # cy is new: the +1 reads her profile after the post
    await react(server, team, cy, ts)
    await slack.wait_for("users.info", user=cy)
    await forget(server, team, slack, db, zeb)
    slack.delay("users.info", 0)
    text = await _plus_one_text(db, team)
    await settle(db, team.team_id)
    assert holding(await dump(db), [zeb, name]) == [], text


async def test_the_name_shown_is_the_one_slack_gives_now(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """Named as it is sent, not as it was stored: a new name in Slack shows from then on."""
    old, new = unique_name(), unique_name()
    ann, bob, zeb = team.user("ann"), team.user("bob"), team.user(old)
    await kept_promise_kudos(
        server, team, slack, db, owner=ann, to=bob, what=f"send <@{zeb}|{old}> the deck"
    )
    assert f"@{old}" in json.dumps(await open_home(server, team, slack, ann))
    slack.add_user(zeb, team_id=team.team_id, name=new)
    event = payloads.user_change_event(slack.user(zeb))
    assert (await server.post(payloads.event_callback(event, team_id=team.team_id)))[0] == 200
    for _ in range(200):
        async with db.session() as session:
            if await session.scalar(select(Person.name).where(Person.user_id == zeb)) == new:
                break
        await asyncio.sleep(0.05)
    home = json.dumps(await open_home(server, team, slack, ann))
    assert f"@{new}" in home and old not in home


async def test_an_export_names_others_by_slack_id(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """`/ally export` leaves allybot without passing through a Slack call: it names other
    people only by id, as Slack's `<@U…>`, never allybot's own `<~U…>`."""
    name = unique_name()
    ann, bob, zeb = team.user("ann"), team.user("bob"), team.user(name)
    await kept_promise_kudos(
        server, team, slack, db, owner=ann, to=bob, what=f"send <@{zeb}|{name}> the deck"
    )
    for person in (ann, bob):
        __, data = await export_of(server, team, slack, person)
        said = json.dumps(data)
        kudos = json.dumps([data["kudos_given"], data["kudos_received"]])
        assert f"send <@{zeb}> the deck" in kudos and "<~" not in said and name not in said


async def test_a_preview_shows_the_name_not_the_id(
    server: Server, team: Team, slack: SlackDouble, db: Database, database_url: str
) -> None:
    name = unique_name()
    ann, bob, zeb = team.user("ann", tz=TZ), team.user("bob"), team.user(name)
    await ally(server, team, slack, zeb, "me")  # allybot holds zeb's name
    due = working_day_on_or_after(today() + timedelta(days=2))
    reply = await commit(server, team, slack, ann, f"send the deck to <@{bob}|bob> by {due}")
    await press(server, slack, team, ann, reply, "commit_confirm")
    (promise,) = await commitments_of(db, team.team_id)
    async with db.session() as session:  # as the edit modal saves a name typed in
        (await session.get(Commitment, promise.id)).text = f"send <~{zeb}> the deck"  # type: ignore[union-attr]
    async with running_bot(database_url, slack) as bot:
        lines = await preview(bot, now=at(f"{due} 09:05", TZ), team_id=team.team_id)
    shown = [line.text for line in lines if line.user_id == ann]
    assert any(f"send @{name} the deck" in text for text in shown), lines
    assert not any("<~" in text or zeb in text for text in shown), lines


async def test_an_export_keeps_a_text_that_reads_as_json_as_it_was_written(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """A text is what the person wrote, whatever it looks like: one that happens to be JSON
    (`["…",  "é"]`) is not decoded and encoded anew on its way into the export (its spaces,
    its accents and its escapes, such as a written `\\u003c`, stay as written)."""
    name = unique_name()
    ann, bob, zeb = team.user("ann", tz=TZ), team.user("bob"), team.user(name)
    due = working_day_on_or_after(today() + timedelta(days=2))
    reply = await commit(server, team, slack, ann, f"send the deck to <@{bob}|bob> by {due}")
    await press(server, slack, team, ann, reply, "commit_confirm")
    (promise,) = await commitments_of(db, team.team_id)
    written = f'["deck for <~{zeb}>",  "café", "\\u003c!here\\u003e"]'
    async with db.session() as session:  # as the edit modal saves a name typed in
        (await session.get(Commitment, promise.id)).text = written  # type: ignore[union-attr]
    __, data = await export_of(server, team, slack, ann)
    (owned,) = data["commitments_owned"]
    assert owned["text"] == written.replace(f"<~{zeb}>", f"<@{zeb}>")


def test_only_the_arguments_slack_sdk_encodes_as_json_are_decoded() -> None:
    """On the way to Slack a text that reads as JSON is still a text: a written escape such
    as `\\u003c!here\\u003e` stays the characters written, never `<!here>` (a ping); a view
    or blocks that slack_sdk encoded as JSON are looked into."""
    said = '["thanks <~U0ZEB>",  "\\u003c!here\\u003e"]'
    view = json.dumps({"blocks": [{"type": "section", "text": {"text": "for <~U0ZEB>"}}]})
    shown = named.shown({"channel": "D1", "text": said, "view": view}, {"U0ZEB": "zeb"})
    assert shown["text"] == '["thanks @zeb",  "\\u003c!here\\u003e"]'
    assert json.loads(shown["view"])["blocks"][0]["text"]["text"] == "for @zeb"


async def test_an_export_gives_a_persons_profile_as_slack_gave_it(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """A profile is not markup: a display name that happens to read `<~U…>` is exported as
    the person set it, not rewritten into a mention of someone else."""
    zeb = team.user("zeb")
    ann = team.user(f"<~{zeb}>")
    await ally(server, team, slack, ann, "me")  # allybot holds ann's profile
    __, data = await export_of(server, team, slack, ann)
    assert data["person"]["name"] == f"<~{zeb}>"


async def test_a_written_name_token_is_given_back_as_written_in_the_edit_modal(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    """A promise whose words read `<~U…>` as typed (stored as text, `&lt;~U…&gt;`) comes
    back in the edit modal as typed: not turned on its way to Slack into the name of the
    person whose id it reads as, nor, saved again, into allybot's own token."""
    ann, bob = team.user("ann", tz=TZ), team.user("bob")
    zeb = team.user("Zeb Long", tz=TZ)
    await ally(server, team, slack, zeb, "me")  # allybot holds zeb's name
    view = await edit_modal(
        server, team, slack, ann, bob, f"send &lt;~{zeb}&gt; the plan to <@{bob}> by 2030-01-01"
    )
    (what,) = [b for b in view["blocks"] if b.get("block_id") == "what"]
    shown = what["element"]["initial_value"]
    assert "Zeb" not in shown
    assert texts.clean(shown) == f"send <~{zeb}> the plan"
    async with db.session() as session:
        stmt = select(Commitment.text).where(Commitment.team_id == team.team_id)
        (stored,) = (await session.execute(stmt)).scalars()
    assert texts.carry(texts.clean(shown), source=texts.Source.INPUT) == stored
