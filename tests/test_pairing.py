"""Property tests of the intros pairing (bot/pairing.py): pure, no database."""

from __future__ import annotations

import itertools
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.pairing import ALONE, NO_MATCH, Pair, Pairing, group_sizes, pair_of, pair_people


@st.composite
def pools(draw: st.DrawFn, max_people: int = 11) -> tuple[list[str], set[Pair], dict[Pair, int]]:
    """People, some "never" pairs and some history among them."""
    n = draw(st.integers(min_value=0, max_value=max_people))
    people = [f"U{i:02d}" for i in range(n)]
    all_pairs = [pair_of(a, b) for a, b in itertools.combinations(people, 2)]
    never = set(draw(st.lists(st.sampled_from(all_pairs), max_size=4))) if all_pairs else set()
    met = draw(st.lists(st.sampled_from(all_pairs), max_size=n * 2)) if all_pairs else []
    return people, never, dict(Counter(met))


def _groupings(people: list[str]) -> itertools.chain[list[tuple[str, ...]]]:
    """Every way to split people into pairs, plus one trio when the count is odd."""

    def pairings(rest: list[str]) -> list[list[tuple[str, ...]]]:
        if not rest:
            return [[]]
        first, others = rest[0], rest[1:]
        out = []
        for i, b in enumerate(others):
            for tail in pairings(others[:i] + others[i + 1 :]):
                out.append([(first, b), *tail])
        return out

    if len(people) % 2 == 0:
        return itertools.chain(pairings(people))
    return itertools.chain.from_iterable(
        ([trio, *tail] for tail in pairings([p for p in people if p not in trio]))
        for trio in itertools.combinations(people, 3)
    )


def _pairs(groups: list[tuple[str, ...]]) -> list[Pair]:
    return [pair_of(a, b) for g in groups for a, b in itertools.combinations(g, 2)]


def _check_shape(
    result: Pairing, people: list[str], group_size: int, *, constrained: bool = False
) -> None:
    """`constrained`: never pairs may make the chosen sizes impossible; placing everyone
    weighs more than the sizes, so then groups of 2 to size + 1 are the shape."""
    placed = [p for g in result.groups for p in g]
    assert len(placed) == len(set(placed)), "someone is in two groups"
    assert set(placed) | set(result.left_out) == set(people)
    assert not set(placed) & set(result.left_out)
    sizes = Counter(len(g) for g in result.groups)
    assert 1 not in sizes, "never a group of one"
    assert set(sizes) <= {2, 3} | {group_size, group_size + 1}
    if not result.left_out and len(people) >= 2 and not constrained:
        assert sorted(sizes.elements()) == sorted(group_sizes(len(people), group_size))
    if group_size == 2:
        assert sizes[3] <= 1
        if not result.left_out:
            assert sizes[3] == len(people) % 2


@settings(max_examples=150, deadline=None)
@given(pools(), st.integers(0, 2**32), st.sampled_from([2, 3, 4]))
def test_everyone_once_right_sizes_and_never_respected(
    pool: tuple[list[str], set[Pair], dict[Pair, int]], seed: int, group_size: int
) -> None:
    people, never, history = pool
    result = pair_people(people, group_size=group_size, never=never, history=history, seed=seed)
    _check_shape(result, people, group_size, constrained=bool(never))
    assert not set(_pairs(result.groups)) & never
    if len(people) == 1:
        assert result.left_out == {people[0]: ALONE}
    assert set(result.left_out.values()) <= {ALONE, NO_MATCH}


@settings(max_examples=150, deadline=None)
@given(pools(max_people=10), st.integers(0, 2**32))
def test_nobody_left_out_and_no_repeat_while_avoidable(
    pool: tuple[list[str], set[Pair], dict[Pair, int]], seed: int
) -> None:
    people, never, history = pool
    result = pair_people(people, never=never, history=history, seed=seed)
    allowed = [g for g in _groupings(people) if not set(_pairs(g)) & never]
    if len(people) >= 2 and allowed:
        assert not result.left_out, "someone was left out though a grouping exists"
    fresh = [g for g in allowed if not any(history.get(p) for p in _pairs(g))]
    if len(people) >= 2 and fresh:
        repeated = [p for p in _pairs(result.groups) if history.get(p)]
        assert not repeated, f"repeat {repeated} though {fresh[0]} has none"


@settings(max_examples=50, deadline=None)
@given(pools(), st.integers(0, 2**32), st.sampled_from([2, 3, 4]))
def test_same_seed_same_groups(
    pool: tuple[list[str], set[Pair], dict[Pair, int]], seed: int, group_size: int
) -> None:
    people, never, history = pool
    first = pair_people(people, group_size=group_size, never=never, history=history, seed=seed)
    again = pair_people(
        list(reversed(people)), group_size=group_size, never=never, history=history, seed=seed
    )
    assert first == again


def test_twelve_rounds_of_twenty_meet_new_people_every_time() -> None:
    """10 pairs a round for 12 rounds: 120 pairs, all of them different."""
    people = [f"U{i:02d}" for i in range(20)]
    history: Counter[Pair] = Counter()
    for round_no in range(12):
        result = pair_people(people, history=history, seed=round_no)
        assert not result.left_out
        history.update(result.pairs())
    assert len(history) >= 118  # the most possible is 120
    assert sum(history.values()) == 120


def test_twelve_rounds_of_twenty_one_in_trios() -> None:
    """21 pairs a round for 12 rounds, from only 210 pairs there are: nearly all are met."""
    people = [f"U{i:02d}" for i in range(21)]
    history: Counter[Pair] = Counter()
    for round_no in range(12):
        result = pair_people(people, group_size=3, history=history, seed=round_no)
        assert [len(g) for g in result.groups] == [3] * 7
        history.update(result.pairs())
    assert len(history) >= 200


def test_low_contact_pairs_are_preferred() -> None:
    """Four people, two of whom talk all the time: they are not put together."""
    contact = {pair_of("A", "B"): 5, pair_of("C", "D"): 5}
    for seed in range(20):
        result = pair_people(["A", "B", "C", "D"], contact=contact, seed=seed)
        assert not result.pairs() & set(contact)


def test_large_pool_with_history_is_all_new_pairs() -> None:
    """Past the exact limit the greedy pass and its repair still avoid every repeat."""
    people = [f"U{i:04d}" for i in range(601)]
    history: Counter[Pair] = Counter()
    for round_no in range(5):
        result = pair_people(people, history=history, seed=round_no)
        assert not result.left_out
        assert not result.pairs() & set(history)
        history.update(result.pairs())


def test_nobody_can_pair_with_the_last_person() -> None:
    never = {pair_of("A", "C"), pair_of("B", "C")}
    result = pair_people(["A", "B", "C"], never=never, seed=1)
    assert result.groups == [("A", "B")] or result.groups == [("B", "A")]
    assert result.left_out == {"C": NO_MATCH}


@settings(max_examples=60, deadline=None)
@given(pools(max_people=10), st.integers(0, 2**32), st.data())
def test_newcomers_keep_the_rules_and_meet_the_widest_reach(
    pool: tuple[list[str], set[Pair], dict[Pair, int]], seed: int, data: st.DataObject
) -> None:
    people, never, history = pool
    fresh = set(data.draw(st.lists(st.sampled_from(people), max_size=2))) if people else set()
    reach = {p: data.draw(st.integers(0, 30)) for p in people}
    result = pair_people(
        people, never=never, history=history, seed=seed, newcomers=fresh, breadth=reach
    )
    _check_shape(result, people, 2)
    assert not set(_pairs(result.groups)) & never
    allowed = [g for g in _groupings(people) if not set(_pairs(g)) & never]
    if len(people) >= 2 and allowed:
        assert not result.left_out, "someone was left out though a grouping exists"
    clean = [g for g in allowed if not any(history.get(p) for p in _pairs(g))]
    if len(people) >= 2 and clean:
        assert not [p for p in _pairs(result.groups) if history.get(p)]


def test_a_newcomer_meets_the_person_whose_recognition_reaches_furthest() -> None:
    people = ["new", "a", "b", "c"]
    reach = {"a": 1, "b": 12, "c": 3}
    for seed in range(20):
        result = pair_people(people, seed=seed, newcomers={"new"}, breadth=reach)
        (group,) = [g for g in result.groups if "new" in g]
        assert set(group) == {"new", "b"}
