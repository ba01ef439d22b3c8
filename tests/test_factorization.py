"""MF/TT factorizations: evaluation from factors equals evaluation from the reconstructed C,
exact reconstruction at full rank, and the paper's parameter counts."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mtp_lowrank.factorization import (mf_balance, mf_from_full, mf_to_full, tt_from_full, tt_max_ranks,
                                       tt_to_full)

from conftest import random_atoms, random_potential


@pytest.mark.parametrize("convert", [lambda p: p.to_mf(3), lambda p: p.to_tt((3, 5, 2))])
def test_factors_evaluate_like_reconstructed_full(convert):
    pot = convert(random_potential(level=12, n_species=3, seed=2))
    full = pot.to_full()
    np.testing.assert_array_equal(full.radial_coeffs, pot.radial_coeffs)
    atoms = random_atoms(np.random.default_rng(4), n_atoms=14, n_species=3)
    a, b = pot.evaluate(atoms), full.evaluate(atoms)
    assert a["energy"] == pytest.approx(b["energy"], rel=1e-12)
    np.testing.assert_allclose(a["forces"], b["forces"], rtol=0, atol=1e-12 * np.abs(b["forces"]).max())
    np.testing.assert_allclose(a["stress"], b["stress"], rtol=0, atol=1e-12 * np.abs(b["stress"]).max())


def test_full_rank_factorizations_are_exact():
    c = np.random.default_rng(0).normal(size=(3, 3, 4, 6))
    u, v = mf_from_full(c, 9)
    np.testing.assert_allclose(mf_to_full(u, v, c.shape), c, atol=1e-12)
    cores = tt_from_full(c, tt_max_ranks(c.shape))
    np.testing.assert_allclose(tt_to_full(cores), c, atol=1e-12)
    # ranks above the exact ones are zero-padded and still exact
    np.testing.assert_allclose(tt_to_full(tt_from_full(c, (5, 10, 7))), c, atol=1e-12)


def test_truncation_error_decreases_with_rank():
    c = np.random.default_rng(1).normal(size=(4, 4, 4, 8))
    errs = [np.linalg.norm(mf_to_full(*mf_from_full(c, r), c.shape) - c) for r in (1, 2, 4, 8, 16)]
    assert all(x >= y - 1e-12 for x, y in zip(errs, errs[1:])) and errs[-1] < 1e-10


def test_mf_balance_keeps_the_product_and_equalises_the_factors():
    rng = np.random.default_rng(0)
    u = rng.normal(size=(16, 4)) * np.array([10.0, 1e-3, 1e-5, 1.0])
    v = rng.normal(size=(48, 4)) * np.array([0.1, 300.0, 1e3, 1.0])
    bu, bv = mf_balance(u, v)
    np.testing.assert_allclose(bu @ bv.T, u @ v.T, atol=1e-12 * np.abs(u @ v.T).max())
    s = np.linalg.svd(u @ v.T, compute_uv=False)[:4]
    np.testing.assert_allclose(bu.T @ bu, np.diag(s), atol=1e-10 * s[0])
    np.testing.assert_allclose(bv.T @ bv, np.diag(s), atol=1e-10 * s[0])


def test_parameter_counts_follow_the_paper():
    pot = random_potential(level=16, n_species=4, radial_basis_size=8)
    nt, nf, nb = 4, 4, 8
    assert pot.parameter_count() == nt * nt * nf * nb == 512
    assert pot.to_mf(5).parameter_count() == 5 * (nt * nt + nf * nb) == 240
    r = (4, 8, 4)
    assert pot.to_tt(r).parameter_count() == 1 * nt * 4 + 4 * nt * 8 + 8 * nf * 4 + 4 * nb * 1 == 304
    assert pot.parameter_count("moment") == 92 and pot.parameter_count("species") == 4
    assert pot.parameter_count("all") == 512 + 92 + 4


def test_radial_coefficient_shape_errors():
    pot = random_potential(level=6, n_species=2)
    with pytest.raises(ValueError, match="U .* has 20 numbers, its shape needs"):
        pot.replace(factors=[np.zeros((4, 5)), np.zeros((pot.radial_funcs_count * pot.radial_basis_size, 4))],
                    format="mf", ranks=[4])


@pytest.mark.parametrize("convert,message", [
    (lambda p: p.to_mf(p.max_mf_rank() + 1), "MF rank must be between 1 and 4"),
    (lambda p: p.to_mf(2.5), "MF rank must be a whole number, got 2.5"),
    (lambda p: p.to_mf(0), "MF rank must be between 1 and 4"),
    (lambda p: p.to_tt((2, 5, 2)), "TT rank r2 must be between 1 and 4"),
    (lambda p: p.to_tt((2, 2)), "TT ranks must be three whole numbers"),
])
def test_ranks_above_the_largest_useful_one_are_refused(convert, message):
    pot = random_potential(level=8, n_species=2)
    assert pot.max_mf_rank() == 4 and pot.max_tt_ranks() == (2, 4, 6)
    with pytest.raises(ValueError, match=re.escape(message)):
        convert(pot)
    assert pot.to_mf(2.0).ranks == (2,)   # a whole float is a rank


def test_mfra_refuses_a_rank_above_the_largest_useful_one():
    from mtp_lowrank.training import Loss, train_mfra

    pot = random_potential(level=6, n_species=2)
    with pytest.raises(ValueError, match="MF rank must be between 1 and 4"):
        train_mfra(pot, Loss(pot, []), r_max=500)
