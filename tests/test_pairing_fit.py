"""Property tests of the rules that make intros fit real teams (bot/pairing.py `Fit`,
bot/hours.py): working-hours overlap, people kept apart, in person at one place. Pure."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import hours
from bot.pairing import NO_MATCH, NO_OVERLAP, Fit, Pair, Pairing, group_sizes, pair_of, pair_people

SINCE = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # a Monday
ZONES = (
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Australia/Sydney",
)
WINDOWS = ((9 * 60, 17 * 60), (8 * 60, 12 * 60), (13 * 60, 18 * 60), (7 * 60, 19 * 60))


@st.composite
def instances(
    draw: st.DrawFn, max_people: int = 8
) -> tuple[list[str], set[Pair], dict[Pair, int], Fit]:
    """People with working hours in a few zones, teams, shared channels, places, some
    "never" pairs and some history."""
    n = draw(st.integers(min_value=0, max_value=max_people))
    people = [f"U{i:02d}" for i in range(n)]
    all_pairs = [pair_of(a, b) for a, b in itertools.combinations(people, 2)]
    never = set(draw(st.lists(st.sampled_from(all_pairs), max_size=2))) if all_pairs else set()
    met = draw(st.lists(st.sampled_from(all_pairs), max_size=n)) if all_pairs else []
    known: dict[str, hours.Hours] = {}
    for p in people:
        if draw(st.integers(0, 5)):  # now and then someone's hours are unknown
            start, end = draw(st.sampled_from(WINDOWS))
            known[p] = hours.working_hours(draw(st.sampled_from(ZONES)), start, end, since=SINCE)
    teams = {p: t for p in people if (t := draw(st.sampled_from(["", "eng", "ops"])))}
    close = (
        frozenset(draw(st.lists(st.sampled_from(all_pairs), max_size=3)))
        if all_pairs
        else frozenset()
    )
    places = {p: pl for p in people if (pl := draw(st.sampled_from(["", "", "london", "paris"])))}
    fit = Fit(
        hours=known,
        allow_no_overlap=draw(st.booleans()),
        teams=teams,
        close=close,
        places=places,
    )
    return people, never, dict(Counter(met)), fit


def _pair_overlap(fit: Fit, a: str, b: str) -> int | None:
    if a not in fit.hours or b not in fit.hours:
        return None
    return hours.longest(hours.common(fit.hours[a], fit.hours[b]))


def _group_overlap(fit: Fit, group: Sequence[str]) -> int | None:
    shared = hours.common_all(fit.hours.get(p) for p in group)
    return None if shared is None else hours.longest(shared)


def _misfit(
    groups: Sequence[Sequence[str]], history: dict[Pair, int], fit: Fit
) -> tuple[int, int, int, int, int]:
    """(no overlap, overlap under an hour, kept-apart pairs together, repeats, place
    mismatches): the rules' tiers, heaviest first."""
    none = short = apart = repeats = place = 0
    for group in groups:
        pair_overlaps = []
        for a, b in itertools.combinations(group, 2):
            shared = _pair_overlap(fit, a, b)
            if shared is not None:
                pair_overlaps.append(shared)
                none += shared < hours.MEET
                short += hours.MEET <= shared < hours.GOOD
            same_team = bool(fit.teams.get(a)) and fit.teams.get(a) == fit.teams.get(b)
            apart += same_team or pair_of(a, b) in fit.close
            repeats += history.get(pair_of(a, b), 0)
            place += fit.places.get(a) != fit.places.get(b)
        shared_all = _group_overlap(fit, group)
        if (
            len(group) > 2
            and shared_all is not None
            and pair_overlaps
            and shared_all < hours.GOOD <= min(pair_overlaps)
        ):
            none += shared_all < hours.MEET
            short += hours.MEET <= shared_all < hours.GOOD
    return none, short, apart, repeats, place


def _allowed(groups: Sequence[Sequence[str]], never: set[Pair], fit: Fit) -> bool:
    for group in groups:
        if any(pair_of(a, b) in never for a, b in itertools.combinations(group, 2)):
            return False
        if fit.allow_no_overlap:
            continue
        if any(
            (o := _pair_overlap(fit, a, b)) is not None and o < hours.MEET
            for a, b in itertools.combinations(group, 2)
        ):
            return False
        shared = _group_overlap(fit, group)
        if shared is not None and shared < hours.MEET:
            return False
    return True


def _groupings(people: list[str]) -> list[list[tuple[str, ...]]]:
    """Every way to split people into pairs, plus one trio when the count is odd."""

    def pairings(rest: list[str]) -> list[list[tuple[str, ...]]]:
        if not rest:
            return [[]]
        first, others = rest[0], rest[1:]
        return [
            [(first, b), *tail]
            for i, b in enumerate(others)
            for tail in pairings(others[:i] + others[i + 1 :])
        ]

    if len(people) % 2 == 0:
        return pairings(people)
    return [
        [trio, *tail]
        for trio in itertools.combinations(people, 3)
        for tail in pairings([p for p in people if p not in trio])
    ]


def _check_shape(
    result: Pairing, people: list[str], group_size: int, *, constrained: bool = True
) -> None:
    """Everyone once, never a group of one, groups of 2 to size + 1; exactly the chosen sizes
    unless a hard rule (never, no overlap) rules them out: placing everyone weighs more."""
    placed = [p for g in result.groups for p in g]
    assert len(placed) == len(set(placed)), "someone is in two groups"
    assert set(placed) | set(result.left_out) == set(people)
    sizes = Counter(len(g) for g in result.groups)
    assert 1 not in sizes, "never a group of one"
    assert all(2 <= s <= max(group_size + 1, 3) for s in sizes)
    if not result.left_out and len(people) >= 2 and not constrained:
        assert sorted(sizes.elements()) == sorted(group_sizes(len(people), group_size))


@settings(max_examples=200, deadline=None)
@given(instances(), st.integers(0, 2**32))
def test_pairs_fit_best_tier_by_tier(
    instance: tuple[list[str], set[Pair], dict[Pair, int], Fit], seed: int
) -> None:
    """Pairs (a trio when odd): nobody left out while a grouping exists, and no grouping
    has less misfit: no group without overlap where avoidable, then overlap under an hour,
    then same-team separation where possible, then no repeats while avoidable, then places."""
    people, never, history, fit = instance
    result = pair_people(people, never=never, history=history, seed=seed, fit=fit)
    _check_shape(result, people, 2)
    assert _allowed(result.groups, never, fit)
    candidates = [g for g in _groupings(people) if _allowed(g, never, fit)]
    if len(people) < 2 or not candidates:
        return
    assert not result.left_out, f"left out {result.left_out} though {candidates[0]} places all"
    best = min(_misfit(g, history, fit) for g in candidates)
    assert _misfit(result.groups, history, fit) == best


@settings(max_examples=150, deadline=None)
@given(instances(max_people=11), st.integers(0, 2**32), st.sampled_from([2, 3, 4]))
def test_every_size_keeps_the_hard_rules(
    instance: tuple[list[str], set[Pair], dict[Pair, int], Fit], seed: int, group_size: int
) -> None:
    """Groups of the chosen size, never a group of one, never a "never" pair, and no group
    without overlap unless the workspace allows it; whoever is left out is told why."""
    people, never, history, fit = instance
    result = pair_people(
        people, group_size=group_size, never=never, history=history, seed=seed, fit=fit
    )
    _check_shape(result, people, group_size, constrained=bool(never) or bool(fit.hours))
    assert _allowed(result.groups, never, fit)
    for person, why in result.left_out.items():
        if why == NO_OVERLAP:
            assert not fit.allow_no_overlap
            others = [p for p in people if p != person]
            assert all(
                (o := _pair_overlap(fit, person, p)) is not None and o < hours.MEET for p in others
            )


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from([3, 4]))
def test_bigger_groups_stay_within_their_zones(seed: int, group_size: int) -> None:
    """Two regions with no working hours in common, each with enough people for whole
    groups: every group is within one region, so nobody waits for a time that can't come."""
    tokyo = hours.working_hours("Asia/Tokyo", 9 * 60, 17 * 60, since=SINCE)
    london = hours.working_hours("Europe/London", 9 * 60, 17 * 60, since=SINCE)
    people = [f"T{i}" for i in range(group_size * 3)] + [f"L{i}" for i in range(group_size * 2)]
    fit = Fit(hours={p: tokyo if p[0] == "T" else london for p in people})
    result = pair_people(people, group_size=group_size, seed=seed, fit=fit)
    assert not result.left_out
    for group in result.groups:
        assert len({p[0] for p in group}) == 1


def test_the_one_person_nobody_shares_hours_with_is_told_why() -> None:
    london = hours.working_hours("Europe/London", 9 * 60, 17 * 60, since=SINCE)
    tokyo = hours.working_hours("Asia/Tokyo", 9 * 60, 17 * 60, since=SINCE)
    fit = Fit(hours={"a": london, "b": london, "t": tokyo})
    result = pair_people(["a", "b", "t"], fit=fit)
    assert result.groups in ([("a", "b")], [("b", "a")])
    assert result.left_out == {"t": NO_OVERLAP}
    allowed = pair_people(["a", "b", "t"], fit=Fit(hours=fit.hours, allow_no_overlap=True))
    assert not allowed.left_out and len(allowed.groups) == 1


def test_never_is_not_disclosed_as_missing_overlap() -> None:
    london = hours.working_hours("Europe/London", 9 * 60, 17 * 60, since=SINCE)
    result = pair_people(
        ["a", "b", "c"],
        never={pair_of("a", "c"), pair_of("b", "c")},
        fit=Fit(hours={"a": london, "b": london, "c": london}),
    )
    assert result.left_out == {"c": NO_MATCH}


def test_teammates_are_kept_apart_across_a_large_pool() -> None:
    """Past the exact limit: 600 people in 6 teams, one round: no pair shares a team."""
    people = [f"U{i:04d}" for i in range(600)]
    fit = Fit(teams={p: f"team{i % 6}" for i, p in enumerate(people)})
    result = pair_people(people, seed=3, fit=fit)
    assert not result.left_out
    assert all(fit.teams[a] != fit.teams[b] for a, b in result.groups)


def test_large_pool_keeps_overlap_and_no_repeats() -> None:
    """601 people in three regions over five rounds: no group across regions that share no
    hours, and every pair new."""
    zones = ("Asia/Tokyo", "Europe/London", "America/Los_Angeles")
    windows = {z: hours.working_hours(z, 9 * 60, 17 * 60, since=SINCE) for z in zones}
    people = [f"U{i:04d}" for i in range(601)]
    fit = Fit(hours={p: windows[zones[i % 3]] for i, p in enumerate(people)})
    history: Counter[Pair] = Counter()
    for round_no in range(5):
        result = pair_people(people, history=history, seed=round_no, fit=fit)
        assert len(result.left_out) <= 3  # an odd one in a region may have nobody left
        for group in result.groups:
            shared = hours.common_all(fit.hours[p] for p in group)
            assert shared is not None and hours.longest(shared) >= hours.MEET
        assert not result.pairs() & set(history)
        history.update(result.pairs())


def test_in_person_people_meet_at_their_place() -> None:
    places = {"a": "london", "b": "paris", "c": "london", "d": "paris"}
    for seed in range(20):
        result = pair_people(["a", "b", "c", "d"], seed=seed, fit=Fit(places=places))
        assert {frozenset(g) for g in result.groups} == {
            frozenset(("a", "c")),
            frozenset(("b", "d")),
        }


def test_working_hours_follow_each_zone_and_its_working_days() -> None:
    london = hours.working_hours("Europe/London", 9 * 60, 17 * 60, since=SINCE)
    new_york = hours.working_hours("America/New_York", 9 * 60, 17 * 60, since=SINCE)
    assert len(london) == 5  # Monday to Friday of the week ahead
    shared = hours.common(london, new_york)
    assert hours.longest(shared) == 180  # 14:00–17:00 in London, 09:00–12:00 in New York
    slots = hours.slots(shared, after=SINCE)
    assert len(slots) == 3
    assert len({s.date() for s in slots}) == 3  # one a day
    for slot in slots:
        assert any(
            a <= hours.minute_of(slot) and hours.minute_of(slot) + 30 <= b for a, b in shared
        )
        assert slot >= SINCE + hours.LEAD
    assert hours.local_label(slots[0], "America/New_York").endswith("09:00")


def test_slots_inside_a_single_short_overlap() -> None:
    shared = ((1000 * 60, 1000 * 60 + 90),)
    after = hours.moment_of(1000 * 60) - hours.LEAD * 2
    assert [hours.minute_of(s) for s in hours.slots(shared, after=after)] == [60000, 60060]
    assert hours.slots(((10, 30),), after=after) == []


def test_nobody_is_left_out_when_regions_do_not_divide_into_groups() -> None:
    """Three regions, 401 people each (Tokyo and Los Angeles share an hour, London shares
    none with either), in threes and fours: remainders join groups they share hours with,
    so everyone is placed, and every group shares working hours."""
    zones = ("Asia/Tokyo", "Europe/London", "America/Los_Angeles")
    windows = {z: hours.working_hours(z, 9 * 60, 17 * 60, since=SINCE) for z in zones}
    people = [f"U{i:04d}" for i in range(1203)]
    fit = Fit(hours={p: windows[zones[i % 3]] for i, p in enumerate(people)})
    for size in (3, 4):
        result = pair_people(people, group_size=size, seed=5, fit=fit)
        assert not result.left_out
        assert all(2 <= len(g) <= size + 1 for g in result.groups)
        for group in result.groups:
            shared = hours.common_all(fit.hours[p] for p in group)
            assert shared is not None and hours.longest(shared) >= hours.MEET
