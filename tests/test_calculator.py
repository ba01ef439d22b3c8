"""ASE calculator: reuse across configurations, ASE's numerical checks, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.fd import calculate_numerical_forces, calculate_numerical_stress

from mtp_lowrank import MTPCalculator

from conftest import random_atoms, random_potential, shared_file


def test_one_calculator_serves_many_configurations():
    pot = random_potential(level=10, n_species=3, seed=1)
    calc = MTPCalculator(pot)
    rng = np.random.default_rng(0)
    configs = [random_atoms(rng, n_atoms=n, n_species=3) for n in (12, 40, 5, 40, 17)]
    configs.append(bulk("Li", "bcc", a=3.5, cubic=True).repeat((3, 3, 3)))
    cluster = random_atoms(rng, n_atoms=9, n_species=2, pbc=False)
    configs.append(cluster)
    for atoms in configs:
        atoms.calc = calc
        e = atoms.get_potential_energy()
        f = atoms.get_forces()
        fresh = pot.evaluate(atoms, evaluator=pot.evaluator())
        assert e == pytest.approx(fresh["energy"], rel=1e-13)
        np.testing.assert_allclose(f, fresh["forces"], rtol=1e-12, atol=1e-12)
        assert atoms.get_potential_energies().sum() == pytest.approx(e, rel=1e-12)
        assert atoms.get_potential_energy(force_consistent=True) == e
    # moving atoms in place must trigger a new calculation
    a = configs[0]
    e0 = a.get_potential_energy()
    a.positions[0] += 0.05
    assert a.get_potential_energy() != e0


def test_ase_numerical_forces_and_stress():
    pot = random_potential(level=12, n_species=2, seed=5)
    atoms = random_atoms(np.random.default_rng(3), n_atoms=10, n_species=2)
    atoms.calc = MTPCalculator(pot)
    np.testing.assert_allclose(atoms.get_forces(), calculate_numerical_forces(atoms, eps=1e-5),
                               atol=1e-6 * np.abs(atoms.get_forces()).max())
    np.testing.assert_allclose(atoms.get_stress(), calculate_numerical_stress(atoms, eps=1e-6),
                               atol=1e-6 * np.abs(atoms.get_stress()).max())


def test_no_stress_without_full_periodicity():
    from ase.calculators.calculator import PropertyNotImplementedError

    pot = random_potential(level=6, n_species=1)
    atoms = Atoms("Li2", positions=[[0, 0, 0], [2.5, 0, 0]])
    atoms.calc = MTPCalculator(pot)
    atoms.get_forces()
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()


def test_unknown_species():
    pot = random_potential(level=6, n_species=2)
    atoms = Atoms("LiNaCl", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.5, 0]])
    atoms.calc = MTPCalculator(pot)
    with pytest.raises(ValueError, match=r"atom 2 is Cl, which the potential does not describe \(its species: Li, Na\)"):
        atoms.get_potential_energy()


def test_overlapping_atoms():
    pot = random_potential(level=6, n_species=2)
    atoms = Atoms("LiNaLi", positions=[[0, 0, 0], [2.5, 0, 0], [2.5, 0.01, 0]], cell=[8, 8, 8], pbc=True)
    atoms.calc = MTPCalculator(pot)
    with pytest.raises(ValueError, match=r"atoms [12] and [12] overlap: distance 0\.01 A"):
        atoms.get_potential_energy()


def test_nan_positions():
    pot = random_potential(level=6, n_species=2)
    atoms = Atoms("LiNa", positions=[[0, 0, 0], [np.nan, 0, 0]], cell=[8, 8, 8], pbc=True)
    atoms.calc = MTPCalculator(pot)
    with pytest.raises(ValueError, match="atom 1 has a non-finite position"):
        atoms.get_potential_energy()


def test_singular_cell():
    pot = random_potential(level=6, n_species=2)
    atoms = Atoms("LiNa", positions=[[0, 0, 0], [2.5, 0, 0]], cell=[[8, 0, 0], [8, 0, 0], [0, 0, 8]], pbc=True)
    atoms.calc = MTPCalculator(pot)
    with pytest.raises(ValueError, match="singular"):
        atoms.get_potential_energy()


def test_from_file_needs_species_for_mlip_files(tmp_path):
    path = shared_file("data", "mlip3", "pot.almtp")
    with pytest.raises(ValueError, match="does not name its species"):
        MTPCalculator.from_file(path)
    calc = MTPCalculator.from_file(path, species=["Li"])
    atoms = bulk("Li", "bcc", a=3.44, cubic=True).repeat(2)
    atoms.calc = calc
    assert np.isfinite(atoms.get_potential_energy())
    pot = random_potential(level=6, n_species=2, fmt="mf")
    pot.save(tmp_path / "named.mtp")
    assert MTPCalculator.from_file(tmp_path / "named.mtp").potential.species == ["Li", "Na"]


def test_short_distances_warn_once_or_raise():
    """Neighbours closer than min_dist (the basis is extrapolated there): one warning per
    calculator with the count, or an error with short_range='error'."""
    import warnings

    pot = random_potential(level=6, n_species=2, min_dist=2.5)
    close = random_atoms(np.random.default_rng(0), n_atoms=12, min_sep=1.9)
    n_short = pot.evaluate(close)["short_range_atoms"]
    assert n_short > 0
    calc = MTPCalculator(pot)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for shift in (0.0, 0.01):
            atoms = close.copy()
            atoms.positions += shift
            atoms.calc = calc
            atoms.get_potential_energy()
    msgs = [str(w.message) for w in caught if "min_dist" in str(w.message)]
    assert len(msgs) == 1 and msgs[0].startswith(f"{n_short} atoms have a neighbour closer than the potential's min_dist 2.5")
    atoms = close.copy()
    atoms.calc = MTPCalculator(pot, short_range="error")
    with pytest.raises(ValueError, match="closer than the potential's min_dist 2.5 A"):
        atoms.get_potential_energy()
    far = random_atoms(np.random.default_rng(0), n_atoms=12, min_sep=2.6, volume_per_atom=25)
    assert pot.evaluate(far)["short_range_atoms"] == 0
    far.calc = MTPCalculator(pot, short_range="error")
    assert np.isfinite(far.get_potential_energy())
