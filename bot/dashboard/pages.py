"""The dashboard's pages as HTML strings: pure functions of the figures, no I/O.

Every page is server-rendered with inline SVG charts and one same-origin stylesheet; there
are no scripts, fonts or images from anywhere, so a page works with the network off. Each is
written in the language allybot is speaking for the request (the reader's), with dates,
numbers and weekday names as that language writes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from html import escape

from bot.blocks.insights import insight_lines
from bot.dashboard.layout import (
    ICON,
    ICON_SVG,
    ME,
    SETTINGS,
    SIGNIN,
    SIGNOUT,
    STYLE,
    STYLESHEET,
    WORKSPACE,
    Chrome,
    csrf_field,
    document,
    message_page,
    mrkdwn,
)
from bot.dashboard.settings_form import form_values, settings_page
from bot.i18n import N_, _, ngettext
from bot.models import Commitment
from bot.report_html import (
    amount,
    bar_chart,
    concentration_title,
    curve_reading,
    day,
    hidden,
    lorenz_chart,
    percent,
    period_note,
)
from bot.services.allies import AllyView, cadence_text
from bot.services.insights import Figures, Ratio, Trend
from bot.services.recognition import GALLUP_TARGET
from bot.services.report import SUPPRESSED, Point, Report, Series, shape_lines
from bot.text import readable

__all__ = [
    "ICON",
    "ICON_SVG",
    "ME",
    "SETTINGS",
    "SIGNIN",
    "SIGNOUT",
    "STYLE",
    "STYLESHEET",
    "WORKSPACE",
    "Chrome",
    "csrf_field",
    "document",
    "form_values",
    "me_page",
    "message_page",
    "mrkdwn",
    "preparing_page",
    "settings_page",
    "workspace_csv",
    "workspace_page",
]

# -- workspace -----------------------------------------------------------------------------


def _figure_table(series: Series) -> str:
    rows = "".join(
        f"<tr><th scope=row>{escape(day(p.week))}</th>"
        f'<td class="num">{escape(_value(p, series.unit))}</td></tr>'
        for p in series.points
    )
    summary = escape(_("The figures as a table"))
    # Translators: a table's caption under a weekly chart; {title} is the chart's title.
    caption = escape(_("{title}, week by week", title=series.title))
    week_of, value = escape(_("Week of")), escape(_("Value"))
    return (
        f"<details><summary>{summary}</summary>"
        f'<table><caption class="hint">{caption}</caption>'
        f'<thead><tr><th scope="col">{week_of}</th><th scope="col" class="num">{value}</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></details>"
    )


def _value(p: Point, unit: str) -> str:
    if p.shown is None:
        return hidden()
    return percent(p.shown) if unit == "share" else amount(p.shown)


def _chart(series: Series, anchor: str) -> str:
    return (
        f'<figure id="{escape(anchor)}" aria-labelledby="{escape(anchor)}-title">'
        f'<figcaption id="{escape(anchor)}-title">{escape(series.title)}</figcaption>'
        f"{bar_chart(series)}"
        f'<p class="reading">{escape(series.reading)}</p>{_figure_table(series)}</figure>'
    )


def headline_series(report: Report) -> Series:
    """The headline's weekly windows drawn like any other series (suppressed under 5); its
    title and meaning are read in the reader's words, as every series' are."""
    points = [Point(week=w.end, value=w.share, people=w.active) for w in report.headline.windows]
    return Series(
        "recognised",
        N_("Active people recognised in the 7 days to each date"),
        "share",
        N_("The share of active people who received kudos in the 7 days before."),
        points,
    )


def _network_meaning() -> list[tuple[str, str, str]]:
    """Each network figure: what it is, why it matters, and what helps."""
    return [
        (
            concentration_title(),
            _(
                "When a few people receive most of the kudos, the work of everyone else goes "
                "unseen, and the few become a bottleneck of goodwill."
            ),
            _(
                "Ask leads to notice quieter contributors and the people whose work others "
                "build on; the kudos emoji makes a small thank-you one click."
            ),
        ),
        (
            _("People who received none"),
            _(
                "People allybot knows who were not recognised at all in the period: often "
                "newcomers, remote people and roles whose work is invisible when it goes well."
            ),
            _("Turn on intros for newcomers, and encourage a thank-you for maintenance work."),
        ),
        (
            _("Tight closed groups"),
            _(
                "Groups of three or more who recognise only each other: close teams are good, "
                "but a group whose appreciation never leaves it can turn into a clique."
            ),
            _("Invite them to intros across teams, and recognise work that crosses team lines."),
        ),
    ]


def _network(report: Report) -> str:
    lines = shape_lines(report)
    parts = [f"<h2>{escape(lines[0].rstrip(':'))}</h2>"]
    if report.shape_shown and report.shape.lorenz:
        parts.append(
            '<figure id="concentration" aria-labelledby="concentration-title">'
            f'<figcaption id="concentration-title">{escape(concentration_title())}</figcaption>'
            f'{lorenz_chart(report)}<p class="reading">{escape(curve_reading())}</p>'
            + _lorenz_table(report)
            + "</figure>"
        )
    parts.append(
        "<ul>" + "".join(f"<li>{escape(x.lstrip('- '))}</li>" for x in lines[1:]) + "</ul>"
    )
    meanings = escape(_("What these mean, and what helps"))
    parts.append(f"<h3>{meanings}</h3><dl>")
    helps = escape(_("What helps:"))
    for title, meaning, action in _network_meaning():
        parts.append(
            f"<dt><strong>{escape(title)}</strong></dt><dd><p>{escape(meaning)}</p>"
            f"<p><em>{helps}</em> {escape(action)}</p></dd>"
        )
    parts.append("</dl>")
    return "".join(parts)


def _lorenz_table(report: Report) -> str:
    rows = "".join(
        f'<tr><td class="num">{percent(a)}</td><td class="num">{percent(b)}</td></tr>'
        for a, b in report.shape.lorenz
    )
    summary = escape(_("The curve as a table"))
    people = escape(_("Share of people, fewest kudos first"))
    kudos = escape(_("Share of kudos they received"))
    return (
        f"<details><summary>{summary}</summary><table>"
        f'<thead><tr><th scope="col" class="num">{people}</th>'
        f'<th scope="col" class="num">{kudos}</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></details>"
    )


def _range_form(since: date, until: date, problem: str | None) -> str:
    error = f'<p class="problem" role="alert">{escape(problem)}</p>' if problem else ""
    # Translators: the start and end of a date range, and the button that shows it.
    start, end, show = escape(_("From")), escape(_("To")), escape(_("Show"))
    return (
        f'{error}<form class="range" method="get" action="{WORKSPACE}">'
        f'<div><label for="since">{start}</label><input type="date" id="since" name="since" '
        f'value="{since.isoformat()}"></div>'
        f'<div><label for="until">{end}</label><input type="date" id="until" name="until" '
        f'value="{until.isoformat()}"></div>'
        f'<div><button type="submit">{show}</button></div></form>'
    )


def workspace_page(
    report: Report, *, chrome: Chrome, until: date, problem: str | None = None
) -> str:
    """Admins: the headline, the weekly series as charts with tables, the network figures."""
    latest = report.headline.latest
    big = hidden() if latest.share is None else percent(latest.share)
    query = f"since={report.since.isoformat()}&amp;until={until.isoformat()}"
    title = _("Workspace insights")
    goal = _(
        "Goal: {goal}. Active: people allybot knows who gave or received kudos, made a promise "
        "or logged a check-in in the 28 days before.",
        goal=percent(GALLUP_TARGET),
    )
    recognised = escape(_("Recognised in the last 7 days"))
    download, weekly = escape(_("Download these figures:")), escape(_("Week by week"))
    body = [
        f"<h1>{escape(title)}</h1>",
        '<section class="headline" aria-labelledby="headline-title">'
        f'<h2 id="headline-title">{recognised}</h2>'
        f'<p class="big">{escape(big)}</p>'
        f"<p>{escape(report.headline.sentence)}</p>"
        f'<p class="hint">{escape(goal)}</p>'
        f"{_chart(headline_series(report), 'recognised')}</section>",
        _range_form(report.since, until, problem),
        f'<p class="note">{escape(period_note(report, until))}</p>',
        f"<p>{download} "
        f'<a href="/dashboard/workspace.csv?{query}" download>CSV</a>'
        f' · <a href="/dashboard/workspace.json?{query}" download>JSON</a></p>',
        f"<h2>{weekly}</h2>",
    ]
    body += [_chart(s, s.key) for s in report.series]
    body.append(_network(report))
    return document(title, "".join(body), chrome)


def preparing_page(*, chrome: Chrome, refresh: int) -> str:
    """Shown while a large workspace's figures are being worked out; it reloads itself."""
    title = _("Workspace insights")
    text = ngettext(
        "The figures for this period are being worked out; on a large workspace that takes a "
        "few seconds. This page reloads itself every second until they are ready.",
        "The figures for this period are being worked out; on a large workspace that takes a "
        "few seconds. This page reloads itself every {n} seconds until they are ready.",
        refresh,
    )
    body = f'<h1>{escape(title)}</h1><p role="status">{escape(text)}</p>'
    return document(title, body, chrome, refresh=refresh)


def workspace_csv(report: Report) -> str:
    """One row per week and figure; a suppressed value is "fewer than 5"."""
    lines = ["week,figure,title,value"]
    for series in [headline_series(report), *report.series]:
        for p in series.points:
            value = SUPPRESSED if p.shown is None else f"{p.shown:.4g}"
            lines.append(f"{p.week.isoformat()},{series.key},{_csv(series.title)},{value}")
    return "\n".join(lines) + "\n"


def _csv(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if re.search(r'[",\n]', text) else text


# -- me ------------------------------------------------------------------------------------


def _trend(trend: Trend) -> str:
    match trend:
        case Trend.UP:
            # Translators: how a figure moved against the 90 days before.
            return _("up")
        case Trend.DOWN:
            return _("down")
        case Trend.SAME:
            return _("about the same")
    return _("new")


def _ratio(r: Ratio) -> str:
    if not r.whole:
        return "–"
    # Translators: a figure such as "3 of 4" (promises kept of those made).
    return _("{part} of {whole}", part=amount(r.part), whole=amount(r.whole))


# A mention, or someone a text names without mentioning them (`<~U…>`, bot/text.py).
MENTION = re.compile(r"<[@~]([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


def words(markup: str, names: Mapping[str, str]) -> str:
    """Stored Slack markup as the words Slack would show (`R&D`, `@Bob`), for the page's own
    escaping: a mention by the name allybot knows, else "someone"."""
    parts = MENTION.split(markup)  # text, user id, text, user id, …, text
    return "".join(
        readable(part) if i % 2 == 0 else "@" + names.get(part, _someone())
        for i, part in enumerate(parts)
    )


def _someone() -> str:
    # Translators: stands for a person allybot has no name for.
    return _("someone")


def _ally_table(allies: Sequence[AllyView], names: Mapping[str, str], now: datetime) -> str:
    rows = []
    for v in allies:
        name = names.get(v.ally.ally_id, _someone())
        if v.gone:
            name = _("{name} (left the workspace)", name=name)
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{escape(cadence_text(v.ally.cadence_days))}</td>"
            f"<td>{_ago(v.ally.last_contact_at, now)}</td>"
            f"<td>{escape(day(v.ally.due_day))}</td></tr>"
        )
    # Translators: the allies table's column headings.
    heads = (_("Ally"), _("Rhythm"), _("Last contact"), _("Next check-in"))
    cells = "".join(f'<th scope="col">{escape(h)}</th>' for h in heads)
    return (
        f'<div class="scroll"><table><thead><tr>{cells}</tr></thead><tbody>{"".join(rows)}'
        "</tbody></table></div>"
    )


def _promise(c: Commitment, names: Mapping[str, str]) -> str:
    what = words(c.text, names)
    if c.due_day:
        # Translators: an open promise, then when it is due.
        return _("{promise} — due {date}", promise=what, date=day(c.due_day))
    return _("{promise} — no date", promise=what)


def me_page(
    figures: Figures,
    *,
    chrome: Chrome,
    allies: Sequence[AllyView],
    promises: Sequence[Commitment],
    names: Mapping[str, str],
    now: datetime,
) -> str:
    """Everyone: their own figures and trends, allies with last contact, open promises, and
    their data to take away or erase. Private to them."""
    p = figures.person
    trends = (
        (_("Breadth (recognised outside your usual circle)"), "breadth", p.breadth_trend),
        (_("Reciprocity (recognised back)"), "reciprocity", p.reciprocity_trend),
        (_("Follow-through (promises kept on time)"), "follow_through", p.follow_through_trend),
        (_("Check-in rhythm (allies in touch)"), "rhythm", p.rhythm_trend),
    )
    rows = "".join(
        f"<tr><th scope=row>{escape(label)}</th>"
        f'<td class="num">{escape(_ratio(getattr(p.current, key)))}</td>'
        f'<td class="num">{escape(_ratio(getattr(p.previous, key)))}</td>'
        f"<td>{escape(_trend(trend))}</td></tr>"
        for label, key, trend in trends
    )
    title = _("Your alliance figures")
    given = _(
        "In the last 30 days you gave *{given}* kudos and received *{received}*.",
        given=amount(figures.given_30d),
        received=amount(figures.received_30d),
    )
    heads = (_("Figure"), _("Last 90 days"), _("90 days before"), _("Trend"))
    private = escape(_("Private to you: nobody else, admins included, sees this page."))
    against = escape(_("The last 90 days against the 90 days before"))
    yours, open_ones = escape(_("Your allies")), escape(_("Your open promises"))
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="note">{private}</p>',
        f"<p>{mrkdwn(given)}</p>",
        f'<div class="scroll"><table><caption class="hint">{against}</caption><thead><tr>'
        f'<th scope="col">{escape(heads[0])}</th><th scope="col" class="num">'
        f'{escape(heads[1])}</th><th scope="col" class="num">{escape(heads[2])}</th>'
        f'<th scope="col">{escape(heads[3])}</th></tr></thead><tbody>{rows}</tbody></table>'
        "</div>",
        "<ul>" + "".join(f"<li>{mrkdwn(line)}</li>" for line in insight_lines(p)) + "</ul>",
        f"<h2>{yours}</h2>",
    ]
    if not allies:
        none = _("No allies yet. In Slack: `/ally add @someone every 2 weeks`.")
        body.append(f"<p>{mrkdwn(none)}</p>")
    else:
        body.append(_ally_table(allies, names, now))
    body.append(f"<h2>{open_ones}</h2>")
    if not promises:
        none = _("No open promises. In Slack: `/commit <what> by Friday`.")
        body.append(f"<p>{mrkdwn(none)}</p>")
    else:
        items = "".join(f"<li>{escape(_promise(c, names))}</li>" for c in promises)
        body.append(f"<ol>{items}</ol>")
    download = _("Download everything allybot holds about you (JSON)")
    erase = _(
        "Erase what allybot holds about me in this workspace (kudos I gave or received keep "
        "counting, anonymously)"
    )
    data, forget = escape(_("Your data")), escape(_("Forget me"))
    body.append(
        f"<h2>{data}</h2>"
        f'<p><a href="/dashboard/me/export.json" download>{escape(download)}</a></p>'
        '<form method="post" action="/dashboard/me/forget">'
        f"{csrf_field(chrome.csrf)}"
        '<div class="field check"><input type="checkbox" id="confirm" name="confirm" '
        f'value="yes" required><label for="confirm">{escape(erase)}</label></div>'
        f'<button class="danger" type="submit">{forget}</button></form>'
    )
    return document(title, "".join(body), chrome)


def _ago(when: datetime, now: datetime) -> str:
    days = (now - when).days
    if days <= 0:
        label = _("today")
    elif days == 1:
        label = _("yesterday")
    else:
        label = ngettext("{n} day ago", "{n} days ago", days)
    return f'<time datetime="{when.date().isoformat()}">{escape(label)}</time>'
