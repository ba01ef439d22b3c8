"""Physics of Potential.evaluate: finite differences, invariances, periodic images, cutoff
smoothness, for full, mf and tt radial coefficients."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from scipy.spatial.transform import Rotation

from conftest import random_atoms, random_potential, strain_derivative

FORMATS = ["full", "mf", "tt"]


def energy(pot, atoms):
    return pot.evaluate(atoms, forces=False)["energy"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n_species", [1, 2, 4])
def test_forces_match_finite_differences(fmt, n_species):
    rng = np.random.default_rng(n_species)
    pot = random_potential(level=12, n_species=n_species, seed=n_species, fmt=fmt)
    atoms = random_atoms(rng, n_atoms=10, n_species=n_species)
    forces = pot.evaluate(atoms)["forces"]
    h = 1e-5
    fd = np.zeros_like(forces)
    for i in range(len(atoms)):
        for d in range(3):
            p = atoms.copy()
            p.positions[i, d] += h
            m = atoms.copy()
            m.positions[i, d] -= h
            fd[i, d] = -(energy(pot, p) - energy(pot, m)) / (2 * h)
    err = np.abs(fd - forces).max() / np.abs(forces).max()
    assert err < 1e-6, err


@pytest.mark.parametrize("fmt", FORMATS)
def test_stress_matches_strain_derivative(fmt):
    rng = np.random.default_rng(7)
    pot = random_potential(level=12, n_species=3, seed=3, fmt=fmt)
    atoms = random_atoms(rng, n_atoms=9, n_species=3)
    stress = pot.evaluate(atoms)["stress"]
    fd = strain_derivative(pot, atoms)
    err = np.abs(fd - stress).max() / np.abs(stress).max()
    assert err < 1e-6, err
    assert np.allclose(stress, stress.T, atol=1e-12 * np.abs(stress).max())


@pytest.mark.parametrize("fmt", FORMATS)
def test_parameter_gradient_matches_finite_differences(fmt):
    rng = np.random.default_rng(11)
    pot = random_potential(level=10, n_species=3, seed=5, fmt=fmt)
    atoms = random_atoms(rng, n_atoms=8, n_species=3)
    grad = pot.evaluate(atoms, param_gradient=True)["grad"]
    x0 = pot.parameter_vector()
    assert grad.shape == x0.shape

    def e_at(x):
        return energy(pot.with_parameter_vector(x), atoms)

    h = 1e-6
    # every species/moment coefficient and every stored radial number
    fd = np.array([(e_at(x0 + h * np.eye(1, x0.size, k)[0]) - e_at(x0 - h * np.eye(1, x0.size, k)[0])) / (2 * h)
                   for k in range(x0.size)])
    err = np.abs(fd - grad).max() / np.abs(grad).max()
    assert err < 1e-6, err


@pytest.mark.parametrize("fmt", FORMATS)
def test_rotation_translation_permutation_invariance(fmt):
    rng = np.random.default_rng(3)
    pot = random_potential(level=12, n_species=3, seed=9, fmt=fmt)
    atoms = random_atoms(rng, n_atoms=11, n_species=3)
    ref = pot.evaluate(atoms)
    rot = Rotation.random(random_state=4).as_matrix()
    moved = atoms.copy()
    moved.set_cell(atoms.cell.array @ rot.T, scale_atoms=True)
    moved.positions += np.array([0.3, -1.7, 2.2])
    out = pot.evaluate(moved)
    assert out["energy"] == pytest.approx(ref["energy"], rel=1e-12)
    np.testing.assert_allclose(out["forces"], ref["forces"] @ rot.T, atol=1e-10 * np.abs(ref["forces"]).max())
    np.testing.assert_allclose(out["stress"], rot @ ref["stress"] @ rot.T, atol=1e-10 * np.abs(ref["stress"]).max())
    perm = rng.permutation(len(atoms))
    shuffled = atoms[perm]
    out = pot.evaluate(shuffled)
    assert out["energy"] == pytest.approx(ref["energy"], rel=1e-12)
    np.testing.assert_allclose(out["forces"], ref["forces"][perm], atol=1e-10 * np.abs(ref["forces"]).max())
    np.testing.assert_allclose(out["energies"], ref["energies"][perm], rtol=1e-10)


@pytest.mark.parametrize("fmt", FORMATS)
def test_periodic_images_small_cell_and_supercell(fmt):
    # A cell thinner than 2 cutoffs in every direction: several images of each atom interact.
    pot = random_potential(level=10, n_species=2, seed=1, fmt=fmt)
    atoms = Atoms("LiNaLi", scaled_positions=[[0, 0, 0], [0.5, 0.45, 0.55], [0.1, 0.6, 0.3]],
                  cell=[[3.6, 0.2, 0.1], [0.4, 3.5, 0.0], [0.3, -0.5, 3.8]], pbc=True)
    ref = pot.evaluate(atoms)
    big = atoms.repeat((2, 2, 2))
    out = pot.evaluate(big)
    assert out["energy"] == pytest.approx(8 * ref["energy"], rel=1e-11)
    np.testing.assert_allclose(out["forces"][: len(atoms)], ref["forces"], atol=1e-9 * np.abs(ref["forces"]).max())
    np.testing.assert_allclose(out["stress"], ref["stress"], atol=1e-10 * np.abs(ref["stress"]).max())


def test_mixed_and_no_periodicity_match_a_large_box():
    pot = random_potential(level=10, n_species=2, seed=2)
    rng = np.random.default_rng(5)
    cluster = random_atoms(rng, n_atoms=8, n_species=2, pbc=False, triclinic=False)
    cluster.center()
    free = pot.evaluate(cluster)
    boxed = cluster.copy()
    boxed.set_cell(np.eye(3) * 40.0)
    boxed.center()
    boxed.pbc = True
    inbox = pot.evaluate(boxed)
    assert free["energy"] == pytest.approx(inbox["energy"], rel=1e-12)
    np.testing.assert_allclose(free["forces"], inbox["forces"], atol=1e-11)
    # slab: periodic in x, y only, huge vacuum in z equals the fully periodic cell with vacuum
    slab = boxed.copy()
    slab.pbc = [True, True, False]
    assert pot.evaluate(slab)["energy"] == pytest.approx(inbox["energy"], rel=1e-12)


@pytest.mark.parametrize("fmt", FORMATS)
def test_smooth_at_cutoff(fmt):
    pot = random_potential(level=10, n_species=2, seed=4, fmt=fmt)
    rc = pot.max_dist
    isolated = sum(pot.species_coeffs[[0, 1]])

    def dimer(r):
        a = Atoms("LiNa", positions=[[0, 0, 0], [r, 0, 0]], pbc=False)
        return pot.evaluate(a)

    for delta in (1e-2, 1e-3, 1e-4):
        out = dimer(rc - delta)
        # radial functions vanish like (rc - r)^2, their derivative like (rc - r)
        assert abs(out["energy"] - isolated) < 1e3 * delta**2
        assert np.abs(out["forces"]).max() < 1e3 * delta
    beyond = dimer(rc + 1e-9)
    assert beyond["energy"] == pytest.approx(isolated, abs=1e-14)
    assert np.abs(beyond["forces"]).max() == 0.0


def test_site_energies_sum_and_site_virials_sum_to_totals():
    pot = random_potential(level=10, n_species=2, seed=8)
    atoms = random_atoms(np.random.default_rng(8), n_atoms=10, n_species=2)
    out = pot.evaluate(atoms, site_virials=True)
    assert out["energies"].sum() == pytest.approx(out["energy"], rel=1e-13)
    np.testing.assert_allclose(out["site_virials"].sum(axis=0), out["virial"], atol=1e-12 * np.abs(out["virial"]).max())


def test_threads_give_identical_results():
    pot = random_potential(level=12, n_species=3, seed=6)
    atoms = random_atoms(np.random.default_rng(9), n_atoms=40, n_species=3)
    one = pot.evaluate(atoms, evaluator=pot.evaluator(1), param_gradient=True)
    two = pot.evaluate(atoms, evaluator=pot.evaluator(2), param_gradient=True)
    assert one["energy"] == two["energy"]
    np.testing.assert_array_equal(one["forces"], two["forces"])
    np.testing.assert_allclose(one["grad"], two["grad"], rtol=1e-13, atol=1e-13)


def test_energy_only_evaluation_reports_no_virial():
    pot = random_potential(level=6, n_species=2)
    atoms = random_atoms(np.random.default_rng(0), n_atoms=6)
    out = pot.evaluate(atoms, forces=False)
    assert "virial" not in out and "stress" not in out and "forces" not in out
    assert out["energy"] == pytest.approx(pot.evaluate(atoms)["energy"], rel=1e-14)


@pytest.mark.parametrize("species,message", [
    (["Li", "Li"], "species Li appears twice in Li Li"),
    (["Li", "Xx"], "'Xx' is not a chemical symbol"),
    ("LiNa", "must be a list of chemical symbols"),
])
def test_species_lists_are_checked(species, message, tmp_path):
    from mtp_lowrank import Potential

    with pytest.raises(ValueError, match=message):
        Potential.from_level(6, species, 1.5, 5.0)
    random_potential(level=6, n_species=2).save(tmp_path / "unnamed.mtp", mlip_compatible=True)
    if isinstance(species, list):
        with pytest.raises(ValueError, match=message):
            Potential.load(tmp_path / "unnamed.mtp", species=species)
