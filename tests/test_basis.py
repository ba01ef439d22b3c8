"""Basis generation: counts per level, compiled programs against direct tensor contraction,
and graph-for-graph equality with MLIP's own tables."""

from __future__ import annotations

import itertools
import string

import numpy as np
import pytest

from mtp_lowrank import Potential
from mtp_lowrank.basis import default_radial_funcs_count, enumerate_graphs, generate_program

from conftest import shared_file

MLIP_COUNTS = {2: 1, 4: 2, 6: 5, 8: 9, 10: 16, 12: 29, 14: 52, 16: 92, 18: 163, 20: 288,
               22: 500, 24: 864, 26: 1464, 28: 2445}


@pytest.mark.parametrize("level", sorted(MLIP_COUNTS))
def test_basis_counts_match_mlip(level):
    assert len(enumerate_graphs(level)) == MLIP_COUNTS[level]


def test_radial_funcs_count_rule():
    assert [default_radial_funcs_count(L) for L in (2, 6, 10, 14, 16, 18, 22, 26, 28)] == [1, 2, 3, 4, 4, 5, 6, 6, 6]


def test_caps_are_options():
    assert len(enumerate_graphs(10, max_factors=2)) < len(enumerate_graphs(10))
    assert all(len(g.labels) <= 2 for g in enumerate_graphs(12, max_factors=2))
    assert all(mu <= 1 for g in enumerate_graphs(16, max_mu=1) for mu, _ in g.labels)
    assert len(enumerate_graphs(16, max_factors=5)) > MLIP_COUNTS[16]


def eval_program(basic, times, scalar_map, moments_count, f, rhat):
    """Direct evaluation of an alpha program: f (n, N_f) radial values, rhat (n, 3)."""
    m = np.zeros(moments_count)
    for b, (mu, a, bb, c) in enumerate(basic):
        m[b] = np.sum(f[:, mu] * rhat[:, 0] ** a * rhat[:, 1] ** bb * rhat[:, 2] ** c)
    for i, j, mult, k in times:
        m[k] += mult * m[i] * m[j]
    return m[np.asarray(scalar_map)]


def moment_tensor(f_mu, rhat, nu):
    t = f_mu.copy().reshape(-1)
    out = np.einsum("j->", t) if nu == 0 else None
    if nu == 0:
        return out
    terms = [rhat] * nu
    letters = string.ascii_lowercase[:nu]
    spec = ",".join("z" + l for l in letters)
    return np.einsum("z," + spec + "->" + letters, f_mu, *terms)


def graph_value(graph, f, rhat):
    """Full contraction of the graph's moment tensors by einsum, one index letter per edge."""
    k = len(graph.labels)
    letters = iter(string.ascii_letters)
    vertex_idx = [[] for _ in range(k)]
    for i, j in itertools.combinations(range(k), 2):
        for _ in range(graph.edge(i, j)):
            l = next(letters)
            vertex_idx[i].append(l)
            vertex_idx[j].append(l)
    tensors = [moment_tensor(f[:, mu], rhat, nu) for mu, nu in graph.labels]
    spec = ",".join("".join(v) for v in vertex_idx) + "->"
    return float(np.einsum(spec, *tensors))


@pytest.mark.parametrize("level", [2, 4, 6, 8, 10, 12, 14])
def test_program_equals_direct_contraction(level):
    rng = np.random.default_rng(level)
    prog = generate_program(level)
    n_f = default_radial_funcs_count(level)
    f = rng.normal(size=(7, n_f))
    v = rng.normal(size=(7, 3))
    rhat = v / np.linalg.norm(v, axis=1)[:, None]
    got = eval_program(prog.basic, prog.times, prog.scalar_map, prog.moments_count, f, rhat)
    want = np.array([graph_value(g, f, rhat) for g in prog.graphs])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


def _same_functions(theirs, ours, n_f, seed):
    """Every function of `theirs` equals exactly one of `ours` on random environments."""
    rng = np.random.default_rng(seed)
    vals_t, vals_o = [], []
    for _ in range(3):
        f = rng.normal(size=(6, n_f))
        v = rng.normal(size=(6, 3))
        rhat = v / np.linalg.norm(v, axis=1)[:, None]
        vals_t.append(eval_program(*theirs, f, rhat))
        vals_o.append(eval_program(*ours, f, rhat))
    vt, vo = np.array(vals_t).T, np.array(vals_o).T  # (n_alpha, 3)
    assert vt.shape == vo.shape
    unmatched = list(range(len(vo)))
    for row in vt:
        hits = [k for k in unmatched if np.allclose(vo[k], row, rtol=1e-9, atol=1e-12)]
        assert len(hits) >= 1, "an MLIP basis function has no counterpart"
        unmatched.remove(hits[0])
    assert not unmatched


def _tables(pot):
    c = pot._core
    return c.alpha_index_basic, c.alpha_index_times, c.alpha_moment_mapping, c.moments_count


def test_level16_graph_for_graph_with_mlip_tables():
    mlip = Potential.load(shared_file("bench", "flinak_l16_timing.mtp"))
    assert mlip.level == 16
    prog = generate_program(16)
    ours = (prog.basic, prog.times, prog.scalar_map, prog.moments_count)
    _same_functions(_tables(mlip), ours, 4, seed=1)


def test_level6_graph_for_graph_with_mlip3_file():
    mlip = Potential.load(shared_file("data", "mlip3", "pot.almtp"))
    assert mlip.level == 6
    prog = generate_program(6)
    _same_functions(_tables(mlip), (prog.basic, prog.times, prog.scalar_map, prog.moments_count), 2, seed=2)


def test_level28_generates():
    prog = generate_program(28)
    assert len(prog.scalar_map) == 2445
    assert prog.basic[:, 0].max() == 5 and prog.basic[:, 1:].sum(axis=1).max() <= 10
