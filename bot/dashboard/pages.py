"""The dashboard's pages as HTML strings: pure functions of the figures, no I/O.

Every page is server-rendered with inline SVG charts and one same-origin stylesheet; there
are no scripts, fonts or images from anywhere, so a page works with the network off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape

from bot import i18n
from bot.blocks.insights import insight_lines
from bot.models import Commitment, SettingChange
from bot.report_html import bar_chart, lorenz_chart
from bot.services.allies import AllyView, cadence_text
from bot.services.dm_budget import MAX_BUDGET
from bot.services.insights import Figures, Ratio, Trend
from bot.services.recognition import GALLUP_TARGET
from bot.services.report import (
    MIN_PEOPLE,
    SUPPRESSED,
    Point,
    Report,
    Series,
    shape_lines,
)
from bot.services.workspace_settings import (
    CADENCES,
    DAYS,
    LABELS,
    MAX_DAILY_LIMIT,
    MODES,
    WORKING_DAYS,
    WorkspaceSettings,
    describe,
)
from bot.text import readable

STYLE = """
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d1c1d;margin:0;
background:#fff}
a{color:#1264a3}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center;padding:.75rem 1rem;
border-bottom:1px solid #ddd;background:#f8f8f8}
.brand{font-weight:700;color:#2c6e49}
nav ul{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;margin:0;padding:0}
nav a[aria-current=page]{font-weight:700;color:#1d1c1d;text-decoration:none}
header form{margin-left:auto}
main{max-width:760px;margin:0 auto;padding:1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
button,input,select{font:inherit}
button{background:#2c6e49;color:#fff;border:0;border-radius:4px;padding:.45rem .9rem;
min-height:44px;cursor:pointer}
button.quiet{background:#fff;color:#1d1c1d;border:1px solid #888}
button.danger{background:#b3261e}
.headline{border:2px solid #2c6e49;border-radius:8px;padding:1rem;margin:1rem 0}
.headline h2{margin-top:0}
.big{font-size:2.5rem;font-weight:700;line-height:1.1;margin:0}
.note,.reading,.hint{color:#454245}.hint{font-size:.9rem;margin:.2rem 0 0}
figure{margin:1.5rem 0}figcaption{font-weight:600;margin-bottom:.3rem}
svg{max-width:100%;height:auto}
.axis{font-size:11px;fill:#616061}.grid{stroke:#e8e8e8}
.bar{fill:#2e6fbf}.hidden{fill:none;stroke:#9a9a9a;stroke-dasharray:3 2}
details{margin:.3rem 0}summary{cursor:pointer;color:#1264a3}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e8e8e8;vertical-align:top}
td.num,th.num{text-align:right}
.scroll{overflow-x:auto}
.field{margin:1rem 0}.field label{display:block;font-weight:600}
.field input,.field select{width:100%;max-width:24rem;padding:.4rem;border:1px solid #888;
border-radius:4px;min-height:44px}
.field.check{display:flex;gap:.6rem;align-items:flex-start}
.field.check input{width:1.4rem;height:1.4rem;min-height:0;margin:.15rem 0 0;flex:none}
.field.check label{font-weight:400}
.error{color:#b3261e;font-weight:600}
.field.invalid input,.field.invalid select{border:2px solid #b3261e}
.ok{background:#e8f5e9;border-left:4px solid #2c6e49;padding:.5rem 1rem}
.problem{background:#fdecea;border-left:4px solid #b3261e;padding:.5rem 1rem}
.range{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}
.range label{display:block;font-weight:600}
.range input{padding:.4rem;border:1px solid #888;border-radius:4px;min-height:44px}
"""

WORKSPACE, SETTINGS, ME = "/dashboard/workspace", "/dashboard/settings", "/dashboard/me"
SIGNOUT, SIGNIN, STYLESHEET = "/dashboard/signout", "/dashboard/signin", "/dashboard/style.css"
ICON = "/dashboard/icon.svg"
ICON_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<circle cx="11" cy="16" r="9" fill="#2c6e49"/><circle cx="21" cy="16" r="9" '
    'fill="#2e6fbf" fill-opacity=".8"/></svg>'
)


@dataclass(frozen=True)
class Chrome:
    """What every signed-in page shows around its content."""

    is_admin: bool
    csrf: str
    current: str


def _nav(chrome: Chrome) -> str:
    links = [(WORKSPACE, "Workspace"), (SETTINGS, "Settings")] if chrome.is_admin else []
    links.append((ME, "Me"))
    items = "".join(
        f'<li><a href="{href}"{" aria-current=page" if href == chrome.current else ""}>'
        f"{label}</a></li>"
        for href, label in links
    )
    return (
        '<nav aria-label="Dashboard"><ul>' + items + "</ul></nav>"
        f'<form method="post" action="{SIGNOUT}">{csrf_field(chrome.csrf)}'
        '<button class="quiet" type="submit">Sign out</button></form>'
    )


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(token)}">'


def document(title: str, body: str, chrome: Chrome | None = None, *, refresh: int = 0) -> str:
    """A whole page; `chrome` adds the navigation and the sign-out button; `refresh` reloads
    it after that many seconds (no script needed)."""
    header = '<span class="brand">allybot</span>' + (_nav(chrome) if chrome else "")
    reload = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{reload}'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · allybot</title>"
        f'<link rel="icon" href="{ICON}" type="image/svg+xml">'
        f'<link rel="stylesheet" href="{STYLESHEET}"></head><body>'
        '<a class="skip" href="#main">Skip to the content</a>'
        f'<header>{header}</header><main id="main">{body}</main></body></html>\n'
    )


def message_page(title: str, text: str, *, link: tuple[str, str] | None = None) -> str:
    """A page that says one thing (signed out, refused, not allowed) and where to go next."""
    more = f'<p><a href="{escape(link[0])}">{escape(link[1])}</a></p>' if link else ""
    return document(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{more}")


# -- workspace -----------------------------------------------------------------------------


def _figure_table(series: Series) -> str:
    rows = "".join(
        f"<tr><th scope=row>{p.week:%d %b %Y}</th>"
        f'<td class="num">{escape(_value(p, series.unit))}</td></tr>'
        for p in series.points
    )
    return (
        "<details><summary>The figures as a table</summary>"
        f'<table><caption class="hint">{escape(series.title)}, week by week</caption>'
        '<thead><tr><th scope="col">Week of</th><th scope="col" class="num">Value</th></tr>'
        f"</thead><tbody>{rows}</tbody></table></details>"
    )


def _value(p: Point, unit: str) -> str:
    if p.shown is None:
        return SUPPRESSED
    return f"{p.shown:.0%}" if unit == "share" else f"{p.shown:,.0f}"


def _chart(series: Series, anchor: str) -> str:
    return (
        f'<figure id="{escape(anchor)}" aria-labelledby="{escape(anchor)}-title">'
        f'<figcaption id="{escape(anchor)}-title">{escape(series.title)}</figcaption>'
        f"{bar_chart(series)}"
        f'<p class="reading">{escape(series.reading)}</p>{_figure_table(series)}</figure>'
    )


def headline_series(report: Report) -> Series:
    """The headline's weekly windows drawn like any other series (suppressed under 5)."""
    points = [Point(week=w.end, value=w.share, people=w.active) for w in report.headline.windows]
    return Series(
        "recognised",
        "Active people recognised in the 7 days to each date",
        "share",
        "The share of active people who received kudos in the 7 days before.",
        points,
    )


NETWORK_MEANING = (
    (
        "How concentrated recognition is",
        "When a few people receive most of the kudos, the work of everyone else goes unseen, "
        "and the few become a bottleneck of goodwill.",
        "Ask leads to notice quieter contributors and the people whose work others build on; "
        "the kudos emoji makes a small thank-you one click.",
    ),
    (
        "People who received none",
        "People allybot knows who were not recognised at all in the period: often newcomers, "
        "remote people and roles whose work is invisible when it goes well.",
        "Turn on intros for newcomers, and encourage a thank-you for maintenance work.",
    ),
    (
        "Tight closed groups",
        "Groups of three or more who recognise only each other: close teams are good, but a "
        "group whose appreciation never leaves it can turn into a clique.",
        "Invite them to intros across teams, and recognise work that crosses team lines.",
    ),
)


def _network(report: Report) -> str:
    lines = shape_lines(report)
    parts = [f"<h2>{escape(lines[0].rstrip(':'))}</h2>"]
    if report.shape_shown and report.shape.lorenz:
        parts.append(
            '<figure id="concentration" aria-labelledby="concentration-title">'
            '<figcaption id="concentration-title">How concentrated recognition is</figcaption>'
            f"{lorenz_chart(report)}"
            '<p class="reading">The dashed diagonal is recognition shared equally; the further '
            "the curve sags below it, the more of it goes to a few people.</p>"
            + _lorenz_table(report)
            + "</figure>"
        )
    parts.append(
        "<ul>" + "".join(f"<li>{escape(x.lstrip('- '))}</li>" for x in lines[1:]) + "</ul>"
    )
    parts.append("<h3>What these mean, and what helps</h3><dl>")
    for title, meaning, action in NETWORK_MEANING:
        parts.append(
            f"<dt><strong>{escape(title)}</strong></dt><dd><p>{escape(meaning)}</p>"
            f"<p><em>What helps:</em> {escape(action)}</p></dd>"
        )
    parts.append("</dl>")
    return "".join(parts)


def _lorenz_table(report: Report) -> str:
    rows = "".join(
        f'<tr><td class="num">{a:.0%}</td><td class="num">{b:.0%}</td></tr>'
        for a, b in report.shape.lorenz
    )
    return (
        "<details><summary>The curve as a table</summary><table>"
        '<thead><tr><th scope="col" class="num">Share of people, fewest kudos first</th>'
        '<th scope="col" class="num">Share of kudos they received</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></details>"
    )


def _range_form(since: date, until: date, problem: str | None) -> str:
    error = f'<p class="problem" role="alert">{escape(problem)}</p>' if problem else ""
    return (
        f'{error}<form class="range" method="get" action="{WORKSPACE}">'
        f'<div><label for="since">From</label><input type="date" id="since" name="since" '
        f'value="{since.isoformat()}"></div>'
        f'<div><label for="until">To</label><input type="date" id="until" name="until" '
        f'value="{until.isoformat()}"></div>'
        '<div><button type="submit">Show</button></div></form>'
    )


def workspace_page(
    report: Report, *, chrome: Chrome, until: date, problem: str | None = None
) -> str:
    """Admins: the headline, the weekly series as charts with tables, the network figures."""
    latest = report.headline.latest
    big = SUPPRESSED if latest.share is None else f"{latest.share:.0%}"
    query = f"since={report.since.isoformat()}&amp;until={until.isoformat()}"
    body = [
        "<h1>Workspace insights</h1>",
        '<section class="headline" aria-labelledby="headline-title">'
        '<h2 id="headline-title">Recognised in the last 7 days</h2>'
        f'<p class="big">{escape(big)}</p>'
        f"<p>{escape(report.headline.sentence)}</p>"
        f'<p class="hint">Goal: {GALLUP_TARGET:.0%}. Active: people allybot knows who gave or '
        "received kudos, made a promise or logged a check-in in the 28 days before.</p>"
        f"{_chart(headline_series(report), 'recognised')}</section>",
        _range_form(report.since, until, problem),
        f'<p class="note">Weeks from {report.since:%d %b %Y} to {until:%d %b %Y} (weeks start '
        f"on Monday, UTC), figures as of {report.until:%d %b %Y %H:%M} UTC. Counts only, never "
        f"names. A week drawn as a dashed outline is a figure over fewer than {MIN_PEOPLE} "
        "people, not shown.</p>",
        f'<p>Download these figures: <a href="/dashboard/workspace.csv?{query}" download>CSV</a>'
        f' · <a href="/dashboard/workspace.json?{query}" download>JSON</a></p>',
        "<h2>Week by week</h2>",
    ]
    body += [_chart(s, s.key) for s in report.series]
    body.append(_network(report))
    return document("Workspace insights", "".join(body), chrome)


def preparing_page(*, chrome: Chrome, refresh: int) -> str:
    """Shown while a large workspace's figures are being worked out; it reloads itself."""
    body = (
        "<h1>Workspace insights</h1>"
        '<p role="status">The figures for this period are being worked out; on a large '
        f"workspace that takes a few seconds. This page reloads itself every {refresh} "
        "seconds until they are ready.</p>"
    )
    return document("Workspace insights", body, chrome, refresh=refresh)


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


# -- settings ------------------------------------------------------------------------------

_WEEKDAYS = {name: name.title() for name in WORKING_DAYS}


def form_values(current: WorkspaceSettings) -> dict[str, str]:
    """The stored settings as the form shows them (a setting added later shows as a
    settings file writes it)."""
    written = {
        name: "" if current.model_dump()[name] is None else describe(name, getattr(current, name))
        for name in LABELS
    }
    return written | {
        "kudos_channel": current.kudos_channel or "",
        "kudos_emoji": f":{current.kudos_emoji}:",
        "daily_kudos_limit": str(current.daily_kudos_limit),
        "daily_dm_budget": str(current.daily_dm_budget),
        "tags": ", ".join(f"#{t}" for t in current.tags),
        "intros_channel": current.intros_channel or "",
        "intros_cadence": str(current.intros_cadence),
        "intros_group_size": str(current.intros_group_size),
        "intros_day": DAYS[current.intros_day],
        "intros_mode": current.intros_mode,
        "digest_day": DAYS[current.digest_day],
        "window_start": describe("window_start", current.window_start),
        "window_end": describe("window_end", current.window_end),
    }


_HINTS = {
    "kudos_channel": "Where /kudos used in a DM is posted: a channel id (C…, in the channel's "
    "About tab). Empty for none.",
    "kudos_emoji": "Reacting with this emoji gives kudos, such as :raised_hands:.",
    "daily_kudos_limit": f"How many kudos one person may give a day, 1 to {MAX_DAILY_LIMIT}.",
    "daily_dm_budget": "How many DMs one person's actions may make allybot send one colleague "
    f"a day, 1 to {MAX_BUDGET}; more wait for that colleague's next daily message.",
    "tags": "Extra #tags for /kudos, besides the built-in ones, separated by commas.",
    "intros_channel": "The channel whose members are paired: a channel id (C…). Empty: no intros.",
    "welcome_newcomers": "A welcome DM and a first intro for people who join the workspace.",
    "intros_without_overlap": "Off: intros never group people whose working hours (their "
    "delivery window in their own time zone) share no half hour. On: only when nobody "
    "else is left for them.",
    "window_start": "People's nudges arrive within this window, in their own time zone, "
    "unless they choose their own.",
    "language": "Channel posts and the weekly digest are in this language, and so is "
    "everything for people whose Slack language allybot doesn't speak.",
}


def _input(name: str, value: str, kind: str = "text", extra: str = "") -> str:
    return (
        f'<input type="{kind}" id="{name}" name="{name}" value="{escape(value)}" '
        f'aria-describedby="{name}-hint {name}-error"{extra}>'
    )


def _options(name: str, choices: Mapping[str, str], value: str) -> str:
    options = "".join(
        f'<option value="{escape(v)}"{" selected" if v == value else ""}>{escape(label)}</option>'
        for v, label in choices.items()
    )
    return (
        f'<select id="{name}" name="{name}" aria-describedby="{name}-hint {name}-error">'
        f"{options}</select>"
    )


def _control(name: str, value: str) -> str:
    match name:
        case "daily_kudos_limit":
            return _input(name, value, "number", f' min="1" max="{MAX_DAILY_LIMIT}" step="1"')
        case "daily_dm_budget":
            return _input(name, value, "number", f' min="1" max="{MAX_BUDGET}" step="1"')
        case "intros_cadence":
            return _options(name, {str(k): v for k, v in CADENCES.items()}, value)
        case "intros_group_size":
            return _options(name, {"2": "Pairs", "3": "Threes", "4": "Fours"}, value)
        case "intros_mode":
            return _options(name, MODES, value)
        case "welcome_newcomers" | "intros_without_overlap":
            return _options(name, {"on": "On", "off": "Off"}, value)
        case "intros_day" | "digest_day":
            return _options(name, _WEEKDAYS, value)
        case "window_start" | "window_end":
            return _input(name, value, "time")
        case "language":
            return _options(name, i18n.LANGUAGES, value)
    return _input(name, value)


def settings_page(
    values: Mapping[str, str],
    *,
    chrome: Chrome,
    history: Sequence[SettingChange],
    names: Mapping[str, str],
    errors: Mapping[str, str] | None = None,
    saved: str | None = None,
) -> str:
    """Admins: the `/ally admin` fields as a form, and who changed what, when."""
    errors = errors or {}
    body = ["<h1>Workspace settings</h1>"]
    if saved:
        body.append(f'<p class="ok" role="status">{escape(saved)}</p>')
    if errors:
        body.append(
            f'<p class="problem" role="alert">Nothing was saved: {len(errors)} '
            f"field{'s need' if len(errors) != 1 else ' needs'} a change, marked below.</p>"
        )
    body.append(f'<form method="post" action="{SETTINGS}" novalidate>{csrf_field(chrome.csrf)}')
    for name, label in LABELS.items():
        error = errors.get(name)
        body.append(
            f'<div class="field{" invalid" if error else ""}">'
            f'<label for="{name}">{escape(label.capitalize())}</label>'
            f"{_control(name, values.get(name, ''))}"
            f'<p class="hint" id="{name}-hint">{escape(_HINTS.get(name, ""))}</p>'
            f'<p class="error" id="{name}-error">{escape(error or "")}</p></div>'
        )
    body.append('<button type="submit">Save settings</button></form>')
    body.append("<h2>Change history</h2>")
    if not history:
        body.append("<p>No setting has been changed yet.</p>")
    else:
        rows = "".join(
            f"<tr><td>{escape(names.get(c.changed_by, c.changed_by))}</td>"
            f"<td>{escape(LABELS.get(c.field, c.field))}: {escape(c.old_value or '')} → "
            f"{escape(c.new_value or '')}</td><td>{c.changed_at:%d %b %Y %H:%M} UTC</td></tr>"
            for c in history
        )
        body.append(
            '<div class="scroll"><table><thead><tr><th scope="col">Who</th>'
            '<th scope="col">What</th><th scope="col">When</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )
    return document("Workspace settings", "".join(body), chrome)


# -- me ------------------------------------------------------------------------------------

_MRKDWN = (
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*([^*]+)\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w/])_([^_]+)_(?!\w)"), r"<em>\1</em>"),
)


def mrkdwn(text: str) -> str:
    """The few Slack mrkdwn marks the figures' sentences use, as HTML (escaped first)."""
    out = escape(text, quote=False)
    for pattern, repl in _MRKDWN:
        out = pattern.sub(repl, out)
    return out


_TREND = {Trend.UP: "up", Trend.DOWN: "down", Trend.SAME: "about the same", Trend.NEW: "new"}


def _ratio(r: Ratio) -> str:
    return f"{r.part} of {r.whole}" if r.whole else "–"


MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


def words(markup: str, names: Mapping[str, str]) -> str:
    """Stored Slack markup as the words Slack would show (`R&D`, `@Bob`), for the page's own
    escaping: a mention by the name allybot knows, else "someone"."""
    parts = MENTION.split(markup)  # text, user id, text, user id, …, text
    return "".join(
        readable(part) if i % 2 == 0 else "@" + names.get(part, "someone")
        for i, part in enumerate(parts)
    )


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
        ("Breadth (recognised outside your usual circle)", "breadth", p.breadth_trend),
        ("Reciprocity (recognised back)", "reciprocity", p.reciprocity_trend),
        ("Follow-through (promises kept on time)", "follow_through", p.follow_through_trend),
        ("Check-in rhythm (allies in touch)", "rhythm", p.rhythm_trend),
    )
    rows = "".join(
        f"<tr><th scope=row>{escape(label)}</th>"
        f'<td class="num">{_ratio(getattr(p.current, key))}</td>'
        f'<td class="num">{_ratio(getattr(p.previous, key))}</td>'
        f"<td>{_TREND[trend]}</td></tr>"
        for label, key, trend in trends
    )
    body = [
        "<h1>Your alliance figures</h1>",
        '<p class="note">Private to you: nobody else, admins included, sees this page.</p>',
        f"<p>In the last 30 days you gave <strong>{figures.given_30d}</strong> kudos and "
        f"received <strong>{figures.received_30d}</strong>.</p>",
        '<div class="scroll"><table><caption class="hint">The last 90 days against the 90 days '
        'before</caption><thead><tr><th scope="col">Figure</th><th scope="col" class="num">'
        'Last 90 days</th><th scope="col" class="num">90 days before</th>'
        f'<th scope="col">Trend</th></tr></thead><tbody>{rows}</tbody></table></div>',
        "<ul>" + "".join(f"<li>{mrkdwn(line)}</li>" for line in insight_lines(p)) + "</ul>",
        "<h2>Your allies</h2>",
    ]
    if not allies:
        body.append(
            "<p>No allies yet. In Slack: <code>/ally add @someone every 2 weeks</code>.</p>"
        )
    else:
        ally_rows = "".join(
            f"<tr><td>{escape(names.get(v.ally.ally_id, 'someone'))}"
            f"{' (left the workspace)' if v.gone else ''}</td>"
            f"<td>{escape(cadence_text(v.ally.cadence_days))}</td>"
            f"<td>{_ago(v.ally.last_contact_at, now)}</td>"
            f"<td>{v.ally.due_day:%d %b %Y}</td></tr>"
            for v in allies
        )
        body.append(
            '<div class="scroll"><table><thead><tr><th scope="col">Ally</th>'
            '<th scope="col">Rhythm</th><th scope="col">Last contact</th>'
            f'<th scope="col">Next check-in</th></tr></thead><tbody>{ally_rows}</tbody>'
            "</table></div>"
        )
    body.append("<h2>Your open promises</h2>")
    if not promises:
        body.append(
            "<p>No open promises. In Slack: <code>/commit &lt;what&gt; by Friday</code>.</p>"
        )
    else:
        items = "".join(
            f"<li>{escape(words(c.text, names))} — "
            f"{'due ' + format(c.due_day, '%d %b %Y') if c.due_day else 'no date'}</li>"
            for c in promises
        )
        body.append(f"<ol>{items}</ol>")
    body.append(
        "<h2>Your data</h2>"
        '<p><a href="/dashboard/me/export.json" download>Download everything allybot holds '
        "about you (JSON)</a></p>"
        '<form method="post" action="/dashboard/me/forget">'
        f"{csrf_field(chrome.csrf)}"
        '<div class="field check"><input type="checkbox" id="confirm" name="confirm" '
        'value="yes" required><label for="confirm">Erase what allybot holds about me in this '
        "workspace (kudos I gave or received keep counting, anonymously)</label></div>"
        '<button class="danger" type="submit">Forget me</button></form>'
    )
    return document("Your alliance figures", "".join(body), chrome)


def _ago(when: datetime, now: datetime) -> str:
    days = (now - when).days
    label = "today" if days <= 0 else "yesterday" if days == 1 else f"{days} days ago"
    return f'<time datetime="{when.date().isoformat()}">{label}</time>'
