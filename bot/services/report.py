"""The workspace report for admins: weekly series and the shape of the recognition network,
aggregated in SQL, counts only, and any figure over fewer than 5 people suppressed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from babel import numbers as babel_numbers
from sqlalchemy import Date, and_, cast, func, or_, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot import i18n
from bot.db import dialect_of
from bot.i18n import N_, _, ngettext, pgettext
from bot.models import CheckIn, Commitment, Kudos, Person
from bot.services import network
from bot.services.intros import figures as intro_figures
from bot.services.recognition import MIN_PEOPLE, SUPPRESSED, Headline, recognition_headline
from bot.services.series import Point, Series, fmt
from bot.sqlite_driver import in_the_thread

DEFAULT_WEEKS = 13
NETWORK_WINDOW = timedelta(days=90)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Report:
    team_id: str
    since: date
    until: datetime
    series: list[Series]
    shape: network.Shape
    network_since: date
    headline: Headline

    @property
    def shape_shown(self) -> bool:
        return self.shape.people >= MIN_PEOPLE


def week_of(day: date) -> date:
    """The Monday a day's week starts on."""
    return day - timedelta(days=day.weekday())


def default_since(until: datetime) -> date:
    """Thirteen weeks: this one so far and the twelve before."""
    return week_of(until.date()) - timedelta(weeks=DEFAULT_WEEKS - 1)


def _week(column: Any, dialect: str) -> ColumnElement[Any]:
    """A timestamp's week (its Monday, UTC), grouped on in SQL."""
    if dialect == "postgresql":
        return cast(func.date_trunc("week", func.timezone("UTC", column)), Date)
    return func.date(column, "-6 days", "weekday 1")


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


@in_the_thread  # no bound on its statements: never on the event loop's thread
async def build(
    session: AsyncSession,
    *,
    team_id: str,
    until: datetime,
    since: date | None = None,
    progress: Progress | None = None,
) -> Report:
    """Every figure of the report, each weekly series one GROUP BY week query."""
    step = progress or (lambda _stage: None)
    since = week_of(since or default_since(until))
    start = datetime.combine(since, time(0), tzinfo=UTC)
    weeks = [since + timedelta(weeks=i) for i in range((until.date() - since).days // 7 + 1)]
    dialect = dialect_of(session)
    if dialect == "postgresql":
        # Sorts and hash tables of a few hundred thousand rows stay in memory, not on disk.
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
    ctx = _Ctx(session, team_id, start, until, dialect)
    step("recognition network")
    net_start = until - NETWORK_WINDOW
    edges, people = await ctx.edges(net_start), await ctx.people()
    # The graph is worked out in a thread while the database answers the weekly queries.
    shape_task = asyncio.create_task(
        asyncio.to_thread(lambda: network.shape(network.recognition_graph(edges, people)))
    )
    try:
        step("recognised in the last 7 days")
        headline = await recognition_headline(session, team_id=team_id, until=until)
        series = await _weekly_series(ctx, weeks, step)
    finally:
        step("network shape")
        shape = await shape_task
    return Report(
        team_id=team_id,
        since=since,
        until=until,
        series=series,
        shape=shape,
        network_since=net_start.date(),
        headline=headline,
    )


async def _weekly_series(ctx: _Ctx, weeks: list[date], step: Progress) -> list[Series]:
    """One query per source, grouped by week in the database."""
    step("kudos by week")
    kudos_rows = await ctx.kudos_weeks()
    step("kudos crossing channels")
    crossing = await ctx.crossing_weeks()
    step("first-time receivers")
    first = await ctx.first_time_weeks()
    step("commitments")
    made, kept, overdue = await ctx.commitment_weeks()
    step("check-ins")
    checkins = await ctx.check_in_weeks()
    step("intros")
    intros = await _intros_series(ctx.session, team_id=ctx.team_id, since=ctx.start, weeks=weeks)

    def points(rows: Mapping[date, tuple[float | None, int]]) -> list[Point]:
        return [Point(w, *rows.get(w, (0, 0))) for w in weeks]

    receivers_pop = {w: r[2] for w, r in kudos_rows.items()}
    series = [
        Series(
            "kudos",
            N_("Kudos given"),
            "count",
            N_("How much recognition is flowing."),
            points({w: (r[0], r[1]) for w, r in kudos_rows.items()}),
        ),
        Series(
            "givers",
            N_("People who gave kudos"),
            "count",
            N_("How many people take part in recognising others."),
            points({w: (r[1], r[1]) for w, r in kudos_rows.items()}),
        ),
        Series(
            "receivers",
            N_("People who received kudos"),
            "count",
            N_("How widely recognition reaches."),
            points({w: (r[2], r[2]) for w, r in kudos_rows.items()}),
        ),
        Series(
            "crossing",
            N_("Kudos crossing channels"),
            "share",
            N_("Recognition between people whose home channels differ: alliances across teams."),
            points(crossing),
        ),
        Series(
            "first_time",
            N_("First-time receivers"),
            "count",
            N_("People recognised for the first time ever: the circle widening."),
            points({w: (first.get(w, 0), people) for w, people in receivers_pop.items()}),
        ),
        Series(
            "commitments_made",
            N_("Commitments made"),
            "count",
            N_("Promises people track with allybot."),
            points(made),
        ),
        Series(
            "commitments_kept",
            N_("Commitments kept on time"),
            "count",
            N_("Promises closed as done by their date."),
            points(kept),
        ),
        Series(
            "commitments_overdue",
            N_("Commitments overdue"),
            "count",
            N_("Promises whose date passed that week before they were done."),
            points(overdue),
        ),
        Series(
            "check_ins",
            N_("Ally check-ins"),
            "count",
            N_("Logged conversations with allies (/ally met, We talked)."),
            points(checkins),
        ),
        *intros,
    ]
    return series


class _Ctx:
    """The report's queries, sharing one workspace, period and dialect."""

    def __init__(
        self, session: AsyncSession, team_id: str, start: datetime, until: datetime, dialect: str
    ) -> None:
        self.session, self.team_id, self.start, self.until = session, team_id, start, until
        self.dialect = dialect

    def _in_period(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.start, column < self.until)

    async def kudos_weeks(self) -> dict[date, tuple[int, int, int]]:
        week = _week(Kudos.created_at, self.dialect).label("week")
        rows = await self.session.execute(
            select(
                week,
                func.count(),
                func.count(Kudos.giver_id.distinct()),
                func.count(Kudos.receiver_id.distinct()),
            )
            .where(Kudos.team_id == self.team_id, self._in_period(Kudos.created_at))
            .group_by(week)
        )
        return {_as_date(w): (int(n), int(g), int(r)) for w, n, g, r in rows}

    async def crossing_weeks(self) -> dict[date, tuple[float | None, int]]:
        """Share of kudos whose giver's and receiver's home channels differ.

        A person's home channel is the channel (not a DM) where most of the kudos they gave
        or received in the period were given, ties to the lowest channel id. A kudos is
        known when both people have a home channel; the share is over known kudos, and the
        figure is over the givers of those kudos.
        """
        period = (Kudos.team_id == self.team_id, self._in_period(Kudos.created_at))
        in_channel = (Kudos.channel_id.is_not(None), ~Kudos.channel_id.startswith("D"))
        seen = union_all(
            select(Kudos.giver_id.label("person"), Kudos.channel_id.label("channel")).where(
                *period, *in_channel
            ),
            select(Kudos.receiver_id.label("person"), Kudos.channel_id.label("channel")).where(
                *period, *in_channel
            ),
        ).subquery()
        counts = (
            select(seen.c.person, seen.c.channel, func.count().label("n"))
            .group_by(seen.c.person, seen.c.channel)
            .cte("counts")
        )
        best = (
            select(counts.c.person, func.max(counts.c.n).label("top"))
            .group_by(counts.c.person)
            .subquery()
        )
        home = (
            select(counts.c.person, func.min(counts.c.channel).label("channel"))
            .join(best, and_(best.c.person == counts.c.person, best.c.top == counts.c.n))
            .group_by(counts.c.person)
            .cte("home")
        )
        giver_home, receiver_home = home.alias("giver_home"), home.alias("receiver_home")
        # Materialised, so PostgreSQL hash-joins the period's kudos to the home channels
        # rather than probing the giver index once per person.
        kudos = (
            select(
                _week(Kudos.created_at, self.dialect).label("week"),
                Kudos.giver_id,
                Kudos.receiver_id,
            )
            .where(*period)
            .cte("period_kudos")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        # Per (week, giver) first, so the distinct givers are a count of rows, not a sort.
        per_giver = (
            select(
                kudos.c.week,
                func.count().filter(giver_home.c.channel != receiver_home.c.channel).label("x"),
                func.count().label("n"),
            )
            .join(giver_home, giver_home.c.person == kudos.c.giver_id)
            .join(receiver_home, receiver_home.c.person == kudos.c.receiver_id)
            .group_by(kudos.c.week, kudos.c.giver_id)
            .subquery()
        )
        rows = await self.session.execute(
            select(
                per_giver.c.week,
                func.sum(per_giver.c.x),
                func.sum(per_giver.c.n),
                func.count(),
            ).group_by(per_giver.c.week)
        )
        return {_as_date(w): (int(c) / int(n) if n else None, int(g)) for w, c, n, g in rows}

    async def first_time_weeks(self) -> dict[date, int]:
        first = (
            select(func.min(Kudos.created_at).label("first"))
            .where(Kudos.team_id == self.team_id)
            .group_by(Kudos.receiver_id)
            .subquery()
        )
        week = _week(first.c.first, self.dialect).label("week")
        rows = await self.session.execute(
            select(week, func.count())
            .where(first.c.first >= self.start, first.c.first < self.until)
            .group_by(week)
        )
        return {_as_date(w): int(n) for w, n in rows}

    async def commitment_weeks(
        self,
    ) -> tuple[
        dict[date, tuple[int, int]], dict[date, tuple[int, int]], dict[date, tuple[int, int]]
    ]:
        """Made (by when made), kept on time (by when closed), overdue (by when due)."""
        team = Commitment.team_id == self.team_id
        live = Commitment.status != "cancelled"
        owners = func.count(Commitment.owner_id.distinct())
        made_week = _week(Commitment.created_at, self.dialect).label("week")
        made = await self.session.execute(
            select(made_week, func.count(), owners)
            .where(team, live, self._in_period(Commitment.created_at))
            .group_by(made_week)
        )
        closed_week = _week(Commitment.closed_at, self.dialect).label("week")
        kept = await self.session.execute(
            select(
                closed_week,
                func.count().filter(Commitment.kept_on_time.is_(True)),
                owners,
            )
            .where(
                team, Commitment.kept_on_time.is_not(None), self._in_period(Commitment.closed_at)
            )
            .group_by(closed_week)
        )
        due_week = _week(Commitment.due_at, self.dialect).label("week")
        overdue = await self.session.execute(
            select(due_week, func.count(), owners)
            .where(
                team,
                live,
                self._in_period(Commitment.due_at),
                or_(Commitment.closed_at.is_(None), Commitment.closed_at > Commitment.due_at),
            )
            .group_by(due_week)
        )

        def by_week(rows: Any) -> dict[date, tuple[int, int]]:
            return {_as_date(w): (int(n), int(p)) for w, n, p in rows}

        return by_week(made), by_week(kept), by_week(overdue)

    async def check_in_weeks(self) -> dict[date, tuple[int, int]]:
        week = _week(CheckIn.at, self.dialect).label("week")
        rows = await self.session.execute(
            select(week, func.count(), func.count(CheckIn.user_id.distinct()))
            .where(CheckIn.team_id == self.team_id, self._in_period(CheckIn.at))
            .group_by(week)
        )
        return {_as_date(w): (int(n), int(p)) for w, n, p in rows}

    async def edges(self, since: datetime) -> list[tuple[str, str, int]]:
        """Only (giver, receiver, count): the graph never needs a kudos row."""
        rows = await self.session.execute(
            select(Kudos.giver_id, Kudos.receiver_id, func.count())
            .where(
                Kudos.team_id == self.team_id,
                Kudos.created_at >= since,
                Kudos.created_at < self.until,
            )
            .group_by(Kudos.giver_id, Kudos.receiver_id)
        )
        return [(g, r, int(n)) for g, r, n in rows]

    async def people(self) -> list[str]:
        """Everyone who could be recognised: people allybot knows, not bots, not gone."""
        rows = await self.session.execute(
            select(Person.user_id).where(
                Person.team_id == self.team_id,
                Person.is_bot.is_(False),
                Person.deleted.is_(False),
                Person.user_id != "USLACKBOT",
            )
        )
        return list(rows.scalars())


INTROS_SERIES = (
    (
        "intros_matched",
        N_("People matched in intros"),
        N_("People paired or grouped in an intros round."),
    ),
    ("intros_met", N_("Intro groups that met"), N_('Groups that answered yes to "did you meet?".')),
    (
        "intros_new",
        N_("New connections from intros"),
        N_("Pairs matched who had no earlier match and no contact in allybot's records."),
    ),
)


async def _intros_series(
    session: AsyncSession, *, team_id: str, since: datetime, weeks: Sequence[date]
) -> list[Series]:
    """Intros by the week each round was matched in, from the intros service's figures."""
    figures = await intro_figures.round_figures(session, team_id=team_id, since=since)
    matched: dict[date, tuple[int, int]] = {}
    met: dict[date, tuple[int, int]] = {}
    new: dict[date, tuple[int, int]] = {}
    for row in figures.rounds:
        year, week_number = row.period.split("-W")
        week = date.fromisocalendar(int(year), int(week_number), 1)
        people = row.people_matched
        for target, value in ((matched, people), (met, row.groups_met), (new, row.new_pairs)):
            old_value, old_people = target.get(week, (0, 0))
            target[week] = (old_value + value, old_people + people)
    out = []
    for (key, title, meaning), rows in zip(INTROS_SERIES, (matched, met, new), strict=True):
        points = [Point(w, *rows.get(w, (0, 0))) for w in weeks]
        out.append(Series(key, title, "count", meaning, points))
    return out


# -- readings ------------------------------------------------------------------------------


def shape_lines(report: Report) -> list[str]:
    """The network figures as sentences, or why they are not shown."""
    s = report.shape
    head = _(
        "Recognition network, {since} to {until}:",
        since=report.network_since.isoformat(),
        until=report.until.date().isoformat(),
    )
    if not report.shape_shown:
        return [
            head,
            _("Not shown: the workspace has {suppressed} people.", suppressed=_(SUPPRESSED)),
        ]
    groups = s.closed_groups
    group_text = (
        _("no tight closed groups (people who recognise only each other)")
        if not groups
        else ngettext(
            "{n} tight closed group (people who recognise only each other), of {sizes} people",
            "{n} tight closed groups (people who recognise only each other), of {sizes} people",
            len(groups),
            sizes=", ".join(i18n.format_number(g) for g in groups),
        )
    )
    top = fmt(s.top_decile_share, "share")
    return [
        head,
        "- "
        + _(
            "{people} people, {kudos} kudos.",
            people=i18n.format_number(s.people),
            kudos=i18n.format_number(s.kudos),
        ),
        "- "
        + (
            _(
                "The 10% of people who received most got {share} of all kudos; Gini "
                "coefficient {gini} (0 = even, 1 = one person).",
                share=top,
                gini=babel_numbers.format_decimal(
                    s.gini, format="0.00", locale=i18n.babel_locale()
                ),
            )
            if s.gini is not None
            else _("The 10% of people who received most got {share} of all kudos.", share=top)
        ),
        "- "
        + ngettext(
            "{n} person received no kudos.", "{n} people received no kudos.", s.received_none
        ),
        f"- {group_text}.",
    ]


def to_dict(report: Report) -> dict[str, Any]:
    """The same figures as the text and HTML, for other tools; suppressed values are the
    string "fewer than 5"."""

    def value(p: Point) -> float | str | None:
        return SUPPRESSED if p.shown is None else p.shown

    s = report.shape
    shown = report.shape_shown
    return {
        "team_id": report.team_id,
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "minimum_people": MIN_PEOPLE,
        "recognised_last_7_days": report.headline.to_dict(),
        "series": [
            {
                "key": series.key,
                "title": series.title,
                "unit": series.unit,
                "reading": series.reading,
                "weeks": [{"week": p.week.isoformat(), "value": value(p)} for p in series.points],
            }
            for series in report.series
        ],
        "network": {
            "since": report.network_since.isoformat(),
            "people": s.people if shown else SUPPRESSED,
            "kudos": s.kudos if shown else SUPPRESSED,
            "top_10_percent_share": s.top_decile_share if shown else SUPPRESSED,
            "gini": s.gini if shown else SUPPRESSED,
            "received_none": s.received_none if shown else SUPPRESSED,
            "closed_groups": {"count": len(s.closed_groups), "sizes": s.closed_groups}
            if shown
            else SUPPRESSED,
            "lorenz": s.lorenz if shown else SUPPRESSED,
        },
    }


def text_table(report: Report) -> list[str]:
    """Weeks down, series across; '<5' is a figure over fewer than 5 people."""
    columns = report.series
    # Translators: the weekly table's column headings, at most 7 characters each
    short = {
        "kudos": pgettext("report column", "kudos"),
        "givers": pgettext("report column", "givers"),
        "receivers": pgettext("report column", "recvrs"),
        "crossing": pgettext("report column", "cross"),
        "first_time": pgettext("report column", "first"),
        "commitments_made": pgettext("report column", "made"),
        "commitments_kept": pgettext("report column", "kept"),
        "commitments_overdue": pgettext("report column", "overdue"),
        "check_ins": pgettext("report column", "checkin"),
        "intros_matched": pgettext("report column", "matched"),
        "intros_met": pgettext("report column", "met"),
        "intros_new": pgettext("report column", "new"),
    }

    # Translators: the first column's heading in the report's weekly table; keep it short
    week_of = _("week of")
    header = f"{week_of:<12}" + " ".join(f"{short.get(s.key, s.key)[:7]:>7}" for s in columns)
    lines = [header]
    for i, week in enumerate(w.week for w in columns[0].points):
        cells = []
        for s in columns:
            shown = s.points[i].shown
            cells.append(f"{'<5' if shown is None else fmt(shown, s.unit):>7}")
        lines.append(f"{week.isoformat()}   " + " ".join(cells))
    return lines


def render_text(report: Report) -> str:
    lines = [
        _(
            "allybot report, workspace {team}, weeks from {since} to {until} (weeks start on "
            "Monday, UTC)",
            team=report.team_id,
            since=report.since.isoformat(),
            until=report.until.date().isoformat(),
        ),
        _(
            "Counts only. '<5' / '{suppressed}': a figure over fewer than {n} people, not shown.",
            suppressed=_(SUPPRESSED),
            n=i18n.format_number(MIN_PEOPLE),
        ),
        "",
        report.headline.sentence,
        "",
        *text_table(report),
        "",
    ]
    for series in report.series:
        lines.append(f"{series.title}: {series.reading}")
    lines += ["", *shape_lines(report)]
    return "\n".join(lines) + "\n"
