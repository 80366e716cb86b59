"""The message catalogues' upkeep: extract what the code marks, update each language, check.

`python -m bot.catalogue` (or `make messages`) re-extracts every domain's template
(`bot/locales/<domain>.pot`) from the code and the content files and merges it into each
language's `.po`: new strings arrive untranslated, changed ones are marked fuzzy, gone ones
are dropped. `problems()` is what the test suite checks: templates current, every string
translated in every language with the same placeholders and the language's plural forms.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po, write_po

from bot import content
from bot.i18n import DEFAULT, DOMAINS, LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "bot" / "locales"
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "N_": None}
# The code each domain's strings come from (globs under the project root). A file belongs
# to the first domain whose globs match it.
SOURCES: dict[str, tuple[str, ...]] = {
    "content": (),  # bot/tips.yaml, bot/starters.yaml and bot/guide.yaml, read by `_content`
    "dashboard": ("bot/dashboard/**/*.py", "bot/report_html.py"),
    "views": ("bot/blocks/**/*.py",),
    "nudges": ("scheduler/**/*.py",),
    "replies": ("handlers/**/*.py", "bot/**/*.py", "allybot/**/*.py"),
}
SKIP = {"bot/i18n.py", "bot/catalogue.py"}
CONTENT = ("tips.yaml", "starters.yaml", "guide.yaml")
STAMP = datetime(2026, 12, 1, tzinfo=UTC)


def _owners() -> dict[str, str]:
    """Each source file and the domain it feeds: the first in `SOURCES` whose globs match."""
    owners: dict[str, str] = {}
    for domain, patterns in SOURCES.items():
        for pattern in patterns:
            for path in sorted(ROOT.glob(pattern)):
                rel = path.relative_to(ROOT).as_posix()
                if rel not in SKIP:
                    owners.setdefault(rel, domain)
    return owners


def _files(domain: str) -> Iterator[Path]:
    for rel, owner in sorted(_owners().items()):
        if owner == domain:
            yield ROOT / rel


def _content(catalog: Catalog) -> None:
    """Tips, their categories, the conversation starters and the guide to a direct
    conversation, each under its stable id."""
    for name in CONTENT:
        data = content.read(name)
        location = (f"bot/{name}", 0)
        for key, title in (data.get("categories") or {}).items():
            catalog.add(title, context=f"category:{key}", locations=[location])
        for item in data.get("tips") or []:
            catalog.add(item["text"], context=item["id"], locations=[location])
        for kind in ("starters", "guide"):
            for item in data.get(kind) or []:
                catalog.add(
                    item["text"],
                    context=item["id"],
                    locations=[location],
                    flags=("python-brace-format",) if _braces(item["text"]) else (),
                )


def template(domain: str) -> Catalog:
    """Every string the domain's sources mark, as a template (no translations)."""
    catalog = Catalog(project="allybot", domain=domain, locale=DEFAULT, fuzzy=False)
    if domain == "content":
        _content(catalog)
        return catalog
    for path in _files(domain):
        rel = path.relative_to(ROOT).as_posix()
        for lineno, message, comments, context in extract_from_file(
            "python", str(path), keywords=KEYWORDS, comment_tags=("Translators:",)
        ):
            catalog.add(
                message,
                locations=[(rel, lineno)],
                auto_comments=comments,
                context=context,
                flags=("python-brace-format",) if _braces(message) else (),
            )
    return catalog


def _braces(message: str | tuple[str, ...]) -> bool:
    texts = message if isinstance(message, tuple) else (message,)
    return any(placeholders(t) for t in texts)


def placeholders(text: str) -> set[str]:
    """The `{names}` a string fills in."""
    try:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}
    except ValueError:
        return {"<unbalanced braces>"}


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def _write(path: Path, catalog: Catalog) -> None:
    # A fixed header, so a file changes only when its strings do.
    catalog.project, catalog.version = "allybot", "1"
    catalog.copyright_holder = "allybot"
    catalog.msgid_bugs_address = ""
    catalog.creation_date = catalog.revision_date = STAMP
    catalog.last_translator = "allybot"
    catalog.fuzzy = False
    catalog.header_comment = (
        f"# allybot's {catalog.domain} strings ({catalog.locale_identifier or 'template'})."
    )
    catalog.language_team = catalog.locale_identifier or "en"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=96, include_lineno=False, omit_header=False, sort_output=True)


def update() -> list[str]:
    """Rewrite every template and merge it into every language; returns what changed."""
    changed = []
    for domain in DOMAINS:
        fresh = template(domain)
        _write(LOCALES / f"{domain}.pot", fresh)
        for code in LANGUAGES:
            if code == DEFAULT:
                continue
            path = LOCALES / code / "LC_MESSAGES" / f"{domain}.po"
            catalog = _read(path, code) if path.exists() else Catalog(locale=code, domain=domain)
            catalog.domain = domain  # read_po leaves it unset; the header names it
            catalog.update(fresh, no_fuzzy_matching=False)
            catalog.obsolete.clear()
            _write(path, catalog)
            missing = sum(1 for m in catalog if m.id and not _done(m))
            if missing:
                changed.append(f"{code}/{domain}.po: {missing} to translate")
    return changed


def _strings(message: Message) -> list[str]:
    """A translation's text, one per plural form."""
    found = message.string
    return [str(s or "") for s in found] if isinstance(found, tuple | list) else [found or ""]


def _done(message: Message) -> bool:
    return not message.fuzzy and all(_strings(message))


def _key(message: Message) -> tuple[Any, Any]:
    return (message.context, message.id)


def _compare(template_: Catalog, path: Path) -> Iterable[str]:
    current = _read(path)
    want = {_key(m) for m in template_ if m.id}
    have = {_key(m) for m in current if m.id}
    for key in sorted(want - have, key=str):
        yield f"{path.name}: not extracted yet: {key[1]!r}"
    for key in sorted(have - want, key=str):
        yield f"{path.name}: no longer in the code: {key[1]!r}"


def problems() -> list[str]:
    """Everything that stands between the catalogues and a complete, correct translation."""
    found: list[str] = []
    for domain in DOMAINS:
        fresh = template(domain)
        pot = LOCALES / f"{domain}.pot"
        if not pot.exists():
            found.append(f"{domain}.pot missing: run `make messages`")
            continue
        found.extend(_compare(fresh, pot))
        for code in LANGUAGES:
            if code == DEFAULT:
                continue
            found.extend(_language_problems(code, domain, fresh))
    for code in LANGUAGES:
        if code != DEFAULT:
            found.extend(_disagreements(code))
    return found


def _disagreements(code: str) -> Iterator[str]:
    """The same English in two catalogues translated two ways: at run time the catalogues
    are merged into one, so one of the two would silently win everywhere."""
    seen: dict[tuple[Any, Any], tuple[str, list[str]]] = {}
    for domain in DOMAINS:
        path = LOCALES / code / "LC_MESSAGES" / f"{domain}.po"
        if not path.exists():
            continue
        for message in _read(path, code):
            if not message.id or not _done(message):
                continue
            key = _key(message)
            earlier = seen.setdefault(key, (domain, _strings(message)))
            if earlier[1] != _strings(message):
                label = message.id if isinstance(message.id, str) else message.id[0]
                yield (
                    f"{code}: {label!r} reads differently in {earlier[0]}.po and {domain}.po; "
                    "say it one way"
                )


def _language_problems(code: str, domain: str, fresh: Catalog) -> Iterator[str]:
    path = LOCALES / code / "LC_MESSAGES" / f"{domain}.po"
    where = f"{code}/{domain}.po"
    if not path.exists():
        yield f"{where} missing"
        return
    catalog = _read(path, code)
    plurals = catalog.num_plurals
    for message in fresh:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        label = message.id if isinstance(message.id, str) else message.id[0]
        if found is None or not _done(found):
            yield f"{where}: untranslated: {label!r}"
            continue
        ids = tuple(message.id) if isinstance(message.id, tuple | list) else (message.id,)
        strings = _strings(found)
        if isinstance(message.id, tuple) and len(strings) != plurals:
            yield f"{where}: {len(strings)} plural forms, {code} has {plurals}: {label!r}"
        want = set().union(*(placeholders(i) for i in ids))
        for text in strings:
            got = placeholders(text)
            if isinstance(message.id, tuple):
                got |= {"n"}  # a form for exactly one may say "one" instead of {n}
                want_here = want | {"n"}
            else:
                want_here = want
            if got != want_here:
                yield (
                    f"{where}: placeholders {sorted(got)} instead of {sorted(want_here)}: {label!r}"
                )


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.catalogue [check]`: update the catalogues, or only list problems."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["check"]:
        found = problems()
        print("\n".join(found) if found else "catalogues complete")
        return 1 if found else 0
    for line in update():
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
