"""The friend network as a whole: who carries the most, and which groups of borrowers and
friends hang together (a systemic risk the seed warns about)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Group:
    members: tuple[int, ...]
    exposure: int  # fen friends in the group still cover
    share_bp: int  # of all covered fen in the book


def connected_groups(edges: list[tuple[int, int]], exposure: dict[int, int],
                     top: int = 3) -> list[Group]:
    """Largest groups of people linked by active agreements (in either direction)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    groups: dict[int, list[int]] = defaultdict(list)
    for person in list(parent):
        groups[find(person)].append(person)
    total = sum(exposure.values()) or 1
    found = [Group(tuple(sorted(m)), sum(exposure.get(p, 0) for p in m),
                   sum(exposure.get(p, 0) for p in m) * 10_000 // total)
             for m in groups.values()]
    found.sort(key=lambda g: (-len(g.members), -g.exposure, g.members))
    return found[:top]


def top_friends(exposure: dict[int, int], top: int = 5) -> list[tuple[int, int, int]]:
    """(friend, fen covered, share of all covered fen in basis points), largest first."""
    total = sum(exposure.values()) or 1
    ranked = sorted(exposure.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [(f, fen, fen * 10_000 // total) for f, fen in ranked]
