"""A person's own data: everything allybot holds about them (`/ally export`), and erasing it
(`/ally forget-me`).

Every query is keyed by the one person (team and user id), so the cost follows what that
person did, never the size of the workspace.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, delete, func, inspect, literal, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot import i18n, named
from bot import text as texts
from bot.fit_models import IntroProfile
from bot.i18n import _
from bot.ids import ERASED_PREFIX
from bot.models import (
    SLACK_INSTALLATIONS,
    Ally,
    CheckIn,
    Commitment,
    CommitmentParty,
    DashboardSession,
    IntroAnswer,
    IntroMatch,
    IntroMatchMember,
    IntroMember,
    IntroNever,
    IntroPair,
    IntroSkip,
    Kudos,
    Newcomer,
    Nudge,
    OutboxMessage,
    Person,
    Resolve,
    SettingChange,
    TipShown,
    Workspace,
)
from bot.services import dm_budget, inbound, me_too, tips
from bot.sqlite_driver import in_the_thread
from bot.suggestion_models import SuggestionCandidate
from bot.trust_models import Mute, PersonDM

EXPORT_FORMAT = "allybot-export/1"
ANON_PREFIX = ERASED_PREFIX
# Far more than a person produces in years (kudos are limited per day); a cap keeps one
# export from ever loading a table whole if something upstream runs wild.
MAX_ROWS = 50_000

KUDOS_FIELDS = (
    "id",
    "giver_id",
    "receiver_id",
    "channel_id",
    "text",
    "tags",
    "source",
    "private_by",
    "created_at",
)
COMMITMENT_FIELDS = (
    "id",
    "owner_id",
    "text",
    "status",
    "due_at",
    "due_day",
    "created_at",
    "shared_at",
    "closed_at",
    "kept_on_time",
)
PARTY_FIELDS = ("user_id", "told_at", "response", "responded_at")
ALLY_FIELDS = (
    "ally_id",
    "cadence_days",
    "created_at",
    "last_contact_at",
    "last_contact_day",
    "due_day",
    "next_nudge_day",
)
CHECK_IN_FIELDS = ("ally_id", "at", "note", "source")
RESOLVE_FIELDS = ("other_id", "topic", "status", "created_at", "follow_up_day", "follow_ups")
TIP_FIELDS = ("tip_id", "category", "cycle", "shown_at", "rating")
NUDGE_FIELDS = ("kind", "subject", "period", "status", "local_day", "expires_day", "planned_at")
DAILY_MESSAGE_FIELDS = ("local_day", "status", "created_at", "sent_at")
INTRO_MEMBER_FIELDS = (
    "status",
    "paused_until",
    "joined_at",
    "last_active_at",
    "updated_at",
    "welcomer",
    "meet_mode",
    "location",
)
INTRO_PROFILE_FIELDS = ("team_value", "location_value", "read_at")
NEWCOMER_FIELDS = ("joined_at", "welcome_at", "status", "match_id", "intro_rounds")
INTRO_SKIP_FIELDS = ("round_day", "choice", "chosen_at")
INTRO_NEVER_FIELDS = ("other_id", "created_at")
INTRO_MATCH_FIELDS = ("match_id", "round_id")
INTRO_ANSWER_FIELDS = ("match_id", "answer", "answered_at")
MUTE_FIELDS = ("muted_id", "created_at")
# Whether a DM they caused reached its recipient is not theirs to know (a mute is private):
# only whether it counted against the day's budget or was held for a daily message.
DM_FIELDS = ("kind", "recipient_id", "local_day", "outcome")
# The exported fields that hold safe markup (bot/text.py): what people wrote.
MARKUP_FIELDS = ("text", "note", "topic")
# A mention (`<@U1>`, `<@U1|ann>`) or a name kept by id (`<~U1>`, bot/text.py).
MENTION = r"<[@~]{uid}(?:\|[^>]*)?>"


def _plain(value: Any) -> Any:
    """A column value as JSON can hold it: dates and instants as ISO 8601."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


def _pick(row: Any, fields: Sequence[str]) -> dict[str, Any]:
    return {name: _plain(getattr(row, name)) for name in fields}


def _person(row: Person) -> dict[str, Any]:
    """Every column of the person row: all of it is theirs (profile facts, preferences)."""
    return {attr.key: _plain(getattr(row, attr.key)) for attr in inspect(Person).column_attrs}


def anonymous_id() -> str:
    """A stand-in for an erased person in kudos: random, so nothing leads back to them, and
    not shaped like a Slack id, so nothing mistakes it for one."""
    return ANON_PREFIX + secrets.token_hex(8)


@dataclass(frozen=True)
class _Own:
    """One kind of row a person has: its table, the column holding their id, its order in
    the export and the fields exported."""

    model: Any
    who: Any
    order: tuple[Any, ...]
    fields: tuple[str, ...]

    def where(self, team_id: str, user_id: str) -> tuple[Any, ...]:
        return (self.model.team_id == team_id, self.who == user_id)


# The export's sections, in order; the forget-me question counts the same rows.
OWN: dict[str, _Own] = {
    "kudos_given": _Own(Kudos, Kudos.giver_id, (Kudos.created_at, Kudos.id), KUDOS_FIELDS),
    "kudos_received": _Own(Kudos, Kudos.receiver_id, (Kudos.created_at, Kudos.id), KUDOS_FIELDS),
    "commitments_owned": _Own(
        Commitment, Commitment.owner_id, (Commitment.created_at, Commitment.id), COMMITMENT_FIELDS
    ),
    "commitments_to_you": _Own(
        CommitmentParty, CommitmentParty.user_id, (CommitmentParty.id,), PARTY_FIELDS
    ),
    "allies": _Own(Ally, Ally.user_id, (Ally.created_at, Ally.id), ALLY_FIELDS),
    "check_ins": _Own(CheckIn, CheckIn.user_id, (CheckIn.at, CheckIn.id), CHECK_IN_FIELDS),
    "resolves": _Own(Resolve, Resolve.user_id, (Resolve.created_at, Resolve.id), RESOLVE_FIELDS),
    "tips_shown": _Own(TipShown, TipShown.user_id, (TipShown.shown_at, TipShown.id), TIP_FIELDS),
    "nudges": _Own(Nudge, Nudge.user_id, (Nudge.local_day, Nudge.id), NUDGE_FIELDS),
    "daily_messages": _Own(
        OutboxMessage,
        OutboxMessage.user_id,
        (OutboxMessage.local_day, OutboxMessage.id),
        DAILY_MESSAGE_FIELDS,
    ),
    "intros": _Own(IntroMember, IntroMember.user_id, (IntroMember.user_id,), INTRO_MEMBER_FIELDS),
    # Their own "never" list is theirs to see; others' lists that name them stay confidential.
    "intros_never": _Own(
        IntroNever, IntroNever.user_id, (IntroNever.created_at, IntroNever.id), INTRO_NEVER_FIELDS
    ),
    "intro_matches": _Own(
        IntroMatchMember, IntroMatchMember.user_id, (IntroMatchMember.id,), INTRO_MATCH_FIELDS
    ),
    "intro_answers": _Own(
        IntroAnswer,
        IntroAnswer.user_id,
        (IntroAnswer.answered_at, IntroAnswer.id),
        INTRO_ANSWER_FIELDS,
    ),
    # Whom they muted is theirs; who muted them stays confidential.
    "muted": _Own(Mute, Mute.user_id, (Mute.created_at, Mute.muted_id), MUTE_FIELDS),
    "dms_caused": _Own(PersonDM, PersonDM.sender_id, (PersonDM.created_at, PersonDM.id), DM_FIELDS),
    "newcomer": _Own(Newcomer, Newcomer.user_id, (Newcomer.joined_at,), NEWCOMER_FIELDS),
    # Their answers to round heads-ups: Skip this round / I'm in, per round day.
    "intro_skips": _Own(IntroSkip, IntroSkip.user_id, (IntroSkip.round_day,), INTRO_SKIP_FIELDS),
    # The team (or manager) and location their Slack profile gave, for intros.
    "intro_profile": _Own(
        IntroProfile, IntroProfile.user_id, (IntroProfile.user_id,), INTRO_PROFILE_FIELDS
    ),
}


@dataclass
class _Collector:
    """Runs the capped per-person queries and notes any section that hit the cap."""

    session: AsyncSession
    truncated: list[str]

    async def rows(self, section: str, stmt: Select[*tuple[Any, ...]]) -> list[Any]:
        found = list((await self.session.execute(stmt.limit(MAX_ROWS + 1))).all())
        if len(found) > MAX_ROWS:
            self.truncated.append(section)
            found = found[:MAX_ROWS]
        return found


@in_the_thread  # no bound on its statements: never on the event loop's thread
async def export(
    session: AsyncSession, *, team_id: str, user_id: str, now: datetime
) -> dict[str, Any]:
    """Everything allybot holds about one person in one workspace, as plain JSON values.

    Rows of other people appear only through the ids in this person's own rows: the people
    a promise was made to, allies, who gave a kudos. Other people's private tools that name
    this person (their ally lists, their notes) are theirs and are not included.
    """
    c = _Collector(session, [])
    sections: dict[str, list[dict[str, Any]]] = {}
    for name, own in OWN.items():
        if name == "commitments_to_you":
            continue
        stmt = select(own.model).where(*own.where(team_id, user_id)).order_by(*own.order)
        sections[name] = [_pick(row, own.fields) for (row,) in await c.rows(name, stmt)]

    # Promises they made carry every party's answer; promises made to them, only theirs.
    owned_parties = await c.rows(
        "commitments_owned",
        select(CommitmentParty)
        .join(Commitment, Commitment.id == CommitmentParty.commitment_id)
        .where(*OWN["commitments_owned"].where(team_id, user_id))
        .order_by(CommitmentParty.id),
    )
    parties: dict[int, list[dict[str, Any]]] = {}
    for (party,) in owned_parties:
        parties.setdefault(party.commitment_id, []).append(_pick(party, PARTY_FIELDS))
    for item in sections["commitments_owned"]:
        item["parties"] = parties.get(item["id"], [])
    to_you = await c.rows(
        "commitments_to_you",
        select(Commitment, CommitmentParty)
        .join(CommitmentParty, CommitmentParty.commitment_id == Commitment.id)
        .where(*OWN["commitments_to_you"].where(team_id, user_id))
        .order_by(Commitment.created_at, Commitment.id),
    )
    sections["commitments_to_you"] = [
        {**_pick(cm, COMMITMENT_FIELDS), "your_answer": _pick(party, PARTY_FIELDS)}
        for cm, party in to_you
    ]
    for item in sections["dms_caused"]:
        item["outcome"] = "held" if item["outcome"] == "held" else "counted"
    lib = tips.library()
    for item in sections["tips_shown"]:
        found = lib.by_id(item["tip_id"])
        item["text"] = found.shown() if found else None

    # Someone a text names without meaning them: by id, in the form every reader of Slack's
    # markup knows, not allybot's own. Only in what holds markup: a profile, a location,
    # anything else is given as stored, whatever it reads like.
    for rows in sections.values():
        for item in rows:
            for markup in MARKUP_FIELDS:
                if isinstance(item.get(markup), str):
                    item[markup] = named.as_ids(item[markup])
    person = await session.get(Person, (team_id, user_id))
    return {
        "format": EXPORT_FORMAT,
        "team_id": team_id,
        "user_id": user_id,
        "generated_at": now.isoformat(),
        "empty": person is None and not any(sections.values()),
        "truncated": sorted(set(c.truncated)),
        "person": _person(person) if person is not None else None,
        **{name: sections[name] for name in OWN},
    }


def is_empty(data: dict[str, Any]) -> bool:
    return bool(data.get("empty"))


async def holdings(session: AsyncSession, *, team_id: str, user_id: str) -> dict[str, int]:
    """How many rows of each kind allybot holds about a person, for the forget-me question."""
    held = {"person": 1 if await session.get(Person, (team_id, user_id)) is not None else 0}
    for name, own in OWN.items():
        stmt = select(func.count()).select_from(own.model).where(*own.where(team_id, user_id))
        held[name] = int((await session.execute(stmt)).scalar_one())
    return held


@dataclass(frozen=True)
class Erased:
    """What one erase did: rows deleted, kudos kept under the anonymous id."""

    deleted: int
    anonymised: int
    anonymous_id: str


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


@in_the_thread  # no bound on its statements: never on the event loop's thread
async def erase(
    session: AsyncSession, *, team_id: str, user_id: str, delivery_id: int | None = None
) -> Erased:
    """Delete what allybot holds about a person; their kudos keep counting, anonymously.
    `delivery_id` is the Slack delivery asking for it (see `inbound.forget_person`).

    Running it again finds nothing left, so a repeated request changes nothing more.
    """
    anon = anonymous_id()
    deleted = 0
    # The name older versions wrote out for them (read before their row goes): see _scrub.
    name = await session.scalar(
        select(Person.name).where(Person.team_id == team_id, Person.user_id == user_id)
    )
    # The delivery log first: every delivery that names them, whatever its state (not counted
    # in what they are told: those are Slack's messages to allybot, not records of them).
    # Work on one of them stops at its next transaction (bot.lease.Lease.fence); one whose
    # transaction is under way holds its delivery's lock until it ends (PostgreSQL), and is
    # waited for, so what it wrote is there for the statements below.
    await inbound.forget_person(session, team_id=team_id, user_id=user_id, keep_id=delivery_id)
    # Then the person (PostgreSQL): a kudos to them being stored by a delivery that does not
    # name them (a +1 on a post) is waited for and erased below, and one not yet stored
    # waits for this transaction and then finds them gone (kudos.give).
    await dm_budget.lock(session, [dm_budget.person_key(team_id, user_id)])
    owned = select(Commitment.id).where(
        Commitment.team_id == team_id, Commitment.owner_id == user_id
    )
    statements = [
        # Promises: their own (with who they were made to), and their place on others'.
        delete(CommitmentParty).where(CommitmentParty.commitment_id.in_(owned)),
        delete(CommitmentParty).where(
            CommitmentParty.team_id == team_id, CommitmentParty.user_id == user_id
        ),
        delete(Commitment).where(Commitment.team_id == team_id, Commitment.owner_id == user_id),
        # Allies, check-ins and direct conversations, on either side.
        delete(Ally).where(Ally.team_id == team_id, Ally.user_id == user_id),
        delete(Ally).where(Ally.team_id == team_id, Ally.ally_id == user_id),
        delete(CheckIn).where(
            CheckIn.team_id == team_id, or_(CheckIn.user_id == user_id, CheckIn.ally_id == user_id)
        ),
        delete(Resolve).where(
            Resolve.team_id == team_id, or_(Resolve.user_id == user_id, Resolve.other_id == user_id)
        ),
        delete(TipShown).where(TipShown.team_id == team_id, TipShown.user_id == user_id),
        # Intros: their part, "never" lists on either side, their answers and their place in
        # past groups (the groups stay, as counts, for the workspace's figures).
        delete(IntroMember).where(IntroMember.team_id == team_id, IntroMember.user_id == user_id),
        delete(IntroNever).where(
            IntroNever.team_id == team_id,
            or_(IntroNever.user_id == user_id, IntroNever.other_id == user_id),
        ),
        delete(IntroAnswer).where(IntroAnswer.team_id == team_id, IntroAnswer.user_id == user_id),
        delete(IntroSkip).where(IntroSkip.team_id == team_id, IntroSkip.user_id == user_id),
        delete(IntroProfile).where(
            IntroProfile.team_id == team_id, IntroProfile.user_id == user_id
        ),
        delete(IntroMatchMember).where(
            IntroMatchMember.team_id == team_id, IntroMatchMember.user_id == user_id
        ),
        delete(IntroPair).where(
            IntroPair.team_id == team_id,
            or_(IntroPair.user_a == user_id, IntroPair.user_b == user_id),
        ),
        update(IntroMatch)
        .where(IntroMatch.team_id == team_id, IntroMatch.met_by == user_id)
        .values(met_by=None)
        .execution_options(synchronize_session=False),
        # Nudges to them, and nudges to others that are about them (a give-back names the
        # giver as its subject); the nudges go first, they point at the daily messages.
        delete(Nudge).where(Nudge.team_id == team_id, Nudge.user_id == user_id),
        delete(Nudge).where(Nudge.team_id == team_id, Nudge.subject == user_id),
        delete(OutboxMessage).where(
            OutboxMessage.team_id == team_id, OutboxMessage.user_id == user_id
        ),
        # The day's give-back and breadth candidates: theirs, and those naming them.
        delete(SuggestionCandidate).where(
            SuggestionCandidate.team_id == team_id,
            or_(SuggestionCandidate.user_id == user_id, SuggestionCandidate.subject == user_id),
        ),
        # Mutes and the DM budget's counts, either side.
        delete(Mute).where(
            Mute.team_id == team_id, or_(Mute.user_id == user_id, Mute.muted_id == user_id)
        ),
        delete(PersonDM).where(
            PersonDM.team_id == team_id,
            or_(PersonDM.sender_id == user_id, PersonDM.recipient_id == user_id),
        ),
        # Signed-in dashboard browsers end at once.
        delete(DashboardSession).where(
            DashboardSession.team_id == team_id, DashboardSession.user_id == user_id
        ),
        delete(Newcomer).where(Newcomer.team_id == team_id, Newcomer.user_id == user_id),
        delete(Person).where(Person.team_id == team_id, Person.user_id == user_id),
    ]
    for stmt in statements:
        deleted += _rowcount(await session.execute(stmt))
    # A "me too" on a kudos they gave repeats its text and their name: keep only the +1.
    their_posts = select(Kudos.post_channel_id, Kudos.post_ts).where(
        Kudos.team_id == team_id,
        Kudos.giver_id == user_id,
        Kudos.source != me_too.SOURCE,
        Kudos.post_ts.is_not(None),
    )
    # A +1 is tied to its post a transaction after it is stored (me_too.attach, after its
    # DMs): one not tied yet is found by its key, `plusone:<channel>:<ts>:<reactor>`.
    theirs = aliased(Kudos)
    untied = (
        select(theirs.id)
        .where(
            theirs.team_id == team_id,
            theirs.giver_id == user_id,
            theirs.source != me_too.SOURCE,
            theirs.post_ts.is_not(None),
            Kudos.source_key.like(
                literal(f"{me_too.SOURCE}:") + theirs.post_channel_id + ":" + theirs.post_ts + ":%"
            ),
        )
        .exists()
    )
    await session.execute(
        update(Kudos)
        .where(
            Kudos.team_id == team_id,
            Kudos.source == me_too.SOURCE,
            or_(tuple_(Kudos.post_channel_id, Kudos.post_ts).in_(their_posts), untied),
        )
        .values(text=await _erased_reason(session, team_id))
        .execution_options(synchronize_session=False)
    )
    # A source key ends with the giver's id where it has one (`message:C…:ts:U…`,
    # `commitment:7:U…`); channel ids and timestamps never start with ":U"/":W".
    gave = await session.execute(
        update(Kudos)
        .where(Kudos.team_id == team_id, Kudos.giver_id == user_id)
        .values(
            giver_id=anon,
            text="",
            source_key=func.replace(Kudos.source_key, f":{user_id}", f":{anon}"),
        )
        .execution_options(synchronize_session=False)
    )
    received = await session.execute(
        update(Kudos)
        .where(Kudos.team_id == team_id, Kudos.receiver_id == user_id)
        .values(receiver_id=anon)
        .execution_options(synchronize_session=False)
    )
    # What others wrote that mentions them now mentions the anonymous id instead.
    for column in SCRUBBED:
        await _scrub(session, column, team_id=team_id, user_id=user_id, anon=anon, name=name)
    await session.execute(
        update(SettingChange)
        .where(SettingChange.team_id == team_id, SettingChange.changed_by == user_id)
        .values(changed_by=anon)
    )
    # Who installed allybot (slack_sdk's installation rows): the token stays, the name goes.
    await session.execute(
        update(SLACK_INSTALLATIONS)
        .where(SLACK_INSTALLATIONS.c.team_id == team_id, SLACK_INSTALLATIONS.c.user_id == user_id)
        .values(user_id=anon)
    )
    await session.flush()
    return Erased(
        deleted=deleted, anonymised=_rowcount(gave) + _rowcount(received), anonymous_id=anon
    )


# Free text people write, where someone else may be named: `kudos <@U1> for …`, a promise
# "to <@U1|ann>", a check-in note, a conversation topic, a settings change.
SCRUBBED = (
    Kudos.text,
    Commitment.text,
    CheckIn.note,
    Resolve.topic,
    SettingChange.old_value,
    SettingChange.new_value,
)


def scrub_text(text: str, *, user_id: str, anon: str, name: str | None = None) -> str:
    """`<@U1>`, `<@U1|ann>` and `<~U1>` become a mention of nobody (`@anon-…`), and the bare
    id too; so does `@Ann`, their name as older versions wrote it out, when given."""
    text = re.sub(MENTION.format(uid=re.escape(user_id)), f"@{anon}", text)
    if written := written_name(name):
        text = re.sub(rf"(?<!\w){re.escape(written)}(?!\w)", f"@{anon}", text)
    return text.replace(user_id, anon)


def written_name(name: str | None) -> str | None:
    """How versions before `<~U…>` (bot/text.py) stored someone a text mentioned but did not
    mean: their name at the time, as `@Ann` in safe markup."""
    return texts.escape("@" + name) if name and name.strip() else None


async def _scrub(
    session: AsyncSession,
    column: Any,
    *,
    team_id: str,
    user_id: str,
    anon: str,
    name: str | None = None,
) -> None:
    """Rewrite one text column wherever it names the person, in this workspace only. A scan
    of the workspace's texts, once per erase: a mention can be in anything anyone wrote.

    Texts stored before mentions of people a surface did not mean were kept by id hold their
    name instead (`written_name`): the name allybot holds for them now is rewritten too, the
    same text written by anyone else with that name as well (nothing tells them apart)."""
    model = column.class_
    where = column.like(f"%{user_id}%")
    if written := written_name(name):
        pattern = re.sub(r"([\\%_])", r"\\\1", written)
        where = or_(where, column.like(f"%{pattern}%", escape="\\"))
    found = await session.execute(select(model.id, column).where(model.team_id == team_id, where))
    for row_id, text in found.all():
        scrubbed = scrub_text(text, user_id=user_id, anon=anon, name=name)
        if scrubbed == text:
            continue
        await session.execute(
            update(model)
            .where(model.id == row_id)
            .values({column.key: scrubbed})
            .execution_options(synchronize_session=False)
        )


async def _erased_reason(session: AsyncSession, team_id: str) -> str:
    """What a +1 says once the original's giver is erased: kept with the kudos and read by
    everyone who sees it, so in the workspace's language."""
    workspace = await session.get(Workspace, team_id)
    with i18n.speaking(workspace.language if workspace else None):
        return _(me_too.ERASED_REASON)
