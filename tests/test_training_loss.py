"""Training loss: value against a direct evaluation, gradient against finite differences,
tangent (directional) derivative against finite differences, for full, mf and tt."""

from __future__ import annotations

import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

from mtp_lowrank.training import Loss

from conftest import random_atoms, random_potential

FORMATS = ["full", "mf", "tt"]


def dataset(rng, n_species, count=3):
    images = []
    for k in range(count):
        a = random_atoms(rng, n_atoms=6 + 2 * k, n_species=n_species)
        a.calc = SinglePointCalculator(a, energy=rng.normal() * 3, forces=rng.normal(size=(len(a), 3)),
                                       stress=rng.normal(size=6) * 0.01)
        images.append(a)
    return images


@pytest.mark.parametrize("fmt", FORMATS)
def test_loss_value_matches_direct_evaluation(fmt):
    rng = np.random.default_rng(1)
    pot = random_potential(level=8, n_species=2, seed=2, fmt=fmt)
    images = dataset(rng, 2)
    loss = Loss(pot, images, energy_weight=1.0, force_weight=0.01, stress_weight=0.001)
    total = 0.0
    for a in images:
        out = pot.evaluate(a)
        n = len(a)
        de = (out["energy"] - a.get_potential_energy()) / n
        df = out["forces"] - a.get_forces()
        s = a.get_stress(voigt=False)
        dw = (out["virial"] - (-s * a.get_volume())) / n
        total += de**2 + 0.01 * (df**2).sum() + 0.001 * sum(dw[i, j] ** 2 for i in range(3) for j in range(i, 3))
    assert loss.evaluate(pot)["loss"] == pytest.approx(total, rel=1e-12)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("stress", ["virial_per_atom", "stress"])
def test_loss_gradient_matches_finite_differences(fmt, stress):
    rng = np.random.default_rng(3)
    pot = random_potential(level=10, n_species=3, seed=5, fmt=fmt)
    images = dataset(rng, 3)
    sw = 0.001 if stress == "virial_per_atom" else 1e4
    loss = Loss(pot, images, energy_weight=1.0, force_weight=0.05, stress_weight=sw, stress=stress)
    x0 = pot.parameter_vector()
    value, grad = loss(x0)
    h = 1e-6
    fd = np.array([(loss(x0 + h * e)[0] - loss(x0 - h * e)[0]) / (2 * h) for e in np.eye(x0.size)])
    err = np.abs(fd - grad).max() / np.abs(grad).max()
    assert err < 1e-6, err


def test_tangent_is_directional_derivative_of_parameter_gradient():
    pot = random_potential(level=10, n_species=2, seed=7)
    atoms = random_atoms(np.random.default_rng(9), n_atoms=8, n_species=2)
    rng = np.random.default_rng(1)
    v = rng.normal(size=(len(atoms), 3))
    S = rng.normal(size=(3, 3))
    ev = pot.evaluator(1)
    pot.evaluate(atoms, evaluator=ev)
    types = pot.types_of(atoms)
    g, dg = ev.parameter_tangent(types, v, S)

    def full_grad(a):
        e2 = pot.evaluator(1)
        pot.evaluate(a, evaluator=e2)
        return e2.parameter_tangent(types, None, None)[0]

    h = 1e-6
    def moved(eps):
        a = atoms.copy()
        a.positions = atoms.positions + eps * (v + atoms.positions @ S.T)
        a.set_cell(atoms.cell.array + eps * atoms.cell.array @ S.T, scale_atoms=False)
        return a
    fd = (full_grad(moved(h)) - full_grad(moved(-h))) / (2 * h)
    np.testing.assert_allclose(g, full_grad(atoms), rtol=1e-12, atol=1e-12)
    assert np.abs(fd - dg).max() / np.abs(dg).max() < 1e-6


def test_configuration_weights_scale_each_configuration():
    rng = np.random.default_rng(4)
    pot = random_potential(level=8, n_species=2, seed=2, fmt="mf")
    images = dataset(rng, 2)
    kw = dict(energy_weight=1.0, force_weight=0.01, stress_weight=0.001)
    parts = [Loss(pot, [a], **kw).evaluate(pot) for a in images]
    weighted = Loss(pot, images, config_weights=[2.0, 0.0, 0.5], **kw).evaluate(pot)
    assert weighted["loss"] == pytest.approx(2 * parts[0]["loss"] + 0.5 * parts[2]["loss"], rel=1e-12)
    np.testing.assert_allclose(weighted["grad"], 2 * parts[0]["grad"] + 0.5 * parts[2]["grad"], rtol=1e-11,
                               atol=1e-12 * np.abs(weighted["grad"]).max())
    with pytest.raises(ValueError, match="configuration 1: weight -1"):
        Loss(pot, images, config_weights=[1.0, -1.0, 1.0])
