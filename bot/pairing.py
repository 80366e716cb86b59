"""Who meets whom in an intros round. Pure and deterministic for a seed.

The rules, in order of weight:
1. Nobody is grouped with someone on their "never" list, or whose list they are on.
2. Everyone eligible is in exactly one group when that is possible at all (those who cannot
   be placed are returned as left out, with why).
3. Groups of the chosen size (2, 3 or 4) whatever the count (`group_sizes`): the remainder
   joins groups one person each (pairs: one trio when the count is odd), never a group of
   one.
4. No pair meets again while a grouping without repeats exists (full history counts).
5. Among the rest, pairs with the least contact in allybot's records are preferred.
6. Newcomers (their first rounds) are placed first, and preferably with the people whose
   recognition reaches the most others (`breadth`); nobody is told why.

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

import networkx as nx

Pair = frozenset[str]

EXACT_LIMIT = 200  # people matched exactly in one go (well under a second)
SMALL_ODD = 24  # odd pools up to this size try every trio when the first guess repeats
TRIO_TRIES = 300
GREEDY_LOOKAHEAD = 50  # candidates a large pool's greedy pass weighs for each person
MAX_CONTACT = 9  # contact counts above this all weigh the same

ALONE = "alone"  # the pool had nobody else
NO_MATCH = "no_match"  # nobody left could be grouped with them


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


@dataclass
class _Costs:
    never: frozenset[Pair] | set[Pair]
    history: Mapping[Pair, int]
    contact: Mapping[Pair, int]
    repeat: int  # one repeat weighs more than any total of contact
    newcomers: frozenset[str] = frozenset()
    welcome: Mapping[str, int] = field(default_factory=dict)  # 0..base: a newcomer's partner
    base: int = 0  # added to every pair when newcomers are in the pool, less `welcome`

    def floor(self, person: str) -> int:
        """The least a pair with `person` can cost: a candidate at it can't be bettered."""
        if person in self.newcomers:
            return self.base - max(self.welcome.values(), default=0)
        return self.base

    def allowed(self, a: str, b: str) -> bool:
        return a != b and pair_of(a, b) not in self.never

    def repeats(self, a: str, b: str) -> int:
        return self.history.get(pair_of(a, b), 0)

    def cost(self, a: str, b: str) -> int:
        """0 for a new pair with no contact; a repeat costs `repeat` per earlier meeting."""
        p = pair_of(a, b)
        cost = self.repeat * self.history.get(p, 0) + min(self.contact.get(p, 0), MAX_CONTACT)
        if not self.base:
            return cost
        if (a in self.newcomers) != (b in self.newcomers):
            other = b if a in self.newcomers else a
            return cost + self.base - self.welcome.get(other, 0)
        return cost + self.base

    def group_cost(self, group: Iterable[str]) -> int:
        return sum(self.cost(a, b) for a, b in itertools.combinations(list(group), 2))

    def group_repeats(self, group: Iterable[str]) -> int:
        return sum(self.repeats(a, b) for a, b in itertools.combinations(list(group), 2))

    def group_allowed(self, group: Iterable[str]) -> bool:
        return all(self.allowed(a, b) for a, b in itertools.combinations(list(group), 2))


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
) -> Pairing:
    """Group `people` for one round (see the module docstring for the rules).

    `never` holds unordered pairs (a "never" either way), `history` how many times each pair
    met in earlier rounds, `contact` how much contact each pair had in allybot's records,
    `newcomers` who is in their first rounds and `breadth` how many people each person's
    recognition reached lately.
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
        repeat=(MAX_CONTACT + base + 1) * (len(order) + 1),
        newcomers=fresh,
        welcome=welcome,
        base=base,
    )
    if len(order) < 2:
        return Pairing(groups=[], left_out={p: ALONE for p in order})
    if group_size > 2:
        return _groups(order, costs, group_size)
    return _twos(order, costs)


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
    if best is not None and not any(costs.group_repeats(g) for g in candidate):
        return candidate
    if len(order) <= SMALL_ODD:
        searched = _search_trio(order, costs)
        if searched is not None and _score(searched, order, costs) < _score(
            candidate, order, costs
        ):
            return searched
    return candidate


def _score(groups: list[tuple[str, ...]], order: list[str], costs: _Costs) -> tuple[int, int]:
    """(people left out, repeats): what a grouping is judged by first."""
    placed = sum(len(g) for g in groups)
    return len(order) - placed, sum(costs.group_repeats(g) for g in groups)


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
    top = costs.repeat * (
        1 + max((costs.repeats(a, b) for a, b in _edges(order, costs)), default=0)
    )
    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(order)
    for a, b in _edges(order, costs):
        graph.add_edge(a, b, weight=top + 1 - costs.cost(a, b))
    matching = nx.max_weight_matching(graph, maxcardinality=True)
    rank = {p: i for i, p in enumerate(order)}
    pairs = [(a, b) if rank[a] < rank[b] else (b, a) for a, b in matching]
    return sorted(pairs, key=lambda p: rank[p[0]])


def _edges(order: Sequence[str], costs: _Costs) -> Iterable[tuple[str, str]]:
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            if costs.allowed(a, b):
                yield a, b


def _greedy(order: list[str], costs: _Costs) -> list[tuple[str, str]]:
    """Each person in the seeded order takes the best of the next few still free."""
    free = dict.fromkeys(order)  # insertion-ordered set
    pairs: list[tuple[str, str]] = []
    for person in order:
        if person not in free:
            continue
        del free[person]
        best: tuple[int, str] | None = None
        for seen, other in enumerate(free):
            if not costs.allowed(person, other):
                continue
            c = costs.cost(person, other)
            if best is None or c < best[0]:
                best = (c, other)
            if c <= costs.floor(person) or (seen >= GREEDY_LOOKAHEAD and best[0] < costs.repeat):
                break
        if best is not None:
            del free[best[1]]
            pairs.append((person, best[1]))
        else:
            free[person] = None  # nobody allowed now; the repair looks again
    return pairs


def _repair(order: list[str], pairs: list[tuple[str, str]], costs: _Costs) -> list[tuple[str, str]]:
    """Re-match the people in repeated pairs, and those left free, exactly, together with a
    seeded sample of other pairs that gives them new people to meet."""
    matched = {p for pair in pairs for p in pair}
    troubled = [pair for pair in pairs if costs.repeats(*pair)]
    free = [p for p in order if p not in matched]
    if not troubled and len(free) < 2:
        return pairs
    fine = [pair for pair in pairs if not costs.repeats(*pair)]
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
    free = dict.fromkeys(order)
    groups: list[list[str]] = []
    left: dict[str, str] = {}
    sizes = group_sizes(len(order), size)
    largest = max(sizes, default=size)
    for want in sizes:
        while free:
            first = next(iter(free))
            del free[first]
            group = [first]
            while len(group) < want:
                best: tuple[int, str] | None = None
                for seen, other in enumerate(free):
                    if not all(costs.allowed(m, other) for m in group):
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
                del free[best[1]]
                group.append(best[1])
            if len(group) >= 2:
                groups.append(group)
                break
            left[first] = NO_MATCH
    for person in free:  # only when people were left out above and sizes ran short
        target = min(
            (g for g in groups if len(g) < largest and costs.group_allowed([*g, person])),
            key=lambda g: costs.group_cost([*g, person]),
            default=None,
        )
        if target is None:
            left[person] = NO_MATCH
        else:
            target.append(person)
    _improve(groups, costs)
    return Pairing(groups=[tuple(g) for g in groups], left_out=left)


def _improve(groups: list[list[str]], costs: _Costs, passes: int = 3) -> None:
    """Swap members between a costly group and others while the total cost falls."""
    for _ in range(passes):
        changed = False
        for g1 in groups:
            if costs.group_cost(g1) == 0:
                continue
            for g2 in groups:
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
