"""pair_style mtp/lowrank in LAMMPS (subprocess runs): parity with the Python evaluation,
finite differences, MPI, energy conservation and error messages."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SPECIES, random_atoms, random_potential, shared_file
from lammps_runner import run, setup_block, single_point, write_data

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def assert_close(a, b, rel):
    scale = max(np.abs(b).max(), 1e-300)
    assert np.abs(np.asarray(a) - np.asarray(b)).max() <= rel * scale


@pytest.mark.parametrize("fmt,n_species", [("full", 2), ("mf", 3), ("tt", 4)])
def test_parity_with_python(tmp_path, fmt, n_species):
    pot = random_potential(level=12, n_species=n_species, seed=n_species, fmt=fmt)
    pot.save(tmp_path / "pot.mtp", mlip_compatible=False)
    atoms = random_atoms(np.random.default_rng(n_species), n_atoms=24, n_species=n_species)
    elements = SPECIES[:n_species]
    lmp = single_point(tmp_path, "pot.mtp", atoms, elements)
    ref = pot.evaluate(lmp["atoms_lammps"], site_virials=True)
    assert lmp["energy"] == pytest.approx(ref["energy"], rel=1e-10)
    assert_close(lmp["energies"], ref["energies"], 1e-10)
    assert_close(lmp["forces"], ref["forces"], 1e-10)
    assert_close(lmp["virial"], ref["virial"], 1e-10)
    sv = ref["site_virials"]
    ours6 = np.stack([sv[:, 0, 0], sv[:, 1, 1], sv[:, 2, 2], sv[:, 0, 1], sv[:, 0, 2], sv[:, 1, 2]], 1)
    assert_close(lmp["site_virials6"], ours6, 1e-10)


def test_small_box_needs_several_images(tmp_path):
    from ase import Atoms

    pot = random_potential(level=10, n_species=2, seed=1)
    pot.save(tmp_path / "pot.mtp", mlip_compatible=False)
    atoms = Atoms("LiNaLi", scaled_positions=[[0, 0, 0], [0.5, 0.45, 0.55], [0.1, 0.6, 0.3]],
                  cell=[[3.6, 0, 0], [0.4, 3.5, 0.0], [0.3, -0.5, 3.8]], pbc=True)
    lmp = single_point(tmp_path, "pot.mtp", atoms, ["Li", "Na"])
    ref = pot.evaluate(lmp["atoms_lammps"])
    assert lmp["energy"] == pytest.approx(ref["energy"], rel=1e-10)
    assert_close(lmp["forces"], ref["forces"], 1e-10)


def test_forces_match_finite_differences_in_lammps(tmp_path):
    pot = random_potential(level=12, n_species=2, seed=8, fmt="mf")
    pot.save(tmp_path / "pot.mtp")
    atoms = random_atoms(np.random.default_rng(8), n_atoms=16, n_species=2)
    write_data(tmp_path / "data.lmp", atoms, ["Li", "Na"])
    h = 1e-5
    script = setup_block("pot.mtp", ["Li", "Na"]) + f"""
group one id 5
dump d all custom 1 f.dump id fx fy fz
dump_modify d sort id format float %.17g
run 0
undump d
displace_atoms one move {h} 0 0 units box
run 0
print "EP $(pe:%.17g)"
displace_atoms one move {-2 * h} 0 0 units box
run 0
print "EM $(pe:%.17g)"
"""
    _, out = run(tmp_path, script)
    ep = float(next(l for l in out.splitlines() if l.startswith("EP")).split()[1])
    em = float(next(l for l in out.splitlines() if l.startswith("EM")).split()[1])
    fx = np.loadtxt(tmp_path / "f.dump", skiprows=9)[4, 1]
    assert fx == pytest.approx(-(ep - em) / (2 * h), rel=1e-6)


def test_mpi_two_ranks_match_one(tmp_path):
    pot = random_potential(level=12, n_species=3, seed=4, fmt="tt")
    pot.save(tmp_path / "pot.mtp")
    atoms = random_atoms(np.random.default_rng(4), n_atoms=80, n_species=3, triclinic=False)
    one = single_point(tmp_path, "pot.mtp", atoms, SPECIES[:3], nprocs=1)
    two = single_point(tmp_path, "pot.mtp", atoms, SPECIES[:3], nprocs=2)
    assert two["energy"] == pytest.approx(one["energy"], rel=1e-10)
    assert_close(two["forces"], one["forces"], 1e-10)
    assert_close(two["energies"], one["energies"], 1e-10)
    assert_close(two["virial"], one["virial"], 1e-10)


@pytest.mark.parametrize("threads", [2, 3])
def test_openmp_threads_match_one(tmp_path, threads):
    """`package omp N`: N threads per rank give the single-threaded results (forces on shared
    neighbours and ghosts summed per thread, no race), also per atom and with 2 ranks."""
    pot = random_potential(level=12, n_species=3, seed=5, fmt="mf")
    pot.save(tmp_path / "pot.mtp")
    atoms = random_atoms(np.random.default_rng(5), n_atoms=90, n_species=3, triclinic=True)
    one = single_point(tmp_path, "pot.mtp", atoms, SPECIES[:3])
    for nprocs in (1, 2):
        many = single_point(tmp_path, "pot.mtp", atoms, SPECIES[:3], nprocs=nprocs, threads=threads)
        assert many["energy"] == pytest.approx(one["energy"], rel=1e-12)
        assert_close(many["forces"], one["forces"], 1e-12)
        assert_close(many["energies"], one["energies"], 1e-12)
        assert_close(many["virial"], one["virial"], 1e-12)
        assert_close(many["site_virials6"], one["site_virials6"], 1e-12)


def test_nve_energy_conservation(tmp_path):
    from mtp_lowrank import read_cfg

    species = ["Li", "Na", "K", "F"]
    pot_file = shared_file("bench", "flinak_l16_timing.mtp")
    melt = read_cfg(shared_file("bench", "train_20x128.cfg"), species=species)[0].repeat((2, 2, 1))
    write_data(tmp_path / "data.lmp", melt, species)
    from mtp_lowrank import Potential

    Potential.load(pot_file, species=species).save(tmp_path / "pot.mtp", mlip_compatible=False)
    # Thermalise 1 ps (Langevin), then 1000 NVE steps of 1 fs; the drift is measured on those.
    script = setup_block("pot.mtp", species) + """
velocity all create 1200 4928459 mom yes rot yes dist gaussian
timestep 0.001
fix nve all nve
fix eq all langevin 1200 1200 0.05 48279
run 1000
unfix eq
reset_timestep 0
thermo 50
thermo_style custom step time etotal pe ke temp
thermo_modify format float %.12g
run 1000
"""
    _, out = run(tmp_path, script, nprocs=2)
    lines = out.splitlines()
    start = [k for k, l in enumerate(lines) if l.split()[:2] == ["Step", "Time"]][-1] + 1
    data = []
    for l in lines[start:]:
        parts = l.split()
        if len(parts) != 6:
            break
        data.append([float(x) for x in parts])
    data = np.array(data)
    assert len(data) == 21
    t_ps, etot = data[:, 1], data[:, 2] / len(melt)
    drift = abs(np.polyfit(t_ps, etot, 1)[0])
    assert drift < 1e-4, f"energy drift {drift:.2e} eV/atom/ps"
    assert np.ptp(etot) < 5e-4


ERRORS = {
    "unknown element": ("pair_coeff * * pot.mtp Li Cl", "element Cl is not in pot.mtp (its species: Li Na)"),
    "element count": ("pair_coeff * * pot.mtp Li", "needs 2 element names (one per atom type), got 1"),
    "missing file": ("pair_coeff * * nothere.mtp Li Na", "nothere.mtp: no such potential file"),
    "malformed file": ("pair_coeff * * bad.mtp Li Na", "bad.mtp:5: unknown key 'bogus'"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_error_messages(tmp_path, case):
    pot = random_potential(level=6, n_species=2)
    pot.save(tmp_path / "pot.mtp", mlip_compatible=False)
    text = pot.to_text(mlip_compatible=False).splitlines()
    text.insert(4, "bogus = 1")
    (tmp_path / "bad.mtp").write_text("\n".join(text) + "\n")
    write_data(tmp_path / "data.lmp", random_atoms(np.random.default_rng(0), n_atoms=6), ["Li", "Na"])
    coeff, message = ERRORS[case]
    script = setup_block("pot.mtp", ["Li", "Na"]).replace("pair_coeff * * pot.mtp Li Na", coeff) + "run 0\n"
    code, out = run(tmp_path, script, check=False)
    assert code != 0 and "ERROR" in out and message in out, out[-2000:]


@pytest.mark.parametrize("case,edit,message", [
    ("units", lambda s: s.replace("units metal", "units real"), "requires 'units metal'"),
    ("newton", lambda s: "newton off\n" + s, "requires newton pair on"),
    ("box vs communication", lambda s: s.replace("units metal", "units metal\ncomm_style tiled"),
     "exceeds the periodic box length"),
])
def test_setup_errors(tmp_path, case, edit, message):
    pot = random_potential(level=6, n_species=2)
    pot.save(tmp_path / "pot.mtp", mlip_compatible=False)
    # 6 atoms at 14 A^3 each: a box of about 4.4 A, smaller than the 4.6 A cutoff
    write_data(tmp_path / "data.lmp", random_atoms(np.random.default_rng(0), n_atoms=6), ["Li", "Na"])
    code, out = run(tmp_path, edit(setup_block("pot.mtp", ["Li", "Na"])) + "run 0\n", check=False)
    assert code != 0 and message in out, out[-2000:]


def test_autoload_through_entry_point(tmp_path):
    from importlib.metadata import entry_points

    if not any(ep.name == "mtp_lowrank" for ep in entry_points(group="lammps.plugins")):
        pytest.skip("mtp-lowrank is not installed (entry point absent)")
    pot = random_potential(level=6, n_species=2)
    pot.save(tmp_path / "pot.mtp", mlip_compatible=False)
    write_data(tmp_path / "data.lmp", random_atoms(np.random.default_rng(0), n_atoms=6), ["Li", "Na"])
    _, out = run(tmp_path, setup_block("pot.mtp", ["Li", "Na"]) + "run 0\n", plugin=False)
    assert "Loop time" in out


def test_mlp_trained_potential_runs_with_its_species_in_block_order(tmp_path):
    """MLIP-3's own `mlp train` output (blocks 1-1 ... 2-2, binary #MVS block): `pair_coeff * *
    file Mo Ta` names the species in block order, and LAMMPS gives the Python numbers."""
    from mtp_lowrank import Potential, read_cfg

    path = shared_file("data", "mlip3", "mlp_trained_mota.almtp")
    pot = Potential.load(path, species=["Mo", "Ta"])
    atoms = read_cfg(shared_file("data", "mlip3", "mota_val60.cfg"), species=pot.cfg_species)[3]
    lmp = single_point(tmp_path, str(path), atoms.repeat((2, 1, 1)), ["Mo", "Ta"])
    ref = pot.evaluate(lmp["atoms_lammps"])
    assert lmp["energy"] == pytest.approx(ref["energy"], rel=1e-10)
    assert_close(lmp["forces"], ref["forces"], 1e-10)


def _three_types(tmp_path, pot, elements=("Li", "Na", "K")):
    pot.save(tmp_path / "pot.mtp", mlip_compatible=True)  # MLIP-style: no species names
    atoms = random_atoms(np.random.default_rng(1), n_atoms=12, n_species=3)
    write_data(tmp_path / "data.lmp", atoms, list(elements))
    return atoms


def test_unnamed_file_refuses_one_element_for_two_types(tmp_path):
    pot = random_potential(level=6, n_species=3, seed=2)
    _three_types(tmp_path, pot)
    script = setup_block("pot.mtp", ["Li", "Na", "K"]).replace("pot.mtp Li Na K", "pot.mtp Li Li K") + "run 0\n"
    code, out = run(tmp_path, script, check=False)
    assert code != 0 and "does not name its species, so element Li given for two atom types" in out, out[-2000:]
    assert "mtp-lowrank convert pot.mtp named.mtp --species" in out
    _, out = run(tmp_path, setup_block("pot.mtp", ["Li", "Na", "K"]) + "run 0\n")
    assert "mapped by order: Li=0 Na=1 K=2" in out


def test_null_needs_hybrid_and_works_there(tmp_path):
    pot = random_potential(level=6, n_species=2, seed=3)
    atoms = _three_types(tmp_path, pot)
    alone = setup_block("pot.mtp", ["Li", "Na", "K"]).replace("pot.mtp Li Na K", "pot.mtp Li Na NULL") + "run 0\n"
    code, out = run(tmp_path, alone, check=False)
    assert code != 0 and "atom type 3 is NULL in pair_coeff; NULL needs pair_style hybrid" in out, out[-2000:]
    hybrid = setup_block("pot.mtp", ["Li", "Na", "K"]).replace(
        "pair_style mtp/lowrank\npair_coeff * * pot.mtp Li Na K",
        "pair_style hybrid/overlay mtp/lowrank zero 4.0\npair_coeff * * mtp/lowrank pot.mtp Li Na NULL\n"
        "pair_coeff * * zero") + 'run 0\nprint "RESULT $(pe:%.17g)"\n'
    _, out = run(tmp_path, hybrid)
    energy = float(next(l for l in out.splitlines() if l.startswith("RESULT")).split()[1])
    from lammps_runner import read_data

    lmp_atoms = read_data(tmp_path / "data.lmp", ["Li", "Na", "K"])
    without_k = lmp_atoms[[s != "K" for s in lmp_atoms.get_chemical_symbols()]]
    assert energy == pytest.approx(pot.evaluate(without_k)["energy"], rel=1e-10)


def test_short_distances_are_counted_or_refused(tmp_path):
    """Neighbours closer than min_dist (the basis is extrapolated there): one warning line per
    run with the count, or an error naming the atom with `short_range error`."""
    pot = random_potential(level=6, n_species=2, min_dist=2.5)
    pot.save(tmp_path / "pot.mtp", mlip_compatible=False)
    atoms = random_atoms(np.random.default_rng(0), n_atoms=12, min_sep=1.9)
    write_data(tmp_path / "data.lmp", atoms, ["Li", "Na"])
    expected = pot.evaluate(read_data_atoms(tmp_path))["short_range_atoms"]
    assert expected > 0
    for nprocs in (1, 2):
        _, out = run(tmp_path, setup_block("pot.mtp", ["Li", "Na"]) + "run 0\nrun 2\n", nprocs=nprocs)
        lines = [l for l in out.splitlines() if "closer than the potential's min_dist 2.5" in l]
        assert len(lines) == 2, out[-2000:]   # one per run
        assert lines[0].startswith(f"WARNING: pair_style mtp/lowrank: {expected} atom evaluations")
    strict = setup_block("pot.mtp", ["Li", "Na"]).replace("pair_style mtp/lowrank", "pair_style mtp/lowrank short_range error")
    code, out = run(tmp_path, strict + "run 0\n", check=False)
    assert code != 0 and "closer than the potential's min_dist 2.5 A (short_range error)" in out
    code, out = run(tmp_path, strict.replace("short_range error", "short_range maybe") + "run 0\n", check=False)
    assert code != 0 and "short_range must be warn or error" in out
    far = random_atoms(np.random.default_rng(0), n_atoms=12, min_sep=2.6, volume_per_atom=25)
    write_data(tmp_path / "data.lmp", far, ["Li", "Na"])
    _, out = run(tmp_path, strict + "run 0\n")
    assert "min_dist" not in out


def read_data_atoms(tmp_path):
    from lammps_runner import read_data

    return read_data(tmp_path / "data.lmp", ["Li", "Na"])
