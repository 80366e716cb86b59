"""Tip rotation: every tip once per cycle, rejected categories at most once per cycle."""

from __future__ import annotations

import itertools
from collections import Counter

from bot.services.tips import History, Tip, TipLibrary, choose, library


def small_library() -> TipLibrary:
    cats = {"a": "A", "b": "B", "c": "C"}
    tips = [
        Tip(id=f"{c}-{i:03d}", category=c, text=f"Tip {i} of category {c}, concrete and kind.")
        for c in cats
        for i in range(1, 4)
    ]
    return TipLibrary(categories=cats, tips=tips)


def run(
    lib: TipLibrary, days: int, rejected: frozenset[str] = frozenset()
) -> list[tuple[str, int]]:
    """Simulate `days` tips for one person; return (tip id, cycle) in order."""
    shown: list[tuple[str, str, int]] = []
    for _ in range(days):
        cycle = max((c for _, _, c in shown), default=1)
        current = [(t, cat) for t, cat, c in shown if c == cycle]
        past = History(
            cycle=cycle,
            seen=frozenset(t for t, _ in current),
            seen_categories=Counter(cat for _, cat in current),
            rejected=rejected,
            last_category=shown[-1][1] if shown else None,
        )
        tip, new_cycle = choose(lib, past, seed="T1:U1")
        shown.append((tip.id, tip.category, new_cycle))
    return [(t, c) for t, _, c in shown]


def test_every_tip_once_before_any_repeats() -> None:
    lib = small_library()
    order = run(lib, 27)
    for cycle in (1, 2, 3):
        ids = [t for t, c in order if c == cycle]
        assert sorted(ids) == sorted(t.id for t in lib.tips)


def test_consecutive_tips_change_category_when_they_can() -> None:
    order = run(small_library(), 9)
    categories = [t.split("-")[0] for t, _ in order]
    assert all(a != b for a, b in itertools.pairwise(categories))


def test_rejected_category_comes_once_per_cycle() -> None:
    lib = small_library()
    order = run(lib, 21, rejected=frozenset({"b"}))
    by_cycle: dict[int, list[str]] = {}
    for tip_id, cycle in order:
        by_cycle.setdefault(cycle, []).append(tip_id)
    for cycle, ids in by_cycle.items():
        assert sum(1 for t in ids if t.startswith("b-")) <= 1, cycle
    # a full cycle is the 6 tips of a and c plus one of b
    assert len(by_cycle[1]) == 7


def test_order_differs_between_people() -> None:
    lib = library()
    empty = History(
        cycle=1,
        seen=frozenset(),
        seen_categories=Counter(),
        rejected=frozenset(),
        last_category=None,
    )
    firsts = {choose(lib, empty, seed=f"T1:U{i}")[0].id for i in range(20)}
    assert len(firsts) > 5


def test_shipped_library() -> None:
    lib = library()
    assert len(lib.tips) >= 60
    assert len(lib.categories) == 10
    counts = Counter(t.category for t in lib.tips)
    assert set(counts) == set(lib.categories)
    assert min(counts.values()) >= 5
    assert all(len(t.text) <= 280 for t in lib.tips)
