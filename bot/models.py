"""allybot's tables, as typed SQLAlchemy models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.db import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Workspace(Base):
    """A Slack workspace allybot serves, with its admin settings."""

    __tablename__ = "workspaces"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    kudos_channel_id: Mapped[str | None] = mapped_column(String(32))
    kudos_emoji: Mapped[str] = mapped_column(String(100), default="raised_hands")
    daily_kudos_limit: Mapped[int] = mapped_column(Integer, default=5)
    daily_dm_budget: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    custom_tags: Mapped[list[str]] = mapped_column(default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    digest_day: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    window_start: Mapped[int] = mapped_column(Integer, default=9 * 60, server_default="540")
    window_end: Mapped[int] = mapped_column(Integer, default=17 * 60, server_default="1020")
    intros_channel_id: Mapped[str | None] = mapped_column(String(32))
    intros_cadence_weeks: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    intros_group_size: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    intros_day: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    intros_mode: Mapped[str] = mapped_column(String(16), default="opt_in", server_default="opt_in")
    welcome_newcomers: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # Intros may group people whose working hours share no half hour (only when no other
    # grouping places them).
    intros_without_overlap: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # Slack profile fields (a label or an Xf… id) naming a person's team or manager, and
    # their location; people who share at least this many channels are kept apart (0: off).
    intros_team_field: Mapped[str | None] = mapped_column(String(100))
    intros_location_field: Mapped[str | None] = mapped_column(String(100))
    intros_shared_channels: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
    uninstalled_at: Mapped[datetime | None]


class SettingChange(Base):
    """Who changed a workspace setting, from what to what, and when (shown as "last changed by")."""

    __tablename__ = "setting_changes"
    __table_args__ = (Index("ix_setting_changes_team_at", "team_id", "changed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    changed_by: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Person(Base):
    """A Slack user as allybot knows them: profile facts cached from users.info, preferences."""

    __tablename__ = "people"
    __table_args__ = (Index("ix_people_tz", "tz"),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)  # another org's member
    profile_refreshed_at: Mapped[datetime | None]
    tips_cadence: Mapped[str] = mapped_column(String(16), default="weekly")
    window_start: Mapped[int | None] = mapped_column(Integer)  # None: the workspace's window
    window_end: Mapped[int | None] = mapped_column(Integer)
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    paused_until: Mapped[datetime | None]
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    kudos_private: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    slack_locale: Mapped[str | None] = mapped_column(String(16))  # users.info, "es-ES"
    language: Mapped[str | None] = mapped_column(String(8))  # their own choice; None: Slack's
    engaged_at: Mapped[datetime | None]
    home_seen_at: Mapped[datetime | None]
    # Slack's hash of the Home last published for them (views.publish's `hash`).
    home_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Kudos(Base):
    """One recognition from a giver to one receiver; a multi-receiver kudos is several rows."""

    __tablename__ = "kudos"
    __table_args__ = (
        UniqueConstraint("team_id", "source_key", "receiver_id", name="uq_kudos_source"),
        Index("ix_kudos_giver_created", "team_id", "giver_id", "created_at"),
        Index("ix_kudos_receiver_created", "team_id", "receiver_id", "created_at"),
        # Whether someone ever recognised someone (give-back's rule): one look-up. Without
        # created_at, so it covers no statement that reads a period of someone's kudos.
        Index("ix_kudos_pair", "team_id", "giver_id", "receiver_id"),
        # The workspace report scans a period of kudos: the pairs come from the index alone.
        Index(
            "ix_kudos_team_created",
            "team_id",
            "created_at",
            postgresql_include=["giver_id", "receiver_id", "channel_id"],
        ),
        Index("ix_kudos_post", "team_id", "post_channel_id", "post_ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    giver_id: Mapped[str] = mapped_column(String(32))
    receiver_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(String(16))
    source_key: Mapped[str] = mapped_column(String(200))
    private_by: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    post_channel_id: Mapped[str | None] = mapped_column(String(32))
    post_ts: Mapped[str | None] = mapped_column(String(32))
    announced_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]


class Inbound(Base):
    """A Slack delivery allybot accepted: recorded before the ack, so a retry is the same
    delivery and a crash after the ack loses nothing."""

    __tablename__ = "inbound"
    __table_args__ = (
        UniqueConstraint("team_id", "key", name="uq_inbound_key"),
        Index("ix_inbound_status_lease", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class Nudge(Base):
    """One item allybot means to tell a person, planned once per (person, kind, subject, period).

    Items for the same person and local day go out together in one daily `OutboxMessage`.
    """

    __tablename__ = "nudges"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "kind", "subject", "period", name="uq_nudges_key"),
        Index("ix_nudges_status_day", "status", "local_day"),
        # Partial, so that planning a nudge writes neither: it has no message yet, and only
        # check-ins are looked up by the pass that planned them (SQLite's next reminders).
        Index(
            "ix_nudges_message",
            "message_id",
            postgresql_where=text("message_id IS NOT NULL"),
            sqlite_where=text("message_id IS NOT NULL"),
        ),
        Index("ix_nudges_subject", "team_id", "subject"),
        Index(
            "ix_nudges_checkins_planned",
            "planned_at",
            postgresql_where=text("kind = 'checkin'"),
            sqlite_where=text("kind = 'checkin'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(32))
    local_day: Mapped[date] = mapped_column(Date)
    expires_day: Mapped[date | None] = mapped_column(Date)
    payload: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(16), default="planned")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    planned_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """A message allybot sends on its own, not as a reply: a person's daily DM (`daily`), an
    intros group post (`intro`, `followup`), a weekly digest (`digest`), …

    Planned as a row, then claimed, sent once and marked by `scheduler/sender.py`. A daily
    message is unique per person and local day; every other kind per (workspace, kind,
    subject), the subject naming what it is about (a match id, an ISO week).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "local_day", name="uq_outbox_day"),
        UniqueConstraint("team_id", "kind", "subject", name="uq_outbox_subject"),
        Index("ix_outbox_status_lease", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16), default="daily")
    subject: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(32))  # a daily message's person
    local_day: Mapped[date | None] = mapped_column(Date)  # … and their local day
    # pending → sent | failed | cancelled
    status: Mapped[str] = mapped_column(String(16), default="pending")
    claim_token: Mapped[str | None] = mapped_column(String(36))
    # Nobody else takes a pending row before this: its holder's lease, or when it is due.
    lease_until: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sending_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class TipShown(Base):
    """A conduct tip a person was sent, in which rotation cycle, and how they rated it."""

    __tablename__ = "tips_shown"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "nudge_id", name="uq_tips_shown_nudge"),
        Index("ix_tips_shown_person", "team_id", "user_id", "cycle"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    nudge_id: Mapped[int] = mapped_column(Integer)
    tip_id: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40))
    cycle: Mapped[int] = mapped_column(Integer)
    shown_at: Mapped[datetime] = mapped_column(default=utcnow)
    rating: Mapped[str | None] = mapped_column(String(16))


class Commitment(Base):
    """A promise a person made: what, by when, and to whom (its parties)."""

    __tablename__ = "commitments"
    __table_args__ = (
        UniqueConstraint("team_id", "source_key", name="uq_commitments_source"),
        Index("ix_commitments_owner", "team_id", "owner_id", "status"),
        Index("ix_commitments_status_due", "status", "due_day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    due_day: Mapped[date | None] = mapped_column(Date)
    created_day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    shared_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    kept_on_time: Mapped[bool | None] = mapped_column(Boolean)
    next_nudge_day: Mapped[date | None] = mapped_column(Date)
    overdue_count: Mapped[int] = mapped_column(Integer, default=0)
    source_key: Mapped[str] = mapped_column(String(200))


class CommitmentParty(Base):
    """Someone a promise was made to, and what they answered."""

    __tablename__ = "commitment_parties"
    __table_args__ = (
        UniqueConstraint("commitment_id", "user_id", name="uq_commitment_parties_user"),
        Index("ix_commitment_parties_user", "team_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    told_at: Mapped[datetime | None]
    response: Mapped[str | None] = mapped_column(String(16))
    responded_at: Mapped[datetime | None]


class Ally(Base):
    """Someone a person wants on their side, with how often they mean to reconnect.

    `last_contact_day` and `due_day` are kept in the owner's local days, so the planner
    finds who is due with one indexed comparison.
    """

    __tablename__ = "allies"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "ally_id", name="uq_allies_pair"),
        Index("ix_allies_ally", "team_id", "ally_id"),
        Index("ix_allies_due", "due_day"),
        {"postgresql_with": {"fillfactor": 80}},  # room for in-place updates, see migrations
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    ally_id: Mapped[str] = mapped_column(String(32))
    cadence_days: Mapped[int] = mapped_column(Integer, default=14)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_contact_at: Mapped[datetime]
    last_contact_day: Mapped[date] = mapped_column(Date)
    due_day: Mapped[date] = mapped_column(Date)
    next_nudge_day: Mapped[date | None] = mapped_column(Date)


class CheckIn(Base):
    """A logged conversation between a person and an ally (`/ally met`, "We talked")."""

    __tablename__ = "check_ins"
    __table_args__ = (
        Index("ix_check_ins_pair", "team_id", "user_id", "ally_id"),
        Index("ix_check_ins_ally", "team_id", "ally_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    ally_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))


class Resolve(Base):
    """A person's intention to talk directly to someone about a difficulty, followed up."""

    __tablename__ = "resolves"
    __table_args__ = (
        Index("ix_resolves_follow_up", "status", "follow_up_day"),
        Index("ix_resolves_person", "team_id", "user_id"),
        Index("ix_resolves_other", "team_id", "other_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    other_id: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open")
    follow_up_day: Mapped[date] = mapped_column(Date)
    follow_ups: Mapped[int] = mapped_column(Integer, default=0)
    source_key: Mapped[str] = mapped_column(String(200), unique=True)


# slack_sdk's OAuth stores keep installations, bot tokens and OAuth states in tables of their
# own design; declared on allybot's metadata so that Alembic creates them and checks them.
SLACK_INSTALLATIONS = AsyncSQLAlchemyInstallationStore.build_installations_table(
    Base.metadata, AsyncSQLAlchemyInstallationStore.default_installations_table_name
)
SLACK_BOTS = AsyncSQLAlchemyInstallationStore.build_bots_table(
    Base.metadata, AsyncSQLAlchemyInstallationStore.default_bots_table_name
)
SLACK_OAUTH_STATES = AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(
    Base.metadata, AsyncSQLAlchemyOAuthStateStore.default_table_name
)


class IntroMember(Base):
    """A person's part in intros: in or out of the pool, paused until, last seen acting."""

    __tablename__ = "intro_members"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="joined")
    paused_until: Mapped[datetime | None]
    joined_at: Mapped[datetime | None]
    welcomer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # How they meet: "remote", or "in_person" at `location` (their own words) or, without
    # it, the location their Slack profile gives.
    meet_mode: Mapped[str] = mapped_column(String(16), default="remote", server_default="remote")
    location: Mapped[str | None] = mapped_column(String(100))
    last_active_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntroNever(Base):
    """Someone a person never wants to be paired with; confidential, respected both ways."""

    __tablename__ = "intro_nevers"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "other_id", name="uq_intro_nevers_pair"),
        Index("ix_intro_nevers_other", "team_id", "other_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    other_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntroRound(Base):
    """One pairing round of a workspace, once per period (the ISO week it falls in).

    Planned by the scheduler, then claimed with a lease by whoever matches it, so a round
    that runs twice, late, or on two replicas produces one set of matches.
    """

    __tablename__ = "intro_rounds"
    __table_args__ = (
        UniqueConstraint("team_id", "period", name="uq_intro_rounds_period"),
        Index("ix_intro_rounds_status_lease", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(10))
    channel_id: Mapped[str] = mapped_column(String(32))
    group_size: Mapped[int] = mapped_column(Integer, default=2)
    seed: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    claim_token: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    planned_at: Mapped[datetime] = mapped_column(default=utcnow)
    matched_at: Mapped[datetime | None]
    pool_size: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    left_out: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class IntroMatch(Base):
    """One group of a round, with its conversation starter and whether they met."""

    __tablename__ = "intro_matches"
    __table_args__ = (
        Index("ix_intro_matches_round", "round_id"),
        Index("ix_intro_matches_team_created", "team_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("intro_rounds.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    starter_id: Mapped[str] = mapped_column(String(40))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    met_at: Mapped[datetime | None]
    met_by: Mapped[str | None] = mapped_column(String(32))


class IntroMatchMember(Base):
    """A person in a match; unique per round, so nobody is in two groups of one round.

    All members of all matches are the pair history the pairing avoids repeating.
    """

    __tablename__ = "intro_match_members"
    __table_args__ = (
        UniqueConstraint("round_id", "user_id", name="uq_intro_match_members_round_user"),
        Index("ix_intro_match_members_person", "team_id", "user_id"),
        Index("ix_intro_match_members_match", "match_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("intro_matches.id", ondelete="CASCADE"))
    round_id: Mapped[int] = mapped_column(Integer)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))


class IntroAnswer(Base):
    """A member's answer to "Did you meet?" for one match (Yes, Not yet, Skip)."""

    __tablename__ = "intro_answers"
    __table_args__ = (UniqueConstraint("match_id", "user_id", name="uq_intro_answers_member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("intro_matches.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    answer: Mapped[str] = mapped_column(String(16))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntroPair(Base):
    """How often two people were matched, and in which round last: the pair history the
    pairing avoids repeating, kept per pair so a round reads it in one scan."""

    __tablename__ = "intro_pairs"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_a: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_b: Mapped[str] = mapped_column(String(32), primary_key=True)
    times: Mapped[int] = mapped_column(Integer, default=1)
    last_round_id: Mapped[int] = mapped_column(Integer)


class DashboardSession(Base):
    """A browser signed in to the dashboard: the cookie holds a random id, this row its hash,
    so signing out, forget-me or an expiry ends it on every replica at once."""

    __tablename__ = "dashboard_sessions"
    __table_args__ = (Index("ix_dashboard_sessions_person", "team_id", "user_id"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    # Slack's admin/owner flag, as Slack answered it at admin_checked_at (re-asked hourly).
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    admin_checked_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


# The DM budget's ledger and mutes, in their own module; imported here so that every table
# is on Base.metadata whichever module is imported first.
import bot.fit_models  # noqa: E402
import bot.suggestion_models  # noqa: E402
import bot.trust_models  # noqa: E402, F401
from bot.community_models import IntroSkip, KudosPostUpdate, Newcomer  # noqa: E402, F401
