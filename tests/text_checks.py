"""What must never reach Slack from what a person wrote, and hypothesis strategies that try.

Shared by the unit tests of bot/text.py and the end-to-end property test, so both hold the
text path to the same promise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from hypothesis import strategies as st

TOKEN = re.compile(r"<([^<>]*)>")
INVISIBLE = re.compile("[\u200b\u200c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\u2060]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
GROUPS = ("<!here>", "<!channel>", "<!everyone>", "<!subteam^S0ENG|@eng>", "<!here|here>")


def problems(
    markup: str, *, meant: Collection[str], allowed_links: Collection[str] = ()
) -> list[str]:
    """Everything wrong with text allybot put in a message: a group ping, a link that hides
    its address, a mention of someone not meant, an invisible or control character, a stray
    `&`, `<` or `>` that Slack would read as markup."""
    found: list[str] = []
    for match in TOKEN.finditer(markup):
        inner = match.group(1)
        head, bar, label = inner.partition("|")
        if head.startswith("!"):
            found.append(f"special token {match.group(0)!r}")
        elif head.startswith("@"):
            if head[1:] not in meant:
                found.append(f"unintended mention {match.group(0)!r}")
        elif head.startswith("#"):
            continue
        elif bar and label != head and head not in allowed_links:
            found.append(f"hidden link {match.group(0)!r}")
    outside = re.sub(r"(?m)^>", "", TOKEN.sub("", markup))  # a quote's marker is markup
    if "<" in outside or ">" in outside:
        found.append("unescaped < or >")
    if re.search(r"&(?!(?:amp|lt|gt);)", markup):
        found.append("a bare &")
    if INVISIBLE.search(markup):
        found.append("an invisible character")
    if CONTROL.search(markup):
        found.append("a control character")
    return found


def slack_tokens(users: Collection[str] = ("U0ANN", "U0BOB")) -> st.SearchStrategy[str]:
    """The `<…>` tokens Slack sends, and tokens crafted to look like them."""
    user = st.sampled_from([*sorted(users), "U0STRANGER", "W0GRID"])
    label = st.text(st.characters(blacklist_characters="<>|"), max_size=12)
    return st.one_of(
        st.sampled_from(GROUPS),
        st.builds(lambda u: f"<@{u}>", user),
        st.builds(lambda u, lb: f"<@{u}|{lb}>", user, label),
        st.builds(lambda lb: f"<https://evil.example/x|{lb}>", label),
        st.sampled_from([*SHOWN_AS_TEXT, "<#C0GENERAL>", "<!something>", "&quot;", "<", ">"]),
    )


# Tokens (and entities) Slack sends or a person may type that name no person: links, a date,
# a channel, a broken mention.
SHOWN_AS_TEXT = [
    "<https://evil.example|your bonus>",
    "<https://example.com>",
    "<mailto:ann@example.com|ann@example.com>",
    "<javascript:alert(1)|click>",
    "<!date^1392734382^{date_num}|Feb 18, 2014>",
    "<#C0GENERAL|general>",
    "<@notanid>",
    "&amp;",
    "&lt;",
    "&gt;",
    "&",
]


TRICKY = st.sampled_from(
    [
        "\x00",
        "\x07",
        "\x1b",
        "\x7f",
        "\x85",
        "\u202e",
        "\u2066",
        "\u200b",
        "\u200d",
        "\ufeff",
        "\u2028",
        "\r\n",
        "\t",
        "\n",
        "\n\n\n\n",
        "👩\u200d💻",
        "é",
        "e\u0301",
        "\ud800",
    ]
)


def person_text(
    users: Collection[str] = ("U0ANN", "U0BOB"), *, max_size: int = 12
) -> st.SearchStrategy[str]:
    """What a person might type, or an attacker might send: words, Unicode, control and
    invisible characters, Slack tokens, and now and then a lot of line breaks."""
    piece = st.one_of(
        st.text(max_size=20),
        st.sampled_from(["kudos", " ", "thanks", "@here", "@channel", "#teamwork", "by Friday"]),
        TRICKY,
        slack_tokens(users),
    )
    short = st.lists(piece, max_size=max_size).map("".join)
    return st.one_of(
        short,
        st.builds(lambda s, n: s + "\n" * n + s, short, st.integers(0, 1200)),
        st.builds(
            lambda s, n: (s or "x") * n, st.text(min_size=1, max_size=5), st.integers(200, 700)
        ),
    )


def mrkdwn_texts(node: Any) -> list[str]:
    """Every mrkdwn text in a block tree (or in blocks sent encoded as JSON)."""
    if isinstance(node, str):
        node = json.loads(node) if node[:1] in "[{" else []
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    if not isinstance(node, dict):
        return []
    own = [str(node["text"])] if node.get("type") == "mrkdwn" and "text" in node else []
    return own + [t for v in node.values() if isinstance(v, dict | list) for t in mrkdwn_texts(v)]
