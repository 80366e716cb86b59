"""What every dashboard page shares: the stylesheet, the paths, the navigation and the page
around the content, in the reader's language (`<html lang>` says which)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from bot import i18n
from bot.i18n import N_, _

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
# Translators: the dashboard's navigation links, each a word or two.
NAV_WORKSPACE, NAV_SETTINGS, NAV_ME = N_("Workspace"), N_("Settings"), N_("Me")


@dataclass(frozen=True)
class Chrome:
    """What every signed-in page shows around its content."""

    is_admin: bool
    csrf: str
    current: str


def _nav(chrome: Chrome) -> str:
    links = [(WORKSPACE, NAV_WORKSPACE), (SETTINGS, NAV_SETTINGS)] if chrome.is_admin else []
    links.append((ME, NAV_ME))
    items = "".join(
        f'<li><a href="{href}"{" aria-current=page" if href == chrome.current else ""}>'
        f"{escape(_(label))}</a></li>"
        for href, label in links
    )
    # Translators: the name screen readers give the navigation links.
    label = escape(_("Dashboard"))
    sign_out = escape(_("Sign out"))
    return (
        f'<nav aria-label="{label}"><ul>' + items + "</ul></nav>"
        f'<form method="post" action="{SIGNOUT}">{csrf_field(chrome.csrf)}'
        f'<button class="quiet" type="submit">{sign_out}</button></form>'
    )


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(token)}">'


def lang() -> str:
    """The language the page is written in, for `<html lang>`."""
    return i18n.language()


def document(title: str, body: str, chrome: Chrome | None = None, *, refresh: int = 0) -> str:
    """A whole page; `chrome` adds the navigation and the sign-out button; `refresh` reloads
    it after that many seconds (no script needed)."""
    header = '<span class="brand">allybot</span>' + (_nav(chrome) if chrome else "")
    reload = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    # Translators: the browser tab's title: the page's title, then the app's name.
    tab = escape(_("{title} · allybot", title=title))
    skip = escape(_("Skip to the content"))
    return (
        f'<!DOCTYPE html>\n<html lang="{lang()}"><head><meta charset="utf-8">{reload}'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{tab}</title>"
        f'<link rel="icon" href="{ICON}" type="image/svg+xml">'
        f'<link rel="stylesheet" href="{STYLESHEET}"></head><body>'
        f'<a class="skip" href="#main">{skip}</a>'
        f'<header>{header}</header><main id="main">{body}</main></body></html>\n'
    )


def message_page(title: str, text: str, *, link: tuple[str, str] | None = None) -> str:
    """A page that says one thing (signed out, refused, not allowed) and where to go next."""
    more = f'<p><a href="{escape(link[0])}">{escape(link[1])}</a></p>' if link else ""
    return document(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{more}")


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
