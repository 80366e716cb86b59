"""Who meets whom in an intros round. Pure and deterministic for a seed.

The rules, in order of weight:
1. Nobody is grouped with someone on their "never" list, or whose list they are on; nor
   with someone whose working hours share less than half an hour with theirs in the week
   ahead (`bot.hours`), unless the workspace allows groups without overlap (`Fit`).
2. Everyone eligible is in exactly one group when that is possible at all (those who cannot
   be placed are returned as left out, with why).
3. Groups of the chosen size (2, 3 or 4) whatever the count (`group_sizes`): the remainder
   joins groups one person each (pairs: one trio when the count is odd), never a group of
   one.
4. Groups whose working hours overlap by an hour or more; allowed groups without overlap
   only when no other grouping places everyone.
5. People who already share a lot are kept apart: the same team or manager (a profile
   field) or many shared channels.
6. No pair meets again while a grouping without repeats exists (full history counts).
7. Someone who meets in person is grouped with people who meet in person at the same place.
8. Among the rest, pairs with the least contact in allybot's records are preferred.
9. Newcomers (their first rounds) are placed first, and preferably with the people whose
   recognition reaches the most others (`breadth`); nobody is told why.

Each rule from 4 on weighs more than everything below it together (the tiers of `_Costs`).
Up to `EXACT_LIMIT` people, pairs come from a maximum-weight matching of maximum
cardinality (networkx), so rules 2 and 4 are exact. Larger pools are paired greedily in a
seeded order and any repeat is then repaired by re-matching the people involved together
with a sample of other pairs, exactly again.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.hours import GOOD, MEET, Hours, common_all, longest

Pair = frozenset[str]

EXACT_LIMIT = 200  # people matched exactly in one go (well under a second)
SMALL_ODD = 24  # odd pools up to this size try every trio when the first guess repeats
TRIO_TRIES = 300
GREEDY_LOOKAHEAD = 50  # candidates a large pool's greedy pass weighs for each person
MAX_CONTACT = 9  # contact counts above this all weigh the same
IMPROVE_PEERS = 40  # groups a costly group of 3 or 4 tries swapping members with
RESCUE_GROUPS = 500  # groups someone left out may swap into, making room elsewhere

ALONE = "alone"  # the pool had nobody else
NO_MATCH = "no_match"  # nobody left could be grouped with them
NO_OVERLAP = "no_overlap"  # nobody else in the pool works hours that overlap theirs


def pair_of(a: str, b: str) -> Pair:
    return frozenset((a, b))


@dataclass(frozen=True)
class Pairing:
    """The groups of a round and the people who could not be placed, with the reason."""

    groups: list[tuple[str, ...]]
    left_out: dict[str, str] = field(default_factory=dict)

    def pairs(self) -> set[Pair]:
        """Every pair that meets in this round (a trio is three pairs)."""
        return {pair_of(a, b) for g in self.groups for a, b in itertools.combinations(g, 2)}


@dataclass(frozen=True)
class Fit:
    """What makes a group fit its people, beyond history and contact: `hours` (each person's
    working hours, `bot.hours`; absent: no constraint), whether groups without overlap are
    allowed, `teams` (a team or manager per person: the same one keeps people apart),
    `close` (pairs who share many channels) and `places` (people meeting in person, by
    their location)."""

    hours: Mapping[str, Hours] = field(default_factory=dict)
    allow_no_overlap: bool = False
    teams: Mapping[str, str] = field(default_factory=dict)
    close: frozenset[Pair] = frozenset()
    places: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Costs:
    never: frozenset[Pair] | set[Pair]
    history: Mapping[Pair, int]
    contact: Mapping[Pair, int]
    size: int = 2  # people in the pool: each tier outweighs all lower ones summed over it
    newcomers: frozenset[str] = frozenset()
    welcome: Mapping[str, int] = field(default_factory=dict)  # 0..base: a newcomer's partner
    base: int = 0  # added to every pair when newcomers are in the pool, less `welcome`
    fit: Fit = field(default_factory=Fit)
    # Tier weights, set in __post_init__: a place mismatch, a repeat, people kept apart, an
    # overlap under an hour, no overlap (when allowed).
    place: int = 0
    repeat: int = 0
    apart: int = 0
    short: int = 0
    none: int = 0
    _shapes: list[Hours] = field(default_factory=list)  # each distinct set of hours once
    _shape_of: dict[str, int] = field(default_factory=dict)  # person -> index in _shapes
    _overlap: dict[tuple[int, int], int] = field(default_factory=dict)
    _group_overlap: dict[frozenset[int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Every weight is a whole number of `place`s, which outweighs all contact of a
        # grouping, so `cost // place` compares groupings tier by tier (see `high`).
        spread = 2 * self.size + 1  # more pairs (and groups) than any grouping has
        self.place = (MAX_CONTACT + self.base + 1) * spread
        times = max(self.history.values(), default=1)
        repeat = 2 * spread  # in places: a pair's place mismatch and contact weigh < 2
        apart = (repeat * times + 2) * spread
        short = (apart + repeat * times + 2) * spread
        none = (short + apart + repeat * times + 2) * spread
        self.repeat, self.apart = repeat * self.place, apart * self.place
        self.short, self.none = short * self.place, none * self.place
        index: dict[Hours, int] = {}
        for person, h in self.fit.hours.items():
            self._shape_of[person] = index.setdefault(h, len(index))
        self._shapes = list(index)

    def floor(self, person: str) -> int:
        """The least a pair with `person` can cost: a candidate at it can't be bettered."""
        if person in self.newcomers:
            return self.base - max(self.welcome.values(), default=0)
        return self.base

    def overlap(self, a: str, b: str) -> int | None:
        """Minutes of the longest stretch both work, or None when either's hours are unknown."""
        ia, ib = self._shape_of.get(a), self._shape_of.get(b)
        if ia is None or ib is None:
            return None
        key = (ia, ib) if ia <= ib else (ib, ia)
        found = self._overlap.get(key)
        if found is None:
            shared = common_all((self._shapes[ia], self._shapes[ib])) or ()
            found = self._overlap[key] = longest(shared)
        return found

    def group_overlap(self, group: Iterable[str]) -> int | None:
        """Minutes of the longest stretch the whole group works, None when nobody's is known."""
        key = frozenset(self._shape_of[p] for p in group if p in self._shape_of)
        if not key:
            return None
        found = self._group_overlap.get(key)
        if found is None:
            shared = common_all(self._shapes[i] for i in key) or ()
            found = self._group_overlap[key] = longest(shared)
        return found

    def allowed(self, a: str, b: str) -> bool:
        if a == b or pair_of(a, b) in self.never:
            return False
        if self.fit.allow_no_overlap or not self.fit.hours:
            return True
        shared = self.overlap(a, b)
        return shared is None or shared >= MEET

    def repeats(self, a: str, b: str) -> int:
        return self.history.get(pair_of(a, b), 0)

    def cost(self, a: str, b: str) -> int:
        """0 for a new pair with no contact that fits; each tier of misfit outweighs all the
        tiers below it (see the module docstring)."""
        p = pair_of(a, b)
        cost = self.repeat * self.history.get(p, 0) + min(self.contact.get(p, 0), MAX_CONTACT)
        if self.base:
            if (a in self.newcomers) != (b in self.newcomers):
                other = b if a in self.newcomers else a
                cost += self.base - self.welcome.get(other, 0)
            else:
                cost += self.base
        fit = self.fit
        if fit.places and fit.places.get(a) != fit.places.get(b):
            cost += self.place
        team = fit.teams.get(a) if fit.teams else None
        if (team and team == fit.teams.get(b)) or p in fit.close:
            cost += self.apart
        if fit.hours:
            shared = self.overlap(a, b)
            if shared is not None and shared < GOOD:
                cost += self.short if shared >= MEET else self.none
        return cost

    def group_cost(self, group: Iterable[str]) -> int:
        members = list(group)
        cost = sum(self.cost(a, b) for a, b in itertools.combinations(members, 2))
        if len(members) > 2 and self.fit.hours:
            # Pairs that each overlap may still share no stretch all together.
            shared = self.group_overlap(members)
            pairs = [self.overlap(a, b) for a, b in itertools.combinations(members, 2)]
            worst = min((o for o in pairs if o is not None), default=None)
            if shared is not None and worst is not None and shared < GOOD <= worst:
                cost += self.short if shared >= MEET else self.none
        return cost

    def high(self, group: Iterable[str]) -> int:
        """The group's cost in the tiers above contact (a place mismatch and up)."""
        return self.group_cost(group) // self.place

    def group_allowed(self, group: Iterable[str]) -> bool:
        members = list(group)
        if not all(self.allowed(a, b) for a, b in itertools.combinations(members, 2)):
            return False
        return self._hours_allow(members)

    def can_join(self, group: Sequence[str], other: str) -> bool:
        """`other` may join `group`: allowed with each member, and the whole group still
        shares working hours."""
        if not all(self.allowed(m, other) for m in group):
            return False
        return len(group) < 2 or self._hours_allow([*group, other])

    def _hours_allow(self, members: Sequence[str]) -> bool:
        if len(members) < 3 or self.fit.allow_no_overlap or not self.fit.hours:
            return True
        shared = self.group_overlap(members)
        return shared is None or shared >= MEET

    def without_overlap(self, person: str, others: Iterable[str]) -> bool:
        """Nobody in `others` works hours that overlap `person`'s (and the workspace does not
        allow groups without overlap): why they were left out."""
        if self.fit.allow_no_overlap or person not in self.fit.hours:
            return False
        for other in others:
            if other == person:
                continue
            shared = self.overlap(person, other)
            if shared is None or shared >= MEET:
                return False
        return True


def pair_people(
    people: Iterable[str],
    *,
    group_size: int = 2,
    never: Iterable[Pair] = (),
    history: Mapping[Pair, int] | None = None,
    contact: Mapping[Pair, int] | None = None,
    seed: int = 0,
    newcomers: Iterable[str] = (),
    breadth: Mapping[str, int] | None = None,
    fit: Fit | None = None,
) -> Pairing:
    """Group `people` for one round (see the module docstring for the rules).

    `never` holds unordered pairs (a "never" either way), `history` how many times each pair
    met in earlier rounds, `contact` how much contact each pair had in allybot's records,
    `newcomers` who is in their first rounds and `breadth` how many people each person's
    recognition reached lately; `fit` the working hours, teams, shared channels and places
    that make a group fit.
    """
    if group_size not in (2, 3, 4):
        raise ValueError("group_size is 2, 3 or 4")
    order = sorted(set(people))
    random.Random(seed).shuffle(order)
    fresh = frozenset(newcomers) & set(order)
    base, welcome = _welcome_bonus(order, breadth or {}) if fresh else (0, {})
    if fresh:  # placed first, so the greedy pass of a large pool gives them their pick
        order = [p for p in order if p in fresh] + [p for p in order if p not in fresh]
    costs = _Costs(
        never=set(never),
        history=history or {},
        contact=contact or {},
        size=len(order),
        newcomers=fresh,
        welcome=welcome,
        base=base,
        fit=fit or Fit(),
    )
    if len(order) < 2:
        return Pairing(groups=[], left_out={p: ALONE for p in order})
    pairing = _groups(order, costs, group_size) if group_size > 2 else _twos(order, costs)
    if not pairing.left_out or not costs.fit.hours:
        return pairing
    left = {
        p: NO_OVERLAP if why == NO_MATCH and costs.without_overlap(p, order) else why
        for p, why in pairing.left_out.items()
    }
    return Pairing(groups=pairing.groups, left_out=left)


def _welcome_bonus(order: Sequence[str], breadth: Mapping[str, int]) -> tuple[int, dict[str, int]]:
    """Up to `MAX_CONTACT` off a newcomer's pair with each person, in proportion to that
    person's breadth: it weighs like contact, never like a repeat."""
    top = max((breadth.get(p, 0) for p in order), default=0)
    base = MAX_CONTACT
    if not top:
        return base, {}
    return base, {p: base * breadth[p] // top for p in order if breadth.get(p)}


# -- groups of two ------------------------------------------------------------------------


def _twos(order: list[str], costs: _Costs) -> Pairing:
    pairs = _matching(order, costs)
    matched = {p for pair in pairs for p in pair}
    left = [p for p in order if p not in matched]
    groups: list[tuple[str, ...]] = [tuple(p) for p in pairs]
    if len(order) % 2 == 1 and len(left) == 1:
        groups = _place_odd_one(order, groups, left[0], costs)
        left = [p for p in order if not any(p in g for g in groups)]
    return Pairing(groups=groups, left_out={p: NO_MATCH for p in left})


def _place_odd_one(
    order: list[str], groups: list[tuple[str, ...]], odd: str, costs: _Costs
) -> list[tuple[str, ...]]:
    """Make one trio: the odd person joins the pair that suits best; in a small pool every
    trio is tried when that leaves a repeat, so a grouping without repeats is found if any."""
    best: tuple[int, int] | None = None
    for i, g in enumerate(groups):
        trio = (*g, odd)
        if costs.group_allowed(trio):
            score = costs.group_cost(trio) - costs.group_cost(g)
            if best is None or score < best[0]:
                best = (score, i)
    candidate = [*groups]
    if best is not None:
        candidate[best[1]] = (*groups[best[1]], odd)
    if best is not None and not any(costs.high(g) for g in candidate):
        return candidate
    if len(order) <= SMALL_ODD:
        searched = _search_trio(order, costs)
        if searched is not None and _score(searched, order, costs) < _score(
            candidate, order, costs
        ):
            return searched
    return candidate


def _score(groups: list[tuple[str, ...]], order: list[str], costs: _Costs) -> tuple[int, int]:
    """(people left out, cost above contact): what a grouping is judged by first."""
    placed = sum(len(g) for g in groups)
    return len(order) - placed, sum(costs.high(g) for g in groups)


def _search_trio(order: list[str], costs: _Costs) -> list[tuple[str, ...]] | None:
    """Each allowed trio with the best matching of the rest; the best grouping found."""
    best: tuple[tuple[int, int], list[tuple[str, ...]]] | None = None
    for tries, trio in enumerate(
        t for t in itertools.combinations(order, 3) if costs.group_allowed(t)
    ):
        if tries >= TRIO_TRIES:
            break
        rest = [p for p in order if p not in trio]
        groups = [trio, *(tuple(p) for p in _matching(rest, costs))]
        score = _score(groups, order, costs)
        if best is None or score < best[0]:
            best = (score, groups)
        if score == (0, 0):
            break
    return None if best is None else best[1]


def _matching(order: list[str], costs: _Costs) -> list[tuple[str, str]]:
    """As many allowed pairs as possible; among those, the fewest repeats, then the least
    contact."""
    if len(order) <= EXACT_LIMIT:
        return _exact(order, costs)
    pairs = _greedy(order, costs)
    return _repair(order, pairs, costs)


def _exact(order: Sequence[str], costs: _Costs) -> list[tuple[str, str]]:
    import networkx as nx  # here, not at the top: every allybot process starts 70 ms sooner

    edges = [(a, b, costs.cost(a, b)) for a, b in _edges(order, costs)]
    top = max((c for _, _, c in edges), default=0)
    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(order)
    for a, b, c in edges:
        graph.add_edge(a, b, weight=top + 1 - c)
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    rank = {p: i for i, p in enumerate(order)}
    pairs = [(a, b) if rank[a] < rank[b] else (b, a) for a, b in matching]
    return sorted(pairs, key=lambda p: rank[p[0]])


def _edges(order: Sequence[str], costs: _Costs) -> Iterable[tuple[str, str]]:
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            if costs.allowed(a, b):
                yield a, b


class _Free:
    """The people not yet grouped, in the seeded order, and by place: someone who meets in
    person looks first at the free people of their place."""

    def __init__(self, order: Iterable[str], places: Mapping[str, str]) -> None:
        self.order = dict.fromkeys(order)  # insertion-ordered set
        self.places = places
        self.at: dict[str, dict[str, None]] = {}
        for p in self.order:
            if p in places:
                self.at.setdefault(places[p], {})[p] = None

    def __bool__(self) -> bool:
        return bool(self.order)

    def __contains__(self, person: object) -> bool:
        return person in self.order

    def first(self) -> str:
        return next(iter(self.order))

    def take(self, person: str) -> None:
        del self.order[person]
        if person in self.places:
            del self.at[self.places[person]][person]

    def put(self, person: str) -> None:
        self.order[person] = None
        if person in self.places:
            self.at[self.places[person]][person] = None

    def candidates(self, person: str) -> Iterable[str]:
        """Free people at `person`'s place first (a few), then everyone free."""
        place = self.places.get(person)
        if place is None:
            return self.order
        near = dict.fromkeys(itertools.islice(self.at[place], GREEDY_LOOKAHEAD))
        return itertools.chain(near, (p for p in self.order if p not in near))


def _greedy(order: list[str], costs: _Costs) -> list[tuple[str, str]]:
    """Each person in the seeded order takes the best of the next few still free."""
    free = _Free(order, costs.fit.places)
    pairs: list[tuple[str, str]] = []
    for person in order:
        if person not in free:
            continue
        free.take(person)
        best: tuple[int, str] | None = None
        for seen, other in enumerate(free.candidates(person)):
            if not costs.allowed(person, other):
                continue
            c = costs.cost(person, other)
            if best is None or c < best[0]:
                best = (c, other)
            if c <= costs.floor(person) or (seen >= GREEDY_LOOKAHEAD and best[0] < costs.repeat):
                break
        if best is not None:
            free.take(best[1])
            pairs.append((person, best[1]))
        else:
            free.put(person)  # nobody allowed now; the repair looks again
    return pairs


def _repair(order: list[str], pairs: list[tuple[str, str]], costs: _Costs) -> list[tuple[str, str]]:
    """Re-match the people in repeated pairs, and those left free, exactly, together with a
    seeded sample of other pairs that gives them new people to meet."""
    matched = {p for pair in pairs for p in pair}
    troubled = [pair for pair in pairs if costs.cost(*pair) >= costs.repeat]
    free = [p for p in order if p not in matched]
    if not troubled and len(free) < 2:
        return pairs
    fine = [pair for pair in pairs if costs.cost(*pair) < costs.repeat]
    sample_size = max(0, (EXACT_LIMIT - 2 * len(troubled) - len(free)) // 2)
    rng = random.Random(len(order))
    sample = set(rng.sample(range(len(fine)), min(sample_size, len(fine))))
    pool = free + [p for pair in troubled for p in pair]
    pool += [p for i in sorted(sample) for p in fine[i]]
    kept = [pair for i, pair in enumerate(fine) if i not in sample]
    rank = {p: i for i, p in enumerate(order)}
    return kept + _exact(sorted(pool, key=rank.__getitem__), costs)


# -- groups of three ----------------------------------------------------------------------


def group_sizes(n: int, size: int) -> list[int]:
    """Groups of `size`; the remainder joins them one person each (7 in threes: 4+3), or,
    when it outnumbers them, is a smaller group of its own (6 in fours: 4+2). Never a group
    of one; fewer people than `size` are one group."""
    if n < 2:
        return []
    if n < size:
        return [n]
    count, extra = divmod(n, size)
    if extra > count:
        return [size] * count + [extra]
    return [size + 1] * extra + [size] * (count - extra)


def _groups(order: list[str], costs: _Costs, size: int) -> Pairing:
    """Greedy groups in the seeded order, then swaps between groups while they help."""
    free = _Free(order, costs.fit.places)
    groups: list[list[str]] = []
    left: dict[str, str] = {}
    sizes = group_sizes(len(order), size)
    largest = max(sizes, default=size)
    for want in sizes:
        while free:
            first = free.first()
            free.take(first)
            group = [first]
            while len(group) < want:
                best: tuple[int, str] | None = None
                for seen, other in enumerate(free.candidates(first)):
                    if not costs.can_join(group, other):
                        continue
                    c = sum(costs.cost(m, other) for m in group)
                    if best is None or c < best[0]:
                        best = (c, other)
                    if c <= sum(costs.floor(m) for m in group) or (
                        seen >= GREEDY_LOOKAHEAD and best[0] < costs.repeat
                    ):
                        break
                if best is None:
                    break
                free.take(best[1])
                group.append(best[1])
            if len(group) >= 2:
                groups.append(group)
                break
            left[first] = NO_MATCH
    # Whoever found no group as it formed, or is still free when the sizes ran short, joins
    # a group with room that allows them (a group that formed short has room), or takes the
    # place of someone who can move to one (`_rescue`). Failing that, a group of `size`
    # grows by one (the most a remainder makes): placing everyone weighs more than sizes.
    for person in [*left, *free.order]:
        target = min(
            (g for g in groups if len(g) < largest and costs.group_allowed([*g, person])),
            key=lambda g: costs.group_cost([*g, person]),
            default=None,
        )
        if target is None and not _rescue(person, groups, largest, costs):
            target = min(
                (g for g in groups if len(g) <= size and costs.group_allowed([*g, person])),
                key=lambda g: costs.group_cost([*g, person]),
                default=None,
            )
            if target is None:
                left[person] = NO_MATCH
                continue
        if target is not None:
            target.append(person)
        left.pop(person, None)
    _improve(groups, costs)
    return Pairing(groups=[tuple(g) for g in groups], left_out=left)


def _rescue(person: str, groups: list[list[str]], largest: int, costs: _Costs) -> bool:
    """`person` takes the place of someone in a group who moves to a group with room, when
    both groups stay allowed (first `RESCUE_GROUPS` groups tried): nobody left out then."""
    for roomy in [g for g in groups if len(g) < largest]:
        for group in groups[:RESCUE_GROUPS]:
            if group is roomy:
                continue
            for i, member in enumerate(group):
                swapped = [*group[:i], person, *group[i + 1 :]]
                if costs.group_allowed(swapped) and costs.group_allowed([*roomy, member]):
                    group[:] = swapped
                    roomy.append(member)
                    return True
    return False


def _improve(groups: list[list[str]], costs: _Costs, passes: int = 3) -> None:
    """Swap members between a costly group and others while the total cost falls: each
    costly group tries the other costly ones and the next `IMPROVE_PEERS` groups."""
    for _ in range(passes):
        changed = False
        costly = [g for g in groups if costs.group_cost(g)]
        position = {id(g): i for i, g in enumerate(groups)}
        for g1 in costly:
            if costs.group_cost(g1) == 0:
                continue
            at = position[id(g1)]
            peers = costly[:IMPROVE_PEERS] + groups[at + 1 : at + 1 + IMPROVE_PEERS]
            for g2 in peers:
                if g2 is g1:
                    continue
                if _best_swap(g1, g2, costs):
                    changed = True
                    if costs.group_cost(g1) == 0:
                        break
        if not changed:
            return


def _best_swap(g1: list[str], g2: list[str], costs: _Costs) -> bool:
    before = costs.group_cost(g1) + costs.group_cost(g2)
    for i, j in itertools.product(range(len(g1)), range(len(g2))):
        a = [*g1[:i], g2[j], *g1[i + 1 :]]
        b = [*g2[:j], g1[i], *g2[j + 1 :]]
        if not (costs.group_allowed(a) and costs.group_allowed(b)):
            continue
        if costs.group_cost(a) + costs.group_cost(b) < before:
            g1[:], g2[:] = a, b
            return True
    return False
