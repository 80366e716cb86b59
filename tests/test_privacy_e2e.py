"""`/ally export` and `/ally forget-me` end to end: data seeded through the real commands into
`allybot serve`, the export read back from the Slack double's file upload, the erase
confirmed with buttons pressed as Slack sends them."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, inspect, or_, select

from bot.db import Database
from bot.models import (
    Ally,
    CheckIn,
    Commitment,
    CommitmentParty,
    IntroMember,
    IntroNever,
    Kudos,
    Nudge,
    OutboxMessage,
    Person,
    Resolve,
    TipShown,
)
from bot.services import tips
from tests.conftest import Server, Team
from tests.helpers import set_intros
from tests.slack_double import Call, SlackDouble, dm_channel_id
from tests.test_allies_e2e import ally_cmd, wait_until
from tests.test_commitments_e2e import commit, press

SEEDED_DAY = date(2025, 1, 6)
SEEDED_PERIOD = "2025-W02"
# Rows the server's own scheduler may add for an engaged person at any minute.
SCHEDULER_TABLES = ("nudges", "daily_messages", "tips_shown")
TEAM_TABLES = (
    Person,
    Kudos,
    Commitment,
    CommitmentParty,
    Ally,
    CheckIn,
    Resolve,
    TipShown,
    Nudge,
    OutboxMessage,
)


# -- seeding through the real commands -----------------------------------------------------


async def give_kudos(server: Server, team: Team, giver: str, text: str) -> None:
    body, _ = team.command("/kudos", text, user_id=giver)
    assert (await server.post(body))[0] == 200


async def count(db: Database, model: Any, *where: Any) -> int:
    async with db.session() as session:
        return int(
            (
                await session.execute(select(func.count()).select_from(model).where(*where))
            ).scalar_one()
        )


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    await wait_until(check, timeout=10.0)


async def promise(
    server: Server,
    team: Team,
    slack: SlackDouble,
    db: Database,
    owner: str,
    to: str,
    what: str,
    answer: str,
) -> None:
    """A promise made, shared with its party, and answered by them."""
    reply = await commit(server, team, slack, owner, f"{what} to <@{to}> by 2030-01-02")
    await press(server, slack, team, owner, reply, "commit_confirm")
    told = (
        await slack.wait_for(
            "chat.postMessage", channel=to, where=lambda c: what in str(c.args.get("text"))
        )
    )[0]
    await press(server, slack, team, to, told, answer)

    async def answered() -> bool:
        party = (
            CommitmentParty.team_id == team.team_id,
            CommitmentParty.user_id == to,
            CommitmentParty.response.is_not(None),
        )
        return await count(db, CommitmentParty, *party) > 0

    await until(answered)


async def seed_pair(
    server: Server, team: Team, slack: SlackDouble, db: Database, a: str, b: str
) -> None:
    """Kudos both ways, a promise each way, each on the other's ally list, a check-in and a
    direct conversation from `a`."""
    before = await count(db, Kudos, Kudos.team_id == team.team_id)
    await give_kudos(server, team, a, f"<@{b}> clear release notes for {a} #teamwork")
    await give_kudos(server, team, b, f"<@{a}> patient pairing session with {b} #mentoring")

    async def both_given() -> bool:
        return await count(db, Kudos, Kudos.team_id == team.team_id) == before + 2

    await until(both_given)
    await promise(server, team, slack, db, a, b, f"send the deck {a}", "commit_got_it")
    await promise(server, team, slack, db, b, a, f"review the plan {b}", "commit_disputed")
    assert "ally list" in await ally_cmd(server, team, slack, a, f"add <@{b}> every week")
    assert "ally list" in await ally_cmd(server, team, slack, b, f"add <@{a}> every 2 weeks")
    assert "Logged" in await ally_cmd(server, team, slack, a, f"met <@{b}> coffee, the roadmap")
    assert "Talk to them" in await ally_cmd(server, team, slack, a, f"resolve <@{b}> the rota")
    async with db.session() as session:
        await set_intros(session, team_id=team.team_id, channel_id=team.channel_id)
    assert "You're in" in await ally_cmd(server, team, slack, a, "intros join")
    assert "never be paired" in await ally_cmd(server, team, slack, a, f"intros never <@{b}|b>")


async def seed_messages(db: Database, team_id: str, user: str, other: str) -> None:
    """A past daily message with a tip `user` rated, and a planned give-back to `other` naming
    them (the scheduler's rows, written directly: a tick is not what these tests are about;
    on a past day, as the server's own clock may message `user` today)."""
    now = datetime.now(UTC)
    day = SEEDED_DAY
    tip = tips.library().tips[0]
    async with db.session() as session:
        message = OutboxMessage(
            team_id=team_id,
            user_id=user,
            local_day=day,
            status="sent",
            claim_token="t",
            lease_until=now,
            attempts=1,
            created_at=now,
            sent_at=now,
        )
        session.add(message)
        await session.flush()
        nudge = Nudge(
            team_id=team_id,
            user_id=user,
            kind="tip",
            subject="tip",
            period=SEEDED_PERIOD,
            local_day=day,
            status="sent",
            message_id=message.id,
            planned_at=now,
        )
        session.add(nudge)
        await session.flush()
        session.add(
            TipShown(
                team_id=team_id,
                user_id=user,
                nudge_id=nudge.id,
                tip_id=tip.id,
                category=tip.category,
                cycle=1,
                shown_at=now,
                rating="helpful",
            )
        )
        session.add(
            Nudge(
                team_id=team_id,
                user_id=other,
                kind="give_back",
                subject=user,
                period="2025-Q1",
                local_day=day,
                status="planned",
                planned_at=now,
            )
        )


async def seed_channel_kudos(db: Database, team_id: str, giver: str, receiver: str) -> str:
    """A kudos given in a channel message, whose source key names its giver."""
    key = f"message:C0PRIVACY:{datetime.now(UTC).timestamp():.6f}:{giver}"
    async with db.session() as session:
        session.add(
            Kudos(
                team_id=team_id,
                giver_id=giver,
                receiver_id=receiver,
                channel_id="C0PRIVACY",
                text="kudos for the on-call handover",
                tags=["reliable"],
                source="message",
                source_key=key,
                created_at=datetime.now(UTC),
            )
        )
    return key


# -- reading back ---------------------------------------------------------------------------


async def ally(server: Server, team: Team, slack: SlackDouble, user: str, text: str) -> Call:
    body, key = team.command("/ally", text, user_id=user)
    assert (await server.post(body))[0] == 200
    return (await slack.wait_for("response_url", _key=key))[0]


async def export_of(
    server: Server, team: Team, slack: SlackDouble, user: str
) -> tuple[str, dict[str, Any]]:
    """Run `/ally export`; the private reply and the JSON file that reached the user's DM."""
    dm = dm_channel_id(user)
    before = len(slack.calls_to("files.completeUploadExternal", channel_id=dm))
    reply = await ally(server, team, slack, user, "export")
    assert reply.args["response_type"] == "ephemeral"
    done = (await slack.wait_for("files.completeUploadExternal", channel_id=dm, count=before + 1))[
        -1
    ]
    assert done.ok
    (entry,) = json.loads(done.args["files"])
    (upload,) = slack.calls_to("file_upload", _file_id=entry["id"])
    asked = [
        c
        for c in slack.calls_to("files.getUploadURLExternal")
        if str(c.args.get("filename", "")).startswith(f"allybot-export-{team.team_id}-{user}-")
    ]
    assert asked and re.fullmatch(
        rf"allybot-export-{team.team_id}-{user}-\d{{4}}-\d{{2}}-\d{{2}}\.json",
        asked[-1].args["filename"],
    )
    return str(reply.args["text"]), json.loads(upload.args["content"])


async def snapshot(db: Database, team_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the workspace in every table allybot keeps about people."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.session() as session:
        for model in TEAM_TABLES:
            if model.__tablename__ in SCHEDULER_TABLES:
                continue
            cols = [a.key for a in inspect(model).column_attrs]
            rows = (await session.execute(select(model).where(model.team_id == team_id))).scalars()
            out[model.__tablename__] = sorted(
                (tuple(repr(getattr(r, c)) for c in cols) for r in rows), key=repr
            )
    return out


async def rows_naming(db: Database, team_id: str, user: str) -> dict[str, int]:
    """How many rows still carry this person's id, table by table."""
    checks: dict[str, tuple[Any, Any]] = {
        "people": (Person, Person.user_id == user),
        "kudos": (Kudos, or_(Kudos.giver_id == user, Kudos.receiver_id == user)),
        "kudos_keys": (Kudos, Kudos.source_key.contains(user)),
        "commitments": (Commitment, Commitment.owner_id == user),
        "parties": (CommitmentParty, CommitmentParty.user_id == user),
        "allies": (Ally, or_(Ally.user_id == user, Ally.ally_id == user)),
        "check_ins": (CheckIn, or_(CheckIn.user_id == user, CheckIn.ally_id == user)),
        "resolves": (Resolve, or_(Resolve.user_id == user, Resolve.other_id == user)),
        "tips": (TipShown, TipShown.user_id == user),
        "nudges": (Nudge, or_(Nudge.user_id == user, Nudge.subject == user)),
        "daily": (OutboxMessage, OutboxMessage.user_id == user),
        "intros": (IntroMember, IntroMember.user_id == user),
        "intros_never": (IntroNever, or_(IntroNever.user_id == user, IntroNever.other_id == user)),
    }
    return {
        name: await count(db, model, model.team_id == team_id, where)
        for name, (model, where) in checks.items()
    }


async def unchanged_for_scheduler(
    db: Database, team_id: str, user: str, held: dict[str, int]
) -> None:
    """The scheduler's rows about the person are all still there (its clock may add more)."""
    now = await rows_naming(db, team_id, user)
    assert all(now[k] >= held[k] for k in ("tips", "nudges", "daily")), (held, now)


async def kudos_rows(db: Database, team_id: str) -> list[Kudos]:
    async with db.session() as session:
        stmt = select(Kudos).where(Kudos.team_id == team_id).order_by(Kudos.id)
        return list((await session.execute(stmt)).scalars())


# -- tests ------------------------------------------------------------------------------------


async def test_export_holds_your_data_in_your_dm_and_nothing_of_others(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob = team.user("ann"), team.user("bob")
    cy, dee = team.user("cy"), team.user("dee")
    await seed_pair(server, team, slack, db, ann, bob)
    await seed_pair(server, team, slack, db, cy, dee)  # the same workspace, unrelated to ann
    await seed_messages(db, team.team_id, ann, bob)

    reply, data = await export_of(server, team, slack, ann)
    assert "on its way" in reply

    assert data["user_id"] == ann and data["team_id"] == team.team_id and not data["empty"]
    assert data["person"]["user_id"] == ann and data["person"]["tips_cadence"] == "weekly"
    (given,) = data["kudos_given"]
    assert (given["giver_id"], given["receiver_id"], given["tags"]) == (ann, bob, ["teamwork"])
    assert given["text"] == f"clear release notes for {ann}" and given["channel_id"]
    assert given["created_at"]
    (received,) = data["kudos_received"]
    assert (received["giver_id"], received["receiver_id"]) == (bob, ann)
    assert received["text"] == f"patient pairing session with {bob}"
    (owned,) = data["commitments_owned"]
    assert owned["text"] == f"send the deck {ann}" and owned["due_at"]
    assert [(p["user_id"], p["response"]) for p in owned["parties"]] == [(bob, "got_it")]
    (to_me,) = data["commitments_to_you"]
    assert to_me["owner_id"] == bob and to_me["text"] == f"review the plan {bob}"
    assert to_me["your_answer"]["response"] == "disputed"
    assert [(a["ally_id"], a["cadence_days"]) for a in data["allies"]] == [(bob, 7)]
    assert [(c["ally_id"], c["note"]) for c in data["check_ins"]] == [(bob, "coffee, the roadmap")]
    assert [(r["other_id"], r["topic"]) for r in data["resolves"]] == [(bob, "the rota")]
    assert ("helpful", True) in [(t["rating"], bool(t["text"])) for t in data["tips_shown"]]
    assert ("tip", SEEDED_PERIOD, "sent", str(SEEDED_DAY)) in [
        (n["kind"], n["period"], n["status"], n["local_day"]) for n in data["nudges"]
    ]
    assert (str(SEEDED_DAY), "sent") in [
        (m["local_day"], m["status"]) for m in data["daily_messages"]
    ]
    assert [m["status"] for m in data["intros"]] == ["joined"]
    assert [n["other_id"] for n in data["intros_never"]] == [bob]

    text = json.dumps(data)
    assert cy not in text and dee not in text, "nothing about people unrelated to ann"
    assert "give_back" not in text, "bob's nudges are bob's, even when they name ann"
    assert "every 2 weeks" not in text and '"cadence_days": 14' not in text, (
        "bob's ally list is bob's"
    )
    _, bobs = await export_of(server, team, slack, bob)
    assert [n["other_id"] for n in bobs["intros_never"]] == [], "ann's never list stays hers"


async def test_forget_me_asks_first_refuses_others_and_erases_once(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    ann, bob, mallory = team.user("ann"), team.user("bob"), team.user("mallory")
    cy, dee = team.user("cy"), team.user("dee")
    await seed_pair(server, team, slack, db, ann, bob)
    await seed_pair(server, team, slack, db, cy, dee)
    await seed_messages(db, team.team_id, ann, bob)
    channel_key = await seed_channel_kudos(db, team.team_id, ann, team.user("eve"))
    held = await rows_naming(db, team.team_id, ann)
    assert all(held.values()), held
    before = await snapshot(db, team.team_id)
    kudos_before = await kudos_rows(db, team.team_id)

    question = await ally(server, team, slack, ann, "forget-me")
    assert question.args["response_type"] == "ephemeral"
    asked = json.dumps(question.args["blocks"])
    for fragment in ("2 kudos you gave", "1 promise you made", "1 ally on your list"):
        assert fragment in asked
    assert "cannot be undone" in asked and "anonymous" in asked
    erase = next(
        e
        for b in question.args["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == "privacy_erase"
    )
    assert erase["style"] == "danger" and erase["text"]["text"] == "Erase my data"
    assert await snapshot(db, team.team_id) == before, "asking changes nothing"
    await unchanged_for_scheduler(db, team.team_id, ann, held)

    key = await press(server, slack, team, mallory, question, "privacy_erase")
    refusal = (await slack.wait_for("response_url", _key=key))[0]
    assert "someone else's" in refusal.args["text"]
    assert await snapshot(db, team.team_id) == before, "someone else's press changes nothing"
    await unchanged_for_scheduler(db, team.team_id, ann, held)

    key = await press(server, slack, team, ann, question, "privacy_keep")
    kept = (await slack.wait_for("response_url", _key=key))[0]
    assert "nothing was erased" in kept.args["text"] and kept.args["replace_original"] is True
    assert await snapshot(db, team.team_id) == before, "Keep it changes nothing"
    await unchanged_for_scheduler(db, team.team_id, ann, held)

    first = await press(server, slack, team, ann, question, "privacy_erase")
    second = await press(server, slack, team, ann, question, "privacy_erase")  # double click
    done = (await slack.wait_for("response_url", _key=first, timeout=10.0))[0]
    assert "erased" in done.args["text"] and done.args["replace_original"] is True
    await slack.assert_no_call("response_url", within=1.0, _key=second)
    homes = [c for c in slack.calls_to("views.publish", user_id=ann) if c.ok]
    assert "data was erased" in json.dumps(homes[-1].args["view"]), "Home no longer shows it"

    left = await rows_naming(db, team.team_id, ann)
    assert set(left.values()) == {0}, left
    kudos_after = await kudos_rows(db, team.team_id)
    assert len(kudos_after) == len(kudos_before), "kudos still count"
    by_id = {k.id: k for k in kudos_after}
    anon = {by_id[k.id].giver_id for k in kudos_before if k.giver_id == ann}
    anon |= {by_id[k.id].receiver_id for k in kudos_before if k.receiver_id == ann}
    (placeholder,) = anon  # one erase, one stable placeholder
    assert placeholder.startswith("anon-") and not re.fullmatch(r"[UW][A-Z0-9]+", placeholder)
    for old in kudos_before:
        new = by_id[old.id]
        if old.giver_id == ann:
            assert (new.giver_id, new.receiver_id, new.text, new.tags) == (
                placeholder,
                old.receiver_id,
                "",
                old.tags,
            )
        elif old.receiver_id == ann:
            assert (new.giver_id, new.receiver_id, new.text) == (bob, placeholder, old.text)
        else:
            assert (new.giver_id, new.receiver_id, new.text) == (
                old.giver_id,
                old.receiver_id,
                old.text,
            )

    assert channel_key.replace(ann, placeholder) in {k.source_key for k in kudos_after}
    async with db.session() as session:
        kept_promise = (
            await session.execute(
                select(Commitment).where(
                    Commitment.team_id == team.team_id, Commitment.owner_id == bob
                )
            )
        ).scalar_one()
        assert kept_promise.text == f"review the plan {bob}", "bob's promise stays bob's"
    for other in (bob, cy, dee):
        assert await count(db, Person, Person.team_id == team.team_id, Person.user_id == other)
    assert await count(db, Ally, Ally.team_id == team.team_id, Ally.user_id == cy) == 1
    assert await count(db, Commitment, Commitment.team_id == team.team_id) == 3

    reply, data = await export_of(server, team, slack, ann)
    assert "nothing" in reply and "empty" in reply
    assert data["empty"] is True and data["person"] is None
    sections = [k for k, v in data.items() if isinstance(v, list) and k != "truncated"]
    assert len(sections) == 19 and all(data[k] == [] for k in sections)
    assert await count(db, Person, Person.team_id == team.team_id, Person.user_id == ann) == 0, (
        "asking for the export does not sign ann up again"
    )


async def test_forget_me_for_someone_allybot_never_met(
    server: Server, team: Team, slack: SlackDouble, db: Database
) -> None:
    newcomer = team.user("newcomer")
    question = await ally(server, team, slack, newcomer, "forget-me")
    assert "holds nothing of yours" in question.args["text"]
    key = await press(server, slack, team, newcomer, question, "privacy_erase")
    done = (await slack.wait_for("response_url", _key=key))[0]
    assert "0 records deleted" in done.args["text"]
    assert await count(db, Person, Person.team_id == team.team_id) == 0
