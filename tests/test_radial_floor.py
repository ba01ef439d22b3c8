"""Per-species-pair radial floors: below floor[a, b] the radial basis continues linearly from
the floor. Forces, stresses and every gradient stay exact; files and LAMMPS carry the floors."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from mtp_lowrank import Potential, PotentialFileError
from mtp_lowrank.training import Loss

from conftest import SPECIES, random_atoms, random_potential, strain_derivative
from test_training_optimize import labelled

FLOOR = np.array([[2.5, 2.9], [2.9, 2.2]])   # pair (0, 1) floored well above the closest contacts


def floored(fmt="full", seed=3):
    return random_potential(level=10, n_species=2, seed=seed, fmt=fmt).with_radial_floor(FLOOR)


def close_atoms(seed=0):
    return random_atoms(np.random.default_rng(seed), n_atoms=10, min_sep=1.9, volume_per_atom=12)


def test_radial_functions_continue_linearly_below_the_floor():
    pot = floored()
    plain = random_potential(level=10, n_species=2, seed=3)
    # a dimer of species 0 and 1 at r below the floor 2.9: the energy is that of the plain
    # potential's radial functions continued linearly from 2.9, i.e. f(r) = f(2.9) + f'(2.9)(r - 2.9)
    from ase import Atoms

    def dimer(p, r):
        return p.evaluate(Atoms("LiNa", positions=[[0, 0, 0], [r, 0, 0]]))["energy"]

    assert dimer(pot, 3.2) == pytest.approx(dimer(plain, 3.2), rel=1e-13)   # above the floor: unchanged
    h = 1e-4
    r0, r = 2.9, 2.4
    # energy of a dimer is not linear in f, so compare the site functions through a small step:
    # d E / d r is continuous at the floor and the energy below it is smooth
    e = [dimer(pot, x) for x in (r0 - h, r0, r0 + h)]
    assert (e[2] - e[1]) / h == pytest.approx((e[1] - e[0]) / h, rel=1e-3)
    assert np.isfinite(dimer(pot, r)) and abs(dimer(pot, r)) < 1e3 * abs(dimer(plain, r0))


@pytest.mark.parametrize("fmt", ["full", "mf", "tt"])
def test_forces_and_stress_are_exact_with_floors(fmt):
    pot = floored(fmt)
    atoms = close_atoms()
    res = pot.evaluate(atoms)
    h = 1e-5
    fd = np.zeros_like(res["forces"])
    for i in range(len(atoms)):
        for d in range(3):
            p, m = atoms.copy(), atoms.copy()
            p.positions[i, d] += h
            m.positions[i, d] -= h
            fd[i, d] = -(pot.evaluate(p, forces=False)["energy"] - pot.evaluate(m, forces=False)["energy"]) / (2 * h)
    assert np.abs(fd - res["forces"]).max() < 1e-6 * np.abs(res["forces"]).max()
    stress = res["stress"]
    assert np.abs(strain_derivative(pot, atoms) - stress).max() < 1e-6 * np.abs(stress).max()


@pytest.mark.parametrize("fmt", ["full", "mf"])
def test_parameter_and_loss_gradients_are_exact_with_floors(fmt):
    pot = floored(fmt)
    atoms = close_atoms(1)
    grad = pot.evaluate(atoms, param_gradient=True)["grad"]
    x0 = pot.parameter_vector()
    h = 1e-6
    k_radial = np.arange(pot.n_species + pot.n_basis_functions, x0.size)
    for k in np.random.default_rng(0).choice(k_radial, 8, replace=False):
        e = np.eye(1, x0.size, k)[0] * h
        fd = (pot.with_parameter_vector(x0 + e).evaluate(atoms, forces=False)["energy"]
              - pot.with_parameter_vector(x0 - e).evaluate(atoms, forces=False)["energy"]) / (2 * h)
        assert fd == pytest.approx(grad[k], rel=1e-6, abs=1e-8 * np.abs(grad).max())
    # the training loss (forces included: the tangent pass) with floors
    images = [a for a in labelled(random_potential(level=10, n_species=2, seed=9), count=3, seed=2)]
    images.append(close_atoms(2))
    images[-1].calc = images[0].calc.__class__(images[-1], energy=1.0, forces=np.zeros((10, 3)))
    loss = Loss(pot, images, force_weight=0.1)
    f0, g = loss(x0)
    for k in np.random.default_rng(1).choice(k_radial, 6, replace=False):
        e = np.eye(1, x0.size, k)[0] * h
        fd = (loss(x0 + e)[0] - loss(x0 - e)[0]) / (2 * h)
        assert fd == pytest.approx(g[k], rel=1e-5, abs=1e-7 * np.abs(g).max())


def test_floors_round_trip_and_are_refused_in_mlip_files(tmp_path):
    pot = floored()
    pot.save(tmp_path / "f.mtp", mlip_compatible=False)
    assert "radial_floor = {2.5, 2.8999999999999999, 2.8999999999999999, 2.2000000000000002}" in \
        (tmp_path / "f.mtp").read_text()
    back = Potential.load(tmp_path / "f.mtp")
    np.testing.assert_array_equal(back.radial_floor, FLOOR)
    atoms = close_atoms()
    assert back.evaluate(atoms)["energy"] == pot.evaluate(atoms)["energy"]
    with pytest.raises(ValueError, match="radial floors .* MLIP cannot read"):
        pot.save(tmp_path / "m.mtp", mlip_compatible=True)
    assert pot.to_mf(2).radial_floor is not None and pot.with_radial_floor([]).radial_floor is None
    text = (tmp_path / "f.mtp").read_text().replace("radial_floor = {2.5, ", "radial_floor = {")
    (tmp_path / "bad.mtp").write_text(text)
    with pytest.raises(PotentialFileError, match=r"bad\.mtp:\d+: radial_floor has 3 entries, expected species_count\^2 = 4"):
        Potential.load(tmp_path / "bad.mtp")


def test_lammps_evaluates_floors_like_python(tmp_path):
    from lammps_runner import single_point

    pot = floored("mf")
    pot.save(tmp_path / "pot.mtp")
    atoms = close_atoms(4)
    lmp = single_point(tmp_path, "pot.mtp", atoms, SPECIES[:2])
    ref = pot.evaluate(lmp["atoms_lammps"])
    assert lmp["energy"] == pytest.approx(ref["energy"], rel=1e-10)
    assert np.abs(lmp["forces"] - ref["forces"]).max() <= 1e-10 * np.abs(ref["forces"]).max()


def test_shortest_distance_search_is_searched_once_per_cutoff_and_read_only():
    from mtp_lowrank.training.data import shortest_distance_search, shortest_pair_distances

    images = [Atoms("LiNa", positions=[[0, 0, 0], [2.5, 0, 0]], cell=[10, 10, 10], pbc=True)]
    shortest = shortest_distance_search(images, ["Li", "Na"])
    first = shortest(5.0)
    assert shortest(5.0) is first
    np.testing.assert_array_equal(first, shortest_pair_distances(images, ["Li", "Na"], 5.0))
    with pytest.raises(ValueError, match="read-only"):   # shared by the floors and the mixing rule
        first[0, 1] = 1.0


def test_shortest_pair_distances():
    from ase import Atoms

    from mtp_lowrank.training.data import shortest_pair_distances

    a = Atoms("LiNaLi", positions=[[0, 0, 0], [2.1, 0, 0], [0, 2.5, 0]])
    d = shortest_pair_distances([a], ["Li", "Na"], 5.0)
    assert d[0, 1] == d[1, 0] == pytest.approx(2.1) and d[0, 0] == pytest.approx(2.5) and d[1, 1] == np.inf


def test_training_with_floors_from_the_data(tmp_path, capsys):
    from mtp_lowrank.cli import main
    from mtp_lowrank.training import load_images, split
    from mtp_lowrank.training.data import shortest_pair_distances

    from test_cli import _write_config

    cfg = _write_config(tmp_path)
    main(["train", str(cfg), "--set", "model.radial_floor=data", "model.radial_floor_margin=0.1",
          "optimizer.max_iter=3"])
    pot = Potential.load(tmp_path / "run" / "potential.mtp")
    train, _ = split(load_images(tmp_path / "train.xyz"), 0.25, 0)   # the run's split
    shortest = shortest_pair_distances(train, ["Li", "Na"], 4.6)
    np.testing.assert_allclose(pot.radial_floor, np.maximum(shortest - 0.1, pot.min_dist), rtol=1e-15)
    main(["train", str(cfg), "--overwrite", "--set", "model.radial_floor=null", "optimizer.max_iter=1"])
    assert Potential.load(tmp_path / "run" / "potential.mtp").radial_floor is None   # null: MLIP's extrapolation
    with pytest.raises(SystemExit, match="'model.radial_floor' must be 'data'"):
        main(["train", str(cfg), "--overwrite", "--set", "model.radial_floor=sometimes"])


def test_mixed_floors_and_the_mixing_rule_in_a_training_run(tmp_path, capsys, monkeypatch):
    """model.radial_floor: mixed puts each cross pair's floor at the larger of its species' own
    floors (below its data); the run's loss then carries the mixing penalty; mixed floors
    without the rule are refused (the cross polynomials would be unconstrained below the data)."""
    from mtp_lowrank.cli import main
    from mtp_lowrank.training import load_images, split
    from mtp_lowrank.training.data import shortest_pair_distances

    from test_cli import _write_config

    import mtp_lowrank.training.data as data_module

    searches = []   # the floors and the rule share one search of the training data
    monkeypatch.setattr(data_module, "shortest_pair_distances",
                        lambda *a: searches.append(a) or shortest_pair_distances(*a))
    cfg = _write_config(tmp_path)
    main(["train", str(cfg), "--set", "model.radial_floor=mixed", "loss.radial_mixing=0.01", "optimizer.max_iter=3"])
    assert len(searches) == 1
    pot = Potential.load(tmp_path / "run" / "potential.mtp")
    train, _ = split(load_images(tmp_path / "train.xyz"), 0.25, 0)
    data = np.maximum(shortest_pair_distances(train, ["Li", "Na"], 4.6), pot.min_dist)
    like = max(data[0, 0], data[1, 1])
    np.testing.assert_allclose(np.diag(pot.radial_floor), np.diag(data), rtol=1e-15)
    assert pot.radial_floor[0, 1] == pot.radial_floor[1, 0] == pytest.approx(min(data[0, 1], like), rel=1e-15)
    with pytest.raises(SystemExit, match="'model.radial_floor: mixed' needs 'loss.radial_mixing' above 0"):
        main(["train", str(cfg), "--overwrite", "--set", "model.radial_floor=mixed"])
    # the run's training loss carries the rule between the floors and the data; its validation loss does not
    from mtp_lowrank.training.config import load_config
    from mtp_lowrank.training.regularization import RadialMixing
    from mtp_lowrank.training.run import training_loss

    lo = load_config(cfg, ["loss.radial_mixing=0.01"])["loss"]
    [rule] = training_loss(lo, pot, train, 1).penalties
    assert isinstance(rule, RadialMixing) and rule.strength == 0.01
    assert training_loss(lo, pot, train, 1, penalty=False).penalties == []
