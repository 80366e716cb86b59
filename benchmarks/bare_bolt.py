"""The baseline for benchmarks/events.py: a bare Bolt AsyncApp that only acks `/kudos`.

It is served the way Bolt's own aiohttp server serves an app (``AsyncApp.web_app()``), with
signature verification on and Bolt's default ``process_before_response=False``, so the
difference between it and ``allybot serve`` is what allybot adds to the ack path.

    python benchmarks/bare_bolt.py --port 0

prints ``bare bolt serving on http://HOST:PORT`` (the same shape as allybot's start-up line,
so one regular expression finds both) and serves until SIGTERM or SIGINT. It reads
``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET`` and ``SLACK_API_URL`` like allybot does, so
Bolt's one ``auth.test`` goes to the same Slack double.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def build_app() -> AsyncApp:
    """Bolt with nothing but a `/kudos` listener that acks; every other default untouched."""
    token = os.environ["SLACK_BOT_TOKEN"]
    app = AsyncApp(
        client=AsyncWebClient(
            token=token, base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/")
        ),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    )

    @app.command("/kudos")
    async def kudos(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()

    return app


async def serve(host: str, port: int) -> None:
    """Listen on host:port (0 picks a free port), say where, and serve until told to stop."""
    runner = web.AppRunner(build_app().web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    print(f"bare bolt serving on http://{host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bare Bolt app that acks /kudos.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
