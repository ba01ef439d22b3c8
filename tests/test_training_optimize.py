"""Fitting on tiny data labelled by a known 'teacher' potential: linear least squares recovers
linear parameters exactly; BFGS lowers the loss for full, mf and tt students."""

from __future__ import annotations

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

from mtp_lowrank import Potential
from mtp_lowrank.training import Loss, fit_linear, fit_linear_to_loss, train_bfgs

from conftest import random_atoms, random_potential


def labelled(teacher, count=8, seed=0):
    rng = np.random.default_rng(seed)
    images = []
    for k in range(count):
        a = random_atoms(rng, n_atoms=8 + k % 3, n_species=2)
        out = teacher.evaluate(a)
        a.calc = SinglePointCalculator(a, energy=out["energy"], forces=out["forces"],
                                       stress=out["stress"][[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]])
        images.append(a)
    return images


def test_linear_least_squares_recovers_linear_parameters():
    teacher = random_potential(level=6, n_species=2, seed=1)
    images = labelled(teacher, count=20)
    student = teacher.replace(species_coeffs=np.zeros(2), moment_coeffs=np.zeros(teacher.n_basis_functions))
    fitted = fit_linear(student, images, ridge=0.0)
    np.testing.assert_allclose(fitted.moment_coeffs, teacher.moment_coeffs, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fitted.species_coeffs, teacher.species_coeffs, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("fmt", ["full", "mf", "tt"])
def test_linear_fit_to_the_whole_loss_is_exact(fmt):
    """Forces and stresses alone determine moment_coeffs: the fit to a force+stress loss recovers
    the teacher's, and the gradient in the linear parameters vanishes there."""
    teacher = random_potential(level=6, n_species=2, seed=1, fmt=fmt)
    images = labelled(teacher, count=6)
    student = teacher.replace(species_coeffs=np.zeros(2), moment_coeffs=np.zeros(teacher.n_basis_functions))
    loss = Loss(student, images, energy_weight=0.0, force_weight=1.0, stress_weight=0.1)
    fitted = fit_linear_to_loss(student, loss)  # species_coeffs: zero rows, kept by the ridge
    np.testing.assert_allclose(fitted.moment_coeffs, teacher.moment_coeffs, rtol=1e-7, atol=1e-9)
    with_energy = Loss(student, images, energy_weight=1.0, force_weight=0.01, stress_weight=0.001)
    fitted = fit_linear_to_loss(student, with_energy, ridge=0.0)
    np.testing.assert_allclose(fitted.species_coeffs, teacher.species_coeffs, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(fitted.moment_coeffs, teacher.moment_coeffs, rtol=1e-7, atol=1e-9)
    # off the teacher (noisy labels): the linear part of the gradient vanishes at the solution
    rng = np.random.default_rng(0)
    for a in images:
        a.calc.results["forces"] = a.calc.results["forces"] + rng.normal(size=(len(a), 3))
    noisy = Loss(student, images, energy_weight=1.0, force_weight=0.01, stress_weight=0.001)
    g_start = noisy.evaluate(student)["grad"][:2 + teacher.n_basis_functions]
    g_end = noisy.evaluate(fit_linear_to_loss(student, noisy))["grad"][:2 + teacher.n_basis_functions]
    assert np.abs(g_end).max() < 1e-8 * np.abs(g_start).max()


def test_linear_least_squares_with_fixed_species_coeffs():
    teacher = random_potential(level=6, n_species=2, seed=1)
    images = labelled(teacher, count=20)
    student = teacher.replace(species_coeffs=np.zeros(2), moment_coeffs=np.zeros(teacher.n_basis_functions))
    fitted = fit_linear(student, images, ridge=0.0, fixed_species_coeffs=teacher.species_coeffs)
    np.testing.assert_array_equal(fitted.species_coeffs, teacher.species_coeffs)
    np.testing.assert_allclose(fitted.moment_coeffs, teacher.moment_coeffs, rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="needs 2 values"):
        fit_linear(student, images, fixed_species_coeffs=[1.0])


@pytest.mark.parametrize("fmt", ["full", "mf", "tt"])
def test_bfgs_lowers_the_loss_and_keeps_the_best(fmt):
    teacher = random_potential(level=8, n_species=2, seed=3)
    images = labelled(teacher, count=6, seed=1)
    student = Potential.from_level(8, ["Li", "Na"], min_dist=1.8, max_dist=4.6, radial_basis_size=6, seed=7)
    if fmt == "mf":
        student = student.to_mf(3)
    elif fmt == "tt":
        student = student.to_tt((2, 4, 3))
    student = fit_linear(student, images)
    loss = Loss(student, images, energy_weight=1.0, force_weight=0.01, stress_weight=0.001)
    start = loss.evaluate(student)["loss"]
    seen = []
    result = train_bfgs(student, loss, max_iter=40, callback=seen.append)
    assert result.potential.format == fmt and result.potential.ranks == student.ranks
    assert result.loss < 0.2 * start
    assert result.loss == pytest.approx(loss.evaluate(result.potential)["loss"], rel=1e-12)
    assert result.loss <= min(r["loss"] for r in result.history) * (1 + 1e-12)
    assert seen == result.history and len(seen) == result.iterations


def test_training_is_reproducible_bit_for_bit():
    teacher = random_potential(level=6, n_species=2, seed=2)
    images = labelled(teacher, count=5, seed=2)
    def run():
        student = Potential.from_level(6, ["Li", "Na"], min_dist=1.8, max_dist=4.6, radial_basis_size=6, seed=11)
        loss = Loss(student, images, n_threads=2)
        return train_bfgs(student, loss, max_iter=10).potential.parameter_vector()
    np.testing.assert_array_equal(run(), run())


def test_mfra_grows_rank_and_never_raises_the_loss():
    from mtp_lowrank.training import train_mfra
    from mtp_lowrank.training.rank_augmentation import _radial_gradient, augment_rank

    teacher = random_potential(level=8, n_species=2, seed=3)
    images = labelled(teacher, count=6, seed=1)
    base = Potential.from_level(8, ["Li", "Na"], min_dist=1.8, max_dist=4.6, radial_basis_size=6, seed=7)
    base = fit_linear(base, images)
    loss = Loss(base, images, energy_weight=1.0, force_weight=0.01)
    # one augmentation step alone: rank +1, same function at h = 0, loss not higher
    mf = base.to_mf(1)
    before = loss.for_template(mf).evaluate(mf)["loss"]
    grown, h = augment_rank(mf, loss, 1)
    assert grown.ranks == (2,)
    assert loss.for_template(grown).evaluate(grown)["loss"] <= before
    # ... in the balanced gauge (U^T U = V^T V diagonal), with the product X + h U_d S_d V_d^T
    assert h != 0.0
    u, v = grown.factors
    np.testing.assert_allclose(u.T @ u, v.T @ v, atol=1e-10 * np.linalg.norm(u) ** 2)
    np.testing.assert_allclose(u.T @ u, np.diag(np.diag(u.T @ u)), atol=1e-10 * np.linalg.norm(u) ** 2)
    x = mf.factors[0] @ mf.factors[1].T
    g = _radial_gradient(mf, loss)
    gu, gs, gvt = np.linalg.svd(g)
    np.testing.assert_allclose(u @ v.T, x + h * gs[0] * np.outer(gu[:, 0], gvt[0]), atol=1e-10 * np.abs(x).max())
    # the whole algorithm
    result = train_mfra(base, loss, r_max=3, delta_r=1, s=8, max_iter=40, seed=0)
    assert result.potential.format == "mf" and result.potential.ranks == (3,)
    ranks = [r["rank"] for r in result.history if "rank" in r]
    assert ranks == sorted(ranks) and ranks[0] == 1 and ranks[-1] == 3
    augment = [r for r in result.history if "augmented_with_step" in r]
    assert len(augment) == 2
    losses = [r["loss"] for r in result.history]
    start = loss.for_template(result.potential).evaluate(result.potential)["loss"]
    assert result.loss == pytest.approx(start, rel=1e-12)
    assert result.loss < losses[0]


def test_mfra_augmentation_without_a_descent_step_keeps_the_function(monkeypatch):
    """h = 0 (the 1-D search found nothing lower): the product is unchanged, the new U column is
    zero and the new V column is the gradient's direction at the scale of the existing factors
    (not S_d^1/2, which left the factors orders of magnitude apart)."""
    import scipy.optimize

    from mtp_lowrank.training import rank_augmentation

    teacher = random_potential(level=8, n_species=2, seed=3)
    images = labelled(teacher, count=4, seed=1)
    base = fit_linear(Potential.from_level(8, ["Li", "Na"], min_dist=1.8, max_dist=4.6, radial_basis_size=6, seed=7),
                      images)
    loss = Loss(base, images)
    mf = base.to_mf(2)
    worse = scipy.optimize.OptimizeResult(x=-1.0, fun=np.inf)
    monkeypatch.setattr(rank_augmentation, "minimize_scalar", lambda *a, **k: worse)
    grown, h = rank_augmentation.augment_rank(mf, loss, 1)
    u, v = grown.factors
    assert h == 0.0 and grown.ranks == (3,)
    np.testing.assert_array_equal(u[:, 2], 0.0)
    np.testing.assert_allclose(u @ v.T, mf.factors[0] @ mf.factors[1].T, atol=1e-12)
    smallest = np.linalg.svd(mf.factors[0] @ mf.factors[1].T, compute_uv=False)[1]
    assert np.linalg.norm(v[:, 2]) == pytest.approx(np.sqrt(smallest), rel=1e-10)


def test_error_metrics_are_zero_for_the_teacher_and_match_by_hand():
    from mtp_lowrank.training import errors

    teacher = random_potential(level=6, n_species=2, seed=4)
    images = labelled(teacher, count=4, seed=3)
    for k, a in enumerate(images):
        a.info["group"] = "even" if k % 2 == 0 else "odd"
    zero = errors(teacher, images)
    assert zero["all"]["energy_meV_per_atom"]["rmse"] < 1e-9
    assert zero["all"]["forces_meV_per_A"]["rmse"] < 1e-9 and zero["all"]["stress_GPa"]["rmse"] < 1e-9
    other = teacher.replace(species_coeffs=teacher.species_coeffs + 0.01)   # +10 meV per atom
    err = errors(other, images)
    assert err["all"]["energy_meV_per_atom"]["rmse"] == pytest.approx(10.0, rel=1e-9)
    assert set(err["groups"]) == {"even", "odd"} and err["groups"]["odd"]["energy_meV_per_atom"]["n"] == 2
