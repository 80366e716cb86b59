"""`allybot serve` under cProfile, counting only the load: profiling starts when the inbox
takes its (N+1)th delivery (N = the benchmark's warm-up, `--after`), so neither start-up,
migrations nor the warm-up are in the figures. The profile is written when serve exits,
and beside it (FILE.statements.txt) every SQL statement the load ran, counted by its text
(BEGIN and COMMIT are not statements SQLAlchemy sees on PostgreSQL; transactions are
counted apart, by `begin` events).

    python benchmarks/profile_serve.py --out FILE [--after 20] serve --host … --port 0
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import runpy
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.inbox import Fresh, Inbox  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--after", type=int, default=20)
    args, rest = parser.parse_known_args()
    profiler = cProfile.Profile()
    seen = 0
    submit = Inbox.submit
    statements: Counter[str] = Counter()

    def counting_submit(self: Inbox, fresh: Fresh) -> None:
        nonlocal seen
        seen += 1
        if seen == args.after + 1:
            profiler.enable()
        submit(self, fresh)

    Inbox.submit = counting_submit  # type: ignore[method-assign]

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if seen > args.after:
            statements[" ".join(statement.split())[:1500]] += 1

    @event.listens_for(Engine, "begin")
    def _begin(_conn: Any) -> None:
        if seen > args.after:
            statements["(transaction)"] += 1

    def write() -> None:
        profiler.disable()
        profiler.dump_stats(str(args.out))
        loaded = max(seen - args.after, 1)
        lines = [f"{loaded} deliveries after the warm-up; per delivery, then in all:"]
        for text, count in statements.most_common():
            lines.append(f"{count / loaded:8.2f} {count:8d}  {text}")
        Path(f"{args.out}.statements.txt").write_text("\n".join(lines) + "\n")

    atexit.register(write)
    sys.argv = ["allybot", *rest]
    runpy.run_module("allybot.cli", run_name="__main__")


if __name__ == "__main__":
    main()
