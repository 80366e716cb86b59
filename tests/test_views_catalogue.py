"""Every Block Kit view in bot/blocks rendered in each language allybot speaks and in the
pseudo language: no English word that no catalogue string covers, every payload within
Slack's limits as slack_sdk's models check them, however long the language's words."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot import i18n
from bot.blocks import (
    admin,
    allies,
    commitments,
    direct,
    heads_up,
    help,
    home,
    insights,
    intro_meeting,
    intros,
    kudos,
    newcomers,
    nudges,
    privacy,
)
from bot.models import Commitment, Person, SettingChange
from bot.pairing import ALONE, NO_MATCH, NO_OVERLAP
from bot.services.digest import WeekInKudos
from bot.services.insights import Figures, PersonInsights, Ratio, Window
from bot.services.intros.meeting import IN_PERSON, REMOTE, Meeting
from bot.services.intros.members import IntroStatus
from bot.services.intros.rules import INACTIVE, NOT_IN_CHANNEL
from bot.services.intros.skips import IN, SKIP, RoundChoice
from bot.services.workspace_settings import WorkspaceSettings
from tests.test_views_languages_e2e import WEEKDAYS, english_left, texts_of

ANN, BOB, CY = "U0ANN", "U0BOB", "U0CY"
WHEN = datetime(2030, 1, 4, 16, 0, tzinfo=UTC)
DAY = date(2030, 1, 7)
# What people wrote (tags too), allybot's name, and what Babel formats (English in the pseudo
# language: weekdays, "A, B, and C") stay as they are; so do the words of a cadence
# (bot.services.allies.cadence_text: the replies catalogue, not this one).
ALLOWED = (
    "zzz",
    "craft",
    "teamwork",
    "allybot",
    "Europe/Madrid",
    " and ",
    *WEEKDAYS,
    *i18n.LANGUAGES.values(),
    *("every", "weeks", "week", "months", "month", "days", "day"),
)


def person(**kw: Any) -> Person:
    values: dict[str, Any] = {
        "team_id": "T0",
        "user_id": ANN,
        "tz": "Europe/Madrid",
        "tips_cadence": "weekly",
        "opted_out": False,
        "kudos_private": True,
        "quiet_start": 18 * 60,
        "quiet_end": 9 * 60,
        "window_start": 8 * 60,
        "paused_until": datetime(2030, 1, 9, tzinfo=UTC),
    }
    return Person(**{**values, **kw})


def promise(**kw: Any) -> Commitment:
    return Commitment(**{"id": 7, "team_id": "T0", "owner_id": ANN, "text": "zzz", **kw})


def figures(enough: bool) -> Figures:
    now = (
        Window(Ratio(2, 5), Ratio(1, 3), Ratio(2, 4), Ratio(1, 2))
        if enough
        else Window(Ratio(0, 0), Ratio(0, 1), Ratio(0, 1), Ratio(0, 0))
    )
    before = Window(Ratio(1, 2), Ratio(2, 3), Ratio(4, 4), Ratio(0, 3))
    return Figures(person=PersonInsights(current=now, previous=before), given_30d=3, received_30d=1)


def status(**kw: Any) -> IntroStatus:
    values: dict[str, Any] = {
        "channel_id": "C0INTROS",
        "mode": "opt_in",
        "in_pool": True,
        "paused_until": None,
        "never_count": 2,
        "next_round": DAY,
        "welcomer": True,
    }
    return IntroStatus(**{**values, **kw})


def change(field: str, old: str, new: str, by: str = ANN) -> SettingChange:
    return SettingChange(
        team_id="T0", changed_by=by, field=field, old_value=old, new_value=new, changed_at=WHEN
    )


Surface = Callable[[], Any]
SURFACES: dict[str, Surface] = {
    "help": help.ally_help_text,
    "direct answer, nothing asked": lambda: direct.dm_answer_text("hola"),
    "direct answer, kudos and pause": lambda: direct.dm_answer_text("thanks? pause?"),
    "home": lambda: home.build_home_view(
        person=person(),
        due_allies=[allies.DueAlly(1, BOB, 12, 14), allies.DueAlly(2, CY, 1, 7)],
        commitments=[(promise(due_at=WHEN), [BOB, CY]), (promise(due_at=None), [])],
        figures=figures(True),
        received=[],
        now=datetime(2030, 1, 1, tzinfo=UTC),
        intros=[
            *intros.build_home_intros_blocks(status(), "Europe/Madrid"),
            *heads_up.build_home_round_blocks(RoundChoice(DAY, "C0INTROS", SKIP)),
        ],
        muted=[BOB],
    ),
    "home, empty": lambda: home.build_home_view(
        person=person(kudos_private=False, opted_out=True, window_start=None),
        due_allies=[],
        commitments=[],
        figures=figures(False),
        received=[],
        now=datetime(2030, 1, 1, tzinfo=UTC),
        window=(9 * 60, 17 * 60),
    ),
    "settings modal": lambda: home.build_settings_modal(person(), (9 * 60, 17 * 60)),
    "me": lambda: insights.build_me_blocks(figures(True).person),
    "confirmation": lambda: commitments.build_confirmation_blocks(
        promise(due_at=None), [BOB], "Europe/Madrid"
    ),
    "reminder, overdue": lambda: commitments.build_reminder_blocks(
        promise(due_at=WHEN), [BOB], "Asia/Tokyo", overdue=True
    ),
    "reminder, due today": lambda: commitments.build_reminder_blocks(
        promise(due_at=WHEN), [], "Asia/Tokyo", overdue=False
    ),
    "party": lambda: commitments.build_party_blocks(promise(due_at=WHEN), "Europe/Madrid"),
    "delivered": lambda: commitments.build_delivered_blocks(promise()),
    "dropped": lambda: commitments.build_dropped_blocks(promise()),
    "disputed": lambda: commitments.build_disputed_blocks(
        promise(due_at=WHEN), party_id=BOB, tz="Europe/Madrid"
    ),
    "drop question": lambda: commitments.build_drop_question_blocks(promise(), [BOB, CY]),
    "list": lambda: commitments.build_list_blocks("zzz", ["zzz"] * 23, ""),
    "commit modal": lambda: commitments.build_commit_modal(
        what="zzz", due_at=WHEN, parties=[BOB], metadata={}, offer_tell=True
    ),
    "check-in, one": lambda: allies.build_checkin_blocks("T0", [allies.DueAlly(1, BOB, 9, 14)]),
    "check-in, several": lambda: allies.build_checkin_blocks(
        "T0", [allies.DueAlly(n, BOB, n, 7) for n in range(5)]
    ),
    "resolve follow-up": lambda: allies.build_resolve_follow_up_blocks(3, BOB, "zzz"),
    "give back": lambda: allies.build_give_back_blocks("T0", BOB, 3),
    "breadth": lambda: allies.build_breadth_blocks(5, 1),
    "kudos post": lambda: kudos.build_kudos_post_blocks(
        giver_id=ANN,
        receiver_ids=[BOB, CY],
        reason="zzz",
        tags=["teamwork"],
        emoji="tada",
        joined=3,
    ),
    "kudos post text": lambda: kudos.kudos_post_text(
        giver_id="anon-1", receiver_ids=[BOB], reason="zzz"
    ),
    "kudos dm": lambda: kudos.build_kudos_dm_blocks(
        team_id="T0",
        giver_id=ANN,
        channel_id="C0KUDOS",
        reason="zzz",
        tags=["teamwork"],
        emoji="tada",
        private_by="receiver",
    ),
    "kudos dm, private": lambda: kudos.kudos_dm_text(
        giver_id=ANN, channel_id=None, reason="zzz", private_by="giver"
    ),
    "give kudos modal": lambda: kudos.build_give_kudos_modal(
        author_id=BOB, permalink="https://example.slack.com/p1", tags=["teamwork"], metadata="{}"
    ),
    "digest": lambda: kudos.build_digest_blocks(
        WeekInKudos(kudos=4, givers=1, receivers=3, first_timers=[BOB, CY], tags=[("help", 2)])
    ),
    "heads-up": lambda: heads_up.build_heads_up_blocks(
        round_day=DAY, channel_id="C0INTROS", choice=IN
    ),
    "heads-up notes": lambda: "\n".join(
        [
            heads_up.choice_note(DAY, SKIP),
            heads_up.choice_note(DAY, IN),
            heads_up.choice_line(DAY, None),
            heads_up.heads_up_text(DAY),
        ]
    ),
    "intro": lambda: intros.build_intro_blocks(
        user_ids=[ANN, BOB, CY],
        channel_id="C0INTROS",
        starter="zzz",
        time_lines=["zzz"],
        slot_lines=[intros.slot_line(WHEN, [(ANN, "zzz")])],
    ),
    "intro, no slots": lambda: intros.slots_text([]),
    "follow-up": lambda: intros.build_follow_up_blocks(4),
    "met": lambda: intros.met_note(BOB),
    "left out": lambda: "\n".join(
        intros.left_out_text(reason, channel)
        for reason in (ALONE, NO_MATCH, NO_OVERLAP, NOT_IN_CHANNEL, INACTIVE, "other")
        for channel in ("C0INTROS", None)
    ),
    "intros status, paused": lambda: intros.status_text(
        status(paused_until=WHEN, in_pool=False), "Europe/Madrid"
    ),
    "intros, not set up": lambda: intros.build_home_intros_blocks(
        status(channel_id=None), "Europe/Madrid"
    ),
    "never modal": lambda: intros.build_never_modal([BOB]),
    "meeting modal": lambda: intro_meeting.build_meeting_modal(Meeting(IN_PERSON, None, "zzz")),
    "meeting modal, remote": lambda: intro_meeting.build_meeting_modal(Meeting(REMOTE, None, None)),
    "meeting texts": lambda: "\n".join(
        intro_meeting.meeting_text(m)
        for m in (
            Meeting(REMOTE, None, None),
            Meeting(IN_PERSON, "zzz", None),
            Meeting(IN_PERSON, None, None),
        )
    ),
    "welcome": newcomers.build_welcome_blocks,
    "welcome intro": lambda: newcomers.build_welcome_intro_blocks(
        newcomer_id=ANN, welcomers=[BOB, CY], starter="zzz", time_lines=["zzz"]
    ),
    "welcomer": lambda: newcomers.build_welcomer_blocks(newcomer_id=ANN, others=[CY], at=WHEN),
    "welcome texts": lambda: "\n".join(
        [
            newcomers.welcome_text(),
            newcomers.welcome_intro_text(ANN, [BOB]),
            newcomers.welcomer_text(ANN),
        ]
    ),
    "tip": lambda: nudges.build_tip_blocks(title="zzz", text="zzz", shown_id=1),
    "daily message": lambda: nudges.build_daily_message_blocks(
        day=DAY, items=[nudges.build_tip_blocks(title="zzz", text="zzz", shown_id=1)]
    ),
    "forget-me": lambda: privacy.build_forget_me_blocks(
        user_id=ANN, nonce="n", held={key: 2 for key in privacy.HELD_LABELS} | {"person": 1}
    ),
    "privacy texts": lambda: "\n".join(
        [
            privacy.held_summary({}),
            privacy.held_summary({"nudges": 1}),
            privacy.export_reply_text(empty=True),
            privacy.export_reply_text(empty=False),
            privacy.export_comment(empty=True),
            privacy.export_comment(empty=False),
            privacy.erased_text(deleted=1, anonymised=3),
            privacy.kept_text(),
            privacy.not_yours_text(),
        ]
    ),
    "erased home": privacy.build_erased_home_view,
    "admin modal": lambda: admin.build_admin_modal(
        WorkspaceSettings(kudos_channel="C0KUDOS", intros_channel="C0INTROS"),
        [
            change("daily_kudos_limit", "5", "8"),
            change("window_end", "17:00", "16:00"),
            change("kudos_channel", "C0A", "C0B", by="anon-3"),
            change("tags", "", "craft", by="deploy-bot"),
        ],
    ),
}


def checked(rendered: Any) -> list[str]:
    """What a person reads in a surface, after checking it against Slack's limits."""
    if isinstance(rendered, str):
        return [rendered]
    if isinstance(rendered, View):
        rendered.validate_json()
        shown = rendered.to_dict()
        return texts_of([shown.get("title"), shown.get("submit"), shown["blocks"]])
    found: list[str] = []
    for block in rendered:
        assert isinstance(block, Block)
        block.validate_json()
        found.extend(texts_of(block.to_dict()))
    return found


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_every_view_is_marked_and_fits_slack_in_every_language(name: str) -> None:
    for code in (i18n.PSEUDO, *i18n.LANGUAGES):
        with i18n.speaking(code):
            shown = checked(SURFACES[name]())
        assert shown, name
        if code == i18n.PSEUDO:
            assert english_left(shown, allowed=ALLOWED) == [], name


@pytest.mark.parametrize("code", [c for c in i18n.LANGUAGES if c != i18n.DEFAULT])
def test_a_translated_view_reads_differently_from_english(code: str) -> None:
    """The catalogues are used: each surface's words change with the language (the few made
    only of placeholders and people's words excepted)."""
    same = []
    for name, surface in SURFACES.items():
        english = checked(surface())
        with i18n.speaking(code):
            translated = checked(surface())
        if translated == english:
            same.append(name)
    assert same == []


def test_the_help_overview_answers_direct_messages_in_any_language() -> None:
    """A direct message's answer quotes the overview's own lines, in the reader's language."""
    for code in i18n.LANGUAGES:
        with i18n.speaking(code):
            overview = help.ally_help_text()
            for question in ("gracias?", "danke", "pausa", "datos", "hi"):
                for line in direct.dm_answer_text(question).splitlines():
                    if line.startswith("• `/"):
                        assert line in overview
    assert direct.topics_asked("¿cómo doy las gracias?") == ["kudos"]
    assert direct.topics_asked("Kann ich meine Daten löschen?") == ["data"]
    assert direct.topics_asked("quiero pausar los recordatorios") == ["quiet"]
    assert direct.topics_asked("¿Puedes hablarme en español?") == ["language"]
    with i18n.speaking("de"):
        assert "`/ally language" in direct.dm_answer_text("Kannst du Deutsch?")


@pytest.mark.parametrize("code", sorted(i18n.LANGUAGES))
def test_dates_follow_the_language(code: str) -> None:
    with i18n.speaking(code):
        due = commitments.when_text(WHEN, "Europe/Madrid")
        day = heads_up.choice_line(DAY, IN)
    expected = {
        "en": ("Fri, Jan 4, 17:00", "Monday, January 7"),
        "es": ("vie, 4 ene, 17:00", "lunes, 7 de enero"),
        "de": ("Fr., 4. Jan., 17:00", "Montag, 7. Januar"),
    }[code]
    assert due == expected[0] and expected[1] in day
