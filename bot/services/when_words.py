"""How people say a due date in each language allybot speaks, turned into the English forms
`bot.services.when` reads ("el próximo martes" → "next tuesday", "Freitag 15 Uhr" →
"friday 15:00", "fin de mes" → "end of month").

dateparser knows Spanish and German words, but misreads the forms people type most in a
`/commit`: "viernes 15h" and "Freitag 15 Uhr" come back as the 15th of the month, and
"el próximo martes", "nächsten Dienstag", "fin de mes" or "Ende des Monats" are not read at
all. So each language's phrase is rewritten, word by word, into the English phrase with the
same meaning, and read the one well-tested way; dateparser in the person's language stays
the fallback for whatever this table does not cover. English words pass through unchanged,
so English keeps working for everyone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]

UNITS = (
    r"(minutos?|horas?|dias?|semanas?|meses|mes"
    r"|minuten?|stunden?|tagen?|wochen?|monaten?|monat)"
)
UNIT_EN = {
    "minuto": "minutes",
    "minutos": "minutes",
    "hora": "hours",
    "horas": "hours",
    "dia": "days",
    "dias": "days",
    "semana": "weeks",
    "semanas": "weeks",
    "mes": "months",
    "meses": "months",
    "minute": "minutes",
    "minuten": "minutes",
    "stunde": "hours",
    "stunden": "hours",
    "tag": "days",
    "tage": "days",
    "tagen": "days",
    "woche": "weeks",
    "wochen": "weeks",
    "monat": "months",
    "monate": "months",
    "monaten": "months",
}
NUMBERS = {
    "un": 1,
    "una": 1,
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "diez": 10,
    "quince": 15,
    "einem": 1,
    "einer": 1,
    "ein": 1,
    "eine": 1,
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "funf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "zehn": 10,
    "vierzehn": 14,
}
NUMBER = r"(\d+|" + "|".join(sorted(NUMBERS, key=len, reverse=True)) + r")"


def fold(text: str) -> str:
    """Lower case, accents and umlauts dropped ("Mañana" → "manana", "Nächsten" →
    "nachsten"), "ß" as "ss", one space between words."""
    text = text.lower().replace("ß", "ss")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.split())


def _duration(match: re.Match[str]) -> str:
    count, unit = match.group(1), match.group(2)
    n = int(NUMBERS.get(count, count))
    unit_en = UNIT_EN[unit]
    return f" in {n} {unit_en if n != 1 else unit_en[:-1]} "


def _clock(hour: str, minute: str | None, half: str = "") -> str:
    h, m = int(hour), int(minute or 0)
    if half == "pm" and h < 12:
        h += 12
    if half == "am" and h == 12:
        h = 0
    return f" {h}:{m:02d} "


def _hour(match: re.Match[str]) -> str:
    return _clock(match.group(1), match.group(2))


def _words(table: dict[str, str]) -> str:
    return "(" + "|".join(sorted(table, key=len, reverse=True)) + ")"


@dataclass(frozen=True)
class Language:
    """One language's date words: whole phrases (idioms), the words that may introduce a
    due date in `/commit` ("para", "bis"), and the rewriting rules, applied in order."""

    idioms: dict[str, str]
    lead: re.Pattern[str]
    connector: re.Pattern[str]
    to_words: str
    rules: Sequence[Rule]

    def english(self, text: str) -> str:
        t = fold(text).strip(" .,;:!¡¿?")
        previous = None
        while previous != t:  # "para el", "bis zum", "am": what leads the date itself
            previous, t = t, self.lead.sub("", t).strip()
        if t in self.idioms:
            return self.idioms[t]
        for pattern, replacement in self.rules:
            t = pattern.sub(replacement, t)
        return " ".join(t.split())


ES_WEEKDAYS = {
    "lunes": "monday",
    "martes": "tuesday",
    "miercoles": "wednesday",
    "jueves": "thursday",
    "viernes": "friday",
    "sabado": "saturday",
    "domingo": "sunday",
}
ES_MONTHS = {
    "enero": "january",
    "febrero": "february",
    "marzo": "march",
    "abril": "april",
    "mayo": "may",
    "junio": "june",
    "julio": "july",
    "agosto": "august",
    "septiembre": "september",
    "setiembre": "september",
    "octubre": "october",
    "noviembre": "november",
    "diciembre": "december",
}
ES_DAY = _words(ES_WEEKDAYS)
ES_AT = r"\b(?:a las |a la )?"
ES_NEXT_WEEK = r"(?:semana que viene|proxima semana|semana proxima)"
ES_MONTH = _words(ES_MONTHS)
ES_END_OF_MONTH = ("fin de mes", "fin del mes", "final de mes", "final del mes", "finales de mes")
ES_END_OF_WEEK = (
    "fin de semana",
    "fin de la semana",
    "final de la semana",
    "final de semana",
    "finales de semana",
    "fin de esta semana",
    "final de esta semana",
)
ES_END_OF_DAY = ("fin del dia", "final del dia", "final de la jornada", "fin de la jornada")

SPANISH = Language(
    idioms={
        **{p: "end of month" for p in ES_END_OF_MONTH},
        **{p: "end of week" for p in ES_END_OF_WEEK},
        **{p: "eod" for p in ES_END_OF_DAY},
        "hoy": "today",
        "hoy mismo": "today",
        "esta semana": "end of week",
        "este mes": "end of month",
    },
    lead=re.compile(r"^(para|antes del?|hasta|como muy tarde|a mas tardar|el|la|los|las|a)\s+"),
    connector=re.compile(
        r"(?:^|\s+)(?:antes del|antes de|para|hasta|como muy tarde el|a mas tardar el)\s+",
        re.IGNORECASE,
    ),
    to_words="a|para|con",
    rules=[
        (re.compile(rf"\b(?:en|dentro de) {NUMBER} {UNITS}\b"), _duration),
        (re.compile(r"\bpasado manana\b"), " in 2 days "),
        (re.compile(r"\b(\d{1,2}) y media\b"), r"\1:30"),
        (re.compile(r"\b(\d{1,2}) y cuarto\b"), r"\1:15"),
        (
            re.compile(rf"{ES_AT}(\d{{1,2}})(?::(\d{{2}}))?\s*(?:h )?de la (tarde|noche)\b"),
            lambda m: _clock(m.group(1), m.group(2), "pm"),
        ),
        (
            re.compile(rf"{ES_AT}(\d{{1,2}})(?::(\d{{2}}))?\s*(?:h )?de la (manana|madrugada)\b"),
            lambda m: _clock(m.group(1), m.group(2), "am"),
        ),
        (re.compile(rf"{ES_AT}(\d{{1,2}})(?::(\d{{2}}))?\s*(?:h|hs|hrs)\b"), _hour),
        (re.compile(r"\b(?:a las |a la )(\d{1,2})(?::(\d{2}))?\b"), _hour),
        (re.compile(r"\ben punto\b"), " "),
        (re.compile(r"\besta manana\b"), " today morning "),
        (re.compile(r"\besta tarde\b"), " today afternoon "),
        (re.compile(r"\besta noche\b"), " today evening "),
        (re.compile(r"\b(?:por|de) la manana\b"), " morning "),
        (re.compile(r"\b(?:por|de) la tarde\b"), " afternoon "),
        (re.compile(r"\b(?:por|de) la noche\b"), " evening "),
        (re.compile(r"\bmanana\b"), " tomorrow "),
        (re.compile(r"\bmediodia\b"), " noon "),
        (re.compile(r"\bmedianoche\b"), " midnight "),
        (re.compile(r"\bhoy\b"), " today "),
        (re.compile(r"\banteayer\b"), " 2 days ago "),
        (re.compile(r"\bayer\b"), " yesterday "),
        (
            re.compile(rf"\b{ES_DAY} (?:que viene|proximo|de la {ES_NEXT_WEEK})\b"),
            lambda m: f" next {ES_WEEKDAYS[m.group(1)]} ",
        ),
        (re.compile(rf"\b(?:la )?{ES_NEXT_WEEK}\b"), " next week "),
        (re.compile(r"\b(?:el )?(?:mes que viene|proximo mes|mes proximo)\b"), " next month "),
        (
            re.compile(rf"\b(?:el )?proximo {ES_DAY}\b"),
            lambda m: f" next {ES_WEEKDAYS[m.group(1)]} ",
        ),
        (
            re.compile(rf"\b{ES_DAY} pasado\b"),
            lambda m: f" last {ES_WEEKDAYS[m.group(1)]} ",
        ),
        (re.compile(rf"\b{ES_DAY}\b"), lambda m: f" {ES_WEEKDAYS[m.group(1)]} "),
        (
            re.compile(rf"\b(\d{{1,2}}) de {ES_MONTH}(?: de(?:l)? (\d{{4}}))?\b"),
            lambda m: f" {m.group(1)} {ES_MONTHS[m.group(2)]} {m.group(3) or ''} ",
        ),
        (re.compile(rf"\b{ES_MONTH}\b"), lambda m: f" {ES_MONTHS[m.group(1)]} "),
        (re.compile(r"\b(?:el|la|a las|a la|a|del|de|las|los)\b"), " "),
    ],
)

DE_WEEKDAYS = {
    "montag": "monday",
    "dienstag": "tuesday",
    "mittwoch": "wednesday",
    "donnerstag": "thursday",
    "freitag": "friday",
    "samstag": "saturday",
    "sonnabend": "saturday",
    "sonntag": "sunday",
}
DE_MONTHS = {
    "januar": "january",
    "janner": "january",
    "februar": "february",
    "marz": "march",
    "maerz": "march",
    "april": "april",
    "mai": "may",
    "juni": "june",
    "juli": "july",
    "august": "august",
    "september": "september",
    "oktober": "october",
    "november": "november",
    "dezember": "december",
}
DE_DAY = _words(DE_WEEKDAYS)
DE_MONTH = _words(DE_MONTHS)
DE_PARTS = {
    "morgen": "morning",
    "morgens": "morning",
    "fruh": "morning",
    "vormittag": "morning",
    "vormittags": "morning",
    "mittag": "noon",
    "mittags": "noon",
    "nachmittag": "afternoon",
    "nachmittags": "afternoon",
    "abend": "evening",
    "abends": "evening",
}
DE_PART = _words(DE_PARTS)
NEXT_DE = r"(?:nachste[nrsm]?|naechste[nrsm]?|kommende[nrsm]?)"
DE_END_OF_MONTH = (
    "ende des monats",
    "ende dieses monats",
    "ende monat",
    "monatsende",
    "ende des laufenden monats",
)
DE_END_OF_WEEK = ("ende der woche", "ende dieser woche", "wochenende", "ende woche")
DE_END_OF_DAY = ("feierabend", "dienstschluss", "ende des tages", "tagesende")

GERMAN = Language(
    idioms={
        **{p: "end of month" for p in DE_END_OF_MONTH},
        **{p: "end of week" for p in DE_END_OF_WEEK},
        **{p: "eod" for p in DE_END_OF_DAY},
        "heute": "today",
        "diese woche": "end of week",
        "diesen monat": "end of month",
    },
    lead=re.compile(r"^(bis|spatestens|spaetestens|zum|zur|am|an|den|dem)\s+"),
    connector=re.compile(r"(?:^|\s+)(?:bis|spätestens|spaetestens)\s+", re.IGNORECASE),
    to_words="an|für|fur|mit",
    rules=[
        (re.compile(rf"\bin {NUMBER} {UNITS}\b"), _duration),
        (re.compile(r"\bubermorgen\b"), " in 2 days "),
        (
            re.compile(r"\b(?:um )?(\d{1,2})(?:[:.](\d{2}))? ?uhr\b"),
            lambda m: _clock(m.group(1), m.group(2)),
        ),
        (re.compile(r"\bum (\d{1,2})(?:[:.](\d{2}))?\b"), _hour),
        (re.compile(r"\bmorgen (?:fruh|morgen|vormittag)\b"), " tomorrow morning "),
        (re.compile(rf"\bmorgen {DE_PART}\b"), lambda m: f" tomorrow {DE_PARTS[m.group(1)]} "),
        (re.compile(rf"\bheute {DE_PART}\b"), lambda m: f" today {DE_PARTS[m.group(1)]} "),
        (
            re.compile(rf"\b{DE_DAY} ?{DE_PART}\b"),
            lambda m: f" {DE_WEEKDAYS[m.group(1)]} {DE_PARTS[m.group(2)]} ",
        ),
        (re.compile(r"\bmorgen\b"), " tomorrow "),
        (re.compile(r"\bheute\b"), " today "),
        (re.compile(r"\bvorgestern\b"), " 2 days ago "),
        (re.compile(r"\bgestern\b"), " yesterday "),
        (re.compile(r"\bmitternacht\b"), " midnight "),
        (re.compile(rf"\b{DE_PART}\b"), lambda m: f" {DE_PARTS[m.group(1)]} "),
        (
            re.compile(rf"\b{DE_DAY} {NEXT_DE} woche\b"),
            lambda m: f" next {DE_WEEKDAYS[m.group(1)]} ",
        ),
        (re.compile(rf"\b{NEXT_DE} woche\b"), " next week "),
        (re.compile(rf"\b{NEXT_DE} monat\b"), " next month "),
        (re.compile(rf"\b{NEXT_DE} {DE_DAY}\b"), lambda m: f" next {DE_WEEKDAYS[m.group(1)]} "),
        (
            re.compile(rf"\b(?:letzte[nrsm]?|vergangene[nrsm]?) {DE_DAY}\b"),
            lambda m: f" last {DE_WEEKDAYS[m.group(1)]} ",
        ),
        (re.compile(rf"\b{DE_DAY}\b"), lambda m: f" {DE_WEEKDAYS[m.group(1)]} "),
        (
            re.compile(rf"\b(\d{{1,2}})\.? ?{DE_MONTH}(?: (\d{{4}}))?\b"),
            lambda m: f" {m.group(1)} {DE_MONTHS[m.group(2)]} {m.group(3) or ''} ",
        ),
        (re.compile(rf"\b{DE_MONTH}\b"), lambda m: f" {DE_MONTHS[m.group(1)]} "),
        (re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b"), r" \1/\2/\3 "),
        (re.compile(r"\b(\d{1,2})\.(\d{1,2})\.?(?=\s|$)"), r" \1/\2 "),
        (re.compile(r"\b(?:am|den|dem|zum|zur|bis|um|der|des)\b"), " "),
    ],
)

LANGUAGES: dict[str, Language] = {"es": SPANISH, "de": GERMAN}
# How each language writes a day before a month in digits: 5/12 is the 5th of December.
DAY_FIRST = frozenset(LANGUAGES)


def english(text: str, language: str) -> str:
    """The English phrase `when` reads for what a person said in `language` (unchanged for
    English and any language without a table)."""
    table = LANGUAGES.get(language)
    return table.english(text) if table is not None else text


def connector(language: str) -> re.Pattern[str] | None:
    """The words besides "by" that introduce a due date in a `/commit` in `language`."""
    table = LANGUAGES.get(language)
    return table.connector if table is not None else None


def to_words(language: str) -> str | None:
    """The words besides "to/for/with" that introduce the people a promise is to."""
    table = LANGUAGES.get(language)
    return table.to_words if table is not None else None
