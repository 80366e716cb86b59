"""Every action_id, callback_id and block_id allybot puts on Slack surfaces."""

from enum import StrEnum


class Action(StrEnum):
    SAY_THANKS = "kudos_say_thanks"
    TIP_HELPFUL = "tip_helpful"
    TIP_NOT_FOR_ME = "tip_not_for_me"


class Callback(StrEnum):
    GIVE_KUDOS_FOR_MESSAGE = "give_kudos_for_message"
    TRACK_AS_COMMITMENT = "track_as_commitment"


class Command(StrEnum):
    KUDOS = "/kudos"
    COMMIT = "/commit"
    ALLY = "/ally"
