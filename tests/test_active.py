"""Active learning (mtp_lowrank.active): MaxVol active sets, grades, selection, files, and the
gauge independence that compressed potentials need."""

import numpy as np
import pytest

from conftest import random_atoms, random_potential

from mtp_lowrank.active import ActiveSet, ParameterCoordinates
from mtp_lowrank.active.maxvol import swap_in




def configurations(count, seed=0):
    rng = np.random.default_rng(seed)
    return [random_atoms(rng, n_atoms=6 + k % 5, n_species=2) for k in range(count)]


@pytest.fixture(scope="module")
def full_pot():
    return random_potential(level=6, n_species=2, seed=3)


@pytest.fixture(scope="module")
def full_set(full_pot):
    coords = ParameterCoordinates(full_pot)
    images = configurations(3 * coords.dimension)
    return ActiveSet.fit(full_pot, images), images


def test_grades_are_one_on_the_active_rows_and_at_most_tol_on_the_training_rows(full_set):
    active, images = full_set
    g = active.grades(images)
    assert np.all(g <= 1.001 + 1e-9)
    np.testing.assert_allclose(g[active.sources], 1.0, rtol=1e-9)
    far = [a.copy() for a in images[:5]]
    for a in far:
        a.positions *= 0.8   # compressed: outside the data's span
    assert active.grades(far).max() > 1.5


def test_compressed_coordinates_are_the_manifold_dimension_and_gauge_free(full_pot):
    mf = full_pot.to_mf(2)
    coords = ParameterCoordinates(mf)
    m, n, r = mf.n_species ** 2, mf.radial_funcs_count * mf.radial_basis_size, 2
    assert coords.dimension == mf.n_species + mf.n_basis_functions + r * (m + n - r)   # the MF manifold
    images = configurations(3 * coords.dimension, seed=1)
    active = ActiveSet.fit(mf, images)
    u, v = mf.factors
    gmat = np.array([[2.0, 0.5], [-0.3, 1.5]])
    other = mf.replace(factors=[u @ gmat, v @ np.linalg.inv(gmat).T])   # same C, another gauge
    np.testing.assert_allclose(other.radial_coeffs, mf.radial_coeffs, atol=1e-12)
    test = configurations(20, seed=9)
    again = ActiveSet.fit(other, images)
    np.testing.assert_allclose(again.grades(test), active.grades(test), rtol=1e-8)


def test_tt_coordinates_are_gauge_free(full_pot):
    tt = full_pot.to_tt((2, 2, 2))
    g1, g2, g3, g4 = tt.factors
    m = np.array([[1.5, 0.2], [0.4, 0.9]])
    other = tt.replace(factors=[g1 @ m, np.einsum("ab,bjc->ajc", np.linalg.inv(m), g2), g3, g4])
    np.testing.assert_allclose(other.radial_coeffs, tt.radial_coeffs, atol=1e-12)
    a, b = ParameterCoordinates(tt), ParameterCoordinates(other)
    assert a.dimension == b.dimension < tt.parameter_count("all")
    images = configurations(3 * a.dimension, seed=2)
    test = configurations(10, seed=8)
    np.testing.assert_allclose(ActiveSet.fit(other, images).grades(test), ActiveSet.fit(tt, images).grades(test), rtol=1e-7)


def test_selection_is_d_optimal_and_ignores_duplicates(full_set):
    active, images = full_set
    chosen, grades = active.select([a.copy() for a in images[:30]])
    assert len(chosen) == 0
    new = configurations(40, seed=5)
    for a in new:
        a.positions *= 0.85
    twins = new + [a.copy() for a in new]          # every candidate twice
    chosen, grades = active.select(twins, threshold=1.0)
    assert 0 < len(chosen) and np.all(grades > 1.0)
    assert len({k % len(new) for k in chosen}) == len(chosen)   # never both copies


def test_determinant_never_decreases_during_swaps():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    cand = rng.normal(size=(30, 6)) * 2
    new, origin, logdet = swap_in(a, cand)
    assert np.all(np.diff(logdet) > 0) and len(logdet) > 1
    rows = np.vstack([cand, a])
    b = rows @ np.linalg.inv(new)
    assert np.abs(b).max() <= 1.001 + 1e-9     # no swap left that grows |det| by more than tol


def test_saved_active_set_is_tied_to_its_potential(full_set, full_pot, tmp_path):
    active, images = full_set
    active.save(tmp_path / "a.npz")
    back = ActiveSet.load(tmp_path / "a.npz", full_pot)
    np.testing.assert_array_equal(back.grades(images[:5]), active.grades(images[:5]))
    other = full_pot.replace(moment_coeffs=full_pot.moment_coeffs * 1.01)
    with pytest.raises(ValueError, match="computed for a different potential"):
        ActiveSet.load(tmp_path / "a.npz", other)
    (tmp_path / "bad.npz").write_text("x")
    with pytest.raises(ValueError, match="not an active-set file"):
        ActiveSet.load(tmp_path / "bad.npz", full_pot)


def test_cli_grade_and_select(full_pot, tmp_path, capsys):
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator

    from mtp_lowrank.cli import main

    full_pot.save(tmp_path / "pot.mtp", mlip_compatible=False)   # species named
    train = configurations(3 * ParameterCoordinates(full_pot).dimension, seed=11)
    for a in train:
        a.calc = SinglePointCalculator(a, energy=0.0)
    ase.io.write(tmp_path / "train.xyz", train)
    new = configurations(10, seed=12)
    for a in new:
        a.positions *= 0.8
    ase.io.write(tmp_path / "new.xyz", new + train[:5])
    main(["grade", str(tmp_path / "pot.mtp"), str(tmp_path / "new.xyz"), "--active-set", str(tmp_path / "a.npz"),
          "--fit", str(tmp_path / "train.xyz"), "-o", str(tmp_path / "graded.xyz")])
    out = capsys.readouterr().out
    assert "active set of" in out and "15 configurations: max grade" in out
    graded = ase.io.read(tmp_path / "graded.xyz", ":")
    assert all(g.info["grade"] <= 1.001 + 1e-9 for g in graded[10:]) and max(g.info["grade"] for g in graded[:10]) > 1.5
    main(["select", str(tmp_path / "pot.mtp"), str(tmp_path / "new.xyz"), "--active-set", str(tmp_path / "a.npz"),
          "--threshold", "1.5", "-o", str(tmp_path / "picked.xyz")])
    picked = ase.io.read(tmp_path / "picked.xyz", ":")
    assert 0 < len(picked) <= 10 and all(a.info["grade"] > 1.5 for a in picked)
    other = tmp_path / "other.mtp"
    full_pot.replace(moment_coeffs=full_pot.moment_coeffs * 2).save(other, mlip_compatible=False)
    with pytest.raises(SystemExit, match="computed for a different potential"):
        main(["grade", str(other), str(tmp_path / "new.xyz"), "--active-set", str(tmp_path / "a.npz")])


def test_ase_calculator_gives_grades(full_set, full_pot, tmp_path):
    import ase.io

    from mtp_lowrank import MTPCalculator

    active, images = full_set
    active.save(tmp_path / "a.npz")
    atoms = images[0].copy()
    atoms.positions *= 0.8
    atoms.calc = MTPCalculator(full_pot, active_set=tmp_path / "a.npz")
    atoms.get_potential_energy()
    expected = active.grade(atoms)
    assert atoms.calc.results["grade"] == pytest.approx(expected, rel=1e-12) and atoms.info["grade"] == expected
    ase.io.write(tmp_path / "out.xyz", atoms)
    assert ase.io.read(tmp_path / "out.xyz").info["grade"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("mode", ["configuration", "neighbourhood"])
def test_ase_calculator_with_active_set_keeps_the_mf_results(full_pot, mode):
    """An MF potential with an active set (evaluated once, in its full representation, for the
    grade's gradients too) gives the energy, forces and stress of the MF potential alone."""
    from mtp_lowrank import MTPCalculator

    mf = full_pot.to_mf(2)
    images = configurations(3 * ParameterCoordinates(mf).dimension, seed=51)
    active = ActiveSet.fit(mf, images, mode=mode)
    atoms = images[1].copy()
    atoms.positions *= 0.9
    plain = atoms.copy()
    plain.calc = MTPCalculator(mf)
    atoms.calc = MTPCalculator(mf, active_set=active)
    assert atoms.get_potential_energy() == pytest.approx(plain.get_potential_energy(), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), plain.get_forces(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(atoms.get_stress(), plain.get_stress(), rtol=1e-10, atol=1e-14)
    assert atoms.info["grade"] == pytest.approx(active.grade(atoms), rel=1e-12)


def test_training_writes_the_active_set_of_its_potential(tmp_path, capsys):
    import ase.io

    from test_cli import _write_config
    from test_training_optimize import labelled

    from mtp_lowrank import Potential
    from mtp_lowrank.cli import main

    cfg = _write_config(tmp_path)
    ase.io.write(tmp_path / "train.xyz", labelled(random_potential(level=6, n_species=2, seed=5), count=160, seed=4))
    main(["train", str(cfg), "--set", "optimizer.max_iter=2"])
    assert "active_set.npz:" in capsys.readouterr().out
    pot = Potential.load(tmp_path / "run" / "potential.mtp")
    active = ActiveSet.load(tmp_path / "run" / "active_set.npz", pot)       # tied to the trained potential
    assert active.potential.format == "mf" and active.grades(configurations(3, seed=3)).shape == (3,)
    assert active.mode == "configuration"
    # fewer configurations than parameter directions: neighbourhoods, as MLIP does for small sets
    ase.io.write(tmp_path / "train.xyz", labelled(random_potential(level=6, n_species=2, seed=5), count=20, seed=4))
    main(["train", str(cfg), "--overwrite", "--set", "optimizer.max_iter=2"])
    assert "neighbourhood mode" in capsys.readouterr().out
    pot = Potential.load(tmp_path / "run" / "potential.mtp")
    assert ActiveSet.load(tmp_path / "run" / "active_set.npz", pot).mode == "neighbourhood"
    main(["train", str(cfg), "--overwrite", "--set", "optimizer.max_iter=1", "output.active_set=false"])
    assert not (tmp_path / "run" / "active_set.npz").exists()


def test_site_gradients_sum_to_the_configuration_gradient(full_pot):
    atoms = configurations(1, seed=21)[0]
    res = full_pot.evaluate(atoms, param_gradient=True, site_param_gradients=True)
    np.testing.assert_allclose(res["site_gradients"].sum(axis=0), res["grad"], rtol=1e-12,
                               atol=1e-12 * np.abs(res["grad"]).max())


@pytest.mark.parametrize("fmt", ["full", "mf"])
def test_neighbourhood_mode_grades_atoms(full_pot, fmt, tmp_path):
    pot = full_pot if fmt == "full" else full_pot.to_mf(2)
    images = configurations(40, seed=31)
    active = ActiveSet.fit(pot, images, mode="neighbourhood")
    assert active.mode == "neighbourhood" and len(active.sources[0]) == 2
    g = [active.atom_grades(a) for a in images]
    assert max(x.max() for x in g) <= 1.001 + 1e-9
    k, i = active.sources[0]
    assert g[k][i] == pytest.approx(1.0, rel=1e-9)
    odd = images[0].copy()
    odd.set_cell(odd.cell * 0.7, scale_atoms=True)           # compressed: crowded neighbourhoods
    ga = active.atom_grades(odd)
    assert ga.max() > 1.5 and active.grade(odd) == ga.max()
    active.save(tmp_path / "n.npz")
    assert ActiveSet.load(tmp_path / "n.npz", pot).mode == "neighbourhood"
    chosen, _ = active.select([odd] + [a.copy() for a in images[:5]], threshold=1.0)
    assert chosen.tolist() == [0]


def test_ase_calculator_gives_per_atom_grades(full_pot):
    from mtp_lowrank import MTPCalculator

    images = configurations(40, seed=31)
    active = ActiveSet.fit(full_pot, images, mode="neighbourhood")
    atoms = images[3].copy()
    atoms.set_cell(atoms.cell * 0.7, scale_atoms=True)
    atoms.calc = MTPCalculator(full_pot, active_set=active)
    atoms.get_potential_energy()
    np.testing.assert_allclose(atoms.arrays["grade"], active.atom_grades(atoms), rtol=1e-12)
    assert atoms.info["grade"] == atoms.arrays["grade"].max()


@pytest.mark.parametrize("fmt,nprocs", [("full", 1), ("mf", 1), ("full", 2), ("mf", 2)])
def test_lammps_grades_match_python(full_pot, fmt, nprocs, tmp_path):
    """pair_style mtp/lowrank extrapolation: the grade LAMMPS computes (compute pair, c_g[1])
    equals the Python one to 1e-8; above `select` the configuration is written as extended XYZ
    with element names; above `break` the run stops with a message."""
    import ase.io

    from lammps_runner import run, setup_block, write_data

    pot = full_pot if fmt == "full" else full_pot.to_mf(2)
    pot.save(tmp_path / "pot.mtp", mlip_compatible=False)
    active = ActiveSet.fit(pot, configurations(3 * ParameterCoordinates(pot).dimension, seed=41))
    active.save_for_lammps(tmp_path / "as.txt")
    atoms = configurations(1, seed=42)[0].repeat((2, 2, 1))
    atoms.set_cell(atoms.cell * 0.85, scale_atoms=True)
    write_data(tmp_path / "data.lmp", atoms, ["Li", "Na"])
    from lammps_runner import read_data
    expected = active.grade(read_data(tmp_path / "data.lmp", ["Li", "Na"]))
    assert expected > 1.0
    head = setup_block("pot.mtp", ["Li", "Na"]).replace(
        "pair_style mtp/lowrank", f"pair_style mtp/lowrank extrapolation as.txt select 1.0 break {10 * expected:g} "
        "dump picked.xyz")
    script = head + 'compute g all pair mtp/lowrank\nthermo_style custom step pe c_g[1]\nrun 0\nprint "GRADE $(c_g[1]:%.17g)"\n'
    _, out = run(tmp_path, script, nprocs=nprocs)
    grade = float(next(l for l in out.splitlines() if l.startswith("GRADE")).split()[1])
    assert grade == pytest.approx(expected, rel=1e-8)
    picked = ase.io.read(tmp_path / "picked.xyz", ":")
    assert len(picked) == 1 and sorted(set(picked[0].get_chemical_symbols())) == ["Li", "Na"]
    assert picked[0].info["grade"] == pytest.approx(expected, rel=1e-6) and len(picked[0]) == len(atoms)
    strict = head.replace(f"break {10 * expected:g}", f"break {0.5 * expected:g}").replace("select 1.0", "select 0.1")
    code, out = run(tmp_path, strict + "run 0\n", check=False)
    assert code != 0 and "is above break" in out
    other = tmp_path / "other.mtp"
    pot.replace(moment_coeffs=pot.moment_coeffs * 1.5).save(other, mlip_compatible=False)
    code, out = run(tmp_path, head.replace("pot.mtp", "other.mtp") + "run 0\n", check=False)
    assert code != 0 and "different potential" in out


@pytest.mark.parametrize("fmt,nprocs,threads", [("full", 1, 1), ("mf", 2, 1), ("full", 1, 2)])
def test_lammps_per_atom_grades_match_python(full_pot, fmt, nprocs, threads, tmp_path):
    """Neighbourhood-mode active set in LAMMPS: `fix pair ... grade 1` gives each atom's grade
    (dump, compute reduce) equal to Python's to 1e-8 on 1 and 2 ranks and 2 threads; compute
    pair holds their maximum; a selected configuration carries the per-atom grades. A
    configuration-mode file asked for per-atom grades is refused with the remedy."""
    import ase.io

    from lammps_runner import read_data, run, setup_block, write_data

    pot = full_pot if fmt == "full" else full_pot.to_mf(2)
    pot.save(tmp_path / "pot.mtp", mlip_compatible=False)
    active = ActiveSet.fit(pot, configurations(40, seed=31), mode="neighbourhood")
    active.save_for_lammps(tmp_path / "as.txt")
    atoms = configurations(1, seed=43)[0].repeat((2, 2, 1))
    atoms.set_cell(atoms.cell * 0.85, scale_atoms=True)
    write_data(tmp_path / "data.lmp", atoms, ["Li", "Na"])
    expected = active.atom_grades(read_data(tmp_path / "data.lmp", ["Li", "Na"]))
    assert expected.max() > 1.0 and expected.min() < expected.max() / 2
    head = (f"package omp {threads}\n" if threads > 1 else "") + setup_block("pot.mtp", ["Li", "Na"]).replace(
        "pair_style mtp/lowrank", f"pair_style mtp/lowrank extrapolation as.txt every 5 select 1.0 "
        f"break {10 * expected.max():g} dump picked.xyz")
    script = head + """fix g all pair 1 mtp/lowrank grade 1
compute gmax all reduce max f_g
compute gp all pair mtp/lowrank
dump d all custom 1 grades.txt id f_g
dump_modify d sort id format float %.17g
thermo_style custom step pe c_gp[1] c_gmax
run 0
print "GRADE $(c_gp[1]:%.17g) $(c_gmax:%.17g)"
"""
    _, out = run(tmp_path, script, nprocs=nprocs)
    rows = np.loadtxt(tmp_path / "grades.txt", skiprows=9)
    np.testing.assert_array_equal(rows[:, 0], np.arange(1, len(atoms) + 1))
    np.testing.assert_allclose(rows[:, 1], expected, rtol=1e-8, atol=1e-10)
    line = next(l for l in out.splitlines() if l.startswith("GRADE")).split()
    assert float(line[1]) == pytest.approx(expected.max(), rel=1e-8)
    assert float(line[2]) == pytest.approx(expected.max(), rel=1e-8)
    picked = ase.io.read(tmp_path / "picked.xyz", ":")
    assert len(picked) == 1
    np.testing.assert_allclose(picked[0].arrays["grade"], expected, rtol=1e-6)
    config_mode = ActiveSet.fit(pot, configurations(3 * ParameterCoordinates(pot).dimension, seed=41))
    config_mode.save_for_lammps(tmp_path / "as.txt")
    code, out = run(tmp_path, script, check=False)
    assert code != 0 and "neighbourhood-mode active set" in out and "configuration mode" in out


def test_maxvol_of_a_tall_matrix_needs_no_square_workspace():
    """60000 rows (a neighbourhood-mode training set): an n x n permutation matrix, as scipy's
    LU inside teneva.maxvol builds, would take 29 GB; maxvol_rows keeps n x m arrays."""
    from mtp_lowrank.active.maxvol import maxvol_rows

    rows = np.random.default_rng(3).normal(size=(60000, 30))
    idx = maxvol_rows(rows)
    assert len(set(idx.tolist())) == 30
    b = np.linalg.solve(rows[idx].T, rows.T).T
    assert np.abs(b).max() <= 1.001 + 1e-9
