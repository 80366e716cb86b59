"""One path for what people write and allybot repeats to others.

Slack hands allybot a person's words in two forms. Slash-command text (the manifest's
`should_escape`) and message text (events, message shortcuts) are Slack's markup: the
person's own `&`, `<` and `>` arrive as `&amp;`, `&lt;` and `&gt;`, and every `<…>` is a token
Slack made (a mention, a channel, a link, a date). A modal's plain-text input arrives raw,
exactly as typed, so a literal `<!channel>` in it would be markup once posted.

`carry` turns either form into *safe markup*, the only form allybot stores and posts: the
only tokens left are mentions of the people the surface means, channel references and
`<~U…>` for anyone else the person mentioned, every link shows its real address, nothing
pings a group (that is refused, with the reason), and invisible or control characters are
gone. `<~U…>` is allybot's own token, not Slack's: it keeps the person's id, so erasing them
finds it, and turns into their name, never a mention, on its way to Slack (bot/named.py).
`quote` and `excerpt` fit safe markup into Slack's limits without cutting a token in half.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from enum import StrEnum
from typing import Any

from bot.i18n import _


class Source(StrEnum):
    """How Slack sent the text."""

    MARKUP = "markup"  # slash-command text, message text: escaped, `<…>` are Slack's tokens
    INPUT = "input"  # a modal's plain-text input: raw characters


class TextRefused(ValueError):
    """Text allybot will not repeat; the message tells the person what to change."""


# Slack's limits that person-written text has to fit in (Block Kit reference).
SECTION_LIMIT = 3000
CONTEXT_LIMIT = 3000
INPUT_LIMIT = 3000  # a plain-text input's initial value
MAX_LINES = 12  # a quote keeps this many lines; the rest run on in the last one

# Invisible characters that change how text reads without showing: bidirectional overrides,
# embeddings, isolates and marks, zero-width spaces and joiners, word joiners, invisible
# operators, the byte-order mark, soft hyphen, the Mongolian vowel separator, fillers.
_INVISIBLE = (
    {0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0}
    | set(range(0x200B, 0x2010))
    | set(range(0x202A, 0x202F))
    | set(range(0x2060, 0x2070))
    | set(range(0xFFF9, 0xFFFC))
)
_ZWJ = 0x200D
_EMOJI_MODIFIERS = set(range(0x1F3FB, 0x1F400)) | {0xFE0F}

USER_ID = re.compile(r"[UW][A-Z0-9]+")
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]+")
# Someone a text names without mentioning them (`carry`): their id, never a ping.
NAMED = re.compile(r"<~([UW][A-Z0-9]+)>")
# The most characters a name (`<~U…>`) takes once shown (bot/named.py: `@` and the name,
# escaped, cut to this): what a cut to Slack's limits counts it as.
NAME_SHOWN = 81
LINK_SCHEMES = ("http://", "https://", "mailto:")
GROUP_WORD = re.compile(r"(?<![\w@])@(here|channel|everyone)\b", re.IGNORECASE)
# A token Slack made in a text (a link, a mention, a channel): an `@`, a `#` or a word inside
# it is part of its address or label, not the person's own words. Grouped, for re.split.
TOKEN = re.compile(r"(<[^<>]*>)")
# Slack's tokens, its three entities, and the characters that would start markup.
_PIECE = re.compile(r"<([^<>]*)>|&(?:amp|lt|gt);|[&<>]")
_SPECIAL_GROUPS = {"here", "channel", "everyone", "group"}


def own_words(text: str) -> str:
    """The text with every token Slack made in it blanked: the words the person wrote
    themselves, where a keyword, `@` or `#` means what it says."""
    return TOKEN.sub(" ", text)


def normalise_edge(value: Any) -> Any:
    """Every string of a payload without control characters (NUL above all, which
    PostgreSQL cannot store) or lone surrogates: applied once, as a delivery arrives, so both
    databases store and every handler reads the same thing."""
    if isinstance(value, str):
        return _strip_controls(value)
    if isinstance(value, dict):
        return {k: normalise_edge(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise_edge(v) for v in value]
    return value


def _strip_controls(text: str) -> str:
    if text.isprintable():
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    )


def clean(text: str) -> str:
    """The words as a reader should see them: NFC, no control, bidi-override or zero-width
    characters (a joiner inside an emoji stays), tabs as spaces, at most one blank line in a
    row, no trailing spaces."""
    text = unicodedata.normalize("NFC", _strip_controls(text))
    text = text.replace("\u2028", "\n").replace("\u2029", "\n").replace("\t", " ")
    kept: list[str] = []
    for i, ch in enumerate(text):
        code = ord(ch)
        if code == _ZWJ:
            if _emoji_side(text[i - 1] if i else "") and _emoji_side(text[i + 1 : i + 2]):
                kept.append(ch)
        elif code not in _INVISIBLE:
            kept.append(ch)
    lines = [line.rstrip() for line in "".join(kept).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.strip()


def _emoji_side(ch: str) -> bool:
    return bool(ch) and (unicodedata.category(ch) == "So" or ord(ch) in _EMOJI_MODIFIERS)


def escape(text: str) -> str:
    """Plain characters as markup that shows them literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(markup: str) -> str:
    return markup.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def group_mention(text: str, source: Source) -> str | None:
    """The first group mention in the text, as the person would recognise it, if any."""
    for match in _PIECE.finditer(text):
        inner = match.group(1)
        if inner is not None and inner.startswith("!"):
            name = _group_name(inner)
            if name:
                return name
    if source is Source.INPUT and (word := GROUP_WORD.search(text)):
        return "@" + word.group(1).lower()
    return None


def _group_name(inner: str) -> str | None:
    kind, __, label = inner[1:].partition("|")
    if kind.lower() in _SPECIAL_GROUPS:
        return "@" + kind.lower()
    if kind.startswith("subteam^"):
        label = unescape(label).strip()
        return label if label.startswith("@") else _("a user group")
    return None


def refusal(group: str) -> str:
    """What allybot says, privately, when the text would ping a group."""
    return _(
        "allybot doesn't pass on group mentions: take out `{group}` and mention each person "
        "you mean instead, so nobody is pinged who didn't ask for it.",
        group=group,
    )


def carry(text: str, *, source: Source, mentions: Collection[str] = ()) -> str:
    """A person's words as safe markup, or `TextRefused` with what to change.

    `mentions` are the people the surface means (those recognised, those promised to): their
    mentions stay mentions. Anyone else mentioned becomes `<~U…>`, shown by name without a
    ping. A link shows its address next to its text; `<!date…>` shows its fallback text.
    """
    text = clean(text)
    if group := group_mention(text, source):
        raise TextRefused(refusal(group))
    if source is Source.INPUT:
        return _carry_input(text, mentions)
    out: list[str] = []
    at = 0
    for match in _PIECE.finditer(text):
        out.append(text[at : match.start()])
        at = match.end()
        piece, inner = match.group(0), match.group(1)
        if inner is None:
            out.append(piece if len(piece) > 1 else escape(piece))
        else:
            out.append(_token(inner, mentions))
    out.append(text[at:])
    return "".join(out).strip()


def _carry_input(text: str, mentions: Collection[str]) -> str:
    """Raw input: everything literal, except a mention (the edit modal shows a promise's
    `<@U…>` as typed text: a mention of someone the surface means stays one, anyone else's
    becomes `<~U…>`, a name) and a channel reference."""
    out: list[str] = []
    at = 0
    for match in re.finditer(r"<([@#])([A-Z][A-Z0-9]+)>", text):
        out.append(escape(text[at : match.start()]))
        at = match.end()
        sigil, ident = match.groups()
        if sigil == "@" and ident not in mentions and USER_ID.fullmatch(ident):
            out.append(named(ident))
            continue
        meant = ident in mentions if sigil == "@" else bool(CHANNEL_ID.fullmatch(ident))
        out.append(match.group(0) if meant else escape(match.group(0)))
    out.append(escape(text[at:]))
    return "".join(out).strip()


def named(user_id: str) -> str:
    """The token for someone a text names without mentioning them."""
    return f"<~{user_id}>"


def _token(inner: str, mentions: Collection[str]) -> str:
    head, __, label = inner.partition("|")
    label = _entities_only(label.strip())
    if head.startswith("@"):
        uid = head[1:]
        if not USER_ID.fullmatch(uid):
            return escape(f"<{unescape(inner)}>")
        return f"<@{uid}>" if uid in mentions else named(uid)
    if NAMED.fullmatch(f"<{inner}>"):  # carried before: it stays a name
        return f"<{inner}>"
    if head.startswith("#"):
        cid = head[1:]
        if CHANNEL_ID.fullmatch(cid):
            return f"<#{cid}>"
        return escape(f"<{unescape(inner)}>")
    if head.startswith("!"):
        if head.startswith("!date^"):
            return label or "a date"
        return label
    url = head.strip()
    if url.lower().startswith(LINK_SCHEMES) and not re.search(r"\s", url):
        shown = url[len("mailto:") :] if url.lower().startswith("mailto:") else url
        if not label or unescape(label) in (url, shown):
            return f"<{url}>"
        return f"{label} (<{url}>)"
    return escape(f"<{unescape(inner)}>")


def _entities_only(markup: str) -> str:
    """Markup whose only `&` are Slack's three entities."""
    return re.sub(r"&(?!(?:amp|lt|gt);)", "&amp;", markup)


def named_in(markup: str) -> list[str]:
    """The user ids a text names without mentioning them (`<~U…>`), in order, once each."""
    return list(dict.fromkeys(NAMED.findall(markup)))


def mentioned(markup: str) -> list[str]:
    """The user ids mentioned in Slack markup, in order, once each."""
    found = [m.group(1)[1:].partition("|")[0] for m in _PIECE.finditer(markup) if m.group(1)]
    return list(dict.fromkeys(u for u in found if u and USER_ID.fullmatch(u) and u[0] in "UW"))


def _pieces(markup: str) -> list[str]:
    """Safe markup split where it can be cut: tokens and entities stay whole."""
    pieces: list[str] = []
    at = 0
    for match in _PIECE.finditer(markup):
        pieces.extend(markup[at : match.start()])
        pieces.append(match.group(0))
        at = match.end()
    pieces.extend(markup[at:])
    return pieces


def trim(markup: str, chars: str) -> str:
    """Slack markup without the given punctuation at either end, like `str.strip`, except that
    a token or an entity stays whole (the `;` of `&gt;` is not punctuation)."""
    pieces = _pieces(markup)
    start, end = 0, len(pieces)
    while start < end and len(pieces[start]) == 1 and pieces[start] in chars:
        start += 1
    while end > start and len(pieces[end - 1]) == 1 and pieces[end - 1] in chars:
        end -= 1
    return "".join(pieces[start:end])


def shown_length(markup: str) -> int:
    """The most characters safe markup takes once a name in it (`<~U…>`) is shown."""
    if "<~" not in markup:
        return len(markup)
    return len(markup) + sum(NAME_SHOWN - len(m.group(0)) for m in NAMED.finditer(markup))


def _piece_length(piece: str) -> int:
    return NAME_SHOWN if piece.startswith("<~") and NAMED.fullmatch(piece) else len(piece)


def excerpt(markup: str, limit: int) -> str:
    """Safe markup cut to at most `limit` characters, at a whole token, with an ellipsis;
    a name counted as what it may take once shown."""
    if shown_length(markup) <= limit:
        return markup
    out: list[str] = []
    size = 0
    for piece in _pieces(markup):
        if size + _piece_length(piece) > limit - 1:
            break
        out.append(piece)
        size += _piece_length(piece)
    return "".join(out).rstrip() + "…"


def one_line(markup: str, limit: int) -> str:
    """Safe markup on one line, for a list or a fallback text."""
    return excerpt(" ".join(markup.split()), limit)


def quote(markup: str, limit: int) -> str:
    """Safe markup as a block quote of at most `limit` characters and `MAX_LINES` lines."""
    lines = markup.split("\n") or [""]
    if len(lines) > MAX_LINES:
        rest = " ".join(" ".join(lines[MAX_LINES - 1 :]).split())
        lines = [*lines[: MAX_LINES - 1], rest]
    return excerpt("\n".join("> " + line if line else ">" for line in lines), limit)


def plain(markup: str) -> str:
    """Safe markup as the text a person would type back into a modal: entities as characters,
    a link as its address, mentions and names kept as `<@U…>` (the modal keeps a mention for
    the people it is to and a name for anyone else)."""

    def token(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner.startswith(("@", "#")):
            return match.group(0)
        if NAMED.fullmatch(match.group(0)):
            return "<@" + inner[1:] + ">"
        return inner.partition("|")[0]

    # A `<~` left is what the person wrote (`&lt;~`), not a name: a word joiner keeps it
    # from reading as one on its way to Slack (bot/named.py), and `clean` takes it out again.
    return unescape(re.sub(r"<([^<>]*)>", token, markup)).replace("<~", "<\u2060~")


def readable(markup: str) -> str:
    """Slack markup as plain words: a mention as its name, a link as its text and address, a
    group as `@here`, a date as its fallback."""

    def token(match: re.Match[str]) -> str:
        inner = match.group(1)
        head, __, label = inner.partition("|")
        if head.startswith("!"):
            return _group_name(inner) or label
        if head.startswith(("@", "~")):
            return "@" + (label.lstrip("@") or "someone")
        if head.startswith("#"):
            return "#" + (label or head[1:])
        return f"{label} ({head})" if label and label != head else head

    # A `<~` left is what the person wrote (`&lt;~`), not a name: a word joiner keeps it
    # from reading as one on its way to Slack (bot/named.py), and `clean` takes it out again.
    return unescape(re.sub(r"<([^<>]*)>", token, markup)).replace("<~", "<\u2060~")


def snippet(text: str, limit: int = 40) -> str:
    """A short excerpt of what someone typed (Slack markup), for an error that quotes it:
    shown literally, never more than `limit` characters, never a ping."""
    return excerpt(escape(" ".join(readable(clean(text)).split())), limit)
