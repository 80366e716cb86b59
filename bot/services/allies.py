"""Allies, check-ins and direct conversations: who a person wants on their side, when they
last connected, and when it is time to reconnect."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_for
from bot.i18n import _, format_number, ngettext
from bot.models import Ally, CheckIn, Person, Resolve
from bot.services.when_words import fold
from bot.text import snippet
from bot.workdays import add_working_days

DEFAULT_CADENCE = 14
MAX_ALLIES = 100
MAX_NOTE = 1000
RESOLVE_FOLLOW_UP_WORKING_DAYS = 2
RESOLVE_MAX_FOLLOW_UPS = 3  # the first, then "Not yet" at most twice

CADENCE = re.compile(
    r"^(?:every\s+)?(?:(?P<n>\d{1,3})\s*(?P<unit>days?|weeks?|months?)|(?P<word>day|week|"
    r"month|other week|fortnight|weekly|fortnightly|monthly|biweekly))$",
    re.IGNORECASE,
)
WORDS = {
    "day": 1,
    "week": 7,
    "weekly": 7,
    "other week": 14,
    "fortnight": 14,
    "fortnightly": 14,
    "biweekly": 14,
    "month": 30,
    "monthly": 30,
}


# How often, said in Spanish or German, word by word in the English the pattern reads
# ("cada 2 semanas", "alle 2 Wochen", "mensual", "wöchentlich"), accents and umlauts dropped.
CADENCE_WORDS = {
    "cada": "every",
    "dia": "day",
    "dias": "days",
    "diario": "day",
    "diaria": "day",
    "semana": "week",
    "semanas": "weeks",
    "semanal": "weekly",
    "quincena": "fortnight",
    "quincenal": "fortnightly",
    "mes": "month",
    "meses": "months",
    "mensual": "monthly",
    "jede": "every",
    "jeden": "every",
    "jeder": "every",
    "jedes": "every",
    "alle": "every",
    "tag": "day",
    "tage": "days",
    "taglich": "day",
    "woche": "week",
    "wochen": "weeks",
    "wochentlich": "weekly",
    "zweiwochentlich": "fortnightly",
    "monat": "month",
    "monate": "months",
    "monatlich": "monthly",
}


class AllyRejected(Exception):
    """Input about allies allybot cannot use; the message says why, privately."""


def parse_cadence(text: str) -> int:
    """'every 2 weeks', 'every month', 'every 10 days', 'weekly' → days; the same in Spanish
    ('cada 2 semanas', 'mensual') and German ('alle 2 Wochen', 'jeden Monat')."""
    text = " ".join(text.strip().lower().split())
    if not text:
        return DEFAULT_CADENCE
    said = " ".join(CADENCE_WORDS.get(word, word) for word in fold(text).split())
    match = CADENCE.match(said)

    if not match:
        raise AllyRejected(
            _(
                "I couldn't read `{text}` as how often: try `every week`, `every 2 weeks`, "
                "`every month` or `every 10 days`.",
                text=snippet(text),
            )
        )
    if match.group("word"):
        days = WORDS[match.group("word")]
    else:
        n, unit = int(match.group("n")), match.group("unit")
        days = n * {"d": 1, "w": 7, "m": 30}[unit[0]]
    if not 1 <= days <= 365:
        raise AllyRejected(_("A check-in rhythm can be from every day to once a year."))
    return days


def cadence_text(days: int) -> str:
    """How often, in words of the current language ("every 2 weeks")."""
    if days % 30 == 0:
        return ngettext("every month", "every {n} months", days // 30)
    if days % 7 == 0:
        return ngettext("every week", "every {n} weeks", days // 7)
    return ngettext("every day", "every {n} days", days)


def check_ally(owner_id: str, ally: Person) -> None:
    if ally.user_id == owner_id:
        raise AllyRejected(_("You're already on your own side. Name a colleague."))
    if ally.is_bot or ally.user_id == "USLACKBOT":
        raise AllyRejected(_("<@{user}> is a bot; allies are people.", user=ally.user_id))
    if ally.deleted:
        raise AllyRejected(_("<@{user}> is no longer in this workspace.", user=ally.user_id))


def _day(instant: datetime, tz: str) -> date:
    return instant.astimezone(ZoneInfo(tz)).date()


async def add(
    session: AsyncSession,
    *,
    team_id: str,
    owner: Person,
    ally: Person,
    cadence_days: int,
    now: datetime,
) -> tuple[Ally, bool]:
    """Add an ally (or change the rhythm of one); adding counts as a fresh start."""
    check_ally(owner.user_id, ally)
    existing = await get(session, team_id=team_id, user_id=owner.user_id, ally_id=ally.user_id)
    if existing is not None:
        existing.cadence_days = cadence_days
        existing.due_day = existing.last_contact_day + timedelta(days=cadence_days)
        await session.flush()
        return existing, False
    count = len(await list_allies(session, team_id=team_id, user_id=owner.user_id))
    if count >= MAX_ALLIES:
        raise AllyRejected(
            ngettext(
                "You have {n} ally, the most allybot keeps for one person.",
                "You have {n} allies, the most allybot keeps for one person.",
                count,
            )
        )
    today = _day(now, owner.tz)
    row = Ally(
        team_id=team_id,
        user_id=owner.user_id,
        ally_id=ally.user_id,
        cadence_days=cadence_days,
        created_at=now,
        last_contact_at=now,
        last_contact_day=today,
        due_day=today + timedelta(days=cadence_days),
    )
    session.add(row)
    await session.flush()
    return row, True


async def get(session: AsyncSession, *, team_id: str, user_id: str, ally_id: str) -> Ally | None:
    stmt = select(Ally).where(
        Ally.team_id == team_id, Ally.user_id == user_id, Ally.ally_id == ally_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def remove(session: AsyncSession, *, team_id: str, user_id: str, ally_id: str) -> bool:
    result = await session.execute(
        delete(Ally).where(
            Ally.team_id == team_id, Ally.user_id == user_id, Ally.ally_id == ally_id
        )
    )
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True)
class AllyView:
    ally: Ally
    person: Person | None

    @property
    def gone(self) -> bool:
        return self.person is not None and self.person.deleted


async def list_allies(session: AsyncSession, *, team_id: str, user_id: str) -> list[AllyView]:
    """A person's allies, the longest since contact first, with who left marked."""
    stmt = (
        select(Ally, Person)
        .outerjoin(Person, and_(Person.team_id == Ally.team_id, Person.user_id == Ally.ally_id))
        .where(Ally.team_id == team_id, Ally.user_id == user_id)
        .order_by(Ally.last_contact_at, Ally.id)
        .limit(MAX_ALLIES)
    )
    return [AllyView(ally=a, person=p) for a, p in (await session.execute(stmt)).all()]


async def record_contact(
    session: AsyncSession, *, team_id: str, a: str, b: str, at: datetime
) -> int:
    """Contact between two people restarts the check-in clock on both sides' ally entries."""
    return await record_contacts(session, team_id=team_id, a=a, others=[b], at=at)


async def record_contacts(
    session: AsyncSession, *, team_id: str, a: str, others: Collection[str], at: datetime
) -> int:
    """`record_contact` between one person and several others, in one statement."""
    if not others:
        return 0
    params = {"team_id": team_id, "a": a, "others": list(others), "at": at}
    rows = (await session.execute(_CONTACTS, params)).all()
    for ally, tz in rows:
        day = _day(at, tz)
        ally.last_contact_at, ally.last_contact_day = at, day
        ally.due_day = day + timedelta(days=ally.cadence_days)
        ally.next_nudge_day = None
    if rows:
        await session.flush()
    return len(rows)


# Built once: the kudos path runs it for every kudos, nearly always to find nothing.
_CONTACTS = (
    select(Ally, Person.tz)
    .join(Person, and_(Person.team_id == Ally.team_id, Person.user_id == Ally.user_id))
    .where(
        Ally.team_id == bindparam("team_id"),
        or_(
            and_(
                Ally.user_id == bindparam("a"),
                Ally.ally_id.in_(bindparam("others", expanding=True)),
            ),
            and_(
                Ally.user_id.in_(bindparam("others", expanding=True)),
                Ally.ally_id == bindparam("a"),
            ),
        ),
        Ally.last_contact_at < bindparam("at"),
    )
    .with_for_update()
)


async def log_check_in(
    session: AsyncSession,
    *,
    team_id: str,
    user_id: str,
    ally_id: str,
    note: str | None,
    source: str,
    now: datetime,
) -> None:
    if note and len(note) > MAX_NOTE:
        raise AllyRejected(
            _("Keep the note under {limit} characters.", limit=format_number(MAX_NOTE))
        )
    session.add(
        CheckIn(team_id=team_id, user_id=user_id, ally_id=ally_id, at=now, note=note, source=source)
    )
    await record_contact(session, team_id=team_id, a=user_id, b=ally_id, at=now)


async def owned_ally(
    session: AsyncSession, *, ally_row_id: int, team_id: str, user_id: str
) -> Ally:
    row = await session.get(Ally, ally_row_id)
    if row is None or row.team_id != team_id or row.user_id != user_id:
        raise AllyRejected(_("That button belongs to someone else's ally list."))
    return row


async def snooze(session: AsyncSession, *, row: Ally, days: int, today: date) -> date:
    row.next_nudge_day = today + timedelta(days=days)
    await session.flush()
    return row.next_nudge_day


async def set_cadence(session: AsyncSession, *, row: Ally, days: int) -> None:
    row.cadence_days = days
    row.due_day = row.last_contact_day + timedelta(days=days)
    row.next_nudge_day = None
    await session.flush()


# -- direct conversations ---------------------------------------------------------------


async def start_resolve(
    session: AsyncSession,
    *,
    team_id: str,
    owner: Person,
    other: Person,
    topic: str,
    source_key: str,
    now: datetime,
) -> Resolve:
    """Remember the intention to talk, to follow up two working days later (once)."""
    if other.user_id == owner.user_id:
        raise AllyRejected(_("Name the person you want to talk to."))
    if other.is_bot or other.deleted:
        raise AllyRejected(_("<@{user}> can't take part in a conversation.", user=other.user_id))
    if not re.search(r"\w", topic):
        raise AllyRejected(
            _("Say what it's about, e.g. `/ally resolve @bob the release schedule`.")
        )
    if len(topic) > MAX_NOTE:
        raise AllyRejected(
            _("Keep the topic under {limit} characters.", limit=format_number(MAX_NOTE))
        )
    stmt = (
        insert_for(session, Resolve)
        .values(
            team_id=team_id,
            user_id=owner.user_id,
            other_id=other.user_id,
            topic=topic,
            created_at=now,
            status="open",
            follow_up_day=add_working_days(_day(now, owner.tz), RESOLVE_FOLLOW_UP_WORKING_DAYS),
            follow_ups=0,
            source_key=source_key,
        )
        .on_conflict_do_nothing(index_elements=["source_key"])
    )
    await session.execute(stmt)
    found = await session.execute(select(Resolve).where(Resolve.source_key == source_key))
    return found.scalar_one()


async def answer_resolve(
    session: AsyncSession, *, resolve_id: int, team_id: str, user_id: str, answer: str, today: date
) -> Resolve:
    row = await session.get(Resolve, resolve_id)
    if row is None or row.team_id != team_id or row.user_id != user_id:
        raise AllyRejected(_("That button belongs to someone else's conversation."))

    if answer == "resolved":
        row.status = "resolved"
    elif answer == "help":
        row.status = "help"
    elif answer == "not_yet":
        row.follow_up_day = add_working_days(today, RESOLVE_FOLLOW_UP_WORKING_DAYS)
    await session.flush()
    return row
