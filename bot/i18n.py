"""allybot's languages: the catalogues, the language of the moment, and locale formatting.

Every string a person sees is written in English in the code, marked with `_` (or `ngettext`
for counts, `pgettext` for content with a stable id such as a tip), and looked up in the
catalogue of the language allybot is speaking at that moment. That language is set per
reader with `speaking(...)`: the person who pressed or typed something, the recipient of a
DM, the workspace's default for a channel post. Catalogues are Babel `.po` files, one per
area of the code (see `DOMAINS`), read and compiled in memory on first use.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from functools import cache
from gettext import NullTranslations
from importlib import resources
from typing import Any

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DEFAULT = "en"
# The languages allybot speaks, by code, each named in itself (as a picker shows them).
LANGUAGES = {"en": "English", "es": "Español", "de": "Deutsch"}
# A made-up language for tests: every catalogue string accented, lengthened and bracketed,
# so an English word that reaches Slack unbracketed is a string nobody marked.
PSEUDO = "qps"
# One catalogue per area of the code; `bot.catalogue` says which files feed which.
DOMAINS = ("views", "replies", "nudges", "dashboard", "content")

_current: ContextVar[str] = ContextVar("allybot_language", default=DEFAULT)


def _locales() -> Any:
    return resources.files("bot").joinpath("locales")


def _read(path: Any, locale: str | None) -> Catalog | None:
    if not path.is_file():
        return None
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def _compiled(catalog: Catalog) -> Translations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


@cache
def translations(language: str) -> NullTranslations:
    """Every domain's catalogue of one language merged into one (English: the source)."""
    if language not in LANGUAGES and language != PSEUDO:
        language = DEFAULT
    if language == DEFAULT:
        return NullTranslations()
    merged: Translations | None = None
    for domain in DOMAINS:
        if language == PSEUDO:
            catalog = _read(_locales().joinpath(f"{domain}.pot"), None)
            if catalog is not None:
                catalog = pseudo_catalog(catalog)
        else:
            catalog = _read(_locales().joinpath(language, "LC_MESSAGES", f"{domain}.po"), language)
        if catalog is None:
            continue
        compiled = _compiled(catalog)
        merged = compiled if merged is None else merged.merge(compiled)
    return merged if merged is not None else NullTranslations()


def language() -> str:
    """The code of the language allybot is speaking now."""
    return _current.get()


@contextmanager
def speaking(code: str | None) -> Iterator[str]:
    """Speak `code` (a shipped language, or the default) within the block."""
    token = _current.set(code if code in LANGUAGES or code == PSEUDO else DEFAULT)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def shipped(code: str | None) -> str | None:
    """The shipped language a Slack locale ("es-LA", "de-DE") or a code ("de") names, if any."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    if base in LANGUAGES:
        return base
    if base == PSEUDO:
        return PSEUDO
    return None


def choose(*candidates: str | None) -> str:
    """The first candidate allybot speaks (a person's choice, their Slack locale, the
    workspace default...), else English."""
    for candidate in candidates:
        found = shipped(candidate)
        if found is not None:
            return found
    return DEFAULT


def _format(text: str, values: dict[str, Any]) -> str:
    return text.format(**values) if values else text


def _(message: str, /, **values: Any) -> str:
    """`message` in the current language, its `{placeholders}` filled from `values`."""
    return _format(translations(_current.get()).gettext(message), values)


def ngettext(singular: str, plural: str, n: int, /, **values: Any) -> str:
    """The form for `n` in the current language; `{n}` and `values` filled in."""
    text = translations(_current.get()).ngettext(singular, plural, n)
    return _format(text, {"n": format_number(n), **values})


def pgettext(context: str, message: str, /, **values: Any) -> str:
    """`message` under a stable id (`context`), such as a tip's, in the current language."""
    return _format(translations(_current.get()).pgettext(context, message), values)


def N_(message: str) -> str:
    """Marks a string for the catalogue where it is defined; `_` translates it where used."""
    return message


def babel_locale() -> Locale:
    """The Babel locale for formatting in the current language (English for the pseudo one)."""
    code = _current.get()
    return Locale.parse(DEFAULT if code == PSEUDO else code)


def _shown(text: str) -> str:
    """What Babel wrote, as the pseudo language shows it (so no English slips through)."""
    return pseudo(text) if _current.get() == PSEUDO else text


def format_number(n: float) -> str:
    return babel_numbers.format_decimal(n, locale=babel_locale())


def format_date(value: date, form: str = "medium") -> str:
    """A date as this language writes it ("Dec 5, 2026", "5 dic 2026", "05.12.2026")."""
    return _shown(babel_dates.format_date(value, format=form, locale=babel_locale()))


def format_skeleton(value: date | datetime, skeleton: str) -> str:
    """A date in a CLDR skeleton ("MMMEd": "Sat, Dec 5"; "Hm": 15:00) for this language."""
    return _shown(babel_dates.format_skeleton(skeleton, value, locale=babel_locale()))


def format_time(value: time | datetime, form: str = "short") -> str:
    """A time as this language writes it ("3:00 PM", "15:00")."""
    return _shown(babel_dates.format_time(value, format=form, locale=babel_locale()))


def weekday_name(index: int, width: str = "wide") -> str:
    """Monday is 0, as in `date.weekday()`."""
    return _shown(str(babel_locale().days["format"][width][index]))


# -- the pseudo language -------------------------------------------------------------------

_ACCENTED = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "àƀçđéƒĝĥîĵķĺɱñöþʠŕšŧüṽŵẋýžÀƁÇĐÉƑĜĤÎĴĶĹṀÑÖÞǪŔŠŦÜṼŴẊÝŽ",
)
# What must reach Slack as written: placeholders, Slack's <…> tokens, :emoji:, `code`,
# addresses, and format specifications.
_KEEP = re.compile(r"\{[^{}]*\}|<[^<>]*>|:[a-z0-9_+\-]+:|`[^`]*`|https?://\S+|&[a-z]+;")
PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"


def pseudo(text: str) -> str:
    """English made recognisably foreign and a third longer, markup and placeholders kept."""
    if not text:
        return text
    out: list[str] = []
    last = 0
    for match in _KEEP.finditer(text):
        out.append(text[last : match.start()].translate(_ACCENTED))
        out.append(match.group(0))
        last = match.end()
    out.append(text[last:].translate(_ACCENTED))
    letters = sum(ch.isalpha() for ch in text)
    return PSEUDO_OPEN + "".join(out) + "·" * (letters // 3) + PSEUDO_CLOSE


def pseudo_catalog(template: Catalog) -> Catalog:
    """A catalogue in the pseudo language from a template: every message pseudo-translated."""
    catalog = Catalog(locale="en", domain=template.domain)
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            string: Any = (pseudo(message.id[0]), pseudo(message.id[1]))
        else:
            string = pseudo(message.id)
        catalog.add(message.id, string, context=message.context)
    return catalog
