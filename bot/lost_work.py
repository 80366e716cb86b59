"""What the sender hears when an erase deleted the delivery of what they sent mid-way.

An erase deletes every delivery naming the person, work under way included (bot.lease): a
kudos given to someone at the moment they erase their data stops where it was (often before
it is stored or posted). Its giver is told so, privately, in words that name nobody and say
nothing of the erase (whether someone erased their data is theirs to tell), so that nothing
they sent goes without an answer; sending it again records it afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot import i18n
from bot.db import unfenced
from bot.i18n import _
from bot.models import Inbound
from bot.slack import BEFORE_CALL

if TYPE_CHECKING:
    from bot.inbox import Work

logger = logging.getLogger(__name__)


async def tell_erased(work: Work, language_of: Callable[[str, str], Awaitable[str]]) -> None:
    """Answer a command or a press whose run lost its delivery to an erase. A delivery
    another process took over is answered there: nothing is said here."""
    if not work.body.get("response_url"):
        return
    token = BEFORE_CALL.set(None)  # the run's own calls stay fenced off; this names nobody
    try:
        with unfenced():  # its transactions too: they read, and only about the delivery
            async with work.db.session() as session:
                if await session.get(Inbound, work.delivery_id) is not None:
                    return  # taken over, not erased
            language = await language_of(work.team_id, work.user_id)
        with i18n.speaking(language):
            await work.respond(
                _("allybot couldn't finish that just now. If you don't see it done, send it again.")
            )
    except Exception:
        logger.exception("could not tell the sender their request was erased")
    finally:
        BEFORE_CALL.reset(token)
