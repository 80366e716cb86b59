"""The rules of kudos: who may be recognised, for what, and how often."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot import text as texts
from bot.db import dialect_of
from bot.i18n import _, format_number, ngettext
from bot.models import Kudos, Person, Workspace
from bot.on_driver import detached
from bot.services import allies, dm_budget, kudos_rows, people
from bot.services.kudos_rows import DM_KEY
from bot.text import Source, TextRefused

DEFAULT_TAGS = ("teamwork", "mentoring", "reliable", "helpful", "inclusive", "courage", "listening")
MAX_RECEIVERS = 10
MAX_TEXT = 1000
MERGE_WINDOW = timedelta(minutes=10)
KUDOS_WORD = re.compile(r"\bkudos\b", re.IGNORECASE)

USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
BARE_MENTION = re.compile(r"(?<![<\w])@([\w.\-]+)")
TAG = re.compile(r"(?<![\w&<])#([A-Za-z][\w\-]*)")
# Control characters other than tab and newline: invisible in Slack, refused by PostgreSQL (NUL).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class KudosRejected(Exception):
    """A kudos that breaks a rule; the message tells the giver, privately, what to change."""


@dataclass(frozen=True)
class ParsedKudos:
    receivers: tuple[str, ...]
    reason: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Telling:
    """The receivers a kudos' DM goes to, each with their time zone (their day is the DM
    budget's), and the part of its key that scopes it to the delivery at work."""

    zones: Mapping[str, str]
    key_suffix: str


@dataclass(frozen=True)
class GiveResult:
    kudos: list[Kudos]
    new: bool
    # Each receiver's DM, admitted in the same transaction, by kudos row id; none for a
    # receiver not told (not in `Telling`, or told before).
    admissions: dict[int, dm_budget.Admission] = field(default_factory=dict)


def tags_for(workspace: Workspace | None) -> tuple[str, ...]:
    """The workspace's tags: the defaults plus its own."""
    extra = tuple(t.lower() for t in (workspace.custom_tags if workspace else []) or [])
    return DEFAULT_TAGS + tuple(t for t in extra if t not in DEFAULT_TAGS)


def usage(tags: Sequence[str] = DEFAULT_TAGS) -> str:
    return _(
        "*Give kudos:* `/kudos @ann @bob <why> [#tag …]`, e.g. "
        "`/kudos @ann thanks for the clear demo #teamwork`.\n"
        "Say what they did: kudos recognise a behaviour. "
        "Tags: {tags}.\n"
        "`/kudos private @ann <why>` sends it to them only, with nothing posted in the channel.",
        tags=" ".join("#" + t for t in tags),
    )


PRIVATE_WORD = "private"


def split_private(text: str) -> tuple[bool, str]:
    """`/kudos private @ann …`: the word `private` first asks for a private kudos."""
    words = text.strip().split(maxsplit=1)
    if words and words[0].lower() == PRIVATE_WORD:
        return True, words[1] if len(words) > 1 else ""
    return False, text


def parse_kudos_text(text: str, *, known_tags: Collection[str] = DEFAULT_TAGS) -> ParsedKudos:
    """Split `/kudos` text into receivers, reason and tags, or say what is wrong with it."""
    text = CONTROL.sub("", text).strip()
    if len(text) > MAX_TEXT:
        raise KudosRejected(
            _(
                "That kudos is {length} characters; keep it under {limit} "
                "so it reads well in the channel.",
                length=format_number(len(text)),
                limit=format_number(MAX_TEXT),
            )
        )
    if not text:
        raise KudosRejected(_("Who is it for, and why? {usage}", usage=usage(tuple(known_tags))))
    if group := texts.group_mention(text, Source.MARKUP):
        raise KudosRejected(
            _(
                "Kudos go to people, not to groups like `{group}`: "
                "mention each person you want to recognise.",
                group=group,
            )
        )
    receivers = tuple(dict.fromkeys(USER_MENTION.findall(text)))
    without_mentions = USER_MENTION.sub(" ", text)
    words = texts.own_words(without_mentions)
    if bare := BARE_MENTION.search(words):
        raise KudosRejected(
            _(
                "I couldn't find `@{name}` in this workspace. "
                "Pick people from the @-mention list so Slack links them.",
                name=bare.group(1),
            )
        )
    if not receivers:
        raise KudosRejected(
            _("Mention who the kudos are for. {usage}", usage=usage(tuple(known_tags)))
        )
    if len(receivers) > MAX_RECEIVERS:
        raise KudosRejected(
            _(
                "That's {count} people; kudos go to at most {limit} at once. "
                "Split them up, or recognise the group in a message of your own.",
                count=format_number(len(receivers)),
                limit=format_number(MAX_RECEIVERS),
            )
        )
    known = {t.lower() for t in known_tags}
    tags = tuple(dict.fromkeys(t.lower() for t in TAG.findall(words)))
    unknown = [t for t in tags if t not in known]
    if unknown:
        raise KudosRejected(
            _(
                "I don't know the tag #{tag}. Tags here: {tags}.",
                tag=unknown[0],
                tags=" ".join("#" + t for t in known_tags),
            )
        )
    reason = " ".join(_without_tags(without_mentions).split())
    reason = carry(texts.trim(reason, " ,.:;-–—!"), source=Source.MARKUP, mentions=receivers)
    if not re.search(r"\w", reason):
        raise KudosRejected(
            _(
                "Say why: kudos recognise something a person did, e.g. "
                "`/kudos @ann thanks for untangling the release notes`."
            )
        )
    return ParsedKudos(receivers=receivers, reason=reason, tags=tags)


def _without_tags(text: str) -> str:
    """The text with its tags taken out, the tokens Slack made left whole."""
    return "".join(
        piece if texts.TOKEN.fullmatch(piece) else TAG.sub(" ", piece)
        for piece in texts.TOKEN.split(text)
    )


def carry(text: str, *, source: Source, mentions: Collection[str]) -> str:
    """A reason through the one text path; a refusal becomes the kudos' refusal."""
    try:
        return texts.carry(text, source=source, mentions=mentions)
    except TextRefused as exc:
        raise KudosRejected(str(exc)) from None


def carry_reason(markup: str, *, mentions: Collection[str]) -> str:
    """A reason already carried, checked again where it is given (the last gate before a
    post), with the mentions that surface means."""
    return carry(markup, source=Source.MARKUP, mentions=mentions)


def check_people(giver: Person, receivers: Sequence[Person]) -> None:
    """Kudos go from a person to other, active, human people."""
    for person in receivers:
        if person.user_id == giver.user_id:
            raise KudosRejected(
                _(
                    "Kudos are for recognising others, so you can't give them to yourself. "
                    "Who helped you lately?"
                )
            )
        if person.is_bot or person.user_id == "USLACKBOT":
            raise KudosRejected(
                _(
                    "<@{user}> is a bot; kudos are for people. "
                    "Recognise the person who built or ran it instead.",
                    user=person.user_id,
                )
            )
        if person.deleted:
            raise KudosRejected(_("<@{user}> is no longer in this workspace.", user=person.user_id))


def local_midnight(now: datetime, tz: str) -> datetime:
    """The start of the giver's day, in their own time zone, for the daily limit."""
    zone = ZoneInfo(tz)
    return datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)


async def give(
    session: AsyncSession,
    *,
    workspace: Workspace,
    giver: Person,
    parsed: ParsedKudos,
    channel_id: str | None,
    source: str,
    source_key: str,
    now: datetime,
    private: bool = False,
    quiet_receivers: Collection[str] = (),
    named: Collection[str] = (),
    reason_without_named: str | None = None,
    telling: Telling | None = None,
) -> GiveResult:
    """Log a kudos once per (source, receiver), within the giver's daily limit.

    `private`: the giver asked for it; `quiet_receivers`: people who don't want kudos they
    receive posted. Either way the row says why it is private (`private_by`).
    `named`: others the reason repeats (a +1's original giver), fenced like the receivers;
    with one of them erased since, `reason_without_named` is stored as the reason.
    `telling`: whom to DM; each DM is admitted (dm_budget) with the row that tells it.
    """
    team_id = workspace.team_id
    # One statement locks the giver (two kudos cannot both pass the limit), each receiver's
    # DM budget (dm_budget.admit with locked=True), and, shared, each person the kudos names:
    # an erase under way is waited for, and the read below finds them gone (SQLite runs
    # one writer at a time).
    await dm_budget.lock(
        session,
        [
            f"kudos-giver:{team_id}:{giver.user_id}",
            *(dm_budget.pair_key(team_id, giver.user_id, r) for r in parsed.receivers),
        ],
        shared=[
            dm_budget.person_key(team_id, r) for r in dict.fromkeys([*parsed.receivers, *named])
        ],
    )
    midnight = local_midnight(now, giver.tz)
    # One read for the three rules: this source given before (a retry), and the giver's
    # kudos since midnight or the merge window; and whether any of them are allies.
    dialect = dialect_of(session)
    found = await kudos_rows.GIVEN[dialect].rows(
        session,
        {
            "team_id": team_id,
            "giver_id": giver.user_id,
            "since": min(midnight, now - MERGE_WINDOW),
            "source_key": source_key,
            "receivers": list(parsed.receivers),
        },
    )
    given: list[tuple[str, datetime]] = []
    allied, stored = False, 0
    for is_allied, present, receiver, at, key in found:
        allied, stored = bool(is_allied), int(present)
        if key == source_key:
            again = await _by_source(session, team_id=team_id, source_key=source_key)
            admissions = await _admit(session, again, telling, {}, now=now)
            return GiveResult(kudos=again, new=False, admissions=admissions)
        if receiver is not None:
            given.append((receiver, at))
    if stored < len(set(parsed.receivers)) or (named and reason_without_named is not None):
        # Someone erased their data since they were read (a +1 names nobody, so the erase
        # could not stop its delivery): nothing is stored for a receiver gone, and a reason
        # repeating one gone (a +1's original giver) loses their words (README, "Your data").
        here = await people.get_people(
            session, team_id=team_id, user_ids=[*parsed.receivers, *named]
        )
        gone = reason_without_named if any(u not in here for u in named) else None
        kept = tuple(r for r in parsed.receivers if r in here)
        parsed = ParsedKudos(receivers=kept, reason=gone or parsed.reason, tags=parsed.tags)
        if not parsed.receivers:
            return GiveResult(kudos=[], new=True)
    recent = {r for r, at in given if at > now - MERGE_WINDOW and r in parsed.receivers}
    receivers = tuple(r for r in parsed.receivers if r not in recent)
    if not receivers:
        raise KudosRejected(
            _(
                "You recognised {people} a few minutes "
                "ago, so I've kept that one: repeated kudos within 10 minutes count once.",
                people=", ".join(f"<@{r}>" for r in parsed.receivers),
            )
        )
    parsed = ParsedKudos(receivers=receivers, reason=parsed.reason, tags=parsed.tags)
    used = sum(1 for __, at in given if at >= midnight)
    limit = workspace.daily_kudos_limit
    if used + len(parsed.receivers) > limit:
        left = max(limit - used, 0)
        reset = midnight + timedelta(days=1)
        hours = max(1, round((reset - now).total_seconds() / 3600))
        values = {
            "limit": format_number(limit),
            "left": format_number(left),
            "hours": format_number(hours),
        }
        if left:
            refusal = ngettext(
                "You can give {limit} kudos a day and have {left} left today, so this one for "
                "{n} person won't fit. Your count resets at midnight your time (in about "
                "{hours} h).",
                "You can give {limit} kudos a day and have {left} left today, so this one for "
                "{n} people won't fit. Your count resets at midnight your time (in about "
                "{hours} h).",
                len(parsed.receivers),
                **values,
            )
        else:
            refusal = _(
                "You can give {limit} kudos a day and have {left} left today. Your count resets "
                "at midnight your time (in about {hours} h).",
                **values,
            )
        raise KudosRejected(refusal)
    rows: list[dict[str, Any]] = [
        {
            "team_id": team_id,
            "giver_id": giver.user_id,
            "receiver_id": receiver,
            "channel_id": channel_id,
            "text": parsed.reason,
            "tags": list(parsed.tags),
            "source": source,
            "source_key": source_key,
            "private_by": privacy_of(receiver, private=private, quiet_receivers=quiet_receivers),
            "created_at": now,
        }
        for receiver in parsed.receivers
    ]
    inserted: list[Kudos] = []
    decided: dict[int, str | None] = {}  # the DM's outcome, admitted with its row
    for row in rows:
        zone = telling.zones.get(row["receiver_id"]) if telling is not None else None
        if telling is None or zone is None or dialect != "postgresql":  # SQLite: apart
            for written in await kudos_rows.INSERT[dialect].rows(session, row):
                inserted.append(detached(Kudos, kudos_rows.COLUMNS, written))
            continue
        dm = {"dm_day": dm_budget.local_day(now, zone), "dm_key_suffix": telling.key_suffix}
        for *columns, outcome in await kudos_rows.INSERT_TELLING.rows(session, {**row, **dm}):
            inserted.append(detached(Kudos, kudos_rows.COLUMNS, columns))
            decided[inserted[-1].id] = outcome
    if allied:
        await allies.record_contacts(
            session, team_id=team_id, a=giver.user_id, others=parsed.receivers, at=now
        )
    if len(inserted) < len(rows):  # another run stored some of them first
        inserted = await _by_source(session, team_id=team_id, source_key=source_key)
    admissions = await _admit(session, inserted, telling, decided, now=now)
    return GiveResult(kudos=inserted, new=True, admissions=admissions)


async def _admit(
    session: AsyncSession,
    rows: Sequence[Kudos],
    telling: Telling | None,
    decided: Mapping[int, str | None],
    *,
    now: datetime,
) -> dict[int, dm_budget.Admission]:
    """Each receiver's DM admitted: settled where its row's statement decided it, else
    decided now (SQLite; a row another run stored, or a retry's, finds its decision)."""
    admissions: dict[int, dm_budget.Admission] = {}
    for row in rows:
        zone = telling.zones.get(row.receiver_id) if telling is not None else None
        if telling is None or zone is None or row.notified_at is not None:
            continue
        key = DM_KEY.format(id=row.id) + telling.key_suffix
        ref = {"kudos": row.id}
        if row.id in decided:
            admissions[row.id] = await dm_budget.settle(
                session,
                decided[row.id],
                team_id=row.team_id,
                sender_id=row.giver_id,
                recipient_id=row.receiver_id,
                key=key,
                ref={"kind": "kudos", **ref},
                day=dm_budget.local_day(now, zone),
                now=now,
            )
            continue
        admissions[row.id] = await dm_budget.admit(
            session,
            team_id=row.team_id,
            sender_id=row.giver_id,
            recipient_id=row.receiver_id,
            kind="kudos",
            key=key,
            ref=ref,
            now=now,
            recipient_tz=zone,
            locked=True,  # give locked each receiver's budget
        )
    return admissions


def privacy_of(receiver: str, *, private: bool, quiet_receivers: Collection[str]) -> str | None:
    """Why a kudos to this receiver is private, or None when it is public."""
    if private:
        return "giver"
    if receiver in quiet_receivers:
        return "receiver"
    return None


async def first_quiet(session: AsyncSession, *, team_id: str, rows: Sequence[Kudos]) -> set[str]:
    """Receivers of these rows kept private by their own preference for whom this is the
    giver's first such kudos: the giver is told why once, then not again."""
    quiet = [r for r in rows if r.private_by == "receiver"]
    if not quiet:
        return set()
    first_id = min(r.id for r in quiet)
    stmt = select(Kudos.receiver_id).where(
        Kudos.team_id == team_id,
        Kudos.giver_id == quiet[0].giver_id,
        Kudos.receiver_id.in_([r.receiver_id for r in quiet]),
        Kudos.private_by == "receiver",
        Kudos.id < first_id,
    )
    told_before = set((await session.execute(stmt)).scalars())
    return {r.receiver_id for r in quiet} - told_before


def message_source_key(channel_id: str, ts: str, giver_id: str) -> str:
    """One kudos per (giver, receiver, message), whether from its text or a reaction."""
    return f"message:{channel_id}:{ts}:{giver_id}"


def is_kudos_message(text: str, emoji: str) -> bool:
    """A channel message that gives kudos: a mention, and the word or the kudos emoji in
    the person's own words (not in a link, a channel's or a person's name)."""
    if not USER_MENTION.search(text):
        return False
    words = texts.own_words(text)
    return bool(KUDOS_WORD.search(words)) or f":{emoji}:" in words


def parse_kudos_message(text: str, *, giver_id: str, known_tags: Collection[str]) -> ParsedKudos:
    """A channel message as a kudos: everyone mentioned but the author, the message as the
    reason (cut to the kudos limit), the known tags in it."""
    receivers = tuple(u for u in dict.fromkeys(USER_MENTION.findall(text)) if u != giver_id)
    if not receivers:
        raise KudosRejected(
            _("Kudos are for recognising others, so you can't give them to yourself.")
        )
    if len(receivers) > MAX_RECEIVERS:
        raise KudosRejected(
            _(
                "That message mentions {count} people; kudos go to at most "
                "{limit} at once, so I haven't counted it.",
                count=format_number(len(receivers)),
                limit=format_number(MAX_RECEIVERS),
            )
        )

    known = {t.lower() for t in known_tags}
    words = texts.own_words(text)
    tags = tuple(t for t in dict.fromkeys(x.lower() for x in TAG.findall(words)) if t in known)
    reason = carry(text, source=Source.MARKUP, mentions={*receivers, giver_id})
    reason = texts.excerpt(" ".join(reason.split()), MAX_TEXT)
    return ParsedKudos(receivers=receivers, reason=reason, tags=tags)


async def withdraw(
    session: AsyncSession, *, team_id: str, source_key: str, receiver_id: str
) -> bool:
    """Take back a kudos (its reaction was removed)."""
    result = await session.execute(
        delete(Kudos).where(
            Kudos.team_id == team_id,
            Kudos.source_key == source_key,
            Kudos.receiver_id == receiver_id,
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def withdraw_message(session: AsyncSession, *, team_id: str, source_key: str) -> int:
    """Take back the kudos a channel message gave (the message was deleted); kudos others
    gave its author by reaction stay. Returns how many."""
    result = await session.execute(
        delete(Kudos).where(
            Kudos.team_id == team_id,
            Kudos.source_key == source_key,
            Kudos.source == "message",
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _by_source(session: AsyncSession, *, team_id: str, source_key: str) -> list[Kudos]:
    found = await session.execute(_BY_SOURCE, {"team_id": team_id, "source_key": source_key})
    return list(found.scalars())


_BY_SOURCE = (
    select(Kudos)
    .where(Kudos.team_id == bindparam("team_id"), Kudos.source_key == bindparam("source_key"))
    .order_by(Kudos.id)
    .limit(MAX_RECEIVERS)
)


async def mark_announced(
    session: AsyncSession,
    *,
    team_id: str,
    source_key: str,
    channel_id: str | None,
    ts: str | None,
    now: datetime,
    private: bool = False,
) -> None:
    """Remember that the public post went out (or, for the private rows, that the giver was
    told they were delivered), so a re-run does neither again."""
    which = Kudos.private_by.is_not(None) if private else Kudos.private_by.is_(None)
    await session.execute(
        update(Kudos)
        .where(Kudos.team_id == team_id, Kudos.source_key == source_key, which)
        .values(post_channel_id=channel_id, post_ts=ts, announced_at=now)
    )
