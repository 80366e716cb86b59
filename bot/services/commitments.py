"""The rules of commitments: what a promise is, who it is to, and how it is kept."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import i18n
from bot import text as texts
from bot.db import insert_for
from bot.i18n import _, format_number, ngettext
from bot.models import Commitment, CommitmentParty, Person
from bot.services import allies, when_words
from bot.services.kudos import USER_MENTION
from bot.services.when import reads_as_when
from bot.text import Source, TextRefused, snippet

MAX_TEXT = 1000
MAX_PARTIES = 10
LIST_LIMIT = 50
FOLLOW_THROUGH_WINDOW = timedelta(days=90)  # the follow-through figure on `/commit list`

BY = re.compile(r"(?:^|\s+)by\s+", re.IGNORECASE)
TO_WORDS = "to|for|with"
AND_WORDS = "and|y|e|und"
TO_MENTIONS_PATTERN = (
    r"(?:^|\s+)(?:{words})\s+((?:<@[UW][A-Z0-9]+(?:\|[^>]*)?>(?:\s*(?:,|{ands}|&amp;|&)\s*)?)+)"
)
TO_MENTIONS = re.compile(TO_MENTIONS_PATTERN.format(words=TO_WORDS, ands="and"), re.IGNORECASE)
GOT_IT = "got_it"
DISPUTED = "disputed"


class CommitRejected(Exception):
    """A commitment that cannot be recorded; the message tells the owner what to change."""


class NotYours(Exception):
    """Someone acted on a commitment that is not theirs to act on."""


@dataclass(frozen=True)
class CommitDraft:
    what: str
    parties: tuple[str, ...]
    when: str | None


def usage() -> str:
    return _(
        "*Track a promise:* `/commit <what> [to @bob] [by <when>]`, e.g. "
        "`/commit send the deck to @bob by Friday`.\n"
        "`<when>` can be `tomorrow 3pm`, `next Tuesday morning`, `in 2 weeks`, "
        "`end of month` or `2026-12-01`; a day without a time means the end of your working "
        "day.\n`/commit list` · `/commit done 2` · `/commit drop 2`"
    )


@cache
def to_mentions(language: str) -> re.Pattern[str]:
    """ "to @bob" and its kin in English and in `language` ("a @bob", "an @bob")."""
    extra = when_words.to_words(language)
    if extra is None:
        return TO_MENTIONS
    words = f"{TO_WORDS}|{extra}"
    return re.compile(TO_MENTIONS_PATTERN.format(words=words, ands=AND_WORDS), re.IGNORECASE)


def _split_when(text: str, language: str) -> tuple[str, str | None]:
    """The promise and its due phrase: after the last "by" (always), or after the last of
    the person's own language's words for it ("para", "bis") when a date follows them."""
    found = [(m, True) for m in BY.finditer(text)]
    local = when_words.connector(language)
    if local is not None:
        found += [(m, False) for m in local.finditer(text)]
    # A link's text (`<url|the plan by Friday>`) is the person's words whole.
    tokens = [t.span() for t in texts.TOKEN.finditer(text)]
    found = [f for f in found if not any(a < f[0].end() and f[0].start() < b for a, b in tokens)]
    for match, english in sorted(found, key=lambda f: f[0].start(), reverse=True):
        tail = text[match.end() :].strip()
        if tail and not tail.startswith("<@") and (english or reads_as_when(tail, language)):
            return text[: match.start()], tail
    return text, None


def parse_commit_text(text: str, language: str | None = None) -> CommitDraft:
    """Split `/commit` text into the promise, the people it is to, and the due phrase, in
    English or in `language` (the language allybot speaks to the person, unless given)."""
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise CommitRejected(
            _(
                "That's {length} characters; keep a promise under {limit} so it reads "
                "well in a reminder.",
                length=format_number(len(text)),
                limit=format_number(MAX_TEXT),
            )
        )
    if group := texts.group_mention(text, Source.MARKUP):
        raise CommitRejected(texts.refusal(group))
    code = language or i18n.language()
    head, when = _split_when(text, code)
    parties = tuple(dict.fromkeys(USER_MENTION.findall(head)))
    what = to_mentions(code).sub(" ", head)
    what = texts.trim(" ".join(what.split()), " ,.;:-")
    if not re.search(r"\w", USER_MENTION.sub("", what)):
        raise CommitRejected(_("What did you promise? {usage}", usage=usage()))
    if len(parties) > MAX_PARTIES:
        raise CommitRejected(
            ngettext(
                "A promise can be to at most {n} person.",
                "A promise can be to at most {n} people.",
                MAX_PARTIES,
            )
        )
    what = carry(what, source=Source.MARKUP, parties=parties)
    return CommitDraft(what=what, parties=parties, when=when)


def carry(what: str, *, source: Source, parties: Sequence[str]) -> str:
    """A promise's words through the one text path: mentions of the people it is to stay."""
    try:
        return texts.carry(what, source=source, mentions=parties)
    except TextRefused as exc:
        raise CommitRejected(str(exc)) from None


def check_parties(owner_id: str, parties: Sequence[Person]) -> None:
    """Promises are made to other people who are still here."""
    for person in parties:
        if person.user_id == owner_id:
            raise CommitRejected(
                _(
                    "You don't need to name yourself: the promise is already yours. "
                    "Name the person you promised."
                )
            )
        if person.is_bot or person.user_id == "USLACKBOT":
            raise CommitRejected(
                _("<@{user}> is a bot; promises are made to people.", user=person.user_id)
            )
        if person.deleted:
            raise CommitRejected(
                _("<@{user}> is no longer in this workspace.", user=person.user_id)
            )


def local_day(instant: datetime, tz: str) -> date:
    return instant.astimezone(ZoneInfo(tz)).date()


async def create(
    session: AsyncSession,
    *,
    team_id: str,
    owner: Person,
    what: str,
    parties: Sequence[str],
    due_at: datetime | None,
    source_key: str,
    now: datetime,
) -> Commitment:
    """Record a promise once per source (a retried command records nothing more)."""
    stmt = (
        insert_for(session, Commitment)
        .values(
            team_id=team_id,
            owner_id=owner.user_id,
            text=what,
            due_at=due_at,
            due_day=local_day(due_at, owner.tz) if due_at else None,
            created_day=local_day(now, owner.tz),
            status="open",
            created_at=now,
            overdue_count=0,
            source_key=source_key,
        )
        .on_conflict_do_nothing(index_elements=["team_id", "source_key"])
        .returning(Commitment.id)
    )
    new_id = (await session.execute(stmt)).scalar_one_or_none()
    found = await session.execute(
        select(Commitment).where(Commitment.team_id == team_id, Commitment.source_key == source_key)
    )
    commitment = found.scalar_one()
    if new_id is not None:
        await set_parties(session, commitment=commitment, parties=parties)
        for party in parties:
            await allies.record_contact(session, team_id=team_id, a=owner.user_id, b=party, at=now)
    return commitment


async def set_parties(
    session: AsyncSession, *, commitment: Commitment, parties: Sequence[str]
) -> None:
    """Make the parties exactly these people, keeping what those already there answered."""
    await session.execute(
        delete(CommitmentParty).where(
            CommitmentParty.commitment_id == commitment.id,
            CommitmentParty.user_id.not_in(list(parties)),
        )
    )
    if parties:
        stmt = insert_for(session, CommitmentParty).values(
            [
                {"commitment_id": commitment.id, "team_id": commitment.team_id, "user_id": uid}
                for uid in parties
            ]
        )
        await session.execute(
            stmt.on_conflict_do_nothing(index_elements=["commitment_id", "user_id"])
        )


async def parties_of(session: AsyncSession, *, commitment_id: int) -> list[CommitmentParty]:
    stmt = (
        select(CommitmentParty)
        .where(CommitmentParty.commitment_id == commitment_id)
        .order_by(CommitmentParty.id)
    )
    return list((await session.execute(stmt)).scalars())


async def owned(
    session: AsyncSession, *, commitment_id: int, team_id: str, user_id: str
) -> Commitment:
    """The commitment, if this person owns it; locked, so two presses at once act once."""
    commitment = await session.get(Commitment, commitment_id, with_for_update=True)
    if commitment is None or commitment.team_id != team_id or commitment.owner_id != user_id:
        raise NotYours(commitment_id)
    return commitment


async def open_list(session: AsyncSession, *, team_id: str, owner_id: str) -> list[Commitment]:
    """The owner's open commitments, soonest first, as `/commit list` numbers them."""
    stmt = (
        select(Commitment)
        .where(
            Commitment.team_id == team_id,
            Commitment.owner_id == owner_id,
            Commitment.status == "open",
        )
        .order_by(Commitment.due_at.is_(None), Commitment.due_at, Commitment.id)
        .limit(LIST_LIMIT)
    )
    return list((await session.execute(stmt)).scalars())


async def by_number(
    session: AsyncSession, *, team_id: str, owner_id: str, number: str
) -> Commitment:
    """The N-th open commitment of `/commit list`."""
    if not number.strip().isdecimal():
        raise CommitRejected(
            _(
                "`{text}` is not a number from `/commit list`, e.g. `/commit done 2`.",
                text=snippet(number) or "…",
            )
        )
    items = await open_list(session, team_id=team_id, owner_id=owner_id)
    n = int(number)
    if not 1 <= n <= len(items):
        raise CommitRejected(
            ngettext(
                "You have {n} open commitment; there is no number {number}. "
                "`/commit list` shows them.",
                "You have {n} open commitments; there is no number {number}. "
                "`/commit list` shows them.",
                len(items),
                number=n,
            )
        )

    return items[n - 1]


async def close(
    session: AsyncSession, *, commitment: Commitment, status: str, now: datetime
) -> bool:
    """Mark a promise done, dropped, or cancelled (a correction, not counted against
    follow-through); False when it was already closed (a repeat press)."""
    if commitment.status != "open":
        return False
    commitment.status = status
    commitment.closed_at = now
    if commitment.due_at is not None and status != "cancelled":
        commitment.kept_on_time = status == "done" and now <= commitment.due_at
    if status == "done":
        for party in await parties_of(session, commitment_id=commitment.id):
            await allies.record_contact(
                session, team_id=commitment.team_id, a=commitment.owner_id, b=party.user_id, at=now
            )
    await session.flush()
    return True


async def reschedule(
    session: AsyncSession,
    *,
    commitment: Commitment,
    owner_tz: str,
    due_at: datetime,
    what: str | None = None,
) -> None:
    """A new date starts the reminders afresh."""
    commitment.due_at = due_at
    commitment.due_day = local_day(due_at, owner_tz)
    commitment.next_nudge_day = None
    commitment.overdue_count = 0
    if what:
        commitment.text = what
    await session.flush()


async def snooze(
    session: AsyncSession, *, commitment: Commitment, days: int, owner_tz: str, now: datetime
) -> date:
    """No reminder before `days` from today; then one more, even after the usual two."""
    until = local_day(now, owner_tz) + timedelta(days=days)
    commitment.next_nudge_day = until
    commitment.overdue_count = min(commitment.overdue_count, 1)
    await session.flush()
    return until


async def mark_shared(
    session: AsyncSession, *, commitment: Commitment, now: datetime
) -> list[CommitmentParty]:
    """The parties not yet told about this promise; marks them told."""
    commitment.shared_at = commitment.shared_at or now
    untold = [p for p in await parties_of(session, commitment_id=commitment.id) if not p.told_at]
    for party in untold:
        party.told_at = now
    await session.flush()
    return untold


async def respond(
    session: AsyncSession,
    *,
    commitment_id: int,
    team_id: str,
    user_id: str,
    answer: str,
    now: datetime,
) -> Commitment:
    """A party's answer: "Got it" or "That's not what we agreed"."""
    party = (
        await session.execute(
            select(CommitmentParty).where(
                CommitmentParty.commitment_id == commitment_id,
                CommitmentParty.user_id == user_id,
                CommitmentParty.team_id == team_id,
            )
        )
    ).scalar_one_or_none()
    commitment = await session.get(Commitment, commitment_id)
    if party is None or commitment is None:
        raise NotYours(commitment_id)
    party.response, party.responded_at = answer, now
    await session.flush()
    return commitment


@dataclass(frozen=True)
class FollowThrough:
    kept: int
    closed: int

    @property
    def rate(self) -> float | None:
        return self.kept / self.closed if self.closed else None


async def follow_through(
    session: AsyncSession, *, team_id: str, user_id: str, start: datetime, end: datetime
) -> FollowThrough:
    """Promises with a date closed in [start, end), and how many were kept on time."""
    row = (
        await session.execute(
            select(
                func.count(Commitment.id),
                func.count(Commitment.id).filter(Commitment.kept_on_time.is_(True)),
            ).where(
                Commitment.team_id == team_id,
                Commitment.owner_id == user_id,
                Commitment.closed_at >= start,
                Commitment.closed_at < end,
                Commitment.kept_on_time.is_not(None),
            )
        )
    ).one()
    return FollowThrough(kept=int(row[1]), closed=int(row[0]))
