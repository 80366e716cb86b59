"""`/commit` text → (promise, counterparts, due), in the person's own time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import i18n
from bot.services.commitments import CommitRejected, parse_commit_text
from bot.services.when import WhenError, parse_when

LONDON, NY, TOKYO, LA, BERLIN, SYD = (
    "Europe/London",
    "America/New_York",
    "Asia/Tokyo",
    "America/Los_Angeles",
    "Europe/Berlin",
    "Australia/Sydney",
)
THU_10 = "2026-11-26 10:00"  # a Thursday
FRI_EVE = "2026-11-27 19:00"  # a Friday evening


def local(text: str, tz: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


CASES = [
    # (text, tz, now local, promise, counterparts, due local or None)
    (
        "send the deck to <@U1|bob> by Friday",
        LONDON,
        THU_10,
        "send the deck",
        ("U1",),
        "2026-11-27 17:00",
    ),
    (
        "send the deck to <@U1> by Friday",
        LONDON,
        THU_10,
        "send the deck",
        ("U1",),
        "2026-11-27 17:00",
    ),
    ("review the PR by tomorrow 3pm", LONDON, THU_10, "review the PR", (), "2026-11-27 15:00"),
    ("review the PR by tomorrow at 15:30", LONDON, THU_10, "review the PR", (), "2026-11-27 15:30"),
    ("write the RFC by in 2 weeks", LONDON, THU_10, "write the RFC", (), "2026-12-10 17:00"),
    ("close the books by end of month", LONDON, THU_10, "close the books", (), "2026-11-30 17:00"),
    (
        "close the books by end of the month",
        NY,
        "2026-11-30 18:00",
        "close the books",
        (),
        "2026-12-31 17:00",
    ),
    ("ship it by 2026-12-01", LONDON, THU_10, "ship it", (), "2026-12-01 17:00"),
    (
        "pair with <@U2> by next Tuesday morning",
        LONDON,
        THU_10,
        "pair",
        ("U2",),
        "2026-12-01 09:00",
    ),
    ("call the vendor by Monday", NY, FRI_EVE, "call the vendor", (), "2026-11-30 17:00"),
    ("call the vendor by monday 10am", NY, FRI_EVE, "call the vendor", (), "2026-11-30 10:00"),
    ("send notes by Friday", NY, "2026-11-27 09:00", "send notes", (), "2026-11-27 17:00"),
    ("send notes by Friday", NY, FRI_EVE, "send notes", (), "2026-12-04 17:00"),
    ("fix the flaky test by 3pm", NY, FRI_EVE, "fix the flaky test", (), "2026-11-28 15:00"),
    ("fix the flaky test by 3pm", NY, THU_10, "fix the flaky test", (), "2026-11-26 15:00"),
    ("update the doc by eod", TOKYO, THU_10, "update the doc", (), "2026-11-26 17:00"),
    ("update the doc by end of week", TOKYO, THU_10, "update the doc", (), "2026-11-27 17:00"),
    (
        "update the doc by end of week",
        TOKYO,
        "2026-11-28 11:00",
        "update the doc",
        (),
        "2026-12-04 17:00",
    ),
    ("draft the plan by in 3 days", LA, THU_10, "draft the plan", (), "2026-11-29 17:00"),
    ("draft the plan by Dec 3", LA, THU_10, "draft the plan", (), "2026-12-03 17:00"),
    ("draft the plan by 3 December 9am", LA, THU_10, "draft the plan", (), "2026-12-03 09:00"),
    ("book the room by in 2 hours", BERLIN, THU_10, "book the room", (), "2026-11-26 12:00"),
    # DST: the wall time is kept across the change, whatever the UTC offset.
    (
        "send the report by Monday 9am",
        NY,
        "2026-10-30 10:00",
        "send the report",
        (),
        "2026-11-02 09:00",
    ),
    (
        "send the report by 2026-03-09 9am",
        NY,
        "2026-03-06 12:00",
        "send the report",
        (),
        "2026-03-09 09:00",
    ),
    (
        "plan the offsite by 2026-10-05",
        SYD,
        "2026-10-01 12:00",
        "plan the offsite",
        (),
        "2026-10-05 17:00",
    ),
    (
        "send the report by Monday",
        LONDON,
        "2026-03-27 16:00",
        "send the report",
        (),
        "2026-03-30 17:00",
    ),
    # end of month edges
    (
        "pay the invoice by end of month",
        LONDON,
        "2027-02-10 09:00",
        "pay the invoice",
        (),
        "2027-02-28 17:00",
    ),
    (
        "pay the invoice by end of month",
        LONDON,
        "2028-02-10 09:00",
        "pay the invoice",
        (),
        "2028-02-29 17:00",
    ),
    (
        "pay the invoice by eom",
        LONDON,
        "2026-12-31 18:00",
        "pay the invoice",
        (),
        "2027-01-31 17:00",
    ),
    # several counterparts, both mention forms, and "and"/commas
    (
        "send the deck to <@U1|bob> and <@U2> by Friday",
        LONDON,
        THU_10,
        "send the deck",
        ("U1", "U2"),
        "2026-11-27 17:00",
    ),
    (
        "send the deck to <@U1>, <@U2|cy> by Friday",
        LONDON,
        THU_10,
        "send the deck",
        ("U1", "U2"),
        "2026-11-27 17:00",
    ),
    (
        "review <@U3|dee>'s PR by tomorrow",
        LONDON,
        THU_10,
        "review <@U3>'s PR",
        ("U3",),
        "2026-11-27 17:00",
    ),
    (
        "bring the figures for <@W4> by Monday",
        LONDON,
        THU_10,
        "bring the figures",
        ("W4",),
        "2026-11-30 17:00",
    ),
    # "by" inside the promise
    (
        "fix the bug reported by <@U5> by Friday",
        LONDON,
        THU_10,
        "fix the bug reported by <@U5>",
        ("U5",),
        "2026-11-27 17:00",
    ),
    ("walk through the design by the window with <@U6>", LONDON, THU_10, None, None, None),
    # no date
    ("send the deck to <@U1>", LONDON, THU_10, "send the deck", ("U1",), None),
    ("think about the roadmap", LONDON, THU_10, "think about the roadmap", (), None),
    # non-ASCII
    (
        "envoyer le résumé à l'équipe to <@U7> by Friday",
        BERLIN,
        THU_10,
        "envoyer le résumé à l'équipe",
        ("U7",),
        "2026-11-27 17:00",
    ),
    (
        "日本語の資料を共有する by tomorrow",
        TOKYO,
        THU_10,
        "日本語の資料を共有する",
        (),
        "2026-11-27 17:00",
    ),
    (
        "Straße ausmessen 📏 by Monday",
        BERLIN,
        THU_10,
        "Straße ausmessen 📏",
        (),
        "2026-11-30 17:00",
    ),
    (
        "mañana: revisar el contrato by 2026-12-02",
        LA,
        THU_10,
        "mañana: revisar el contrato",
        (),
        "2026-12-02 17:00",
    ),
]


@pytest.mark.parametrize(("text", "tz", "now", "promise", "parties", "due"), CASES)
def test_commit_text(
    text: str,
    tz: str,
    now: str,
    promise: str | None,
    parties: tuple[str, ...] | None,
    due: str | None,
) -> None:
    if promise is None:
        with pytest.raises((CommitRejected, WhenError)):
            draft = parse_commit_text(text)
            assert draft.when is not None
            parse_when(draft.when, tz=tz, now=local(now, tz))
        return
    draft = parse_commit_text(text)
    assert draft.what == promise
    assert draft.parties == parties
    if due is None:
        assert draft.when is None
    else:
        assert draft.when is not None
        got = parse_when(draft.when, tz=tz, now=local(now, tz))
        assert got.astimezone(ZoneInfo(tz)) == local(due, tz)


MADRID, MEXICO, SANTIAGO, VIENNA, ZURICH = (
    "Europe/Madrid",
    "America/Mexico_City",
    "America/Santiago",
    "Europe/Vienna",
    "Europe/Zurich",
)
TUE_10 = "2026-11-24 10:00"  # a Tuesday
THU_18 = "2026-11-26 18:00"  # the Thursday, after the working day

# The same table in the person's own language: `/commit` as a Spanish or German speaker
# types it, with their words for "by" ("para", "antes de", "bis") and for "to" ("a", "an").
ES_CASES = [
    (
        "enviar el informe a <@U1> para el viernes 15h",
        MADRID,
        THU_10,
        "enviar el informe",
        ("U1",),
        "2026-11-27 15:00",
    ),
    (
        "revisar el contrato para el próximo martes",
        MADRID,
        THU_10,
        "revisar el contrato",
        (),
        "2026-12-01 17:00",
    ),
    (
        "revisar el contrato para el martes que viene por la mañana",
        MADRID,
        THU_10,
        "revisar el contrato",
        (),
        "2026-12-01 09:00",
    ),
    (
        "cerrar las cuentas para fin de mes",
        MADRID,
        THU_10,
        "cerrar las cuentas",
        (),
        "2026-11-30 17:00",
    ),
    (
        "cerrar las cuentas antes de fin de mes",
        MEXICO,
        "2026-11-30 18:00",
        "cerrar las cuentas",
        (),
        "2026-12-31 17:00",
    ),
    (
        "cerrar las cuentas para finales de mes",
        MADRID,
        THU_10,
        "cerrar las cuentas",
        (),
        "2026-11-30 17:00",
    ),
    (
        "preparar la demo para mañana a las 9",
        MADRID,
        THU_10,
        "preparar la demo",
        (),
        "2026-11-27 09:00",
    ),
    (
        "llamar al proveedor para el lunes",
        MADRID,
        FRI_EVE,
        "llamar al proveedor",
        (),
        "2026-11-30 17:00",
    ),
    (
        "escribir el plan para dentro de 2 semanas",
        MADRID,
        THU_10,
        "escribir el plan",
        (),
        "2026-12-10 17:00",
    ),
    (
        "pasar las notas a <@U2> y <@U3> para pasado mañana",
        MADRID,
        TUE_10,
        "pasar las notas",
        ("U2", "U3"),
        "2026-11-26 17:00",
    ),
    (
        "actualizar la documentación para hoy",
        MADRID,
        THU_10,
        "actualizar la documentación",
        (),
        "2026-11-26 17:00",
    ),
    ("reservar la sala para las 15h", MADRID, THU_10, "reservar la sala", (), "2026-11-26 15:00"),
    (
        "enviar el resumen para el 3 de diciembre a las 9",
        MADRID,
        THU_10,
        "enviar el resumen",
        (),
        "2026-12-03 09:00",
    ),
    (
        "entregar el diseño para el 5/12",
        MADRID,
        THU_10,
        "entregar el diseño",
        (),
        "2026-12-05 17:00",
    ),
    (
        "terminar el borrador para esta tarde",
        MADRID,
        THU_10,
        "terminar el borrador",
        (),
        "2026-11-26 15:00",
    ),
    (
        "escribir el informe para mañana a las 3 de la tarde",
        MEXICO,
        THU_10,
        "escribir el informe",
        (),
        "2026-11-27 15:00",
    ),
    (
        "preparar la reunión para el jueves",
        MADRID,
        THU_10,
        "preparar la reunión",
        (),
        "2026-11-26 17:00",
    ),
    (
        "preparar la reunión para el jueves",
        MADRID,
        THU_18,
        "preparar la reunión",
        (),
        "2026-12-03 17:00",
    ),
    # "para" also begins other things than a date: only the one followed by a date counts
    (
        "preparar diapositivas para el cliente para el viernes",
        MADRID,
        THU_10,
        "preparar diapositivas para el cliente",
        (),
        "2026-11-27 17:00",
    ),
    (
        "preparar diapositivas para el equipo de marketing",
        MADRID,
        THU_10,
        "preparar diapositivas para el equipo de marketing",
        (),
        None,
    ),
    # English keeps working for everyone
    ("send the deck by Friday 3pm", MADRID, THU_10, "send the deck", (), "2026-11-27 15:00"),
    # end of month edges
    (
        "pagar la factura para fin de mes",
        MADRID,
        "2027-02-10 09:00",
        "pagar la factura",
        (),
        "2027-02-28 17:00",
    ),
    (
        "pagar la factura antes de fin de mes",
        MADRID,
        "2028-02-10 09:00",
        "pagar la factura",
        (),
        "2028-02-29 17:00",
    ),
    (
        "pagar la factura para fin de mes",
        MADRID,
        "2026-12-31 18:00",
        "pagar la factura",
        (),
        "2027-01-31 17:00",
    ),
    # DST: the wall time is kept across the change; a time the change skips moves on an hour
    (
        "mandar el informe para el lunes a las 9",
        MADRID,
        "2026-10-23 12:00",
        "mandar el informe",
        (),
        "2026-10-26 09:00",
    ),
    (
        "revisar los turnos para el lunes 9h",
        MADRID,
        "2026-03-27 16:00",
        "revisar los turnos",
        (),
        "2026-03-30 09:00",
    ),
    (
        "apagar el servidor para el domingo a las 2:30",
        MADRID,
        "2026-03-27 16:00",
        "apagar el servidor",
        (),
        "2026-03-29 03:30",
    ),
    (
        "enviar el presupuesto para el lunes",
        SANTIAGO,
        "2026-04-03 12:00",
        "enviar el presupuesto",
        (),
        "2026-04-06 17:00",
    ),
    (
        "revisar el turno para el 6/9 a las 0:30",
        SANTIAGO,
        "2026-09-04 12:00",
        "revisar el turno",
        (),
        "2026-09-06 01:30",
    ),
    (
        "llamar a <@U5> para el lunes a las 10",
        MEXICO,
        "2026-10-30 10:00",
        "llamar",
        ("U5",),
        "2026-11-02 10:00",
    ),
]

DE_CASES = [
    (
        "Bericht an <@U1> schicken bis Freitag 15 Uhr",
        BERLIN,
        THU_10,
        "Bericht schicken",
        ("U1",),
        "2026-11-27 15:00",
    ),
    (
        "Vertrag prüfen bis nächsten Dienstag",
        BERLIN,
        THU_10,
        "Vertrag prüfen",
        (),
        "2026-12-01 17:00",
    ),
    (
        "Vertrag prüfen bis Dienstag nächste Woche",
        BERLIN,
        THU_10,
        "Vertrag prüfen",
        (),
        "2026-12-01 17:00",
    ),
    (
        "Abrechnung machen bis Ende des Monats",
        BERLIN,
        THU_10,
        "Abrechnung machen",
        (),
        "2026-11-30 17:00",
    ),
    (
        "Abrechnung machen bis zum Monatsende",
        VIENNA,
        "2026-11-30 18:00",
        "Abrechnung machen",
        (),
        "2026-12-31 17:00",
    ),
    (
        "Demo vorbereiten bis morgen um 9",
        BERLIN,
        THU_10,
        "Demo vorbereiten",
        (),
        "2026-11-27 09:00",
    ),
    (
        "Demo vorbereiten bis morgen früh",
        ZURICH,
        THU_10,
        "Demo vorbereiten",
        (),
        "2026-11-27 09:00",
    ),
    (
        "Lieferanten anrufen bis Montag",
        BERLIN,
        FRI_EVE,
        "Lieferanten anrufen",
        (),
        "2026-11-30 17:00",
    ),
    ("Plan schreiben bis in 2 Wochen", BERLIN, THU_10, "Plan schreiben", (), "2026-12-10 17:00"),
    (
        "Notizen an <@U2> und <@U3> schicken bis übermorgen",
        BERLIN,
        TUE_10,
        "Notizen schicken",
        ("U2", "U3"),
        "2026-11-26 17:00",
    ),
    ("Doku aktualisieren bis heute", BERLIN, THU_10, "Doku aktualisieren", (), "2026-11-26 17:00"),
    ("Budget prüfen bis Feierabend", BERLIN, THU_10, "Budget prüfen", (), "2026-11-26 17:00"),
    ("Raum buchen bis 15 Uhr", BERLIN, THU_10, "Raum buchen", (), "2026-11-26 15:00"),
    (
        "Zusammenfassung schicken bis zum 3. Dezember um 9 Uhr",
        BERLIN,
        THU_10,
        "Zusammenfassung schicken",
        (),
        "2026-12-03 09:00",
    ),
    ("Entwurf abgeben bis 15.12.", BERLIN, THU_10, "Entwurf abgeben", (), "2026-12-15 17:00"),
    (
        "Entwurf fertig machen bis heute Nachmittag",
        BERLIN,
        THU_10,
        "Entwurf fertig machen",
        (),
        "2026-11-26 15:00",
    ),
    ("Team einladen bis Mittwoch 9:30", VIENNA, THU_10, "Team einladen", (), "2026-12-02 09:30"),
    ("Angebot schicken bis Donnerstag", BERLIN, THU_10, "Angebot schicken", (), "2026-11-26 17:00"),
    ("Angebot schicken bis Donnerstag", BERLIN, THU_18, "Angebot schicken", (), "2026-12-03 17:00"),
    # "bis" also begins other things than a date: only the one followed by a date counts
    (
        "Folien für den Kunden vorbereiten bis Freitag",
        BERLIN,
        THU_10,
        "Folien für den Kunden vorbereiten",
        (),
        "2026-11-27 17:00",
    ),
    ("von 9 bis 17 erreichbar sein", BERLIN, THU_10, "von 9 bis 17 erreichbar sein", (), None),
    # English keeps working for everyone
    ("send the deck by tomorrow 3pm", BERLIN, THU_10, "send the deck", (), "2026-11-27 15:00"),
    # end of month edges
    (
        "Rechnung zahlen bis Ende des Monats",
        BERLIN,
        "2027-02-10 09:00",
        "Rechnung zahlen",
        (),
        "2027-02-28 17:00",
    ),
    (
        "Rechnung zahlen bis Monatsende",
        BERLIN,
        "2028-02-10 09:00",
        "Rechnung zahlen",
        (),
        "2028-02-29 17:00",
    ),
    (
        "Rechnung zahlen bis Ende des Monats",
        BERLIN,
        "2026-12-31 18:00",
        "Rechnung zahlen",
        (),
        "2027-01-31 17:00",
    ),
    # DST: the wall time is kept across the change; a time the change skips moves on an hour
    (
        "Bericht senden bis Montag 9 Uhr",
        BERLIN,
        "2026-10-23 12:00",
        "Bericht senden",
        (),
        "2026-10-26 09:00",
    ),
    (
        "Schichtplan prüfen bis Montag um 9",
        ZURICH,
        "2026-03-27 16:00",
        "Schichtplan prüfen",
        (),
        "2026-03-30 09:00",
    ),
    (
        "Server umstellen bis Sonntag 2:30 Uhr",
        BERLIN,
        "2026-03-27 16:00",
        "Server umstellen",
        (),
        "2026-03-29 03:30",
    ),
    (
        "Backup prüfen bis Sonntag 2:30 Uhr",
        VIENNA,
        "2026-10-23 12:00",
        "Backup prüfen",
        (),
        "2026-10-25 02:30",
    ),
]


@pytest.mark.parametrize(
    ("language", "text", "tz", "now", "promise", "parties", "due"),
    [("es", *case) for case in ES_CASES] + [("de", *case) for case in DE_CASES],
)
def test_commit_text_in_the_persons_language(
    language: str,
    text: str,
    tz: str,
    now: str,
    promise: str,
    parties: tuple[str, ...],
    due: str | None,
) -> None:
    draft = parse_commit_text(text, language)
    assert (draft.what, draft.parties) == (promise, parties)
    if due is None:
        assert draft.when is None
        return
    assert draft.when is not None
    got = parse_when(draft.when, tz=tz, now=local(now, tz), language=language)
    assert got.astimezone(ZoneInfo(tz)) == local(due, tz)


def test_the_language_is_the_one_allybot_speaks_to_the_person() -> None:
    """Without a language given, the parser reads the one allybot is speaking."""
    now = local(THU_10, MADRID)
    with pytest.raises(WhenError):
        parse_when("el próximo martes", tz=MADRID, now=now)
    with i18n.speaking("es"):
        assert parse_commit_text("revisar el plan para el viernes").when == "el viernes"
        due = parse_when("el próximo martes", tz=MADRID, now=now)
    assert due.astimezone(ZoneInfo(MADRID)) == local("2026-12-01 17:00", MADRID)
    with i18n.speaking("de"):
        due = parse_when("Freitag 15 Uhr", tz=BERLIN, now=local(THU_10, BERLIN))
    assert due.astimezone(ZoneInfo(BERLIN)) == local("2026-11-27 15:00", BERLIN)


@pytest.mark.parametrize(
    ("language", "when", "fragment"),
    [
        ("es", "ayer", "already passed"),
        ("es", "el lunes pasado a las 9", "already passed"),
        ("de", "letzten Montag", "already passed"),
        ("es", "cuando pueda", "couldn't understand"),
        ("de", "gestern", "already passed"),
        ("de", "irgendwann", "couldn't understand"),
    ],
)
def test_rejected_dates_in_the_persons_language(language: str, when: str, fragment: str) -> None:
    with pytest.raises(WhenError) as err:
        parse_when(when, tz=MADRID, now=local(THU_10, MADRID), language=language)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("language", "text", "when"),
    [
        ("es", "mandar el informe para ayer", "ayer"),
        ("es", "mandar el informe antes del lunes pasado", "lunes pasado"),
        ("de", "Bericht schicken bis gestern", "gestern"),
        ("de", "Bericht schicken bis vorgestern", "vorgestern"),
    ],
)
def test_a_past_day_is_still_read_as_the_date(language: str, text: str, when: str | None) -> None:
    """Saying "para ayer" or "bis gestern" is a date (refused as past), not the promise."""
    assert parse_commit_text(text, language).when == when


def test_at_least_twenty_cases_per_shipped_language() -> None:
    assert len(ES_CASES) >= 20 and len(DE_CASES) >= 20
    for table in (ES_CASES, DE_CASES):
        assert any("-10-2" in now or "-03-2" in now or "-04-0" in now for _t, _z, now, *_r in table)
        assert any(due and due.endswith("-28 17:00") for *_r, due in table)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "What did you promise"),
        ("to <@U1> by Friday", "What did you promise"),
        ("x" * 1001, "characters"),
    ],
)
def test_rejected_promises(text: str, fragment: str) -> None:
    with pytest.raises(CommitRejected) as err:
        parse_commit_text(text)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ("yesterday", "already passed"),
        ("2020-01-01", "already passed"),
        ("the blue moon", "couldn't understand"),
    ],
)
def test_rejected_dates(when: str, fragment: str) -> None:
    with pytest.raises(WhenError) as err:
        parse_when(when, tz=LONDON, now=local(THU_10, LONDON))
    assert fragment in str(err.value)


def test_at_least_forty_cases() -> None:
    assert len(CASES) >= 40


WORDS = st.sampled_from(
    [
        "para",
        "el",
        "próximo",
        "viernes",
        "15h",
        "a las",
        "fin de mes",
        "mañana",
        "de la tarde",
        "bis",
        "nächsten",
        "Dienstag",
        "15 Uhr",
        "Ende des Monats",
        "15.12.",
        "um",
        "in",
        "2",
        "Wochen",
        "semanas",
        "<@U1>",
        "by",
        "Friday",
        "y media",
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    language=st.sampled_from(["es", "de", "en"]),
    parts=st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=8),
)
def test_anything_typed_is_a_date_or_a_clear_refusal(language: str, parts: list[str]) -> None:
    """Whatever a person types in any language, `/commit` either reads a promise and a due
    time in the future or says why not; it never fails another way."""
    text = " ".join(parts)
    now = local(THU_10, MADRID)
    try:
        draft = parse_commit_text(text, language)
    except CommitRejected:
        return
    if draft.when is None:
        return
    try:
        due = parse_when(draft.when, tz=MADRID, now=now, language=language)
    except WhenError as err:
        assert str(err)
        return
    assert due > now
