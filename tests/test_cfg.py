"""MLIP .cfg reading/writing and evaluation of MLIP-3 files with MLIP's conventions."""

from __future__ import annotations

import numpy as np
import pytest

from mtp_lowrank import Potential, read_cfg, write_cfg

from conftest import random_atoms, random_potential, shared_file
from mlip_reference import site_energies


def test_read_two_li():
    images = read_cfg(shared_file("data", "mlip3", "two_li.cfg"), species=["Li"])
    assert [len(a) for a in images] == [53, 54]
    a = images[0]
    assert a.get_potential_energy() == pytest.approx(-573.72752856)
    assert a.get_forces()[0] == pytest.approx([0.555130, 0.547988, 0.472167])
    # PlusStress (virial, eV; xx yy zz yz xz xy) -> ASE stress = -PlusStress / V
    vol = 9.450120**3
    assert a.get_stress()[0] == pytest.approx(-12.64237 / vol)
    assert a.get_stress()[3] == pytest.approx(-2.12678 / vol)
    assert list(a.arrays["mlip_type"]) == [0] * 53
    assert a.info["features"]["EFS_by"] == "VASP"


def test_write_read_round_trip(tmp_path):
    from ase.calculators.singlepoint import SinglePointCalculator

    rng = np.random.default_rng(0)
    atoms = random_atoms(rng, n_atoms=7, n_species=3)
    atoms.calc = SinglePointCalculator(atoms, energy=-3.25, forces=rng.normal(size=(7, 3)),
                                       stress=rng.normal(size=6))
    path = tmp_path / "x.cfg"
    write_cfg(path, [atoms, atoms], species=["Li", "Na", "K"])
    back = read_cfg(path, species=["Li", "Na", "K"])
    assert len(back) == 2
    b = back[1]
    assert b.get_chemical_symbols() == atoms.get_chemical_symbols()
    np.testing.assert_array_equal(b.positions, atoms.positions)
    np.testing.assert_array_equal(b.cell.array, atoms.cell.array)
    np.testing.assert_allclose(b.get_forces(), atoms.get_forces(), rtol=0, atol=0)
    np.testing.assert_allclose(b.get_stress(), atoms.get_stress(), rtol=1e-14)
    assert b.get_potential_energy() == -3.25


def test_bad_cfg_reports_line(tmp_path):
    path = tmp_path / "bad.cfg"
    path.write_text("BEGIN_CFG\n Size\n 2\n AtomData: id type cartes_x cartes_y cartes_z\n 1 0 0 0 0\n")
    with pytest.raises(ValueError, match=r"bad\.cfg:\d+:"):
        read_cfg(path)


def test_mlip3_potential_on_mlip3_configurations_matches_mlip_algorithm():
    """pot.almtp evaluated on two_li.cfg by the kernel equals MLIP's algorithm (reference)."""
    pot = Potential.load(shared_file("data", "mlip3", "pot.almtp"), species=["Li"])
    for atoms in read_cfg(shared_file("data", "mlip3", "two_li.cfg"), species=["Li"]):
        ours = pot.evaluate(atoms)
        ref = site_energies(pot, atoms, atoms.arrays["mlip_type"])
        np.testing.assert_allclose(ours["energies"], ref, rtol=1e-12)
        assert ours["energy"] == pytest.approx(ref.sum(), rel=1e-12)
        # forces are -dE/dr of that energy
        h = 1e-5
        for i, d in [(0, 0), (17, 2), (40, 1)]:
            p, m = atoms.copy(), atoms.copy()
            p.positions[i, d] += h
            m.positions[i, d] -= h
            fd = -(site_energies(pot, p, p.arrays["mlip_type"]).sum()
                   - site_energies(pot, m, m.arrays["mlip_type"]).sum()) / (2 * h)
            assert ours["forces"][i, d] == pytest.approx(fd, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("fmt", ["full", "mf", "tt"])
def test_multispecies_matches_mlip_algorithm(fmt):
    pot = random_potential(level=10, n_species=3, seed=4, fmt=fmt)
    atoms = random_atoms(np.random.default_rng(2), n_atoms=12, n_species=3)
    np.testing.assert_allclose(pot.evaluate(atoms)["energies"], site_energies(pot, atoms, pot.types_of(atoms)), rtol=1e-11)


def test_level16_timing_potential_on_flinak_matches_mlip_algorithm():
    species = ["Li", "Na", "K", "F"]
    pot = Potential.load(shared_file("bench", "flinak_l16_timing.mtp"), species=species)
    atoms = read_cfg(shared_file("bench", "train_20x128.cfg"), species=species)[0]
    ours = pot.evaluate(atoms)
    np.testing.assert_allclose(ours["energies"], site_energies(pot, atoms, atoms.arrays["mlip_type"]), rtol=1e-11)
    # train_20x128.cfg holds this potential's own energies, forces and stresses, computed by
    # another MTP code at positions that the file rounds to 1e-6 A: the energy can move by at
    # most sum_i |F_i|_1 * 0.5e-6 A; forces and virials by about a Hessian times that.
    e_tol = np.abs(atoms.get_forces()).sum() * 0.5e-6
    assert abs(ours["energy"] - atoms.get_potential_energy()) < e_tol
    np.testing.assert_allclose(ours["forces"], atoms.get_forces(), atol=2e-4)
    s = ours["stress"]
    np.testing.assert_allclose([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]], atoms.get_stress(),
                               atol=1e-5 * np.abs(atoms.get_stress()).max())


def test_group_round_trips_as_a_feature_line(tmp_path):
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms = random_atoms(np.random.default_rng(1), n_atoms=5)
    atoms.calc = SinglePointCalculator(atoms, energy=-1.0)
    atoms.info["group"] = "Mo_AIMD"
    atoms.info["features"] = {"EFS_by": "VASP"}
    write_cfg(tmp_path / "g.cfg", [atoms], species=["Li", "Na"])
    assert " Feature   group\tMo_AIMD" in (tmp_path / "g.cfg").read_text()
    back = read_cfg(tmp_path / "g.cfg", species=["Li", "Na"])[0]
    assert back.info["group"] == "Mo_AIMD" and back.info["features"] == {"EFS_by": "VASP"}


@pytest.mark.parametrize("edit,message", [
    (lambda t: t.replace(" Size\n    5\n", " Size\n    0\n").split(" AtomData")[0] + "END_CFG\n",
     r"g\.cfg:1: configuration with no atoms \(Size 0\)"),
    (lambda t: t.replace(" Energy\n    -1\n", " Energy\n    lots\n"), r"g\.cfg:\d+: Energy needs 1 finite number"),
    (lambda t: t.replace(" Size\n    5\n", " Size\n    five\n"), r"g\.cfg:\d+: Size needs 1 finite number"),
])
def test_malformed_cfg_names_file_and_line(tmp_path, edit, message):
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms = random_atoms(np.random.default_rng(1), n_atoms=5)
    atoms.calc = SinglePointCalculator(atoms, energy=-1.0)
    write_cfg(tmp_path / "g.cfg", [atoms], species=["Li", "Na"])
    (tmp_path / "g.cfg").write_text(edit((tmp_path / "g.cfg").read_text()))
    with pytest.raises(ValueError, match=message):
        read_cfg(tmp_path / "g.cfg", species=["Li", "Na"])
