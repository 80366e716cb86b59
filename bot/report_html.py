"""The workspace report as one self-contained HTML page: inline SVG charts, inline CSS, no
scripts, fonts or requests of any kind (a Content-Security-Policy forbids them). Written in
the language allybot is speaking (the workspace's default from `allybot report --html`, the
admin's own on the dashboard), numbers and dates as that language writes them."""

from __future__ import annotations

import math
from datetime import date, datetime
from html import escape

from babel import numbers as babel_numbers

from bot import i18n
from bot.i18n import _
from bot.services.report import MIN_PEOPLE, SUPPRESSED, Point, Report, Series, shape_lines

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; base-uri 'none'"
STYLE = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1c1d;
       margin: 2rem auto; max-width: 720px; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
figure { margin: 1.5rem 0; } figcaption { font-weight: 600; margin-bottom: .3rem; }
.reading { color: #454245; margin: .3rem 0 0; }
.axis { font-size: 11px; fill: #616061; } .grid { stroke: #e8e8e8; }
.bar { fill: #2e6fbf; } .hidden { fill: none; stroke: #9a9a9a; stroke-dasharray: 3 2; }
.note { color: #616061; font-size: .9rem; }
.headline { font-size: 1.1rem; font-weight: 600; }
"""


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def percent(value: float) -> str:
    """A share as this language writes a whole percentage ("45%", "45 %")."""
    return babel_numbers.format_percent(value, locale=i18n.babel_locale())


def amount(value: float, decimals: int = 0) -> str:
    """A count (or an average) as this language writes it ("1,234.5", "1.234,5")."""
    return i18n.format_number(round(value, decimals) if decimals else round(value))


def day(value: date) -> str:
    """A date with its year ("Dec 5, 2026", "5 dic 2026", "05.12.2026")."""
    return i18n.format_date(value)


def moment(value: datetime) -> str:
    """A UTC date and time ("Dec 5, 2026, 3:07 PM UTC")."""
    # Translators: a date and a time of day, in UTC.
    return _("{date}, {time} UTC", date=day(value), time=i18n.format_time(value))


def hidden() -> str:
    """What a figure over fewer than MIN_PEOPLE people shows instead of its value."""
    return _(SUPPRESSED)


def _label(value: float, unit: str) -> str:
    if unit == "share":
        return percent(value)
    return amount(value) if value == int(value) else amount(value, 1)


def bar_chart(series: Series) -> str:
    """Bars per week; a week over fewer than 5 people is a dashed outline, not a value."""
    points: list[Point] = series.points
    shown = [p.shown for p in points if p.shown is not None]
    top = 1.0 if series.unit == "share" else _nice_max(max([4.0, *shown]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(points), 1)
    title = escape(series.title)
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{title}">'
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_label(top * fraction, series.unit))}</text>"
        )
    every = max(1, math.ceil(len(points) / 7))
    for i, p in enumerate(points):
        x = LEFT + i * slot + slot * 0.15
        w = slot * 0.7
        value = hidden() if p.shown is None else _label(p.shown, series.unit)
        # Translators: a bar's tooltip in a weekly chart: the week's Monday, then its value.
        tip = escape(_("Week of {date}: {value}", date=day(p.week), value=value))
        if p.shown is None:
            h = plot_h * 0.08
            parts.append(
                f'<rect class="hidden" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{w:.1f}" '
                f'height="{h:.1f}"><title>{tip}</title></rect>'
            )
        else:
            h = plot_h * min(p.shown / top, 1.0)
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{w:.1f}" '
                f'height="{h:.1f}"><title>{tip}</title></rect>'
            )
        if i % every == 0:
            parts.append(
                f'<text class="axis" x="{x + w / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{escape(i18n.format_skeleton(p.week, "MMMd"))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def lorenz_chart(report: Report) -> str:
    """The Lorenz curve of kudos received: the further below the diagonal, the more
    concentrated recognition is."""
    size, pad = 240, 30
    inner = size - 2 * pad

    def xy(px: float, py: float) -> str:
        return f"{pad + px * inner:.1f},{pad + (1 - py) * inner:.1f}"

    curve = " ".join(xy(a, b) for a, b in report.shape.lorenz)
    title = escape(concentration_title())
    # Translators: the Lorenz curve's axes, lower case, short (the chart is 240 pixels wide).
    across = escape(_("share of people, fewest kudos first"))
    up = escape(_("share of kudos received"))
    return (
        f'<svg viewBox="0 0 {size} {size}" width="{size}" '
        f'height="{size}" role="img" aria-label="{title}">'
        f'<rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" fill="none" '
        f'stroke="#e8e8e8"/><line x1="{pad}" y1="{pad + inner}" x2="{pad + inner}" y2="{pad}" '
        f'stroke="#9a9a9a" stroke-dasharray="4 3"/>'
        f'<polyline points="{curve}" fill="none" stroke="#2e6fbf" stroke-width="2"/>'
        f'<text class="axis" x="{size / 2}" y="{size - 8}" text-anchor="middle">'
        f"{across}</text>"
        f'<text class="axis" x="12" y="{size / 2}" text-anchor="middle" '
        f'transform="rotate(-90 12 {size / 2})">{up}</text></svg>'
    )


def concentration_title() -> str:
    return _("How concentrated recognition is")


def curve_reading() -> str:
    return _(
        "The dashed diagonal is recognition shared equally; the further the curve sags below "
        "it, the more of it goes to a few people."
    )


def period_note(report: Report, until: date) -> str:
    """Which weeks, as of when, and the rule that hides small figures."""
    return _(
        "Weeks from {since} to {until} (weeks start on Monday, UTC), figures as of {now}. "
        "Counts only, never names. A week drawn as a dashed outline is a figure over fewer "
        "than {minimum} people, not shown.",
        since=day(report.since),
        until=day(until),
        now=moment(report.until),
        minimum=i18n.format_number(MIN_PEOPLE),
    )


def render(report: Report) -> str:
    """The page: a chart and a reading per series, then the network's shape."""
    # Translators: the report page's title; allybot is the app's name.
    title = _("allybot: workspace insights")
    workspace = _("Workspace {team}", team=report.team_id)
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="note">{escape(workspace)}. {escape(period_note(report, report.until.date()))}'
        "</p>",
        f'<p class="headline">{escape(report.headline.sentence)}</p>',
    ]
    for series in report.series:
        body.append(f'<figure id="{escape(series.key)}">')
        body.append(f"<figcaption>{escape(series.title)}</figcaption>")
        body.append(bar_chart(series))
        body.append(f'<p class="reading">{escape(series.reading)}</p></figure>')
    lines = shape_lines(report)
    body.append(f"<h2>{escape(lines[0])}</h2>")
    if report.shape_shown and report.shape.lorenz:
        body.append('<figure id="concentration">')
        body.append(f"<figcaption>{escape(concentration_title())}</figcaption>")
        body.append(lorenz_chart(report))
        body.append(f'<p class="reading">{escape(curve_reading())}</p></figure>')
    body.append("<ul>" + "".join(f"<li>{escape(x.lstrip('- '))}</li>" for x in lines[1:]) + "</ul>")
    return (
        f'<!DOCTYPE html>\n<html lang="{i18n.language()}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def chart_count(report: Report) -> int:
    """How many charts `render` draws: one per series, and the concentration curve."""
    return len(report.series) + (1 if report.shape_shown and report.shape.lorenz else 0)
