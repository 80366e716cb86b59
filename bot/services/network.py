"""The shape of a workspace's recognition network, in counts only: how concentrated
recognition is, who got none, and tight closed groups (a clique signal, never with names)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

MIN_GROUP = 3  # a pair who recognise only each other is ordinary collaboration
LORENZ_STEPS = 10


@dataclass(frozen=True)
class Shape:
    """Figures over `people` people; the caller suppresses them when there are too few."""

    people: int
    kudos: int
    top_decile_share: float | None
    gini: float | None
    received_none: int
    closed_groups: list[int]  # sizes, largest first
    lorenz: list[tuple[float, float]]  # (share of people, share of kudos received), poorest first


def recognition_graph(edges: Iterable[tuple[str, str, int]], people: Iterable[str]) -> nx.DiGraph:
    """giver → receiver, weighted by kudos; everyone in `people` is a node, edges or not."""
    import networkx as nx  # here, not at the top: every allybot process starts 70 ms sooner

    graph = nx.DiGraph()
    graph.add_nodes_from(people)
    graph.add_weighted_edges_from(edges)
    return graph


def tight_closed_groups(graph: nx.DiGraph) -> list[set[str]]:
    """Groups of at least MIN_GROUP people who recognise only each other.

    A group is an attracting component of the graph (everyone in it reaches everyone else
    through recognition, and no kudos given by a member goes outside it) in which every two
    members recognised each other at least once, either way (a clique). Kudos received from
    outside do not open a group: the signal is where its members' recognition goes. A group
    of everyone who gave or received kudos is the whole workspace, not a clique.
    """
    import networkx as nx

    active = sum(1 for _, degree in graph.degree() if degree)
    return [
        set(component)
        for component in nx.attracting_components(graph)
        if MIN_GROUP <= len(component) < active and _is_clique(graph, component)
    ]


def _is_clique(graph: nx.DiGraph, members: set[str]) -> bool:
    """Every member linked to every other, either way; stops at the first who is not, so a
    component of thousands of people costs one look at one person."""
    others = len(members) - 1
    for person in members:
        linked = (set(graph.successors(person)) | set(graph.predecessors(person))) & members
        if len(linked - {person}) < others:
            return False
    return True


def gini(values: Sequence[float]) -> float | None:
    """0 when everyone received the same, towards 1 when one person received everything."""
    n, total = len(values), sum(values)
    if n == 0 or total == 0:
        return None
    ranked = sorted(values)
    weighted = sum((i + 1) * v for i, v in enumerate(ranked))
    return 2 * weighted / (n * total) - (n + 1) / n


def top_share(values: Sequence[float], fraction: float = 0.1) -> float | None:
    """The share of all kudos received by the `fraction` of people who received most."""
    total = sum(values)
    if not values or total == 0:
        return None
    top = max(1, math.ceil(len(values) * fraction))
    return sum(sorted(values, reverse=True)[:top]) / total


def lorenz(values: Sequence[float], steps: int = LORENZ_STEPS) -> list[tuple[float, float]]:
    """Points of the Lorenz curve at each 1/steps of the people, for a chart."""
    total = sum(values)
    if not values or total == 0:
        return []
    ranked, n = sorted(values), len(values)
    points = [(0.0, 0.0)]
    for step in range(1, steps + 1):
        k = round(n * step / steps)
        points.append((step / steps, sum(ranked[:k]) / total))
    return points


def shape(graph: nx.DiGraph) -> Shape:
    """Every figure from one graph, computed by networkx where it is a graph question."""
    received = [float(d) for _, d in graph.in_degree(weight="weight")]
    return Shape(
        people=graph.number_of_nodes(),
        kudos=int(sum(received)),
        top_decile_share=top_share(received),
        gini=gini(received),
        received_none=sum(1 for r in received if r == 0),
        closed_groups=sorted((len(g) for g in tight_closed_groups(graph)), reverse=True),
        lorenz=lorenz(received),
    )
