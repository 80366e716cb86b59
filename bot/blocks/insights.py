"""A person's figures (Home and `/ally me`) and the workspace report in Slack (`/ally report`)."""

from __future__ import annotations

from babel.numbers import format_percent
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot import i18n
from bot.i18n import _, ngettext
from bot.services.insights import PersonInsights, Ratio, Trend
from bot.services.report import Report, render_text, shape_lines, text_table


def _share(r: Ratio) -> str:
    if r.share is None:
        return "–"
    return format_percent(r.share, locale=i18n.babel_locale())


def _trend_count(trend: Trend, before: int) -> str | None:
    """How a count moved since the 90 days before, or None when there is nothing to say."""
    n = i18n.format_number(before)
    match trend:
        case Trend.UP:
            return _("up from {before} in the 90 days before", before=n)
        case Trend.DOWN:
            return _("down from {before} in the 90 days before", before=n)
        case Trend.SAME:
            return _("the same as in the 90 days before")
    return None


def _trend_share(trend: Trend, before: Ratio) -> str | None:
    """How a share moved since the 90 days before, or None when there is nothing to say."""
    match trend:
        case Trend.UP:
            return _("up from {before} in the 90 days before", before=_share(before))
        case Trend.DOWN:
            return _("down from {before} in the 90 days before", before=_share(before))
        case Trend.SAME:
            return _("about the same as in the 90 days before")
    return None


def breadth_line(p: PersonInsights) -> str:
    now, before = p.current.breadth, p.previous.breadth
    meaning = _("Recognising many people, not the same few, keeps alliances open.")
    if not p.current.breadth_enough:
        return " ".join(
            [
                _("*Breadth:* _not enough yet_: no kudos given in 90 days."),
                meaning,
                _("_Try: `/kudos @someone <why>` for one thing that helped you this week._"),
            ]
        )
    tip = (
        _("_Try: thank someone outside your usual circle for something specific this week._")
        if now.part == 0
        else _("_Try: notice one person whose work is rarely seen, and say so._")
    )
    trend = _trend_count(p.breadth_trend, before.whole)
    outside = i18n.format_number(now.part)
    head = (
        ngettext(
            "*Breadth:* you recognised {n} person in 90 days, {part} of them outside your "
            "usual circle ({trend}).",
            "*Breadth:* you recognised {n} people in 90 days, {part} of them outside your "
            "usual circle ({trend}).",
            now.whole,
            part=outside,
            trend=trend,
        )
        if trend
        else ngettext(
            "*Breadth:* you recognised {n} person in 90 days, {part} of them outside your "
            "usual circle.",
            "*Breadth:* you recognised {n} people in 90 days, {part} of them outside your "
            "usual circle.",
            now.whole,
            part=outside,
        )
    )
    return " ".join([head, meaning, tip])


def reciprocity_line(p: PersonInsights) -> str:
    now = p.current.reciprocity
    meaning = _("Recognition that flows both ways builds trust.")
    if not p.current.reciprocity_enough:
        return " ".join(
            [
                _(
                    "*Reciprocity:* _not enough yet_: fewer than 2 people recognised you in 90 "
                    "days."
                ),
                meaning,
                _("_Try: ask a colleague how their week went and listen._"),
            ]
        )
    tip = (
        _("_Try: think of one person who recognised you, and what they did well lately._")
        if now.part < now.whole
        else _("_Try: keep noticing what the people who support you do._")
    )
    trend = _trend_share(p.reciprocity_trend, p.previous.reciprocity)
    back = i18n.format_number(now.part)
    head = (
        ngettext(
            "*Reciprocity:* of the {n} person who recognised you, you recognised {part} back "
            "({trend}).",
            "*Reciprocity:* of the {n} people who recognised you, you recognised {part} back "
            "({trend}).",
            now.whole,
            part=back,
            trend=trend,
        )
        if trend
        else ngettext(
            "*Reciprocity:* of the {n} person who recognised you, you recognised {part} back.",
            "*Reciprocity:* of the {n} people who recognised you, you recognised {part} back.",
            now.whole,
            part=back,
        )
    )
    return " ".join([head, meaning, tip])


def follow_through_line(p: PersonInsights) -> str:
    now = p.current.follow_through
    meaning = _("Keeping promises, or renegotiating early, is what people rely on.")
    if not p.current.follow_through_enough:
        return " ".join(
            [
                _(
                    "*Follow-through:* _not enough yet_: fewer than 2 promises with a date "
                    "closed in 90 days."
                ),
                meaning,
                _("_Try: `/commit <what> to @bob by Friday` for your next one._"),
            ]
        )
    tip = (
        _("_Try: when a date slips, choose *New date* before it passes, so they know._")
        if now.part < now.whole
        else _("_Try: keep promises small enough to keep, as you do._")
    )
    trend = _trend_share(p.follow_through_trend, p.previous.follow_through)
    kept = i18n.format_number(now.part)
    head = (
        ngettext(
            "*Follow-through:* {part} of {n} promise kept on time in 90 days ({trend}).",
            "*Follow-through:* {part} of {n} promises kept on time in 90 days ({trend}).",
            now.whole,
            part=kept,
            trend=trend,
        )
        if trend
        else ngettext(
            "*Follow-through:* {part} of {n} promise kept on time in 90 days.",
            "*Follow-through:* {part} of {n} promises kept on time in 90 days.",
            now.whole,
            part=kept,
        )
    )
    return " ".join([head, meaning, tip])


def rhythm_line(p: PersonInsights) -> str:
    now = p.current.rhythm
    meaning = _("Regular contact keeps an alliance alive between the moments you need it.")
    if not p.current.rhythm_enough:
        return " ".join(
            [
                _("*Check-in rhythm:* _not enough yet_: no allies yet."),
                meaning,
                _(
                    "_Try: `/ally add @someone every 2 weeks` for one person you want on your "
                    "side._"
                ),
            ]
        )
    tip = (
        _("_Try: a five-minute message to the ally you have not talked to longest._")
        if now.part < now.whole
        else _("_Try: ask one ally what they are working towards._")
    )
    trend = _trend_share(p.rhythm_trend, p.previous.rhythm)
    in_touch = i18n.format_number(now.part)
    head = (
        ngettext(
            "*Check-in rhythm:* {part} of your {n} ally in touch within the rhythm you chose "
            "({trend}).",
            "*Check-in rhythm:* {part} of your {n} allies in touch within the rhythm you chose "
            "({trend}).",
            now.whole,
            part=in_touch,
            trend=trend,
        )
        if trend
        else ngettext(
            "*Check-in rhythm:* {part} of your {n} ally in touch within the rhythm you chose.",
            "*Check-in rhythm:* {part} of your {n} allies in touch within the rhythm you chose.",
            now.whole,
            part=in_touch,
        )
    )
    return " ".join([head, meaning, tip])


def insight_lines(p: PersonInsights) -> list[str]:
    """Each figure with its trend, one sentence on what it means and one small suggestion."""
    return [breadth_line(p), reciprocity_line(p), follow_through_line(p), rhythm_line(p)]


def build_me_blocks(p: PersonInsights) -> list[Block]:
    """`/ally me`: the same four figures as Home, privately."""
    blocks: list[Block] = [
        HeaderBlock(text=_("Your alliance figures")),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_(
                        "Private to you. The last 90 days, compared with the 90 days before. "
                        "Your usual circle is your allies and the up to 5 people you exchanged "
                        "the most kudos with before that."
                    )
                )
            ]
        ),
    ]
    for line in insight_lines(p):
        blocks.append(SectionBlock(text=MarkdownTextObject(text=line)))
    return blocks


def me_text(p: PersonInsights) -> str:
    return "\n".join(insight_lines(p))


def _chunks(lines: list[str], limit: int = 2900) -> list[str]:
    out, current = [], ""
    for line in lines:
        if current and len(current) + len(line) + 1 > limit:
            out.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        out.append(current)
    return out


def build_report_blocks(report: Report) -> list[Block]:
    """`/ally report`: the weekly table, a reading of each series, the network's shape."""
    blocks: list[Block] = [
        HeaderBlock(text=_("Workspace insights")),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=_(
                        "Weeks from {since} (Monday, UTC). Counts only, never names. "
                        "`<5`: a figure over fewer than 5 people, not shown. "
                        "`allybot report --html FILE` draws the charts.",
                        since=i18n.format_date(report.since),
                    )
                )
            ]
        ),
        SectionBlock(text=MarkdownTextObject(text=f"*{report.headline.sentence}*")),
        SectionBlock(text=MarkdownTextObject(text="```" + "\n".join(text_table(report)) + "```")),
        DividerBlock(),
    ]
    readings = [f"*{s.title}:* {s.reading}" for s in report.series]
    for chunk in _chunks(readings):
        blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)))
    blocks += [
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text="\n".join(shape_lines(report)))),
    ]
    return blocks


def report_fallback(report: Report) -> str:
    """The notification text: the first lines of the plain report."""
    return render_text(report).splitlines()[0]
