"""`allybot serve` under cProfile, counting only the load: profiling starts when the inbox
takes its (N+1)th delivery (N = the benchmark's warm-up, `--after`), so neither start-up,
migrations nor the warm-up are in the figures. The profile is written when serve exits.

    python benchmarks/profile_serve.py --out FILE [--after 20] serve --host … --port 0
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.inbox import Inbox  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--after", type=int, default=20)
    args, rest = parser.parse_known_args()
    profiler = cProfile.Profile()
    seen = 0
    submit = Inbox.submit

    def counting_submit(self: Inbox, inbound_id: int) -> None:
        nonlocal seen
        seen += 1
        if seen == args.after + 1:
            profiler.enable()
        submit(self, inbound_id)

    Inbox.submit = counting_submit  # type: ignore[method-assign]

    def write() -> None:
        profiler.disable()
        profiler.dump_stats(str(args.out))

    atexit.register(write)
    sys.argv = ["allybot", *rest]
    runpy.run_module("allybot.cli", run_name="__main__")


if __name__ == "__main__":
    main()
