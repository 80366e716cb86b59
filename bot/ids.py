"""Every action_id, callback_id and block_id allybot puts on Slack surfaces."""

from enum import StrEnum

# What an erased person's id becomes in the records others keep (kudos they gave or got):
# random, not shaped like a Slack id; shown as "someone" and never mentioned or looked up.
ERASED_PREFIX = "anon-"


def erased(user_id: str) -> bool:
    """Whether the id stands for someone who erased their data."""
    return user_id.startswith(ERASED_PREFIX)


class Action(StrEnum):
    SAY_THANKS = "kudos_say_thanks"
    TIP_HELPFUL = "tip_helpful"
    TIP_NOT_FOR_ME = "tip_not_for_me"
    COMMIT_CONFIRM = "commit_confirm"
    COMMIT_EDIT = "commit_edit"
    COMMIT_CANCEL = "commit_cancel"
    COMMIT_DONE = "commit_done"
    COMMIT_SNOOZE_DAY = "commit_snooze_day"
    COMMIT_SNOOZE_WEEK = "commit_snooze_week"
    COMMIT_NEW_DATE = "commit_new_date"
    COMMIT_DROP = "commit_drop"
    COMMIT_DROP_TELL = "commit_drop_tell"
    COMMIT_DROP_QUIET = "commit_drop_quiet"
    COMMIT_KEEP = "commit_keep"
    COMMIT_GOT_IT = "commit_got_it"
    COMMIT_DISPUTED = "commit_disputed"
    COMMIT_GIVE_KUDOS = "commit_give_kudos"
    CHECKIN_TALKED = "checkin_talked"
    CHECKIN_SNOOZE = "checkin_snooze"
    CHECKIN_OPEN_DM = "checkin_open_dm"
    CHECKIN_CADENCE = "checkin_cadence"
    RESOLVE_DONE = "resolve_done"
    RESOLVE_NOT_YET = "resolve_not_yet"
    RESOLVE_HELP = "resolve_help"
    HOME_TIPS = "home_tips"
    HOME_PAUSE = "home_pause"
    HOME_RESUME = "home_resume"
    HOME_SETTINGS = "home_settings"
    HOME_KUDOS_PRIVACY = "home_kudos_privacy"
    HOME_MUTES = "home_mutes"
    HOME_LANGUAGE = "home_language"
    PRIVACY_ERASE = "privacy_erase"
    PRIVACY_KEEP = "privacy_keep"
    INTRO_MET_YES = "intro_met_yes"
    INTRO_MET_NOT_YET = "intro_met_not_yet"
    INTRO_MET_SKIP = "intro_met_skip"
    INTRO_HOME_JOIN = "intro_home_join"
    INTRO_HOME_LEAVE = "intro_home_leave"
    INTRO_HOME_PAUSE = "intro_home_pause"
    INTRO_HOME_RESUME = "intro_home_resume"
    INTRO_HOME_NEVER = "intro_home_never"
    INTRO_HOME_WELCOME = "intro_home_welcome"
    INTRO_HOME_MEET = "intro_home_meet"
    INTRO_ROUND_SKIP = "intro_round_skip"
    INTRO_ROUND_IN = "intro_round_in"


class Callback(StrEnum):
    GIVE_KUDOS_FOR_MESSAGE = "give_kudos_for_message"
    TRACK_AS_COMMITMENT = "track_as_commitment"
    COMMIT_MODAL = "commit_modal"
    SETTINGS_MODAL = "settings_modal"
    ADMIN_MODAL = "admin_settings_modal"
    INTRO_NEVER_MODAL = "intro_never_modal"
    INTRO_MEET_MODAL = "intro_meet_modal"


class Command(StrEnum):
    KUDOS = "/kudos"
    COMMIT = "/commit"
    ALLY = "/ally"
