"""A person's figures (Home and `/ally me`) and the workspace report in Slack (`/ally report`)."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.services.insights import PersonInsights, Ratio, Trend
from bot.services.report import Report, render_text, shape_lines, text_table

NOT_ENOUGH = "_not enough yet_"
BEFORE = "the 90 days before"


def _people(n: int) -> str:
    return "person" if n == 1 else "people"


def _share(r: Ratio) -> str:
    return f"{r.share:.0%}" if r.share is not None else "–"


def _trend_count(trend: Trend, before: int) -> str:
    match trend:
        case Trend.UP:
            return f" (up from {before} in {BEFORE})"
        case Trend.DOWN:
            return f" (down from {before} in {BEFORE})"
        case Trend.SAME:
            return f" (the same as in {BEFORE})"
    return ""


def _trend_share(trend: Trend, before: Ratio) -> str:
    match trend:
        case Trend.UP:
            return f" (up from {_share(before)} in {BEFORE})"
        case Trend.DOWN:
            return f" (down from {_share(before)} in {BEFORE})"
        case Trend.SAME:
            return f" (about the same as in {BEFORE})"
    return ""


def breadth_line(p: PersonInsights) -> str:
    now, before = p.current.breadth, p.previous.breadth
    meaning = "Recognising many people, not the same few, keeps alliances open."
    if not p.current.breadth_enough:
        return (
            f"*Breadth:* {NOT_ENOUGH}: no kudos given in 90 days. {meaning} "
            "_Try: `/kudos @someone <why>` for one thing that helped you this week._"
        )
    tip = (
        "_Try: thank someone outside your usual circle for something specific this week._"
        if now.part == 0
        else "_Try: notice one person whose work is rarely seen, and say so._"
    )
    return (
        f"*Breadth:* you recognised {now.whole} {_people(now.whole)} in 90 days, "
        f"{now.part} of them outside your usual circle"
        f"{_trend_count(p.breadth_trend, before.whole)}. {meaning} {tip}"
    )


def reciprocity_line(p: PersonInsights) -> str:
    now = p.current.reciprocity
    meaning = "Recognition that flows both ways builds trust."
    if not p.current.reciprocity_enough:
        return (
            f"*Reciprocity:* {NOT_ENOUGH}: fewer than 2 people recognised you in 90 days. "
            f"{meaning} _Try: ask a colleague how their week went and listen._"
        )
    tip = (
        "_Try: think of one person who recognised you, and what they did well lately._"
        if now.part < now.whole
        else "_Try: keep noticing what the people who support you do._"
    )
    return (
        f"*Reciprocity:* of the {now.whole} people who recognised you, you recognised "
        f"{now.part} back{_trend_share(p.reciprocity_trend, p.previous.reciprocity)}. "
        f"{meaning} {tip}"
    )


def follow_through_line(p: PersonInsights) -> str:
    now = p.current.follow_through
    meaning = "Keeping promises, or renegotiating early, is what people rely on."
    if not p.current.follow_through_enough:
        return (
            f"*Follow-through:* {NOT_ENOUGH}: fewer than 2 promises with a date closed in 90 "
            f"days. {meaning} _Try: `/commit <what> to @bob by Friday` for your next one._"
        )
    tip = (
        "_Try: when a date slips, choose *New date* before it passes, so they know._"
        if now.part < now.whole
        else "_Try: keep promises small enough to keep, as you do._"
    )
    return (
        f"*Follow-through:* {now.part} of {now.whole} promises kept on time in 90 days"
        f"{_trend_share(p.follow_through_trend, p.previous.follow_through)}. {meaning} {tip}"
    )


def rhythm_line(p: PersonInsights) -> str:
    now = p.current.rhythm
    meaning = "Regular contact keeps an alliance alive between the moments you need it."
    if not p.current.rhythm_enough:
        return (
            f"*Check-in rhythm:* {NOT_ENOUGH}: no allies yet. {meaning} "
            "_Try: `/ally add @someone every 2 weeks` for one person you want on your side._"
        )
    tip = (
        "_Try: a five-minute message to the ally you have not talked to longest._"
        if now.part < now.whole
        else "_Try: ask one ally what they are working towards._"
    )
    return (
        f"*Check-in rhythm:* {now.part} of your {now.whole} "
        f"{'ally' if now.whole == 1 else 'allies'} in touch within the rhythm you chose"
        f"{_trend_share(p.rhythm_trend, p.previous.rhythm)}. {meaning} {tip}"
    )


def insight_lines(p: PersonInsights) -> list[str]:
    """Each figure with its trend, one sentence on what it means and one small suggestion."""
    return [breadth_line(p), reciprocity_line(p), follow_through_line(p), rhythm_line(p)]


def build_me_blocks(p: PersonInsights) -> list[Block]:
    """`/ally me`: the same four figures as Home, privately."""
    blocks: list[Block] = [
        HeaderBlock(text="Your alliance figures"),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Private to you. The last 90 days, compared with the 90 days before. "
                    "Your usual circle is your allies and the up to 5 people you exchanged "
                    "the most kudos with before that."
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
        HeaderBlock(text="Workspace insights"),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Weeks from {report.since} (Monday, UTC). Counts only, never names. "
                    "`<5`: a figure over fewer than 5 people, not shown. "
                    "`allybot report --html FILE` draws the charts."
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
