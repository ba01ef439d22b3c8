"""The curvature penalty on the radial functions: its matrix, its gradient in every stored
representation, and what it is for (tame radial functions where the data says nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from mtp_lowrank.training import Loss, fit_linear
from mtp_lowrank.training.regularization import RadialSmoothness, curvature_matrix

from conftest import random_potential
from test_training_optimize import labelled


def test_curvature_matrix_is_the_integral_of_second_derivatives():
    lo, hi, nb, sc = 1.8, 4.6, 6, 1.3
    k = curvature_matrix(lo, hi, nb, sc)
    r = np.linspace(lo, hi, 200001)
    xi = (2 * r - lo - hi) / (hi - lo)
    phi = np.array([sc * np.polynomial.chebyshev.chebval(xi, np.eye(nb)[b]) * (hi - r) ** 2 for b in range(nb)])
    d2 = np.gradient(np.gradient(phi, r, axis=1), r, axis=1)
    numeric = np.trapezoid(d2[:, None, 5:-5] * d2[None, :, 5:-5], r[5:-5], axis=2)
    np.testing.assert_allclose(k, numeric, rtol=2e-3, atol=1e-6 * np.abs(k).max())
    assert np.all(np.linalg.eigvalsh(k) > -1e-9 * np.abs(k).max())   # positive semidefinite


@pytest.mark.parametrize("fmt", ["full", "mf", "tt"])
def test_penalised_loss_gradient_matches_finite_differences(fmt):
    pot = random_potential(level=8, n_species=2, seed=2, fmt=fmt)
    images = labelled(random_potential(level=8, n_species=2, seed=9), count=3, seed=4)
    plain = Loss(pot, images)
    loss = Loss(pot, images, radial_smoothness=0.3)
    x = pot.parameter_vector()
    f, g = loss(x)
    assert f > plain(x)[0]
    n_lin = pot.n_species + pot.n_basis_functions
    rng = np.random.default_rng(0)
    for k in rng.choice(np.arange(n_lin, len(x)), 6, replace=False):
        h = 1e-6 * max(1.0, abs(x[k]))
        e = np.zeros_like(x)
        e[k] = h
        fd = (loss(x + e)[0] - loss(x - e)[0]) / (2 * h)
        assert fd == pytest.approx(g[k], rel=1e-5, abs=1e-6 * np.abs(g).max())


def test_penalty_is_the_curvature_of_the_radial_functions():
    pot = random_potential(level=8, n_species=2, seed=2)
    penalty, _ = RadialSmoothness.for_potential(1.0, pot).value_and_grad(pot.radial_coeffs)
    a = pot.radial_coeffs[0, 1, 1]   # one radial function, pair (0, 1), mu = 1
    k = curvature_matrix(pot.min_dist, pot.max_dist, pot.radial_basis_size, pot.scaling)
    assert penalty > a @ k @ a > 0
    straight = pot.replace(factors=[np.zeros_like(pot.radial_coeffs)])
    assert RadialSmoothness.for_potential(1.0, straight).value_and_grad(straight.radial_coeffs)[0] == 0.0


def test_training_with_the_penalty_keeps_radial_functions_tame_where_no_data_is(tmp_path, capsys):
    """Training data whose shortest distance is far above min_dist: the radial functions below it
    are unconstrained. With the penalty they stay much smaller there than without."""
    from mtp_lowrank.training import train_bfgs

    teacher = random_potential(level=8, n_species=2, seed=5, min_dist=1.0)
    teacher = teacher.replace(moment_coeffs=teacher.moment_coeffs * 0.05)
    images = labelled(teacher, count=12, seed=3)        # atoms >= 1.9 A apart
    student = fit_linear(random_potential(level=8, n_species=2, seed=6, min_dist=1.0), images)

    def trained(strength):
        return train_bfgs(student, Loss(student, images, radial_smoothness=strength), max_iter=60).potential

    def swing(pot):  # largest |f_mu(r)| for r in [min_dist, 1.6], below every distance in the data
        r = np.linspace(pot.min_dist, 1.6, 50)
        xi = (2 * r - pot.min_dist - pot.max_dist) / (pot.max_dist - pot.min_dist)
        phi = np.array([pot.scaling * np.polynomial.chebyshev.chebval(xi, np.eye(pot.radial_basis_size)[b])
                        * (pot.max_dist - r) ** 2 for b in range(pot.radial_basis_size)])
        return np.abs(pot.radial_coeffs @ phi).max()

    free, smooth = trained(0.0), trained(1e-2)
    k = curvature_matrix(free.min_dist, free.max_dist, free.radial_basis_size, free.scaling)
    curvature = [float(np.sum((p.radial_coeffs @ k) * p.radial_coeffs)) for p in (free, smooth)]
    assert curvature[1] < 0.5 * curvature[0]
    assert swing(smooth) < 0.7 * swing(free)
