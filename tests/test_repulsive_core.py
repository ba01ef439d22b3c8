"""The ZBL repulsive core (cpp/include/mtp/repulsive_core.h): values against the closed form,
forces = -grad E with it, smooth switching, no effect above `outer`, file round trip and
refusal in MLIP files, and errors naming the entry."""

import numpy as np
import pytest
from ase import Atoms

from conftest import random_potential

from mtp_lowrank import Potential
from mtp_lowrank.potential import _core

K = 14.399645


def zbl(z1, z2, r):
    x = r * (z1 ** 0.23 + z2 ** 0.23) / 0.46850
    phi = (0.18175 * np.exp(-3.19980 * x) + 0.50986 * np.exp(-0.94229 * x) + 0.28022 * np.exp(-0.40290 * x)
           + 0.02817 * np.exp(-0.20162 * x))
    return K * z1 * z2 / r * phi


def pot_nbmo(**kw):
    return random_potential(level=8, n_species=2, seed=4).replace(species=["Nb", "Mo"])


def dimer(r, symbols=("Nb", "Mo")):
    return Atoms(list(symbols), positions=[[0, 0, 0], [r, 0, 0]], pbc=False)


def test_core_adds_zbl_below_inner_nothing_above_outer_and_switches_smoothly():
    base = pot_nbmo()
    core = base.with_repulsive_core(outer=2.0, width=0.5)
    for r, weight in ((1.2, 1.0), (1.5, 1.0), (2.0, 0.0), (2.6, 0.0)):
        extra = core.evaluate(dimer(r))["energy"] - base.evaluate(dimer(r))["energy"]
        assert extra == pytest.approx(weight * zbl(41, 42, r), rel=1e-12, abs=1e-12)
    t = 0.5   # halfway: S = 1 - t^3 (10 - 15 t + 6 t^2) = 0.5
    extra = core.evaluate(dimer(1.75))["energy"] - base.evaluate(dimer(1.75))["energy"]
    assert extra == pytest.approx(0.5 * zbl(41, 42, 1.75), rel=1e-12)
    # energy, slope and curvature continuous at both ends of the switch
    for r0 in (1.5, 2.0):
        e = [core.evaluate(dimer(r0 + d))["energy"] - base.evaluate(dimer(r0 + d))["energy"] for d in (-1e-4, 0, 1e-4)]
        assert abs(e[0] - 2 * e[1] + e[2]) / 1e-8 < 5 * abs(np.gradient([zbl(41, 42, r0 + d) for d in (-1e-4, 0, 1e-4)], 1e-4)[1]) + 1e-6


def test_forces_and_virial_include_the_core():
    pot = pot_nbmo().with_repulsive_core(outer=[[2.4, 2.2], [2.2, 2.0]], width=0.6)
    rng = np.random.default_rng(0)
    atoms = Atoms("Nb4Mo4", positions=rng.uniform(0, 4.0, (8, 3)), cell=4.2 * np.eye(3), pbc=True)
    atoms.positions[1] = atoms.positions[0] + [1.6, 0.3, 0.0]    # inside the core
    out = pot.evaluate(atoms)
    h = 1e-5
    for i in (0, 1, 5):
        for k in range(3):
            p, m = atoms.copy(), atoms.copy()
            p.positions[i, k] += h
            m.positions[i, k] -= h
            fd = -(pot.evaluate(p, forces=False)["energy"] - pot.evaluate(m, forces=False)["energy"]) / (2 * h)
            assert out["forces"][i, k] == pytest.approx(fd, rel=1e-6, abs=1e-6)
    eps = 1e-6   # virial = -dE/d(strain)
    for a, b in ((0, 0), (1, 2)):
        strain = np.eye(3)
        strain[a, b] += eps
        p = atoms.copy()
        p.set_cell(atoms.cell @ strain.T, scale_atoms=True)
        strain[a, b] -= 2 * eps
        m = atoms.copy()
        m.set_cell(atoms.cell @ strain.T, scale_atoms=True)
        fd = -(pot.evaluate(p, forces=False)["energy"] - pot.evaluate(m, forces=False)["energy"]) / (2 * eps)
        assert out["virial"][a, b] == pytest.approx(fd, rel=1e-5, abs=1e-5)


def test_core_keeps_a_collapsing_pair_apart():
    base = pot_nbmo()
    core = base.with_repulsive_core(outer=2.0)
    energies = [core.evaluate(dimer(r))["energy"] for r in (1.5, 1.0, 0.6)]
    assert energies[0] < energies[1] < energies[2]          # monotonically repulsive inside
    assert energies[2] - energies[0] > 100.0


def test_round_trip_and_refused_in_mlip_files(tmp_path):
    pot = pot_nbmo().with_repulsive_core(outer=[[2.4, 2.2], [2.2, 2.0]], width=0.6)
    pot.save(tmp_path / "c.mtp")   # the default is our extension: MLIP could not read it
    text = (tmp_path / "c.mtp").read_text()
    assert "core = zbl" in text and "core_atomic_numbers = {41, 42}" in text
    back = Potential.load(tmp_path / "c.mtp")
    np.testing.assert_array_equal(back.repulsive_core["outer"], pot.repulsive_core["outer"])
    assert back.evaluate(dimer(1.7))["energy"] == pot.evaluate(dimer(1.7))["energy"]
    with pytest.raises(ValueError, match="repulsive core .* MLIP cannot read"):
        pot.save(tmp_path / "m.mtp", mlip_compatible=True)
    assert pot.to_mf(2).repulsive_core is not None and pot.with_repulsive_core(None).repulsive_core is None
    bad = text.replace("core_outer = {2.3999999999999999, ", "core_outer = {1.0, ")
    (tmp_path / "bad.mtp").write_text(bad)
    with pytest.raises(_core.PotentialFileError, match=r"bad\.mtp:\d+: repulsive core: species pair 0-0 needs 0 <= core_inner < core_outer"):
        Potential.load(tmp_path / "bad.mtp")
    (tmp_path / "half.mtp").write_text("\n".join(l for l in text.splitlines() if not l.startswith("core_inner")))
    with pytest.raises(_core.PotentialFileError, match=r"half\.mtp:\d+: repulsive core: 'core = zbl' needs"):
        Potential.load(tmp_path / "half.mtp")


def test_core_beyond_the_cutoff_or_unnamed_species_are_refused(tmp_path):
    with pytest.raises(ValueError, match="core_outer 6.* beyond the cutoff"):
        pot_nbmo().with_repulsive_core(outer=6.0)
    random_potential(level=6, n_species=2, seed=1).save(tmp_path / "mlip.mtp")   # MLIP file: no names
    unnamed = Potential.load(tmp_path / "mlip.mtp")
    assert unnamed.species is None
    with pytest.raises(ValueError, match="give atomic_numbers"):
        unnamed.with_repulsive_core(outer=2.0)
    assert unnamed.with_repulsive_core(outer=2.0, atomic_numbers=[3, 9]).repulsive_core["atomic_numbers"] == [3, 9]


def _close_cell(seed=0):
    """8 atoms on a simple cubic lattice (2.1 A) with one pair pushed to 1.85 A (in the switch)."""
    rng = np.random.default_rng(seed)
    grid = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)], float) * 2.1
    atoms = Atoms("NbMoNbMoMoNbMoNb", positions=grid + rng.normal(0, 0.03, (8, 3)), cell=4.2 * np.eye(3), pbc=True)
    atoms.positions[1] = atoms.positions[0] + [0.0, 0.0, 1.85]
    return atoms


def test_training_loss_and_gradient_with_the_core():
    """The core is a fixed baseline: the loss sees E_MTP + E_core, the gradient is exact."""
    from ase.calculators.singlepoint import SinglePointCalculator

    from mtp_lowrank.training import Loss

    pot = pot_nbmo().with_repulsive_core(outer=2.0, width=0.5)
    images = []
    for seed in range(3):
        a = _close_cell(seed)
        a.calc = SinglePointCalculator(a, energy=1.0, forces=np.zeros((8, 3)))
        images.append(a)
    x0 = pot.parameter_vector()
    with_core, without = Loss(pot, images, force_weight=0.1), Loss(pot.with_repulsive_core(None), images, force_weight=0.1)
    f0, g = with_core(x0)
    assert f0 != pytest.approx(without(x0)[0], rel=1e-3)
    h = 1e-6
    for k in np.random.default_rng(1).choice(x0.size, 8, replace=False):
        e = np.eye(1, x0.size, k)[0] * h
        fd = (with_core(x0 + e)[0] - with_core(x0 - e)[0]) / (2 * h)
        assert fd == pytest.approx(g[k], rel=1e-5, abs=1e-7 * np.abs(g).max())


def test_lammps_evaluates_the_core_like_python(tmp_path):
    from lammps_runner import single_point

    pot = pot_nbmo().to_mf(2).with_repulsive_core(outer=[[2.4, 2.2], [2.2, 2.0]], width=0.6)
    pot.save(tmp_path / "pot.mtp")
    lmp = single_point(tmp_path, "pot.mtp", _close_cell(4), ["Nb", "Mo"])
    ref = pot.evaluate(lmp["atoms_lammps"])
    assert lmp["energy"] == pytest.approx(ref["energy"], rel=1e-10)
    assert np.abs(lmp["forces"] - ref["forces"]).max() <= 1e-10 * np.abs(ref["forces"]).max()


def test_training_puts_the_core_below_the_floors_and_leaves_the_data_alone(tmp_path):
    from mtp_lowrank.cli import main
    from mtp_lowrank.training import Loss, load_images, split

    from test_cli import _write_config

    cfg = _write_config(tmp_path)
    main(["train", str(cfg), "--set", "model.core=zbl", "model.core_width=0.4", "optimizer.max_iter=2",
          "model.representation=full", "model.core_outer_fraction=0.9"])
    pot = Potential.load(tmp_path / "run" / "potential.mtp")
    mlip = Potential.load(tmp_path / "run" / "potential_mlip.mtp")   # MLIP's reading: no floors, no core
    assert mlip.repulsive_core is None and mlip.radial_floor is None
    core = pot.repulsive_core
    np.testing.assert_allclose(core["outer"], 0.9 * pot.radial_floor, rtol=1e-15)
    np.testing.assert_allclose(core["inner"], 0.9 * pot.radial_floor - 0.4, rtol=1e-15)
    train, _ = split(load_images(tmp_path / "train.xyz"), 0.25, 0)   # the run's split
    x = pot.parameter_vector()
    same = [Loss(p, train)(x)[0] for p in (pot, pot.with_repulsive_core(None))]
    assert same[0] == same[1]      # no training pair reaches the core
    with pytest.raises(SystemExit, match="'model.core' must be one of zbl"):
        main(["train", str(cfg), "--overwrite", "--set", "model.core=lj"])
