"""Moment-tensor basis generation from the level alone.

A scalar basis function is a full contraction of a product of moment tensors M_{mu,nu}. It is a
multigraph: vertices are moment tensors M_{mu,nu} of degree nu, each edge contracts one index of
one vertex with one index of another (no loops, multi-edges allowed, disconnected products
allowed). MLIP's basis of level L is every non-isomorphic such graph with at most 4 vertices,
mu <= 5, nu <= 10 and sum over vertices of (2 + 4 mu + nu) <= L; the caps are options here.

Each graph is compiled into MLIP's "alpha" program (basic moment components, pairwise products
with integer multiplicities, and a scalar map), sharing every intermediate between graphs:

* vertices of a connected graph are absorbed one at a time into an intermediate tensor T_S;
* T_S keeps, for every outside vertex w, the group of its free indices that lead to w in
  *summed* form (the sum over all index tuples with the same exponent (a, b, c)) - the tensor's
  polynomial coefficients. Contracting a summed group with a plain symmetric moment and merging
  groups then only needs integer coefficients (multinomials), as MLIP's format requires;
* every scalar of the program is hash-consed on its formula, so identical intermediates reached
  from different graphs are computed once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from math import factorial

import numpy as np

__all__ = [
    "BasisGraph",
    "MomentProgram",
    "enumerate_graphs",
    "generate_program",
    "default_radial_funcs_count",
    "moment_level",
]


def moment_level(mu: int, nu: int) -> int:
    """lev M_{mu,nu} = 2 + 4 mu + nu."""
    return 2 + 4 * mu + nu


def default_radial_funcs_count(level: int) -> int:
    """MLIP's N_f for a level-L basis: min(floor((L - 2) / 4), 5) + 1."""
    return min((level - 2) // 4, 5) + 1


@dataclass(frozen=True)
class BasisGraph:
    """A contraction multigraph: vertex labels (mu, nu), sorted, and edge multiplicities
    `edges[(i, j)]` for i < j, stored as a tuple over all pairs in lexicographic order."""

    labels: tuple[tuple[int, int], ...]
    adjacency: tuple[int, ...]

    @property
    def level(self) -> int:
        return sum(moment_level(mu, nu) for mu, nu in self.labels)

    def edge(self, i: int, j: int) -> int:
        if i == j:
            return 0
        i, j = min(i, j), max(i, j)
        return self.adjacency[_pair_index(len(self.labels), i, j)]

    def components(self) -> list[list[int]]:
        k = len(self.labels)
        parent = list(range(k))

        def find(a):
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for i, j in itertools.combinations(range(k), 2):
            if self.edge(i, j):
                parent[find(i)] = find(j)
        groups: dict[int, list[int]] = {}
        for v in range(k):
            groups.setdefault(find(v), []).append(v)
        return sorted(groups.values())


@lru_cache(maxsize=None)
def _pair_index(k: int, i: int, j: int) -> int:
    return _pairs(k).index((i, j))


@lru_cache(maxsize=None)
def _pairs(k: int) -> tuple[tuple[int, int], ...]:
    return tuple(itertools.combinations(range(k), 2))


def _adjacencies(degrees: tuple[int, ...]):
    """All symmetric zero-diagonal non-negative integer matrices with the given row sums,
    as tuples over _pairs(k)."""
    k = len(degrees)
    pairs = _pairs(k)
    values = [0] * len(pairs)
    rem = list(degrees)

    def rec(p: int):
        if p == len(pairs):
            if all(r == 0 for r in rem):
                yield tuple(values)
            return
        i, j = pairs[p]
        last_for_i = p + 1 == len(pairs) or pairs[p + 1][0] != i
        lo = rem[i] if last_for_i else 0
        for m in range(lo, min(rem[i], rem[j]) + 1):
            values[p] = m
            rem[i] -= m
            rem[j] -= m
            yield from rec(p + 1)
            rem[i] += m
            rem[j] += m
        values[p] = 0

    if k == 1:
        if degrees[0] == 0:
            yield ()
        return
    yield from rec(0)


@lru_cache(maxsize=None)
def _label_permutations(labels: tuple[tuple[int, int], ...]):
    k = len(labels)
    return [s for s in itertools.permutations(range(k)) if all(labels[s[v]] == labels[v] for v in range(k))]


def _canonical(labels, adjacency) -> tuple[int, ...]:
    k = len(labels)
    pairs = _pairs(k)
    index = {p: n for n, p in enumerate(pairs)}
    best = None
    for s in _label_permutations(labels):
        cand = tuple(adjacency[index[(min(s[i], s[j]), max(s[i], s[j]))]] for i, j in pairs)
        if best is None or cand < best:
            best = cand
    return best


def enumerate_graphs(level: int, max_factors: int = 4, max_mu: int = 5, max_nu: int = 10) -> list[BasisGraph]:
    """Every non-isomorphic contraction multigraph of level <= `level` (see module docstring),
    ordered by level, then number of vertices, then labels."""
    labels = [
        (mu, nu)
        for mu in range(max_mu + 1)
        for nu in range(max_nu + 1)
        if moment_level(mu, nu) <= level
    ]
    labels.sort()
    graphs: list[BasisGraph] = []
    for k in range(1, max_factors + 1):
        for combo in itertools.combinations_with_replacement(labels, k):
            if sum(moment_level(*lab) for lab in combo) > level:
                continue
            degrees = tuple(nu for _, nu in combo)
            if sum(degrees) % 2:
                continue
            seen = set()
            for adj in _adjacencies(degrees):
                canon = _canonical(combo, adj)
                if canon not in seen:
                    seen.add(canon)
                    graphs.append(BasisGraph(combo, canon))
    graphs.sort(key=lambda g: (g.level, len(g.labels), g.labels, g.adjacency))
    return graphs


# ---- compilation into MLIP's alpha program ----------------------------------------------------


@lru_cache(maxsize=None)
def _exponents(order: int) -> tuple[tuple[int, int, int], ...]:
    """Exponent triples (a, b, c), a + b + c = order, in MLIP's order (a descending, then b)."""
    return tuple((a, b, order - a - b) for a in range(order, -1, -1) for b in range(order - a, -1, -1))


@lru_cache(maxsize=None)
def _multinomial(e: tuple[int, int, int]) -> int:
    return factorial(sum(e)) // (factorial(e[0]) * factorial(e[1]) * factorial(e[2]))


def _add(e, f):
    return (e[0] + f[0], e[1] + f[1], e[2] + f[2])


@dataclass
class MomentProgram:
    """MLIP's alpha tables (see cpp/include/mtp/moment_program.h)."""

    moments_count: int
    basic: np.ndarray  # (n_basic, 4) int: mu, a, b, c
    times: np.ndarray  # (n_times, 4) int: i, j, mult, k
    scalar_map: np.ndarray  # (n_alpha,) int
    graphs: list[BasisGraph] | None = None  # one per scalar, when generated here


class _Builder:
    """Hash-consed program under construction. Node ids: basic moments and products share one
    id space; they are renumbered MLIP-style (basic first) by `finish`."""

    def __init__(self):
        self.basic_ids: dict[tuple[int, int, int, int], int] = {}
        self.formula_ids: dict[tuple, int] = {}
        self.formulas: list[tuple] = []  # creation order of product nodes
        self.node_formula: dict[int, tuple] = {}
        self.next_id = 0

    def basic(self, mu: int, e: tuple[int, int, int]) -> int:
        key = (mu, *e)
        if key not in self.basic_ids:
            self.basic_ids[key] = self.next_id
            self.next_id += 1
        return self.basic_ids[key]

    def product(self, terms: dict[tuple[int, int], int]) -> int:
        """Node = sum over (i, j) of mult * m_i * m_j."""
        formula = tuple(sorted((i, j, c) for (i, j), c in terms.items() if c != 0))
        node = self.formula_ids.get(formula)
        if node is None:
            node = self.next_id
            self.next_id += 1
            self.formula_ids[formula] = node
            self.formulas.append((node, formula))
        return node

    def connected_scalar(self, labels, edge) -> int:
        """Scalar of a connected graph given labels and an edge(i, j) function; vertices are
        absorbed in the order of `labels`' indices as given by `_order`."""
        k = len(labels)
        if k == 1:
            return self.basic(labels[0][0], (0, 0, 0))
        order = _order(labels, edge)
        v0 = order[0]
        outside = [w for w in order[1:]]
        # T maps a key (exponent triple per outside vertex, in `outside` order) to (coef, node).
        groups = [edge(v0, w) for w in outside]
        T: dict[tuple, tuple[int, int]] = {}
        for parts in itertools.product(*[_exponents(g) for g in groups]):
            total = (0, 0, 0)
            coef = 1
            for e in parts:
                total = _add(total, e)
                coef *= _multinomial(e)
            T[parts] = (coef, self.basic(labels[v0][0], total))
        for step, u in enumerate(order[1:]):
            rest = outside[1:]
            mu_u = labels[u][0]
            u_groups = [edge(u, w) for w in rest]
            u_parts = [
                (parts, int(np.prod([_multinomial(e) for e in parts])) if parts else 1)
                for parts in itertools.product(*[_exponents(g) for g in u_groups])
            ]
            acc: dict[tuple, dict[tuple[int, int], int]] = {}
            for key, (coef, node) in T.items():
                e_u, key_rest = key[0], key[1:]
                for parts, mult in u_parts:
                    total = e_u
                    for e in parts:
                        total = _add(total, e)
                    b = self.basic(mu_u, total)
                    new_key = tuple(_add(a, e) for a, e in zip(key_rest, parts))
                    pair = (min(node, b), max(node, b))
                    terms = acc.setdefault(new_key, {})
                    terms[pair] = terms.get(pair, 0) + coef * mult
            T = {key: (1, self.product(terms)) for key, terms in acc.items()}
            outside = rest
        ((coef, node),) = T.values()
        assert coef == 1
        return node

    def graph_scalar(self, graph: BasisGraph) -> int:
        scalars = []
        for comp in graph.components():
            labels = [graph.labels[v] for v in comp]
            scalars.append(self.connected_scalar(labels, lambda i, j, c=comp: graph.edge(c[i], c[j])))
        scalars.sort()
        node = scalars[0]
        for s in scalars[1:]:
            node = self.product({(min(node, s), max(node, s)): 1})
        return node

    def finish(self, scalar_nodes: list[int]) -> MomentProgram:
        basic_keys = sorted(self.basic_ids, key=lambda key: (key[0], sum(key[1:]), _exponents(sum(key[1:])).index(key[1:])))
        renumber = {self.basic_ids[key]: n for n, key in enumerate(basic_keys)}
        for n, (node, _) in enumerate(self.formulas):
            renumber[node] = len(basic_keys) + n
        times = [
            (renumber[i], renumber[j], c, renumber[node])
            for node, formula in self.formulas
            for i, j, c in formula
        ]
        return MomentProgram(
            moments_count=len(renumber),
            basic=np.array(basic_keys, dtype=np.int32).reshape(-1, 4),
            times=np.array(times, dtype=np.int32).reshape(-1, 4),
            scalar_map=np.array([renumber[s] for s in scalar_nodes], dtype=np.int32),
        )


def _order(labels, edge) -> list[int]:
    """Vertex absorption order for a connected graph: the connected order with the smallest
    total intermediate size, ties broken by labels (so that equal subgraphs share work)."""
    k = len(labels)
    best = None
    for perm in itertools.permutations(range(k)):
        cost = 0
        ok = True
        for s in range(1, k):
            inside = perm[:s]
            if not any(edge(perm[s], v) for v in inside):
                ok = False
                break
            size = 1
            for w in perm[s:]:
                g = sum(edge(v, w) for v in inside)
                size *= (g + 1) * (g + 2) // 2
            cost += size
        if not ok:
            continue
        key = (cost, [labels[v] for v in perm])
        if best is None or key < best[0]:
            best = (key, list(perm))
    return best[1]


def generate_program(level: int, max_factors: int = 4, max_mu: int = 5, max_nu: int = 10) -> MomentProgram:
    """Compile the level-`level` basis into MLIP's alpha program."""
    graphs = enumerate_graphs(level, max_factors, max_mu, max_nu)
    builder = _Builder()
    scalars = [builder.graph_scalar(g) for g in graphs]
    program = builder.finish(scalars)
    program.graphs = graphs
    return program
