"""What the sender hears when an erase deleted the delivery of what they sent mid-way.

An erase deletes every delivery naming the person, work under way included (bot.lease): a
kudos given to someone at the moment they erase their data stops where it was (often before
it is stored or posted). Its giver is told so, privately, in words that name nobody and say
nothing of the erase (whether someone erased their data is theirs to tell), so that nothing
they sent goes without an answer; sending it again records it afresh.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot import i18n
from bot.db import unfenced
from bot.i18n import _
from bot.services import inbound
from bot.slack import BEFORE_CALL

if TYPE_CHECKING:
    from bot.inbox import Work

logger = logging.getLogger(__name__)


def _in_channel(body: dict[str, Any]) -> tuple[str, str] | None:
    """Where to answer privately a delivery that has no response_url, and whom: a message
    in a channel ("kudos @ann for the demo"), or a modal opened on one (its metadata)."""
    event = body.get("event")
    if isinstance(event, dict):  # only a message someone wrote (not a join, a reaction)
        written = event.get("type") == "message" and not event.get("subtype")
        if written and event.get("channel") and event.get("user"):
            return str(event["channel"]), str(event["user"])
        return None
    view, user = body.get("view") or {}, (body.get("user") or {})
    try:
        meta = json.loads(view.get("private_metadata") or "{}") if isinstance(view, dict) else {}
    except ValueError:
        meta = {}
    if not isinstance(meta, dict) or not isinstance(user, dict):
        return None
    if meta.get("channel") and user.get("id"):
        return str(meta["channel"]), str(user["id"])
    return None


async def tell_erased(work: Work, language_of: Callable[[str, str], Awaitable[str]]) -> None:
    """Answer a command, a press, a kudos written in a channel or given in a modal whose run
    lost its delivery to an erase. A delivery another process took over is answered there:
    nothing is said here."""
    channel = None if work.body.get("response_url") else _in_channel(work.body)
    if not work.body.get("response_url") and channel is None:
        return
    token = BEFORE_CALL.set(None)  # the run's own calls stay fenced off; this names nobody
    try:
        with unfenced():  # its transactions too: they read, and only about the delivery
            async with work.db.session() as session:
                if await inbound.exists(session, inbound_id=work.delivery_id):
                    return  # taken over, not erased
            user_id = channel[1] if channel is not None else work.user_id
            language = await language_of(work.team_id, user_id)
        with i18n.speaking(language):
            said = _(
                "allybot couldn't finish that just now. If you don't see it done, send it again."
            )
            if channel is None:
                await work.respond(said)
            else:
                await work.client.chat_postEphemeral(channel=channel[0], user=user_id, text=said)
    except Exception:
        logger.exception("could not tell the sender their request was erased")
    finally:
        BEFORE_CALL.reset(token)
