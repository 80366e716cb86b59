"""Ack fast, lose nothing: each Slack delivery is recorded, acked, then worked on after.

A Bolt listener made by `Inbox.listener` stores the payload under a unique key (Slack's
event_id, or the command's trigger_id) before it acks, so a retry of the same delivery is
recognised on any replica and a crash after the ack leaves a row another pass picks up.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncSession

from bot import directory, i18n, read_ahead
from bot.arrivals import Arrivals, wait_any
from bot.db import BEFORE_TRANSACTION, Database, unfenced
from bot.lease import Lease, LeaseLost
from bot.logs import log_context
from bot.metrics import DELIVERIES, HANDLER_SECONDS
from bot.models import Inbound, Person, Workspace
from bot.outcomes import Outcomes, OutcomeStep, run_steps
from bot.read_ahead import Known, preload
from bot.recorder import Recorder
from bot.services import inbound, people
from bot.slack import BEFORE_CALL, SlackClients, slack_error
from bot.sqlite_driver import on_the_loop
from bot.tenancy import installation_key
from bot.text import normalise_edge

logger = logging.getLogger(__name__)

# How long after a lease's end the watch looks (its clock and the recorder's may differ a
# little; `claim_expired` takes only leases already over).
LOOK_AFTER = 0.5


@dataclass
class Work:
    """What a handler needs after the ack: the payload, the database and a Slack client."""

    kind: str
    team_id: str
    body: dict[str, Any]
    db: Database
    client: AsyncWebClient
    clients: SlackClients
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # allybot's number for this delivery: the same on every retry and recovery of it.
    delivery_id: int = 0
    # This delivery's people and workspace, read once (`lookup`, `workspace_in`).
    people: dict[str, Person] = field(default_factory=dict, repr=False)
    # Whom the claim's transaction found (bot.read_ahead.preload): those of them missing from
    # `people` are stale in the database too, no use reading them again.
    looked_up: set[str] = field(default_factory=set, repr=False)
    # Those of them it found stored, fresh or stale (people.save_profiles' `stored`).
    stored: set[str] = field(default_factory=set, repr=False)
    workspace: Workspace | None = field(default=None, repr=False)
    # Statements (or steps that run them) committed with the delivery's outcome (done, or
    # failed and retried later) instead of in a transaction of their own, e.g. "this
    # receiver was DMed".
    on_outcome: list[OutcomeStep] = field(default_factory=list, repr=False)

    async def lookup(self, user_ids: Iterable[str]) -> dict[str, Person]:
        """People by id (bot.directory.lookup), each read at most once per delivery."""
        return await directory.lookup(
            self.db, self.client, team_id=self.team_id, user_ids=user_ids, cache=self.people
        )

    async def workspace_in(self, session: AsyncSession) -> Workspace:
        """The workspace row (created on first sight), read once per delivery."""
        if self.workspace is None:
            self.workspace = await people.ensure_workspace(session, team_id=self.team_id)
        return self.workspace

    # The claim's version: 1 on the first run; more when a run before this one died or
    # failed, so a step may already have reached Slack (see `resuming`).
    attempt: int = 1

    @property
    def resuming(self) -> bool:
        """Whether an earlier run of this delivery may have reached Slack before it stopped:
        a step that posts checks with Slack first on this path only."""
        return self.attempt > 1

    @property
    def user_id(self) -> str:
        user = self.body.get("user_id") or self.body.get("user") or {}
        return str(user["id"] if isinstance(user, dict) else user)

    async def respond(
        self,
        text: str,
        *,
        blocks: list[Block] | None = None,
        response_type: str = "ephemeral",
        replace_original: bool = False,
        url: str | None = None,
    ) -> bool:
        """Answer through `url`, else the payload's response_url; False when there is none or
        it failed."""
        url = url or self.body.get("response_url")
        if not url:
            return False
        guard = BEFORE_CALL.get()
        if guard is not None:
            await guard()
        shown = await self.clients.show(self.team_id, {"text": text, "blocks": blocks})
        resp = await self.clients.webhook(url).send(
            text=shown["text"],
            blocks=shown["blocks"],
            response_type=response_type,
            replace_original=replace_original,
        )
        if resp.status_code != 200:
            logger.warning("response_url answered %s", resp.status_code)
            return False
        return True


WorkFn = Callable[[Work], Awaitable[None]]
KeyFn = Callable[[dict[str, Any]], str]
# Checks a payload before the ack; a non-empty answer is sent as the ack and nothing is
# recorded (a modal's `response_action: errors`).
CheckFn = Callable[[dict[str, Any]], dict[str, Any] | None]


def error_summary(exc: BaseException) -> str:
    """What the delivery log keeps of a failure: the kind of error, and Slack's code for a
    Slack error; never the exception's message, which can quote what a person wrote."""
    if isinstance(exc, SlackApiError):
        return f"SlackApiError: {slack_error(exc)}"
    return type(exc).__name__


def request_id(body: dict[str, Any]) -> str | None:
    """Slack's id for a delivery, for logs: the event's id, or the interaction's trigger."""
    found = body.get("event_id") or body.get("trigger_id")
    return str(found) if found else None


class Inbox:
    """Records deliveries before the ack and runs their handlers in tasks it owns."""

    def __init__(self, db: Database, clients: SlackClients, *, concurrency: int = 8) -> None:
        """`concurrency` bounds the work after the ack, so acks never queue behind it."""
        self.db = db
        self.clients = clients
        self.recorder = Recorder(db)
        self.outcomes = Outcomes(db)
        self.handlers: dict[str, WorkFn] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(concurrency)
        self.concurrency = concurrency
        self.work_here = True
        self.on_recorded: Callable[[], None] | None = None
        # Answers whoever sent a delivery an erase deleted while it ran (handlers/lost_work.py).
        self.on_erased: (
            Callable[[Work, Callable[[str, str], Awaitable[str]]], Awaitable[None]] | None
        ) = None
        # The deliveries this process works on: their leases are renewed while it lives, so
        # only a dead (or stalled) process's work is ever taken over.
        self._held: dict[int, Lease] = {}
        self._renewer: asyncio.Task[None] | None = None
        # Deliveries recorded since the loop last turned, started together (`submit`).
        self._starting: list[Fresh] = []
        # Requests being answered (`answering`): work after an ack starts when there are none.
        self._answering = 0
        self._answered = asyncio.Event()
        self._answered.set()
        # Wakes this process's worker loop and watch when a delivery is recorded anywhere.
        self.arrivals = Arrivals(db)

    @property
    def work_here(self) -> bool:
        """False when worker processes do the work after the ack (`serve --workers N`): this
        process then only verifies, records and answers, and calls `on_recorded` (which
        wakes the workers) for each new delivery. True: it records each delivery already
        claimed by itself, and works on it."""
        return self.recorder.claimed

    @work_here.setter
    def work_here(self, value: bool) -> None:
        self.recorder.claimed = value

    def listener(
        self, kind: str, key: KeyFn, work: WorkFn, *, check: CheckFn | None = None
    ) -> Callable[..., Awaitable[None]]:
        """A Bolt listener: record under `key`, ack, and work on it after the response."""
        self.handlers[kind] = work

        async def record_then_ack(
            ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
        ) -> None:
            body = normalise_edge(body)  # the one place control characters are taken out
            refusal = None
            if check is not None:
                # A form's errors are answered in the ack, in the language of who sent it.
                team_id = installation_key(context, body)
                user_id = str((body.get("user") or {}).get("id") or "")
                with i18n.speaking(await self.language_of(team_id, user_id)):
                    refusal = check(body)
            if refusal:
                await ack(**refusal)
                DELIVERIES.labels(kind, "refused").inc()
                return
            team_id, granted = installation_key(context, body), time.monotonic()
            new_id = await self.recorder.record(
                team_id=team_id, key=key(body), kind=kind, payload=body
            )
            await ack()
            DELIVERIES.labels(kind, "recorded" if new_id else "duplicate").inc()
            if new_id is None:
                logger.info("delivery seen before", extra={"outcome": "duplicate"})
            if new_id is not None and self.work_here:
                self.submit(Fresh(new_id, kind, team_id, body, granted))
            elif new_id is not None and self.on_recorded is not None:
                self.on_recorded()

        return record_then_ack

    async def language_of(self, team_id: str, user_id: str) -> str:
        """The language a person is spoken to in, from what allybot keeps (no Slack call),
        in one read: it comes before the ack."""
        pair = (team_id, user_id)
        async with self.db.session() as session:
            workspaces, found = await people.get_workspaces_and_pairs(
                session, team_ids=[team_id], pairs=[pair] if user_id else []
            )
        return people.language_of(found.get(pair), workspaces.get(team_id))

    def submit(self, fresh: Fresh) -> None:
        """Work on a delivery recorded here (claimed at birth) in a task this inbox owns and
        awaits on shutdown; those recorded together start together, read in one transaction."""
        # Its lease runs from the recording on: renewed from now on, while it waits its turn.
        self._hold(Lease(fresh.id, inbound.CLAIMED_AT_BIRTH, fresh.granted, self.db))
        if len(self._held) > MAX_AHEAD:  # a burst: what waits far back is read back later
            fresh = replace(fresh, payload=None)
        self._starting.append(fresh)
        if len(self._starting) == 1:
            asyncio.get_running_loop().call_soon(self._start_batch)

    def _start_batch(self) -> None:
        batch, self._starting = self._starting, []
        with on_the_loop():  # the work's statements are short (bot.sqlite_driver)
            task = asyncio.create_task(self._run_batch(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_batch(self, batch: list[Fresh]) -> None:
        """Their people and workspaces are read when the first of each `concurrency` of them
        starts, not when they were recorded: in a burst the work runs far behind the acks,
        and by then earlier work has saved what a read at the ack would have missed (a new
        giver's profile, a new workspace)."""
        size = self.concurrency
        reads: dict[int, asyncio.Future[Known | None]] = {}
        backs: dict[int, asyncio.Future[tuple[dict[int, dict[str, Any]], Known | None]]] = {}

        async def one(index: int, waiting: Fresh) -> None:
            async with self._limit:
                await self._acks_first()
                group = index // size
                started = batch[group * size : (group + 1) * size]
                fresh: Fresh | None = waiting
                if waiting.payload:
                    if group not in reads:
                        reads[group] = asyncio.ensure_future(read_ahead.ahead(self.db, started))
                    known = await asyncio.shield(reads[group])
                else:  # waited by id: read back on its turn, with what its handler reads first
                    if group not in backs:
                        backs[group] = asyncio.ensure_future(read_ahead.back(self.db, started))
                    payloads, known = await asyncio.shield(backs[group])
                    payload = payloads.get(waiting.id)
                    fresh = replace(waiting, payload=payload) if payload else None
                if fresh is None:
                    self._held.pop(waiting.id, None)  # nothing left to do here
                    return
                await self.process(
                    fresh, attempt=inbound.CLAIMED_AT_BIRTH, known=known, granted=fresh.granted
                )

        await asyncio.gather(*(one(i, f) for i, f in enumerate(batch)))

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around the answer to each HTTP request from Slack: while any is being answered,
        work after earlier acks waits to start (`_acks_first`), so on a busy process the
        acks are not queued behind it."""
        self._answering += 1
        self._answered.clear()
        try:
            yield
        finally:
            self._answering -= 1
            if not self._answering:
                self._answered.set()

    async def _acks_first(self) -> None:
        """Wait, ACKS_FIRST_S at most (work never starves), for the requests being answered."""
        if self._answering:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._answered.wait(), ACKS_FIRST_S)

    async def process(
        self,
        delivery: Inbound | Fresh,
        *,
        attempt: int = 1,
        known: Known | None = None,
        granted: float | None = None,
    ) -> None:
        """Run the handler for one delivery, holding its lease meanwhile, and record the
        outcome. `known`: what `preload` read with the claim; `granted`: time.monotonic()
        read before the claim that gave the lease."""
        inbound_id, body = delivery.id, delivery.payload or {}
        lease = self._held.get(inbound_id)
        if lease is None or lease.version != attempt:  # else held since it was recorded
            lease = Lease(
                inbound_id, attempt, time.monotonic() if granted is None else granted, self.db
            )
            self._hold(lease)

        async def before_slack_call() -> None:
            await self._acks_first()  # requests being answered go first
            await lease.hold()  # and the delivery must still be this run's

        guarded, fenced = BEFORE_CALL.set(before_slack_call), BEFORE_TRANSACTION.set(lease.fence)
        try:
            await self._process(inbound_id, delivery.kind, delivery.team_id, body, attempt, known)
        finally:
            BEFORE_TRANSACTION.reset(fenced)
            BEFORE_CALL.reset(guarded)
            if self._held.get(inbound_id) is lease:
                del self._held[inbound_id]

    def _hold(self, lease: Lease) -> None:
        self._held[lease.inbound_id] = lease
        if self._renewer is None or self._renewer.done():
            # Its own context: its transactions are no delivery's.
            self._renewer = asyncio.create_task(self._renew_leases(), context=contextvars.Context())

    async def _renew_leases(self) -> None:
        """Every RENEW_EVERY, push out the leases of what this process is working on."""
        while True:
            await asyncio.sleep(inbound.RENEW_EVERY.total_seconds())
            if not self._held:
                continue
            held, asked = dict(self._held), time.monotonic()
            try:
                async with self.db.session() as session:
                    renewed = await inbound.renew(
                        session,
                        held={i: lease.version for i, lease in held.items()},
                        now=datetime.now(UTC),
                    )
                for i, lease in held.items():
                    if i in renewed:
                        lease.granted = max(lease.granted, asked)
                    else:  # taken over, or erased with a person it names
                        lease.lose(asked)
            except Exception:
                logger.exception("could not renew the leases of deliveries in progress")

    async def _process(
        self,
        inbound_id: int,
        kind: str,
        team_id: str,
        body: dict[str, Any],
        attempt: int,
        known: Known | None,
    ) -> None:
        handler = self.handlers.get(kind)
        started = time.perf_counter()
        work: Work | None = None
        with log_context(team=team_id, request=request_id(body), delivery=inbound_id, kind=kind):
            try:
                if handler is None:
                    raise LookupError(f"no handler for {kind}")
                client = await self.clients.for_team(team_id)
                work = Work(
                    kind=kind,
                    team_id=team_id,
                    body=body,
                    db=self.db,
                    client=client,
                    clients=self.clients,
                    delivery_id=inbound_id,
                    attempt=attempt,
                )
                if known is not None:
                    work.workspace = known.workspaces.get(team_id)
                    work.people.update((p.user_id, p) for p in known.people.get(inbound_id, ()))
                    work.looked_up.update(known.looked_up.get(inbound_id, ()))
                    work.stored.update(known.stored.get(inbound_id, ()))
                await handler(work)
            except LeaseLost:
                _lost(kind)
                # Only a run whose lease no other process could take over speaks: one taken
                # over (this process stalled) leaves the answer to the run that took it, even
                # when an erase deleted the delivery from under that run too.
                lease = self._held.get(inbound_id)
                if work is not None and _erased_while_ours(lease, attempt) and self.on_erased:
                    await self.on_erased(work, self.language_of)
                return
            except Exception as exc:
                # Only this claim's failure is recorded, and only then its outcome steps; the
                # fail statement checks the claim itself (the run's fence may have tripped).
                with unfenced():
                    async with self.db.session() as session:
                        status = await inbound.fail(
                            session,
                            inbound_id=inbound_id,
                            attempts=attempt,
                            now=datetime.now(UTC),
                            error=error_summary(exc),
                        )
                        if status != "lost":
                            await run_steps(session, work.on_outcome if work else [])
                if status == "lost":
                    _lost(kind)
                    return
                outcome = "failed" if status == "failed" else "retry"
                logger.exception("delivery failed", extra={"outcome": outcome})
                DELIVERIES.labels(kind, outcome).inc()
                return
            finally:
                HANDLER_SECONDS.labels(kind).observe(time.perf_counter() - started)
            try:
                mine = await self.outcomes.done(inbound_id, attempt=attempt, steps=work.on_outcome)
            except Exception:  # left pending: resumed once its lease runs out
                logger.exception("could not save a delivery's outcome", extra={"outcome": "retry"})
                DELIVERIES.labels(kind, "retry").inc()
                return
            if not mine:
                _lost(kind)
                return
            DELIVERIES.labels(kind, "done").inc()
            logger.info("delivery done", extra={"outcome": "done"})

    async def work_new(self) -> int:
        """A worker process's step: claim deliveries nobody started and work on them, up to
        the concurrency at once; returns how many."""
        granted = time.monotonic()
        async with self.db.session() as session:
            rows = await inbound.claim_new(session, now=datetime.now(UTC), limit=self.concurrency)
            known = await preload(session, rows)
        await asyncio.gather(
            *(
                self.process(r, attempt=r.attempts, known=known, granted=granted)
                for r in rows
                if r.payload
            )
        )
        return len(rows)

    async def recover(self, *, now: datetime | None = None, dead_only: bool = False) -> int:
        """Process deliveries whose worker died (and, unless `dead_only`, those whose retry
        after a failure is due), `concurrency` at a time (the Slack clients pace themselves on
        429); returns how many."""
        now = now or datetime.now(UTC)
        async with self.db.session() as session:
            rows = await inbound.claim_expired(session, now=now, dead_only=dead_only)

        async def one(row: Inbound) -> bool:
            async with self._limit:
                # The batch's lease started with the batch: renew it as each one starts, so
                # a delivery waiting its turn behind slow ones is never run twice.
                granted = time.monotonic()
                async with self.db.session() as session:
                    fresh = await inbound.claim(
                        session,
                        inbound_id=row.id,
                        attempts=row.attempts,
                        now=max(now, datetime.now(UTC)),
                    )
                if fresh is None or fresh.payload is None:
                    return False  # another replica took it over, or nothing is left to do
                await self.process(fresh, attempt=fresh.attempts, granted=granted)
                return True

        return sum(await asyncio.gather(*(one(row) for row in rows)))

    async def watch(self, stop: asyncio.Event) -> None:
        """Until `stop`: take over the work of processes that died (their leases, no longer
        renewed, run out), batch after batch, as soon as those leases end. It looks when the
        earliest lease it knows of ends, LEASE after a delivery is recorded anywhere (told by
        `arrivals`), and otherwise every `arrivals.poll_seconds`. Retries after a failure
        keep their backoff and are left to the scheduler's passes."""
        loop = asyncio.get_running_loop()
        async with self.arrivals.subscribed() as arrived:
            while not stop.is_set():
                arrived.clear()  # before looking, so a delivery recorded meanwhile counts
                wait = self.arrivals.poll_seconds
                try:
                    ends = await self._take_over_ended(stop)
                    if ends is not None:
                        left = (ends - datetime.now(UTC)).total_seconds()
                        wait = min(wait, max(left, 0.0) + LOOK_AFTER)
                except Exception:
                    logger.exception("recovery pass failed")
                deadline = loop.time() + wait
                while not stop.is_set() and (left := deadline - loop.time()) > 0:
                    await wait_any(stop, arrived, timeout=left)
                    if arrived.is_set():  # its lease ends LEASE from now, unless renewed
                        arrived.clear()
                        soonest = loop.time() + inbound.LEASE.total_seconds() + LOOK_AFTER
                        deadline = min(deadline, soonest)

    async def _take_over_ended(self, stop: asyncio.Event) -> datetime | None:
        """Work on every delivery whose lease ended (one read when none did); returns when
        the earliest lease still running ends."""
        while not stop.is_set():
            async with self.db.session() as session:
                ends = await inbound.next_lease_end(session)
            if ends is None or ends >= datetime.now(UTC):
                return ends
            if not await self.recover(dead_only=True):
                return ends  # another process is taking them: look again shortly
        return None

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the work in flight, so a shutdown loses nothing it acked: what is acked
        while it waits (the listener may still be answering) is waited for too, until
        `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await asyncio.sleep(0)  # deliveries submitted this turn start their batch
            if not self._tasks:
                break
            left = max(deadline - loop.time(), 0.0)
            _, pending = await asyncio.wait(set(self._tasks), timeout=left)
            if pending:
                for task in pending:  # left for a recovery pass once their lease runs out
                    logger.warning("delivery unfinished at shutdown, at %s", _awaiting(task))
                break
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        await self.recorder.close()
        await self.outcomes.close()


# Deliveries held by this process beyond which a new one waits with its id alone, its
# payload read back when its turn comes: a burst of acks faster than the work after them
# costs memory by the id, not by the payload and the people read ahead for it.
MAX_AHEAD = 1000
ACKS_FIRST_S = 0.05  # the longest a delivery's work waits for requests being answered


@dataclass(frozen=True)
class Fresh:
    """A delivery this process just recorded, claimed at birth: no need to read it back."""

    id: int
    kind: str
    team_id: str
    payload: dict[str, Any] | None  # None: waiting far back in a burst (MAX_AHEAD)
    granted: float  # time.monotonic() read before it was recorded (its lease began then)


def _erased_while_ours(lease: Lease | None, attempt: int) -> bool:
    """Whether this run's delivery was erased from under it, not taken over (bot.lease)."""
    return lease is not None and lease.version == attempt and lease.erased_while_ours()


def _lost(kind: str) -> None:
    logger.warning(
        "lost the delivery: another process took it over, or an erase deleted it with a "
        "person it names; this run stops, its outcome unrecorded",
        extra={"outcome": "lost"},
    )
    DELIVERIES.labels(kind, "lost").inc()


def _awaiting(task: asyncio.Task[None]) -> str:
    """Where a task is waiting, coroutine by coroutine (file:line function), for the log."""
    where: list[str] = []
    coro: Any = task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            code = frame.f_code
            where.append(f"{code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno} {code.co_name}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return " > ".join(where)
