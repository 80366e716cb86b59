"""What the sender hears when an erase deleted the delivery of what they sent mid-way.

An erase deletes every delivery naming the person, work under way included (bot.lease): a
kudos given to someone at the moment they erase their data stops where it was (often before
it is stored or posted). Its giver is told so, privately, in words that name nobody and say
nothing of the erase (whether someone erased their data is theirs to tell), so that nothing
they sent goes without an answer; sending it again records it afresh.

Where it is said: through the payload's response_url (a command, a press); else through
the one a modal's private_metadata carries from the command or press that opened it (the
promise modal: its submission has none of its own, and the handler that would take it from
the metadata may not have run); else privately in the channel of a message, or of the one a
modal was opened on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot import i18n
from bot.db import unfenced
from bot.i18n import _
from bot.services import inbound
from bot.slack import BEFORE_CALL

if TYPE_CHECKING:
    from bot.inbox import Work

logger = logging.getLogger(__name__)


def _metadata(body: dict[str, Any]) -> dict[str, Any]:
    """A submitted modal's private_metadata, when it is the JSON object allybot wrote."""
    view = body.get("view")
    if not isinstance(view, dict):
        return {}
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def response_url(body: dict[str, Any], *, slack_api_url: str) -> str | None:
    """Where to answer a delivery privately through a response_url: the payload's own, else
    one its modal's metadata carries, if it is Slack's (https) or at the Slack API's origin
    this deployment is pointed at (`slack_api_url`, e.g. a stand-in for Slack)."""
    if body.get("response_url"):
        return str(body["response_url"])
    url = _metadata(body).get("response_url")
    if not isinstance(url, str):
        return None
    api = urlsplit(slack_api_url)
    if url.startswith(("https://", f"{api.scheme}://{api.netloc}/")):
        return url
    return None


def _in_channel(body: dict[str, Any]) -> tuple[str, str] | None:
    """Where to answer privately a delivery that has no response_url, and whom: a message
    in a channel ("kudos @ann for the demo"), or a modal opened on one (its metadata)."""
    event = body.get("event")
    if isinstance(event, dict):  # only a message someone wrote (not a join, a reaction)
        written = event.get("type") == "message" and not event.get("subtype")
        if written and event.get("channel") and event.get("user"):
            return str(event["channel"]), str(event["user"])
        return None
    meta, user = _metadata(body), (body.get("user") or {})
    if not isinstance(user, dict):
        return None
    if meta.get("channel") and user.get("id"):
        return str(meta["channel"]), str(user["id"])
    return None


async def tell_erased(work: Work, language_of: Callable[[str, str], Awaitable[str]]) -> None:
    """Answer a command, a press, a promise modal (through its opener's response_url), a
    kudos written in a channel or given in a modal whose run lost its delivery to an erase. A
    delivery another process took over is answered there: nothing is said here."""
    url = response_url(work.body, slack_api_url=work.clients.settings.slack_api_url)
    channel = None if url else _in_channel(work.body)
    if url is None and channel is None:
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
                await work.respond(said, url=url)
            else:
                await work.client.chat_postEphemeral(channel=channel[0], user=user_id, text=said)
    except Exception:
        logger.exception("could not tell the sender their request was erased")
    finally:
        BEFORE_CALL.reset(token)
